/**
 * The one commit of a key folder (src/store/commit.ts): checksums taken while writing, the JSON
 * files last, bounded fsync concurrency (a key of 5,000 files under a low fd limit), batches, and
 * the old value retired to the history or removed.
 */
import { spawnSync } from 'node:child_process';
import fsSync from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataBase, RECIPE_FIELD, isDataBaseError, verifyDataBase } from '../../src/index.js';
import { pythonJson } from '../../src/ondisk.js';
import { commitKey, commitKeys, type KeyCommit } from '../../src/store/commit.js';
import { checksumBytes } from '../../src/store/checksum.js';
import { STAGING_FOLDER, settleBackgroundRemovals } from '../../src/store/keyfolder.js';
import { listVersionNumbers } from '../../src/store/versions.js';
import { fileLocks, type KeyLocks } from '../../src/store/locks.js';
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

  it('a batch whose publishing fails midway keeps the keys published so far, puts the failing key\'s old value back, and leaves no debris', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    await commitKeys(['a', 'b', 'c'].map((name) => textKey(db.basedir, name, { 'v.txt': 'old' })));
    // Read right before publishing: b's staged folder vanishes there (as when a concurrent delete removes folders).
    const sabotage = {
      get compromised(): Error | undefined {
        for (const entry of ls(path.join(db.basedir, STAGING_FOLDER))) {
          if (entry.startsWith('b#')) fsSync.rmSync(path.join(db.basedir, STAGING_FOLDER, entry), { recursive: true });
        }
        return undefined;
      },
    };
    const err = await caught(() => commitKeys([
      textKey(db.basedir, 'a', { 'v.txt': 'new' }, { lock: sabotage }),
      textKey(db.basedir, 'b', { 'v.txt': 'new' }),
      textKey(db.basedir, 'c', { 'v.txt': 'new' }),
    ]));
    expect(isDataBaseError(err, 'NotADataBaseError')).toBe(true);
    const value = (name: string) => fsSync.readFileSync(path.join(db.basedir, name, 'v.txt'), 'utf8');
    expect([value('a'), value('b'), value('c')]).toEqual(['new', 'old', 'old']);
    await settleBackgroundRemovals();
    expect(ls(db.basedir).filter((name) => name !== STAGING_FOLDER && name.includes('.deleting.'))).toEqual([]);
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

  it('a database folder removed and created again while a key is staged gives NotADataBaseError, not ENOENT', async () => {
    const sb = await sandbox();
    const dbDir = path.join(sb.root, 'sub', 'db');
    fsSync.mkdirSync(dbDir, { recursive: true });
    const commit: KeyCommit = {
      dbDir,
      name: 'k',
      write: async (staged) => {
        staged.writeFile('v.txt', 'value');
        // Another process deletes the sub-database and a third creates it again, mid-write.
        fsSync.rmSync(path.join(sb.root, 'sub'), { recursive: true });
        fsSync.mkdirSync(dbDir, { recursive: true });
        return { loaderJson: json({ Loader: 'x' }), metadata: () => json({}) };
      },
    };
    const err = await caught(() => commitKey(commit));
    expect(isDataBaseError(err, 'NotADataBaseError'), String(err)).toBe(true);
    expect(ls(dbDir)).toEqual([]);
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

describe('db.setMany and the lock interface', () => {
  it('stores every key of a batch (tuple keys too), each readable as by set', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    await db.set('a', 'old');
    await db.setMany([
      { key: 'a', value: { v: 1 } },
      { key: ['sub', 'b'], value: new Float64Array([1, 2]) },
      { key: 'c', value: [1, 2, 3], dumper: 'value_to_msgpack' },
    ]);
    expect(await db.get('a')).toEqual({ v: 1 });
    expect(await db.get(['sub', 'b'])).toEqual({ dtype: 'float64', shape: [2], data: new Float64Array([1, 2]) });
    expect(await db.get('c')).toEqual([1, 2, 3]);
    expect((await db.verify()).ok).toBe(true);
    await settleBackgroundRemovals();
    expect(ls(db.basedir).filter((name) => name.includes('.deleting.') && name !== STAGING_FOLDER)).toEqual([]);
  });

  it('carries per-key metadata extras (a recipe, as maybeCalculate records) and keepVersions, in ISF\'s JSON spelling', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    await db.set('a', 1);
    await db.set('b', 1);
    const recipe = { hash: 'h', params: { tau: 2.5, name: 'ä' }, code: null, inputs: [] };
    await db.setMany([
      { key: 'a', value: 2, extraMetadata: { [RECIPE_FIELD]: recipe }, keepVersions: 2 },
      { key: 'b', value: 2 },
      { key: 'c', value: 3, extraMetadata: { hostname: 'elsewhere', note: 'x' } },
    ]);
    const text = (key: string) => fsSync.readFileSync(path.join(db.basedir, key, 'metadata.json'), 'utf8');
    for (const key of ['a', 'b', 'c']) expect(text(key)).toBe(pythonJson(JSON.parse(text(key))));
    const a = await db.metadata('a');
    expect(a[RECIPE_FIELD]).toEqual(recipe);
    expect(Object.keys(a).slice(-2)).toEqual(['isfdb_checksums', RECIPE_FIELD]);
    expect(text('a')).toContain('"name": "\\u00e4"');
    expect((await db.history('a')).length).toBe(2);
    expect((await db.history('b')).length).toBe(1);
    const c = await db.metadata('c');
    // A field that replaces a provenance field keeps the provenance field's place.
    expect(Object.keys(c).indexOf('hostname')).toBeLessThan(Object.keys(c).indexOf('isfdb_checksums'));
    expect(c).toMatchObject({ hostname: 'elsewhere', note: 'x' });
    expect((await db.metadata('b'))[RECIPE_FIELD]).toBeUndefined();
    expect((await db.verify()).ok).toBe(true);
  });

  it('refuses a key given twice, a sub-database value and a readonly database, writing nothing', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    await expect(db.setMany([{ key: 'x', value: 1 }, { key: 'x', value: 2 }])).rejects.toMatchObject({ _tag: 'KeyTypeConflictError' });
    await expect(db.setMany([{ key: 'y', value: 1 }, { key: 's', value: undefined, dumper: 'just_create_isf_db' }])).rejects.toMatchObject({ _tag: 'KeyTypeConflictError' });
    const ro = await DataBase.open(db.basedir, { readonly: true, registry: sb.registry });
    await expect(ro.setMany([{ key: 'z', value: 1 }])).rejects.toMatchObject({ _tag: 'ReadonlyError' });
    expect(await db.keys()).toEqual([]);
  });

  it('a value that fails to dump leaves every key of the batch as it was', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    await db.set('a', 'old');
    const err = await caught(() => db.setMany([{ key: 'a', value: 'new' }, { key: 'b', value: Symbol('not storable') as unknown, dumper: 'value_to_msgpack' }]));
    expect(err).toMatchObject({ _tag: 'LoaderError' });
    expect(await db.get('a')).toBe('old');
    expect(await db.has('b')).toBe(false);
    expect(ls(path.join(db.basedir, STAGING_FOLDER))).toEqual([]);
    expect(ls(db.basedir).filter((name) => name.endsWith('.lock'))).toEqual([]);
  });

  it('writers take their locks through the `locks` open option (a pluggable backend)', async () => {
    const sb = await sandbox();
    const taken: string[] = [];
    const locks: KeyLocks = {
      acquire: async (keyFolder, _key, options) => {
        taken.push(path.basename(keyFolder));
        return fileLocks.acquire(keyFolder, _key, options);
      },
      mayBeHeld: (keyFolder) => fileLocks.mayBeHeld(keyFolder),
    };
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry, locks });
    await db.set('k', 1);
    await db.setMany([{ key: 'm', value: 2 }, { key: 'n', value: 3 }]);
    await db.delete('k');
    expect(taken).toEqual(['k', 'm', 'n', 'k']);
  });

  it('a batch that meets a busy lock keeps the locks before it, gives back the ones after it, and waits in order', async () => {
    const sb = await sandbox();
    const dir = path.join(sb.root, 'db');
    const db = await DataBase.open(dir, { registry: sb.registry });
    const names = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const busy = await fileLocks.acquire(path.join(dir, 'k5'), 'k5', { timeoutMs: 1000, staleMs: 10_000 });
    const batch = db.setMany(names.map((key, i) => ({ key, value: i })));
    let settled = false;
    void batch.finally(() => { settled = true; });
    const lockFolders = () => ls(dir).filter((name) => name.endsWith('.lock'));
    // The batch holds k0..k4 and waits for k5; k6..k9 were tried and given back.
    for (let waited = 0; lockFolders().length !== 5 + 1 && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    expect(lockFolders()).toEqual(['k0.lock', 'k1.lock', 'k2.lock', 'k3.lock', 'k4.lock', 'k5.lock']);
    expect(settled).toBe(false);
    await busy.release();
    await batch;
    expect(await Promise.all(names.map((key) => db.get(key)))).toEqual(names.map((_, i) => i));
    expect(lockFolders()).toEqual([]);
  });
});
