/** Readers during writes, in-process concurrency, failing loaders, user loaders. */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DataBase, LoaderError, registerLoader, unregisterLoader, listLoaders, getLoader, UnknownLoaderError, type Loader,
} from '../../src/index.js';
import { STAGING_FOLDER, settleBackgroundRemovals } from '../../src/store/keyfolder.js';
import { caught, cleanupTemp, sandbox, spawnProc, type RunningProc, type Sandbox } from './helpers.js';

let sb: Sandbox;
const running: RunningProc[] = [];
beforeEach(async () => { sb = await sandbox(); });
afterEach(async () => {
  for (const child of running.splice(0)) child.kill('SIGKILL');
  await settleBackgroundRemovals();
  await cleanupTemp();
});

function leftovers(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fsSync.readdirSync(dir)) {
    if (entry === STAGING_FOLDER) out.push(...fsSync.readdirSync(path.join(dir, entry)).map((e) => `${entry}/${e}`));
    else if (entry.includes('.deleting.') || entry.endsWith('.lock')) out.push(entry);
  }
  return out;
}

describe('readers during writes', () => {
  it('reader processes never see a missing, partial or corrupt value while 3 processes overwrite the key', async () => {
    const dir = path.join(sb.root, 'db');
    const db = await DataBase.open(dir);
    await db.set('hot', { writer: '0', i: 0, pid: 0, data: new Float64Array(2048).fill(0) });
    const stop = path.join(sb.root, 'stop');
    const env = { ISFDB_REGISTRY: sb.registryDir };
    const readers = [1, 2].map(() => spawnProc('read-loop', [dir, 'hot', stop], env));
    running.push(...readers);
    await Promise.all(readers.map((r) => r.waitForLine('ready')));
    const writers = ['1', '2', '3'].map((id) => spawnProc('writer', [dir, 'hot', id, '25'], env));
    running.push(...writers);
    const results = await Promise.allSettled(writers.map((w) => w.done));
    await fs.writeFile(stop, '');
    const readerResults = await Promise.all(readers.map((r) => r.done));
    for (const r of results) {
      expect(r.status).toBe('fulfilled');
      expect((r as PromiseFulfilledResult<Awaited<RunningProc['done']>>).value.code).toBe(0);
    }
    for (const readerResult of readerResults) {
      expect(readerResult.code, readerResult.stderr).toBe(0);
      const summary = JSON.parse(readerResult.stdout.trim().split('\n').at(-1)!) as { reads: number; failures: string[]; failureCount: number; writers: string[] };
      expect(summary.failures).toEqual([]);
      expect(summary.failureCount).toBe(0);
      expect(summary.reads).toBeGreaterThan(10);
      expect(summary.writers.some((w) => w !== '0')).toBe(true);
    }
  }, 60_000);
});

describe('in-process concurrency', () => {
  it('30 concurrent sets of one key end with one of the values and no debris; all settle', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => db.set('k', { i })));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const value = (await db.get('k')) as { i: number };
    expect(value.i).toBeGreaterThanOrEqual(0);
    expect(value.i).toBeLessThan(30);
    await settleBackgroundRemovals();
    expect(leftovers(db.basedir)).toEqual([]);
  });

  it('concurrent sets of different tuple keys in one new sub-database create it once', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => db.set(['run', `k${i}`], i)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const sub = (await db.get('run')) as DataBase;
    expect(await sub.keys()).toHaveLength(12);
    for (let i = 0; i < 12; i++) expect(await db.get(['run', `k${i}`])).toBe(i);
    const { entries } = await sb.registry.list();
    expect(entries.map((e) => e.path).sort()).toEqual([db.basedir, sub.basedir].sort());
  });
});

describe('failing loaders', () => {
  it('a dump that fails is wrapped in LoaderError (loader, key, cause), leaves the previous value and no debris', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('arr', new Float64Array([1, 2]));
    const bad = { dtype: 'float64', shape: [3], data: new Float64Array(2) };
    const err = await caught(() => db.set('arr', bad));
    expect(err).toBeInstanceOf(LoaderError);
    const loaderErr = err as LoaderError;
    expect(loaderErr.loader).toBe('numpy_to_npy');
    expect(loaderErr.key).toBe('arr');
    expect(loaderErr.operation).toBe('dump');
    expect(loaderErr.cause).toBeInstanceOf(TypeError);
    expect(err.message).toBe("loader 'numpy_to_npy' failed to dump key 'arr': shape [3] holds 3 elements but data has 2");
    expect([...((await db.get('arr')) as { data: Float64Array }).data]).toEqual([1, 2]);
    await settleBackgroundRemovals();
    expect(leftovers(db.basedir)).toEqual([]);
    // A new key that fails is not created at all.
    await expect(db.set('fresh', bad)).rejects.toBeInstanceOf(LoaderError);
    expect(await db.has('fresh')).toBe(false);
    expect(fsSync.existsSync(path.join(db.basedir, 'fresh'))).toBe(false);
  });

  it('value_to_msgpack refuses class instances when named explicitly', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    class Thing { a = 1; }
    const err = await caught(() => db.set('t', new Thing(), 'value_to_msgpack'));
    expect(err).toBeInstanceOf(LoaderError);
    expect(err.message).toContain("loader 'value_to_msgpack' failed to dump key 't'");
    expect(await db.has('t')).toBe(false);
  });

  it('a cell that is not a cell is refused by cell_to_msgpack naming the bad field', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const err = await caught(() => db.set('c', { tVec: [0], parameters: {}, sections: [{ label: 'Soma' }], synapses: {}, hoc: '' }, 'cell_to_msgpack'));
    expect(err).toBeInstanceOf(LoaderError);
    expect(err.message).toMatch(/^loader 'cell_to_msgpack' failed to dump key 'c': not a cell: sections\.0\./);
  });

  it('an unknown dumper name is refused with UnknownLoaderError before anything is written', async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const err = await caught(() => db.set('k', 1, 'no_such_loader'));
    expect(err).toBeInstanceOf(UnknownLoaderError);
    expect(err.message).toBe("unknown loader 'no_such_loader' for key 'k': register it with registerLoader() or use one of listLoaders()");
    expect(await db.keys()).toEqual([]);
  });
});

describe('value_to_msgpack edge values', () => {
  it("an own '__proto__' key (as JSON.parse makes) round-trips under its own name, or set refuses it", async () => {
    const db = await DataBase.open(path.join(sb.root, 'db'));
    const value = JSON.parse('{"__proto__": {"x": 1}, "a": 1}') as Record<string, unknown>;
    const stored = await db.set('p', value).then(() => true, (err: unknown) => {
      expect(err).toBeInstanceOf(Error);
      return false;
    });
    if (!stored) return;
    const got = (await db.get('p')) as Record<string, unknown>;
    expect(Object.keys(got).sort()).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(got, '__proto__')?.value).toEqual({ x: 1 });
  });
});

describe('user loaders', () => {
  const upper: Loader<string> = {
    name: 'upper_text',
    canDump: (v) => typeof v === 'string' && v.startsWith('UPPER:'),
    async dump(value, dir) {
      await fs.writeFile(path.join(dir, 'text.txt'), value.toUpperCase());
      return { encoding: 'utf8' };
    },
    async load(dir, loaderJson) {
      return { text: await fs.readFile(path.join(dir, 'text.txt'), 'utf8'), encoding: loaderJson['encoding'] };
    },
  };

  afterEach(() => { unregisterLoader('upper_text'); });

  it('registered loaders are chosen by canDump before built-ins, record extra Loader.json fields, and load', async () => {
    registerLoader(upper as Loader<never>);
    expect(listLoaders().user).toEqual(['upper_text']);
    expect(await getLoader('data_base.isf_data_base.IO.LoaderDumper.upper_text')).toBe(upper);
    const db = await DataBase.open(path.join(sb.root, 'db'));
    await db.set('shout', 'UPPER:hello');
    await db.set('plain', 'hello');
    expect(await db.loaderOf('shout')).toBe('upper_text');
    expect(await db.loaderOf('plain')).toBe('to_msgpack');
    expect(fsSync.readFileSync(path.join(db.basedir, 'shout', 'Loader.json'), 'utf8')).toBe(
      '{"Loader": "data_base.isf_data_base.IO.LoaderDumper.upper_text", "encoding": "utf8"}',
    );
    expect(await db.get('shout')).toEqual({ text: 'UPPER:HELLO', encoding: 'utf8' });
    expect(unregisterLoader('upper_text')).toBe(true);
    await expect(db.get('shout')).rejects.toBeInstanceOf(UnknownLoaderError);
  });

  it('malformed loaders are refused at registration', () => {
    expect(() => registerLoader({ ...upper, name: 'a.b' } as Loader<never>)).toThrow('a loader needs a non-empty name without dots');
    expect(() => registerLoader({ name: 'x', canDump: () => true } as unknown as Loader<never>)).toThrow("loader 'x' has no dump() function");
  });
});
