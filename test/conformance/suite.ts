/**
 * One conformance suite for every loader, run on any database (a top-level one, a sub-database...).
 *
 * Each case is `{ loader, name, value, compare? }`: the suite stores `value` with `loader`, reads it
 * back and compares. Engineers adding a loader add cases with `registerConformanceCases(...)` (or
 * pass their own list as the third argument) and call `defineLoaderConformance` in a test file.
 */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataBase, KeyNotFoundError, UnknownLoaderError } from '../../src/index.js';
import { STAGING_FOLDER, settleBackgroundRemovals } from '../../src/store/keyfolder.js';
import { HISTORY_FOLDER } from '../../src/store/versions.js';
import { cleanupTemp, makeTemp, sandbox } from '../core/helpers.js';
import { ALL_DTYPES, ARRAY_SHAPES, expectSameArray, expectSameValue, sameValueProblem, sampleArray, sampleCell } from './values.js';

export { expectSameArray, expectSameValue, sameValueProblem, sampleArray, sampleCell, ALL_DTYPES } from './values.js';

export interface CaseContext {
  db: DataBase;
  key: string | string[];
}

export interface ConformanceCase {
  /** The loader's short on-disk name, passed to `set` as the dumper. */
  loader: string;
  /** Unique within the loader; becomes part of the key. */
  name: string;
  value: unknown;
  /** Throws (expect) when `actual` (what `get` returned) is not `expected` (the value stored). Default: `expectSameValue`. */
  compare?: (actual: unknown, expected: unknown, ctx: CaseContext) => void | Promise<void>;
  /** The loader `set` must choose when no dumper is named; omit when the default is another loader. */
  defaultLoader?: string;
}

async function checkManagedFolder(actual: unknown, _expected: unknown, ctx: CaseContext): Promise<void> {
  expect(typeof actual).toBe('string');
  const folder = actual as string;
  expect(path.isAbsolute(folder)).toBe(true);
  expect(folder).toBe(await ctx.db.folderOf(ctx.key));
  expect(fsSync.statSync(folder).isDirectory()).toBe(true);
  // The folder is the user's: a file written into it stays, and the key still loads.
  await fs.writeFile(path.join(folder, 'user-file.txt'), 'hello');
  expect(await ctx.db.get(ctx.key)).toBe(folder);
  expect(fsSync.readFileSync(path.join(folder, 'user-file.txt'), 'utf8')).toBe('hello');
}

async function checkSubDb(actual: unknown, _expected: unknown, ctx: CaseContext): Promise<void> {
  expect(actual).toBeInstanceOf(DataBase);
  const sub = actual as DataBase;
  expect(sub.basedir).toBe(path.join(await ctx.db.folderOf(ctx.key), 'db'));
  expect(sub.id).not.toBe('');
  expect(sub.id).not.toBe(ctx.db.id);
  expect(sub.readonly).toBe(ctx.db.readonly);
  await sub.set('inner', { x: 1 });
  expectSameValue(await ctx.db.get(Array.isArray(ctx.key) ? [...ctx.key, 'inner'] : [ctx.key, 'inner']), { x: 1 });
}

/** The built-in cases; other loaders add theirs with `registerConformanceCases`. */
export const conformanceCases: ConformanceCase[] = [];

export function registerConformanceCases(...cases: ConformanceCase[]): void {
  for (const c of cases) {
    if (conformanceCases.some((other) => other.loader === c.loader && other.name === c.name)) {
      throw new Error(`conformance case ${c.loader}/${c.name} is registered twice`);
    }
    conformanceCases.push(c);
  }
}

for (const loader of ['numpy_to_npy', 'numpy_to_npz']) {
  for (const dtype of ALL_DTYPES) {
    for (const { name, shape } of ARRAY_SHAPES) {
      registerConformanceCases({
        loader, name: `${dtype}-${name}`, value: sampleArray(dtype, shape), compare: expectSameArray,
        ...(loader === 'numpy_to_npy' ? { defaultLoader: 'numpy_to_npy' } : {}),
      });
    }
  }
  registerConformanceCases({ loader, name: 'bare-Float64Array', value: new Float64Array([1.5, -2, Number.NaN]), compare: expectSameArray });
  registerConformanceCases({ loader, name: 'bare-BigInt64Array', value: new BigInt64Array([-(2n ** 63n), 7n]), compare: expectSameArray });
  registerConformanceCases({ loader, name: 'subarray-view', value: new Int32Array([9, 8, 7, 6, 5, 4]).subarray(2, 5), compare: expectSameArray });
}

const msgpackValues: Array<[string, unknown]> = [
  ['string', 'hello'],
  ['empty-string', ''],
  ['unicode', 'Grüße, 神経細胞 🧠 é (e + U+0301) \u0000 end'],
  ['integer', 42],
  ['negative-float', -1.25e-7],
  ['large-safe-integer', 2 ** 53 - 1],
  ['integer-2-pow-40', 2 ** 40],
  ['special-floats', [Number.NaN, Infinity, -Infinity, 5e-324]],
  ['negative-zero', { z: -0, list: [0, -0] }],
  ['booleans-null', [true, false, null]],
  ['nested-object', { a: { b: { c: [1, 'two', { d: null }] } }, 'key with spaces': 1, 'ключ': 'значение' }],
  ['empty-containers', { o: {}, a: [] }],
  ['array-of-mixed', [1, 'a', [2, [3, [4]]], { x: 0.5 }]],
  ['typed-arrays-inside', {
    f64: new Float64Array([1.5, Number.NaN, -0]), f32: new Float32Array([0.25]), i8: new Int8Array([-128, 127]),
    i16: new Int16Array([-3]), i32: new Int32Array([2147483647]), u8: new Uint8Array([0, 255]),
    u16: new Uint16Array([65535]), u32: new Uint32Array([4294967295]),
    i64: new BigInt64Array([-(2n ** 63n)]), u64: new BigUint64Array([2n ** 64n - 1n]),
    view: new Float64Array([0, 1, 2, 3]).subarray(1, 3),
  }],
  ['bigint', { small: 5n, big: 2n ** 62n, min: -(2n ** 63n), umax: 2n ** 64n - 1n }],
  ['params-like', { network: { L5tt: { synapses: { receptors: { glutamate_syn: { weight: [1.47, 1.47] } } } } }, seed: 7 }],
];
/** What plain msgpack cannot hold; every other plain value goes to ISF's to_msgpack by default, which Python ISF loads. */
const needsValueToMsgpack = new Set(['negative-zero', 'typed-arrays-inside', 'bigint']);
for (const [name, value] of msgpackValues) {
  registerConformanceCases({ loader: 'value_to_msgpack', name, value, defaultLoader: needsValueToMsgpack.has(name) ? 'value_to_msgpack' : 'to_msgpack' });
}

registerConformanceCases(
  { loader: 'cell_to_msgpack', name: 'small-cell', value: sampleCell(3, 10), defaultLoader: 'cell_to_msgpack' },
  { loader: 'cell_to_msgpack', name: '200-sections-10000-synapses', value: sampleCell(200, 10_000), defaultLoader: 'cell_to_msgpack' },
  { loader: 'just_create_folder', name: 'managed-folder', value: undefined, compare: checkManagedFolder },
  { loader: 'just_create_isf_db', name: 'sub-database', value: undefined, compare: checkSubDb },
);

// ---------------------------------------------------------------- the suite

const FULL_PREFIX = 'data_base.isf_data_base.IO.LoaderDumper.';

function keyName(c: ConformanceCase): string {
  return `${c.loader}-${c.name}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/**
 * Folders of `dbDir` that are not the key folders we expect: retired values and staged writes.
 * The history folder of kept versions (keepVersions) is not debris: its content is checked by
 * the overwrite test.
 */
function debris(dbDir: string): string[] {
  const out: string[] = [];
  for (const entry of fsSync.readdirSync(dbDir)) {
    if (entry === HISTORY_FOLDER) continue;
    if (entry === STAGING_FOLDER) {
      for (const staged of fsSync.readdirSync(path.join(dbDir, entry))) out.push(`${entry}/${staged}`);
    } else if (entry.includes('.deleting.') || entry.endsWith('.lock')) {
      out.push(entry);
    }
  }
  return out;
}

/**
 * Every case in `cases` round-trips through `makeDb`'s database, plus the key-handling behaviours
 * every database must show. `makeDb` gets a fresh temp folder (and $ISFDB_REGISTRY already points
 * to a temp registry).
 */
export function defineLoaderConformance(
  name: string,
  makeDb: (tmp: string) => Promise<DataBase>,
  cases: readonly ConformanceCase[] = conformanceCases,
  /** The keepVersions `makeDb` opens with (default 0): how many old values an overwrite keeps. */
  { keepVersions = 0 }: { keepVersions?: number } = {},
): void {
  describe(`loader conformance: ${name}`, () => {
    let db: DataBase;

    beforeAll(async () => {
      await sandbox();
      db = await makeDb(await makeTemp('isfdb-conf-'));
    });
    afterAll(async () => {
      await settleBackgroundRemovals();
      await cleanupTemp();
    });

    for (const c of cases) {
      it(`${c.loader}: ${c.name} round-trips`, async () => {
        const key = keyName(c);
        await db.set(key, c.value, c.loader);
        const compare = c.compare ?? ((a: unknown, e: unknown) => expectSameValue(a, e));
        await compare(await db.get(key), c.value, { db, key });
        // A second read (fresh from disk) gives the same value.
        await compare(await db.get(key), c.value, { db, key });
        expect(await db.has(key)).toBe(true);
        expect(await db.loaderOf(key)).toBe(c.loader);
        expect((await db.metadata(key)).dumper).toBe(c.loader);
        const folder = await db.folderOf(key);
        expect(path.dirname(folder)).toBe(db.basedir);
        expect(JSON.parse(fsSync.readFileSync(path.join(folder, 'Loader.json'), 'utf8')).Loader).toBe(`${FULL_PREFIX}${c.loader}`);
        expect(JSON.parse(fsSync.readFileSync(path.join(folder, 'metadata.json'), 'utf8')).dumper).toBe(c.loader);
        expect(await db.keys()).toContain(key);
      });
    }

    const byLoader = new Map<string, ConformanceCase>();
    for (const c of cases) if (!byLoader.has(c.loader)) byLoader.set(c.loader, c);

    it('every case (but sub-databases) round-trips through one setMany batch, under tuple keys too', async () => {
      const batch = cases.filter((c) => c.loader !== 'just_create_isf_db');
      const keyOf = (c: ConformanceCase, i: number) => (i % 2 === 0 ? `many-${keyName(c)}` : ['many', keyName(c)]);
      await db.setMany(batch.map((c, i) => ({ key: keyOf(c, i), value: c.value, dumper: c.loader })));
      for (const [i, c] of batch.entries()) {
        const key = keyOf(c, i);
        const compare = c.compare ?? ((a: unknown, e: unknown) => expectSameValue(a, e));
        await compare(await db.get(key), c.value, { db, key });
        expect(await db.loaderOf(key)).toBe(c.loader);
      }
      expect((await db.verify()).ok).toBe(true);
    });

    for (const c of byLoader.values()) {
      it(`${c.loader}: round-trips under a tuple key`, async () => {
        const key = ['tuple', `t-${c.loader}`, 'leaf'];
        await db.set(key, c.value, c.loader);
        const compare = c.compare ?? ((a: unknown, e: unknown) => expectSameValue(a, e));
        await compare(await db.get(key), c.value, { db, key });
        expect(await db.has(key)).toBe(true);
        expect(await db.loaderOf(key)).toBe(c.loader);
        expect(await db.folderOf(key)).toBe(path.join(db.basedir, 'tuple', 'db', `t-${c.loader}`, 'db', 'leaf'));
        expect(fsSync.existsSync(path.join(db.basedir, 'tuple', 'db', `t-${c.loader}`, 'db', 'leaf', 'Loader.json'))).toBe(true);
        // (a sub-database case adds keys inside it, so look for the key as a prefix)
        const listed = await db.keys({ recurse: true });
        expect(listed.some((k) => key.every((part, i) => k[i] === part)), JSON.stringify(listed)).toBe(true);
      });
    }

    for (const c of byLoader.values()) {
      if (c.loader === 'just_create_isf_db') continue; // maybeCalculate refuses sub-databases (tested in test/core)
      it(`${c.loader}: maybeCalculate returns what get returns, on the first call and on the cached one`, async () => {
        const key = `calc-${c.loader}`;
        const first = await db.maybeCalculate(key, () => c.value, { dumper: c.loader });
        const stored = await db.get(key);
        expectSameValue(first, stored);
        const cached = await db.maybeCalculate(key, () => { throw new Error('a cached value must not be computed again'); }, { dumper: c.loader });
        expectSameValue(cached, stored);
        const compare = c.compare ?? ((a: unknown, e: unknown) => expectSameValue(a, e));
        await compare(first, c.value, { db, key });
      });
    }

    for (const c of cases.filter((x) => x.defaultLoader !== undefined)) {
      it(`default dumper: ${c.loader}/${c.name} is stored with ${c.defaultLoader}`, async () => {
        const key = `default-${keyName(c)}`;
        await db.set(key, c.value);
        expect(await db.loaderOf(key)).toBe(c.defaultLoader);
        const compare = c.compare ?? ((a: unknown, e: unknown) => expectSameValue(a, e));
        await compare(await db.get(key), c.value, { db, key });
      });
    }

    it('default dumper: a value no loader takes is refused with UnknownLoaderError and writes nothing', async () => {
      class Custom { x = 1; }
      const before = fsSync.readdirSync(db.basedir).sort();
      const err = await db.set('custom-class', new Custom()).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(UnknownLoaderError);
      expect((err as Error).message).toBe("no loader for key 'custom-class': no loader stores this value: value is a Custom (only plain objects are stored) (loaders tried: to_msgpack, value_to_msgpack); name a dumper, or register a loader whose canDump() accepts it");
      expect(await db.has('custom-class')).toBe(false);
      expect(fsSync.readdirSync(db.basedir).filter((e) => !before.includes(e) && e !== STAGING_FOLDER)).toEqual([]);
    });

    for (const c of byLoader.values()) {
      if (c.loader === 'just_create_isf_db') continue; // a sub-database cannot be overwritten with data (tested in core)
      it(`${c.loader}: overwrite leaves exactly one folder, no debris, and the new value`, async () => {
        const key = `overwrite-${c.loader}`;
        await db.set(key, { first: true }, 'value_to_msgpack');
        await db.set(key, c.value, c.loader);
        await db.set(key, c.value, c.loader);
        const compare = c.compare ?? ((a: unknown, e: unknown) => expectSameValue(a, e));
        await compare(await db.get(key), c.value, { db, key });
        expect(await db.loaderOf(key)).toBe(c.loader);
        await db.set(key, { last: 3 }, 'value_to_msgpack');
        expectSameValue(await db.get(key), { last: 3 });
        // Four writes: the three old values are dropped, or the newest `keepVersions` of them kept.
        const kept = (await db.history(key)).filter((v) => !v.current);
        expect(kept.map((v) => v.version)).toEqual([1, 2, 3].slice(3 - Math.min(3, keepVersions)));
        // (A managed folder's value is its own location, which a kept version does not share.)
        if (keepVersions > 0 && c.loader !== 'just_create_folder') await compare(await db.get(key, { version: 3 }), c.value, { db, key });
        await settleBackgroundRemovals();
        expect(fsSync.readdirSync(db.basedir).filter((e) => e.startsWith(key))).toEqual([key]);
        expect(debris(db.basedir)).toEqual([]);
      });

      it(`${c.loader}: delete removes the key and its folder`, async () => {
        const key = `delete-${c.loader}`;
        await db.set(key, c.value, c.loader);
        expect(await db.has(key)).toBe(true);
        await db.delete(key);
        expect(await db.has(key)).toBe(false);
        expect(await db.keys()).not.toContain(key);
        const err = await db.get(key).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(KeyNotFoundError);
        expect((err as KeyNotFoundError).key).toBe(key);
        await settleBackgroundRemovals();
        expect(fsSync.readdirSync(db.basedir).filter((e) => e.startsWith(key))).toEqual([]);
        expect(debris(db.basedir)).toEqual([]);
      });
    }

    it('sub-database key: delete removes it with everything inside', async () => {
      await db.set(['deleted-sub', 'a'], { v: 1 });
      await db.delete('deleted-sub');
      expect(await db.has('deleted-sub')).toBe(false);
      expect(await db.has(['deleted-sub', 'a'])).toBe(false);
      expect(fsSync.existsSync(path.join(db.basedir, 'deleted-sub'))).toBe(false);
    });

    it('metadata records the dumper of every write, and a new write replaces it', async () => {
      await db.set('meta-dumper', new Float64Array([1]));
      expect((await db.metadata('meta-dumper')).dumper).toBe('numpy_to_npy');
      await db.set('meta-dumper', new Float64Array([1]), 'numpy_to_npz');
      expect((await db.metadata('meta-dumper')).dumper).toBe('numpy_to_npz');
      expect((await db.metadata('meta-dumper')).metadata_creation_time).toBe('together_with_new_key');
    });

    it('every case left the database listing only key folders', async () => {
      await settleBackgroundRemovals();
      expect(debris(db.basedir)).toEqual([]);
      for (const key of await db.keys()) expect(fsSync.existsSync(path.join(db.basedir, key, 'Loader.json'))).toBe(true);
    });

    it('the comparison helper tells typed-array classes, -0 and bigints apart', () => {
      expect(sameValueProblem(new Float32Array([1]), new Float64Array([1]))).toMatch(/expected a Float64Array, got a Float32Array/);
      expect(sameValueProblem(-0, 0)).toMatch(/expected 0, got -0/);
      expect(sameValueProblem(5, 5n)).toMatch(/expected bigint/);
    });
  });
}
