/**
 * A dask_to_parquet key of 5,000 partitions, written with fsync under `ulimit -n 256` in a real
 * child process: the writer and the commit keep the number of open files bounded.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT } from '../services.js';

const temp = mkdtempSync(path.join(tmpdir(), 'isfdb-many-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }), 120_000);
// The compiled child (`npm test` builds first).
const child = path.join(REPO_ROOT, 'dist', 'test', 'parquet', 'many-partitions-child.js');

it('writes and reads a key of 5,000 partitions with at most 256 open files', () => {
  const r = spawnSync('bash', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, child, path.join(temp, 'db'), '5000'], { encoding: 'utf8', timeout: 240_000 });
  expect(r.status, r.stderr.slice(-2000)).toBe(0);
  expect(JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}')).toEqual({ partitions: 5000, last: 4999.5 });
}, 240_000);
