/** ISF's own test suite, as behaviours we keep (continued from isf-behaviours.test.ts): sub-database/data conflicts, rename, the registry option. */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DataBase, DataBaseNotFoundError, KeyNotFoundError, KeyTypeConflictError, Registry,
  isDataBaseError,
} from '../../src/index.js';
import { settleBackgroundRemovals } from '../../src/store/keyfolder.js';
import { caught, cleanupTemp, ls, readState, sandbox, type Sandbox } from './helpers.js';

let sb: Sandbox;
beforeEach(async () => { sb = await sandbox(); });
afterEach(async () => {
  await settleBackgroundRemovals();
  await cleanupTemp();
});

describe('sub-database / data conflicts (ISF\'s four cases)', () => {
  async function prepared(): Promise<DataBase> {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('A', 1);
    await db.set(['B', '1'], 2);
    return db;
  }

  it("setting ('A', '1') fails when A holds data, and A keeps its value", async () => {
    const db = await prepared();
    const err = await caught(() => db.set(['A', '1'], 3));
    expect(err).toBeInstanceOf(KeyTypeConflictError);
    expect(err.message).toBe(`key '('A', '1')' in ${db.basedir}: A holds data (to_msgpack), not a sub-database; delete it first`);
    expect(await db.get('A')).toBe(1);
    expect(ls(path.join(db.basedir, 'A'))).toEqual(['Loader.json', 'metadata.json', 'to_pickle_dump']);
  });

  it('setting B fails when B is a sub-database, and its keys stay', async () => {
    const db = await prepared();
    const err = await caught(() => db.set('B', 3));
    expect(err).toBeInstanceOf(KeyTypeConflictError);
    expect(err.message).toBe(`key 'B' in ${db.basedir}: is a sub-database and cannot be overwritten with data; delete it first`);
    expect(await db.get(['B', '1'])).toBe(2);
  });

  it("setting ('B', '1') again works", async () => {
    const db = await prepared();
    await db.set(['B', '1'], 3);
    expect(await db.get(['B', '1'])).toBe(3);
  });

  it("setting ('B', '1', '2') fails because ('B', '1') holds data", async () => {
    const db = await prepared();
    const err = await caught(() => db.set(['B', '1', '2'], 3));
    expect(err).toBeInstanceOf(KeyTypeConflictError);
    expect(err.message).toBe(`key '('B', '1', '2')' in ${db.basedir}: ('B', '1') holds data (to_msgpack), not a sub-database; delete it first`);
    expect(await db.get(['B', '1'])).toBe(2);
  });

  it('createSubDb on a key holding data fails', async () => {
    const db = await prepared();
    const err = await caught(() => db.createSubDb('A'));
    expect(err).toBeInstanceOf(KeyTypeConflictError);
    expect(err.message).toBe(`key 'A' in ${db.basedir}: holds data (to_msgpack); a key holding data cannot become a sub-database, delete it first`);
  });
});

describe('rename', () => {
  it('moves a key; the old key is gone, the new one reads the value', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('old', { v: 1 });
    await db.rename('old', ['moved', 'here']);
    expect(await db.has('old')).toBe(false);
    expect(await db.get(['moved', 'here'])).toEqual({ v: 1 });
  });

  it('refuses to overwrite an existing key', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('a', 1);
    await db.set('b', 2);
    const err = await caught(() => db.rename('a', 'b'));
    expect(err).toBeInstanceOf(KeyTypeConflictError);
    expect(err.message).toBe(`key 'b' in ${db.basedir}: already exists; delete it first or choose another key`);
    expect(await db.get('a')).toBe(1);
    expect(await db.get('b')).toBe(2);
  });

  it('a renamed sub-database is re-registered at its new place', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const sub = await db.createSubDb('sub');
    await sub.set('x', 1);
    await db.rename('sub', 'sub2');
    const found = await DataBase.byId(sub.id);
    expect(found.basedir).toBe(path.join(db.basedir, 'sub2', 'db'));
    expect(await found.get('x')).toBe(1);
    expect(readState(found.basedir)['_registered_to_path']).toBe(found.basedir);
  });

  it('moving a sub-database into itself is refused with one of our errors, and the sub-database stays intact', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set(['sub', 'a'], 1);
    const err = await caught(() => db.rename('sub', ['sub', 'x']));
    expect(isDataBaseError(err), `${err.name}: ${err.message}`).toBe(true);
    expect(err.message).toContain("'sub'");
    expect(await db.get(['sub', 'a'])).toBe(1);
    expect(await db.keys({ recurse: true })).toEqual([['sub', 'a']]);
  });

  it('a missing source key raises KeyNotFoundError', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await expect(db.rename('nope', 'b')).rejects.toBeInstanceOf(KeyNotFoundError);
  });
});

describe('registry option', () => {
  it('an explicit Registry in the open options wins over $ISFDB_REGISTRY', async () => {
    const other = path.join(sb.root, 'other-registry');
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: new Registry(other) });
    expect(await new Registry(other).lookup(db.id)).toBe(db.basedir);
    await expect(sb.registry.lookup(db.id)).rejects.toBeInstanceOf(DataBaseNotFoundError);
  });
});
