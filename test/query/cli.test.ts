/** isfdb query: formats, streaming to a file, parquet that pandas opens, and bad input. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tableFromArrays, type Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataBase, Registry } from '../../src/index.js';
import { withIndex } from '../../src/frames.js';
import { runCli } from '../versions/procs.js';
import { pythonWith, skipReason } from '../services.js';

let dir: string;
let dbDir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'isfdb-query-cli-'));
  dbDir = path.join(dir, 'db');
  const db = await DataBase.open(dbDir, { registry: new Registry(path.join(dir, 'registry')) });
  const part = (p: number): Table => withIndex(tableFromArrays({
    sim_trial_index: Array.from({ length: 4 }, (_, i) => `r/${p}${i}`),
    v: Float64Array.from({ length: 4 }, (_, i) => p * 4 + i),
    s: Array.from({ length: 4 }, (_, i) => (i % 2 ? 'odd, "q"' : 'even')),
  }) as unknown as Table, 'sim_trial_index');
  await db.set('frame', [part(0), part(1), part(2)], 'dask_to_parquet');
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('isfdb query', { timeout: 60_000 }, () => {
  it('--help', () => {
    const r = runCli(['query', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^isfdb query <db> <key> --where/);
  });

  it('csv, json and table formats; --columns; --stats', () => {
    const csv = runCli(['query', dbDir, 'frame', '--where', '{"v": {"between": [2, 5]}}', '--format', 'csv', '--stats']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toBe('sim_trial_index,v,s\nr/02,2,even\nr/03,3,"odd, ""q"""\nr/10,4,even\nr/11,5,"odd, ""q"""\n');
    expect(csv.stderr).toMatch(/read \d+ bytes: 3 of 3 files, 2 of 3 row groups \(0 skipped after reading their where-columns, 1 by statistics\); 4 rows matched/);
    const pruned = runCli(['query', dbDir, 'frame', '--where', '{"sim_trial_index": {"ge": "r/20"}}', '--format', 'csv', '--stats']);
    expect(pruned.stderr).toMatch(/: 1 of 3 files/);
    expect(pruned.stdout.trim().split('\n').length).toBe(5);
    const json = runCli(['query', dbDir, 'frame', '--where', '{"sim_trial_index": {"regex": "^r/2"}, "s": "even"}', '--format', 'json', '--columns', 'v']);
    expect(json.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([{ sim_trial_index: 'r/20', v: 8 }, { sim_trial_index: 'r/22', v: 10 }]);
    const table = runCli(['query', dbDir, 'frame', '--where', '{"v": 7}']);
    expect(table.stdout.split('\n')[0]).toMatch(/^sim_trial_index\s+v\s+s$/);
    expect(table.stdout.split('\n')[1]).toMatch(/^\s*r\/13\s+7\s+odd, "q"$/);
    const none = runCli(['query', dbDir, 'frame', '--where', '{"v": 99}', '--format', 'csv']);
    expect(none.stdout).toBe('sim_trial_index,v,s\n');
  });

  it('--out writes the file atomically; parquet opens in pandas with its index', () => {
    const out = path.join(dir, 'out.csv');
    expect(runCli(['query', dbDir, 'frame', '--where', '{}', '--format', 'csv', '--out', out]).code).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n').length).toBe(13);
    const pq = path.join(dir, 'out.parquet');
    expect(runCli(['query', dbDir, 'frame', '--where', '{"v": {"ge": 6}}', '--format', 'parquet', '--out', pq]).code).toBe(0);
    expect(existsSync(pq)).toBe(true);
    const python = pythonWith(['pandas', 'pyarrow']);
    if (skipReason(python, 'reading the parquet output with pandas') !== undefined || !python.ok) return;
    const r = spawnSync(python.value, ['-c', `import pandas as pd; df = pd.read_parquet(${JSON.stringify(pq)}); print(df.index.name, list(df.index), list(df.v), list(df.columns))`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe("sim_trial_index ['r/12', 'r/13', 'r/20', 'r/21', 'r/22', 'r/23'] [6.0, 7.0, 8.0, 9.0, 10.0, 11.0] ['v', 's']");
  });

  it('bad input: exit 2, one line, nothing left behind', () => {
    const out = path.join(dir, 'bad.csv');
    for (const [args, message] of [
      [['--where', '{"v": {"gte": 1}}'], /operator 'gte': unknown operator/],
      [['--where', '{"nope": 1}'], /column 'nope': no such column/],
      [['--where', '{"v": "x"}'], /type mismatch/],
      [['--where', '{"s": {"regex": "("}}'], /malformed regex/],
      [['--where', 'not json'], /--where is not valid JSON/],
      [['--where', '{}', '--format', 'xml'], /--format takes one of/],
      [['--where', '{}', '--format', 'parquet'], /needs --out/],
      [['--where', '{}', '--columns', 'zz'], /has no column 'zz'/],
    ] as Array<[string[], RegExp]>) {
      const r = runCli(['query', dbDir, 'frame', ...args, ...(args.includes('parquet') ? [] : ['--out', out])]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n').length).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect(readdirSync(dir).filter((f) => f.includes('bad.csv'))).toEqual([]);
  });
});
