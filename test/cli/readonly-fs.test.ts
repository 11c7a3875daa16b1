/**
 * Operational failures (here: a read-only mount) end with one line naming the cause and exit code 1;
 * the stack trace only with --debug. The mount is real: a read-only bind mount in a private mount
 * namespace (unshare -m), which vanishes with the process; skipped where that is not allowed.
 */
import { spawnSync } from 'node:child_process';
import fsSync from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataBase, generateCampaign } from '../../src/index.js';
import { ISFDB, removeTemps, snapshot, tempDir, type CliResult } from './helpers.js';

const MOUNT_RO = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"';

/** Run isfdb with `dir` mounted read-only for that process only. */
function isfdbReadOnly(dir: string, args: string[]): CliResult {
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', MOUNT_RO, 'sh', dir, process.execPath, ISFDB, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let unavailable: string | undefined;
let root: string;
beforeAll(async () => {
  root = await tempDir('rofs');
  const probe = path.join(root, 'probe');
  fsSync.mkdirSync(probe);
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `${MOUNT_RO}`, 'sh', probe, 'sh', '-c', 'touch "$0/x"', probe], { encoding: 'utf8' });
  if (r.error !== undefined || !/Read-only file system/.test(r.stderr)) unavailable = `cannot make a read-only bind mount here (needs unshare -m and mount): ${r.error?.message ?? r.stderr.trim()}`;
});
afterAll(removeTemps);

/** One line on stderr, naming the read-only file system, no stack trace. */
function expectOneLineReadOnly(r: CliResult, command: string): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
  expect(r.stderr).toMatch(new RegExp(`^isfdb ${command}: .*(read-only|EROFS)`));
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('read-only file systems: one line, exit 1, no stack', { timeout: 120_000 }, () => {
  it('rm, fsck --repair, init-simrun and gen-simrun', async (ctx) => {
    if (unavailable !== undefined) ctx.skip(unavailable);
    const db = await DataBase.open(path.join(root, 'db'));
    await db.set('x', { a: 1 });
    fsSync.mkdirSync(path.join(db.basedir, '.isfdb.deleting.staging', 'x.left-behind'), { recursive: true });
    const before = snapshot(db.basedir);

    expectOneLineReadOnly(isfdbReadOnly(db.basedir, ['rm', db.basedir, 'x']), 'rm');
    expectOneLineReadOnly(isfdbReadOnly(db.basedir, ['fsck', db.basedir, '--repair', '--offline']), 'fsck');
    const raw = path.join(root, 'raw');
    await generateCampaign(raw, { trials: 2, timePoints: 20 });
    expectOneLineReadOnly(isfdbReadOnly(db.basedir, ['init-simrun', raw, db.basedir, '--workers', '0', '--quiet']), 'init-simrun');
    const target = path.join(root, 'ro-target');
    fsSync.mkdirSync(target);
    expectOneLineReadOnly(isfdbReadOnly(target, ['gen-simrun', target]), 'gen-simrun');
    expect(snapshot(db.basedir)).toEqual(before);
  });

  it('--debug adds the stack trace', async (ctx) => {
    if (unavailable !== undefined) ctx.skip(unavailable);
    const db = await DataBase.open(path.join(root, 'db2'));
    await db.set('x', 1);
    const r = isfdbReadOnly(db.basedir, ['rm', db.basedir, 'x', '--debug']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
