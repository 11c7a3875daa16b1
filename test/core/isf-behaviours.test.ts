/** ISF's own test suite, as behaviours we keep (see docs: "ISF's own test suite, as behaviours to keep"). */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DataBase, DataBaseNotFoundError, KeyNotFoundError, KeyTypeConflictError, NotADataBaseError, ReadonlyError,
  isDataBaseError,
} from '../../src/index.js';
import { settleBackgroundRemovals, STAGING_FOLDER } from '../../src/store/keyfolder.js';
import { caught, cleanupTemp, ls, readState, sandbox, walk, type Sandbox } from './helpers.js';

let sb: Sandbox;
beforeEach(async () => { sb = await sandbox(); });
afterEach(async () => {
  await settleBackgroundRemovals();
  await cleanupTemp();
});

const ID_PATTERN = /^(\d{4}-\d{2}-\d{2})_(\d+)_([A-Za-z0-9]{7})$/;

/** Every file below `dir` with its content, for "nothing changed" checks. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of walk(dir)) {
    out[rel] = rel.endsWith('/') ? '<dir>' : fsSync.readFileSync(path.join(dir, rel), 'utf8');
  }
  return out;
}

describe('unique id', () => {
  it('is set on creation in ISF form (UTC date, pid, 7 random chars) and kept on reopen', async () => {
    const dir = path.join(sb.root, 'db');
    const db = await DataBase.open(dir);
    const match = ID_PATTERN.exec(db.id);
    expect(match, db.id).not.toBeNull();
    expect(match![1]).toBe(new Date().toISOString().slice(0, 10));
    expect(match![2]).toBe(String(process.pid));
    expect(readState(dir)['_unique_id']).toBe(db.id);
    const again = await DataBase.open(dir);
    expect(again.id).toBe(db.id);
    const readonly = await DataBase.open(dir, { readonly: true });
    expect(readonly.id).toBe(db.id);
    expect(readState(dir)['_unique_id']).toBe(db.id);
  });

  it('two databases get different ids', async () => {
    const a = await DataBase.open(path.join(sb.root, 'a'));
    const b = await DataBase.open(path.join(sb.root, 'b'));
    expect(a.id).not.toBe(b.id);
  });

  it('a missing id is generated and registered on the next writable open, not on a readonly one', async () => {
    const dir = path.join(sb.root, 'noid');
    await fs.mkdir(dir);
    const original = '{"_registeredDumpers": ["data_base.isf_data_base.IO.LoaderDumper.to_cloudpickle"]}';
    await fs.writeFile(path.join(dir, 'db_state.json'), original);
    const ro = await DataBase.open(dir, { readonly: true });
    expect(ro.id).toBe('');
    expect(fsSync.readFileSync(path.join(dir, 'db_state.json'), 'utf8')).toBe(original);
    const db = await DataBase.open(dir);
    expect(db.id).toMatch(ID_PATTERN);
    const state = readState(dir);
    expect(state['_unique_id']).toBe(db.id);
    expect(state['_registeredDumpers']).toEqual(['data_base.isf_data_base.IO.LoaderDumper.to_cloudpickle']);
    expect(await sb.registry.lookup(db.id)).toBe(dir);
    expect((await DataBase.open(dir)).id).toBe(db.id);
  });

  it('a null id (ISF wrote None) is generated on the next writable open', async () => {
    const dir = path.join(sb.root, 'nullid');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'db_state.json'), '{"_unique_id": null, "_registered_to_path": "None"}');
    const db = await DataBase.open(dir);
    expect(db.id).toMatch(ID_PATTERN);
    expect(readState(dir)).toMatchObject({ _unique_id: db.id, _registered_to_path: dir });
  });
});

describe('creating and opening', () => {
  it('creating in a non-empty folder fails and writes nothing', async () => {
    const dir = path.join(sb.root, 'full');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'notes.txt'), 'mine');
    const err = await caught(() => DataBase.open(dir));
    expect(err).toBeInstanceOf(NotADataBaseError);
    expect(err.message).toBe(`${dir}: can't build database: folder not empty and holds no db_state.json`);
    expect(ls(dir)).toEqual(['notes.txt']);
    expect(ls(sb.registryDir)).toEqual([]);
  });

  it('creating in an empty or absent folder works', async () => {
    const empty = path.join(sb.root, 'empty');
    await fs.mkdir(empty);
    await DataBase.open(empty);
    expect(ls(empty)).toEqual(['db_state.json']);
    const absent = path.join(sb.root, 'absent', 'deeper');
    await DataBase.open(absent);
    expect(ls(absent)).toEqual(['db_state.json']);
  });

  it('nocreate on an empty folder fails and leaves it empty', async () => {
    const dir = path.join(sb.root, 'empty');
    await fs.mkdir(dir);
    const err = await caught(() => DataBase.open(dir, { nocreate: true }));
    expect(err).toBeInstanceOf(NotADataBaseError);
    expect(err.message).toBe(`${dir}: no database here (no db_state.json), and nocreate forbids creating one`);
    expect(ls(dir)).toEqual([]);
    const absent = path.join(sb.root, 'absent');
    await expect(DataBase.open(absent, { nocreate: true })).rejects.toBeInstanceOf(NotADataBaseError);
    expect(fsSync.existsSync(absent)).toBe(false);
  });

  it('readonly on a folder without a database fails and creates nothing', async () => {
    const absent = path.join(sb.root, 'absent');
    const err = await caught(() => DataBase.open(absent, { readonly: true }));
    expect(err).toBeInstanceOf(NotADataBaseError);
    expect(err.message).toBe(`${absent}: no database here (no db_state.json), and readonly forbids creating one`);
    expect(fsSync.existsSync(absent)).toBe(false);
  });

  it('nocreate opens an existing database', async () => {
    const dir = path.join(sb.root, 'db');
    const db = await DataBase.open(dir);
    await db.set('k', 1);
    const again = await DataBase.open(dir, { nocreate: true });
    expect(await again.get('k')).toBe(1);
  });
});

describe('readonly', () => {
  it('blocks every write with ReadonlyError and writes nothing, not even to the registry', async () => {
    const dir = path.join(sb.root, 'db');
    const w = await DataBase.open(dir);
    await w.set('plain', { v: 1 });
    await w.set(['sub', 'inner'], 5);
    await w.createManagedFolder('folder');
    await settleBackgroundRemovals();
    const before = snapshot(dir);
    const registryBefore = snapshot(sb.registryDir);
    const db = await DataBase.open(dir, { readonly: true });
    expect(db.readonly).toBe(true);
    const attempts: Array<[string, () => Promise<unknown>, string]> = [
      ['set', () => db.set('plain', { v: 2 }), `cannot set key 'plain': database ${dir} is open readonly`],
      ['set new', () => db.set('new', 1), `cannot set key 'new': database ${dir} is open readonly`],
      ['set tuple', () => db.set(['sub', 'x'], 1), `cannot set key '('sub', 'x')': database ${dir} is open readonly`],
      ['delete', () => db.delete('plain'), `cannot delete key 'plain': database ${dir} is open readonly`],
      ['rename', () => db.rename('plain', 'renamed'), `cannot rename key 'plain': database ${dir} is open readonly`],
      ['createSubDb', () => db.createSubDb('s2'), `cannot create a sub-database at key 's2': database ${dir} is open readonly`],
      ['createManagedFolder', () => db.createManagedFolder('f2'), `cannot create a managed folder at key 'f2': database ${dir} is open readonly`],
      ['maybeCalculate', () => db.maybeCalculate('calc', () => 1), `cannot calculate key 'calc': database ${dir} is open readonly`],
    ];
    for (const [what, attempt, message] of attempts) {
      const err = await caught(attempt);
      expect(err, what).toBeInstanceOf(ReadonlyError);
      expect(err.message, what).toBe(message);
    }
    // Sub-databases inherit readonly.
    const sub = (await db.get('sub')) as DataBase;
    expect(sub.readonly).toBe(true);
    const subErr = await caught(() => sub.set('x', 1));
    expect(subErr).toBeInstanceOf(ReadonlyError);
    expect(subErr.message).toBe(`cannot set key 'x': database ${path.join(dir, 'sub', 'db')} is open readonly`);
    // Reads still work.
    expect(await db.get('plain')).toEqual({ v: 1 });
    expect(await db.get(['sub', 'inner'])).toBe(5);
    expect(await db.keys()).toEqual(['folder', 'plain', 'sub']);
    expect(snapshot(dir)).toEqual(before);
    expect(snapshot(sb.registryDir)).toEqual(registryBefore);
  });

  it('maybeCalculate on a readonly database never calls the function for a missing key, and reads a stored one', async () => {
    const dir = path.join(sb.root, 'db');
    await (await DataBase.open(dir)).set('stored', 41);
    const db = await DataBase.open(dir, { readonly: true });
    let calls = 0;
    await expect(db.maybeCalculate('missing', () => ++calls)).rejects.toBeInstanceOf(ReadonlyError);
    expect(calls).toBe(0);
    expect(await db.maybeCalculate('stored', () => ++calls)).toBe(41);
    expect(calls).toBe(0);
  });

  it('reading metadata of a key without metadata.json does not write it when readonly', async () => {
    const dir = path.join(sb.root, 'db');
    const w = await DataBase.open(dir);
    await w.set('k', 1);
    await fs.rm(path.join(dir, 'k', 'metadata.json'));
    const db = await DataBase.open(dir, { readonly: true });
    expect((await db.metadata('k')).metadata_creation_time).toBe('post_hoc');
    expect(fsSync.existsSync(path.join(dir, 'k', 'metadata.json'))).toBe(false);
  });
});

describe('managed folders', () => {
  it('exist on disk and are removed on delete', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const folder = await db.createManagedFolder('mf');
    expect(folder).toBe(path.join(db.basedir, 'mf'));
    expect(fsSync.statSync(folder).isDirectory()).toBe(true);
    await fs.writeFile(path.join(folder, 'out.dat'), 'x');
    expect(await db.get('mf')).toBe(folder);
    expect(await db.loaderOf('mf')).toBe('just_create_folder');
    // Asking again returns the same folder with its files.
    expect(await db.createManagedFolder('mf')).toBe(folder);
    expect(fsSync.readFileSync(path.join(folder, 'out.dat'), 'utf8')).toBe('x');
    await db.delete('mf');
    expect(fsSync.existsSync(folder)).toBe(false);
    expect(await db.has('mf')).toBe(false);
  });

  it('a managed folder does not overwrite an existing key', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('data', [1, 2, 3]);
    const err = await caught(() => db.createManagedFolder('data'));
    expect(err).toBeInstanceOf(KeyTypeConflictError);
    expect(err.message).toBe(`key 'data' in ${db.basedir}: holds to_msgpack, not a managed folder; a managed folder does not overwrite an existing key`);
    expect(await db.get('data')).toEqual([1, 2, 3]);
    await db.createSubDb('sub');
    await expect(db.createManagedFolder('sub')).rejects.toBeInstanceOf(KeyTypeConflictError);
    expect(await db.get('sub')).toBeInstanceOf(DataBase);
  });

  it('a managed folder under a tuple key lives in the sub-database', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const folder = await db.createManagedFolder(['run1', 'files']);
    expect(folder).toBe(path.join(db.basedir, 'run1', 'db', 'files'));
    expect(fsSync.statSync(folder).isDirectory()).toBe(true);
  });
});

describe('keys and values', () => {
  it('getting a sub-database key returns a DataBase', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set(['sub', 'x'], 1);
    const sub = await db.get('sub');
    expect(sub).toBeInstanceOf(DataBase);
    expect((sub as DataBase).basedir).toBe(path.join(db.basedir, 'sub', 'db'));
    expect(await (sub as DataBase).get('x')).toBe(1);
    const created = await db.createSubDb('sub2');
    expect(created).toBeInstanceOf(DataBase);
    expect((await db.get('sub2') as DataBase).id).toBe(created.id);
  });

  it('set(k, get(k) + 1) works', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('counter', 1);
    for (let i = 0; i < 3; i++) await db.set('counter', ((await db.get('counter')) as number) + 1);
    expect(await db.get('counter')).toBe(4);
  });

  it('delete removes the key', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('gone', 'bye');
    await db.set('kept', 'hi');
    await db.delete('gone');
    expect(await db.has('gone')).toBe(false);
    expect(await db.keys()).toEqual(['kept']);
    expect(fsSync.existsSync(path.join(db.basedir, 'gone'))).toBe(false);
    const err = await caught(() => db.delete('gone'));
    expect(err).toBeInstanceOf(KeyNotFoundError);
    expect(err.message).toBe(`key 'gone' not found in database ${db.basedir}: check db.keys() for the stored keys`);
  });

  it('overwriting leaves exactly one folder for the key and no .deleting. leftovers', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    for (let i = 0; i < 5; i++) await db.set('k', new Float64Array([i]));
    await settleBackgroundRemovals();
    expect(ls(db.basedir).filter((e) => e !== STAGING_FOLDER)).toEqual(['db_state.json', 'k']);
    expect(ls(db.basedir).filter((e) => e.includes('.deleting.') && e !== STAGING_FOLDER)).toEqual([]);
    expect(fsSync.existsSync(path.join(db.basedir, STAGING_FOLDER)) ? ls(path.join(db.basedir, STAGING_FOLDER)) : []).toEqual([]);
    expect(ls(path.join(db.basedir, 'k'))).toEqual(['Loader.json', 'metadata.json', 'np.npy']);
    expect(((await db.get('k')) as { data: Float64Array }).data[0]).toBe(4);
  });

  it('maybeCalculate computes once, then reads; force recomputes', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    let calls = 0;
    const compute = async (): Promise<{ n: number }> => ({ n: ++calls });
    expect(await db.maybeCalculate('calc', compute)).toEqual({ n: 1 });
    expect(await db.maybeCalculate('calc', compute)).toEqual({ n: 1 });
    expect(await db.maybeCalculate('calc', compute)).toEqual({ n: 1 });
    expect(calls).toBe(1);
    expect(await (await DataBase.open(db.basedir)).maybeCalculate('calc', compute)).toEqual({ n: 1 });
    expect(calls).toBe(1);
    expect(await db.maybeCalculate('calc', compute, { force: true })).toEqual({ n: 2 });
    expect(calls).toBe(2);
    expect(await db.get('calc')).toEqual({ n: 2 });
    expect(await db.maybeCalculate(['t', 'calc'], compute, { dumper: 'value_to_msgpack' })).toEqual({ n: 3 });
    expect(await db.loaderOf(['t', 'calc'])).toBe('value_to_msgpack');
  });

  it('a missing key raises KeyNotFoundError naming the key', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('a', 1);
    const err = await caught(() => db.get('nope'));
    expect(err).toBeInstanceOf(KeyNotFoundError);
    expect(isDataBaseError(err, 'KeyNotFoundError')).toBe(true);
    expect((err as KeyNotFoundError).key).toBe('nope');
    expect(err.message).toBe(`key 'nope' not found in database ${db.basedir}: check db.keys() for the stored keys`);
    const tupleErr = await caught(() => db.get(['x', 'y']));
    expect(tupleErr).toBeInstanceOf(KeyNotFoundError);
    expect(tupleErr.message).toBe(`key '('x', 'y')' not found in database ${db.basedir}: check db.keys() for the stored keys`);
    const underPlain = await caught(() => db.get(['a', 'b']));
    expect(underPlain).toBeInstanceOf(KeyNotFoundError);
    expect((underPlain as KeyNotFoundError).key).toBe("('a', 'b')");
    await expect(db.metadata('nope')).rejects.toBeInstanceOf(KeyNotFoundError);
    await expect(db.loaderOf('nope')).rejects.toBeInstanceOf(KeyNotFoundError);
  });

  it('has() works for string and tuple keys; (a, b) is false when a is a plain key', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('a', 1);
    await db.set(['s', 'b'], 2);
    expect(await db.has('a')).toBe(true);
    expect(await db.has(['a'])).toBe(true);
    expect(await db.has('zzz')).toBe(false);
    expect(await db.has(['a', 'b'])).toBe(false);
    expect(await db.has(['s', 'b'])).toBe(true);
    expect(await db.has('s')).toBe(true);
    expect(await db.has(['s', 'c'])).toBe(false);
    expect(await db.has(['s', 'b', 'c'])).toBe(false);
    expect(await db.has(['nope', 'b'])).toBe(false);
  });

  it('keys() lists key folders sorted, without files, state files or retired folders', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('b', 1);
    await db.set('a', 1);
    await db.set(['c', 'd'], 1);
    await fs.writeFile(path.join(db.basedir, 'stray.txt'), '');
    await fs.mkdir(path.join(db.basedir, 'old.deleting.ABCDE'));
    expect(await db.keys()).toEqual(['a', 'b', 'c']);
    expect(await db.keys({ recurse: true })).toEqual([['a'], ['b'], ['c', 'd']]);
  });
});

describe('registry', () => {
  it('lookups return the right folder for databases nested inside other databases\' folders', async () => {
    const outer = await DataBase.open(path.join(sb.root, 'outer'));
    const sub = await outer.createSubDb('sub');
    const subsub = await sub.createSubDb('subsub');
    const managed = await outer.createManagedFolder('mf');
    const independent = await DataBase.open(path.join(managed, 'inner'));
    const tupleSub = await outer.createSubDb(['t1', 't2']);
    const expected: Array<[DataBase, string]> = [
      [outer, path.join(sb.root, 'outer')],
      [sub, path.join(sb.root, 'outer', 'sub', 'db')],
      [subsub, path.join(sb.root, 'outer', 'sub', 'db', 'subsub', 'db')],
      [independent, path.join(sb.root, 'outer', 'mf', 'inner')],
      [tupleSub, path.join(sb.root, 'outer', 't1', 'db', 't2', 'db')],
    ];
    expect(new Set(expected.map(([db]) => db.id)).size).toBe(expected.length);
    for (const [db, dir] of expected) {
      expect(db.basedir).toBe(dir);
      expect(await sb.registry.lookup(db.id)).toBe(dir);
      expect((await DataBase.byId(db.id)).basedir).toBe(dir);
      expect(readState(dir)['_registered_to_path']).toBe(dir);
    }
    // The sub-database's db_state.json holds its final place, not the staging folder it was built in.
    expect(JSON.stringify(readState(sub.basedir))).not.toContain('.deleting.');
  });

  it('an unknown id raises DataBaseNotFoundError naming the id', async () => {
    const err = await caught(() => DataBase.byId('2020-01-01_1_abcdefg'));
    expect(err).toBeInstanceOf(DataBaseNotFoundError);
    expect((err as DataBaseNotFoundError).id).toBe('2020-01-01_1_abcdefg');
    expect(err.message).toBe(`database '2020-01-01_1_abcdefg' not found: no such id in the registry ${sb.registryDir}`);
  });

  it('a deleted sub-database is unregistered', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const sub = await db.createSubDb('sub');
    const inner = await sub.createSubDb('inner');
    await db.delete('sub');
    await expect(DataBase.byId(sub.id)).rejects.toBeInstanceOf(DataBaseNotFoundError);
    await expect(DataBase.byId(inner.id)).rejects.toBeInstanceOf(DataBaseNotFoundError);
    expect((await DataBase.byId(db.id)).basedir).toBe(db.basedir);
  });
});
