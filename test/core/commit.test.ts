/**
 * The one commit of a key folder (src/store/commit.ts): checksums taken while writing, the JSON
 * files last, bounded fsync concurrency (a key of 5,000 files under a low fd limit), batches, and
 * the old value retired to the history or removed.
 */
import { spawnSync } from 'node:child_process';
import fsSync from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataBase, verifyDataBase } from '../../src/index.js';
import { commitKey, commitKeys, type KeyCommit } from '../../src/store/commit.js';
import { checksumBytes } from '../../src/store/checksum.js';
import { STAGING_FOLDER, settleBackgroundRemovals } from '../../src/store/keyfolder.js';
import { listVersionNumbers } from '../../src/store/versions.js';
import { caught, cleanupTemp, ls, procScript, sandbox } from './helpers.js';

afterEach(async () => {
  await settleBackgroundRemovals();
  await cleanupTemp();
});

const json = (value: unknown) => JSON.stringify(value);

function textKey(dbDir: string, name: string, files: Record<string, string>, extra: Partial<KeyCommit> = {}): KeyCommit {
  return {
    dbDir,
    name,
    write: async (staged) => {
      for (const [file, text] of Object.entries(files)) staged.writeFile(file, text);
      return { loaderJson: json({ Loader: 'data_base.isf_data_base.IO.LoaderDumper.value_to_msgpack' }), metadata: (checksums) => json({ dumper: 'value_to_msgpack', isfdb_checksums: checksums }) };
    },
    ...extra,
  };
}

describe('store/commit.ts', () => {
  it('records the checksum of the bytes as written, not of the file read back later', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    await commitKey({
      dbDir: db.basedir,
      name: 'k',
      write: async (staged) => {
        staged.writeFile('a.bin', 'written');
        // Changed behind the writer's back: a read-back checksum would record 'changed'.
        fsSync.writeFileSync(path.join(staged.dir, 'a.bin'), 'changed');
        fsSync.writeFileSync(path.join(staged.dir, 'b.bin'), 'not through the writer');
        return { loaderJson: json({ Loader: 'x.value_to_msgpack' }), metadata: (checksums) => json({ dumper: 'value_to_msgpack', isfdb_checksums: checksums }) };
      },
    });
    const meta = JSON.parse(fsSync.readFileSync(path.join(db.basedir, 'k', 'metadata.json'), 'utf8')) as { isfdb_checksums: Record<string, string> };
    expect(meta.isfdb_checksums).toEqual({ 'a.bin': checksumBytes('written'), 'b.bin': checksumBytes('not through the writer') });
    const report = await verifyDataBase(db.basedir, 'k');
    expect(report.findings).toMatchObject([{ kind: 'checksum-mismatch', key: ['k'] }]);
  });

  it('writes metadata.json and Loader.json after the data files, Loader.json last', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    await commitKey(textKey(db.basedir, 'k', { 'data.txt': 'x' }));
    const mtime = (file: string) => fsSync.statSync(path.join(db.basedir, 'k', file)).mtimeMs;
    expect(mtime('data.txt')).toBeLessThanOrEqual(mtime('metadata.json'));
    expect(mtime('metadata.json')).toBeLessThanOrEqual(mtime('Loader.json'));
  });

  it('refuses a staged file outside the staged folder', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    const err = await caught(() => commitKey(textKey(db.basedir, 'k', { '../escape.txt': 'x' })));
    expect(err).toMatchObject({ _tag: 'InvalidInputError' });
    expect(fsSync.existsSync(path.join(db.basedir, STAGING_FOLDER, 'escape.txt'))).toBe(false);
    expect(ls(path.join(db.basedir, STAGING_FOLDER))).toEqual([]);
    expect(fsSync.existsSync(path.join(db.basedir, 'k'))).toBe(false);
  });

  it('a batch commits every key, and a failing write publishes none and leaves no staged folder', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    await commitKeys([textKey(db.basedir, 'a', { 'v.txt': '1' }), textKey(db.basedir, 'b', { 'v.txt': '2' })]);
    expect(await db.keys()).toEqual(['a', 'b']);
    const failing: KeyCommit = { dbDir: db.basedir, name: 'c', write: async () => { throw new Error('dump failed'); } };
    await expect(commitKeys([textKey(db.basedir, 'a', { 'v.txt': 'new' }), failing])).rejects.toThrow('dump failed');
    expect(fsSync.readFileSync(path.join(db.basedir, 'a', 'v.txt'), 'utf8')).toBe('1');
    expect(await db.keys()).toEqual(['a', 'b']);
    expect(ls(path.join(db.basedir, STAGING_FOLDER))).toEqual([]);
  });

  it('retires the old value into the history when asked, else removes it', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    await commitKey(textKey(db.basedir, 'k', { 'v.txt': '1' }));
    const second = await commitKey(textKey(db.basedir, 'k', { 'v.txt': '2' }, { history: { keep: 1 } }));
    expect(second.keptAs).toBe(1);
    const third = await commitKey(textKey(db.basedir, 'k', { 'v.txt': '3' }, { history: { keep: 1 } }));
    expect(third.keptAs).toBe(2);
    expect(await listVersionNumbers(db.basedir, 'k')).toEqual([2]);
    await commitKey(textKey(db.basedir, 'k', { 'v.txt': '4' }));
    await settleBackgroundRemovals();
    expect(ls(db.basedir).filter((name) => name.startsWith('k'))).toEqual(['k']);
    expect(fsSync.readFileSync(path.join(db.basedir, 'k', 'v.txt'), 'utf8')).toBe('4');
  });

  it('a compromised lock aborts the commit before anything is published', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    await commitKey(textKey(db.basedir, 'k', { 'v.txt': 'old' }));
    const lock = { compromised: new Error('lock lost') };
    await expect(commitKey(textKey(db.basedir, 'k', { 'v.txt': 'new' }, { lock }))).rejects.toThrow('lock lost');
    expect(fsSync.readFileSync(path.join(db.basedir, 'k', 'v.txt'), 'utf8')).toBe('old');
  });

  it('a durable set of a key with 5,000 files works under a low open-file limit (no EMFILE)', async () => {
    const sb = await sandbox();
    const script = procScript('many-files');
    // 5,000 files, 256 descriptors: fsyncing every file at once (the old syncTree) failed here.
    const run = spawnSync('sh', ['-c', `ulimit -n 256 && exec "${process.execPath}" "${script}" "${path.join(sb.root, 'db')}" 5000`], {
      encoding: 'utf8', env: { ...process.env, ISFDB_REGISTRY: sb.registryDir }, timeout: 120_000,
    });
    expect(run.stderr).not.toContain('EMFILE');
    expect(run.stdout.trim()).toBe('ok 5000 verified');
    expect(run.status).toBe(0);
  }, 150_000);
});
