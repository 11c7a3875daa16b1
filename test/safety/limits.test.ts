/** Limits fail whole and clearly: a key too deep for the file system creates nothing; an unstorable value names its field. */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataBase, isDataBaseError } from '../../src/index.js';
import { caught, cleanupTemp, sandbox, walk, type Sandbox } from '../core/helpers.js';

let sb: Sandbox;
let db: DataBase;
beforeEach(async () => {
  sb = await sandbox();
  db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
});
afterEach(cleanupTemp);

describe('a tuple key nested past PATH_MAX', () => {
  it('raises InvalidKeyError before creating any sub-database', async () => {
    const before = walk(db.basedir);
    const registered = (await sb.registry.list()).entries.length;
    const deep = Array.from({ length: 40 }, (_, i) => `level_${String(i).padStart(3, '0')}_${'x'.repeat(100)}`);
    for (const call of [() => db.set(deep, 1), () => db.createSubDb(deep), () => db.createManagedFolder(deep), () => db.maybeCalculate(deep, () => 1)]) {
      const err = await caught(call);
      expect(isDataBaseError(err, 'InvalidKeyError'), err.message).toBe(true);
      expect(err.message).toMatch(/its folder would be a path of \d+ bytes, and at most 3935 fit/);
    }
    expect(walk(db.basedir)).toEqual(before);
    expect((await sb.registry.list()).entries.length).toBe(registered);
  });

  it('a deep key that fits is still stored', async () => {
    const deep = Array.from({ length: 20 }, (_, i) => `l${i}_${'y'.repeat(100)}`);
    await db.set(deep, 7);
    expect(await db.get(deep)).toBe(7);
  });
});

describe('a value no loader stores', () => {
  it('names the offending field and the loaders tried', async () => {
    const undef = await caught(() => db.set('x', { a: 1, nested: { u: undefined } }));
    expect(isDataBaseError(undef, 'UnknownLoaderError')).toBe(true);
    expect(undef.message).toBe("no loader for key 'x': no loader stores this value: value.nested.u is undefined (loaders tried: to_msgpack, value_to_msgpack); name a dumper, or register a loader whose canDump() accepts it");
    const buffer = await caught(() => db.set('b', Buffer.from('abc')));
    expect(buffer.message).toContain('value is a Buffer (store its bytes as a plain Uint8Array: new Uint8Array(buffer)) (loaders tried: numpy_to_npy, to_msgpack, value_to_msgpack)');
    const inList = await caught(() => db.set('f', { list: [1, () => 2] }));
    expect(inList.message).toContain('value.list[1] is a function');
    expect(await db.keys()).toEqual([]);
  });
});
