/** First-use details of the command line: --version, exit codes, messages, closed pipes. */
import fsSync from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { repoRoot } from '../core/helpers.js';
import { isfdb, removeTemps, shell, tempDir } from './helpers.js';

afterAll(removeTemps);

describe('isfdb messages and exit codes', { timeout: 60_000 }, () => {
  it('--version prints the package version', () => {
    const version = (JSON.parse(fsSync.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    const r = isfdb(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `isfdb ${version}\n` });
  });

  it('--help documents the exit codes', () => {
    const r = isfdb(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Exit codes:\n {2}0 {2}success\n {2}1 {2}the command failed on the data or the file system/);
    expect(r.stdout).toMatch(/ {2}2 {2}usage error/);
  });

  it('history of a missing key exits 1 with KeyNotFound, pointing at isfdb ls', async () => {
    const db = await DataBase.open(path.join(await tempDir('msg'), 'db'));
    await db.set('x', 1);
    const r = isfdb(['history', db.basedir, 'nokey']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`isfdb history: key 'nokey' not found in database ${db.basedir}: run 'isfdb ls ${db.basedir}' for its keys\n`);
    const shown = isfdb(['show', db.basedir, 'nokey']);
    expect(shown.code).toBe(1);
    expect(shown.stderr).not.toContain('db.keys()');
    expect(shown.stderr).toContain(`isfdb ls ${db.basedir}`);
  });

  it('usage errors exit 2, data errors 1', async () => {
    const db = await DataBase.open(path.join(await tempDir('msg'), 'db'));
    expect(isfdb(['ls', db.basedir, '--bogus']).code).toBe(2);
    expect(isfdb(['show', db.basedir, 'bad key']).code).toBe(2);
    expect(isfdb(['show', db.basedir, 'missing']).code).toBe(1);
  });

  it('ls of a folder that does not exist says so, and nothing about readonly', async () => {
    const missing = path.join(await tempDir('msg'), 'nonexistent');
    const r = isfdb(['ls', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`isfdb ls: ${missing}: no such folder\n`);
    const empty = await tempDir('msg');
    const notDb = isfdb(['ls', empty]);
    expect(notDb.stderr).toBe(`isfdb ls: ${empty}: not a database (it holds no db_state.json)\n`);
    expect(notDb.stderr + r.stderr).not.toMatch(/readonly/);
  });

  it('a command piped into head exits quietly (no EPIPE stack trace)', async () => {
    const registry = await tempDir('msg-registry');
    // Enough entries that the output outlives the pipe's buffer.
    for (let i = 0; i < 3000; i++) fsSync.writeFileSync(path.join(registry, `id-${String(i).padStart(5, '0')}.json`), `{"path": "/nowhere/${'x'.repeat(60)}/${i}"}\n`);
    const r = shell('set -o pipefail; isfdb registry list | head -1', { ISFDB_REGISTRY: registry });
    expect(r.stdout).toBe(`id-00000\t/nowhere/${'x'.repeat(60)}/0\n`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = shell('set -o pipefail; isfdb registry list --json | head -2', { ISFDB_REGISTRY: registry });
    expect(json).toMatchObject({ code: 0, stderr: '' });
  });
});
