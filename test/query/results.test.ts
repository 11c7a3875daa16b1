/** db.results (Mozaik's rule: entries unique by params) and db.find over key metadata. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataBase, Registry, formatKey, isDataBaseError } from '../../src/index.js';
import { pythonWith, skipReason } from '../services.js';

let dir: string;
let db: DataBase;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'isfdb-results-'));
  db = await DataBase.open(path.join(dir, 'db'), { registry: new Registry(path.join(dir, 'registry')) });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => { throw new Error('expected a failure'); }, (err: unknown) => err);
}

describe('db.results', () => {
  it('adds entries, refuses equal params (whatever their key order) unless replace', async () => {
    const res = await db.results('psth');
    const first = await res.add({ tau: 20, cell: { type: 'L5tt' } }, new Float64Array([1, 2]));
    expect(first.key[0]).toBe('psth');
    const err = await caught(res.add({ cell: { type: 'L5tt' }, tau: 20 }, new Float64Array([9])));
    expect(isDataBaseError(err, 'DuplicateResultError') && err.existingKey).toBe(formatKey(first.key));
    expect((err as Error).message).toMatch(/already hold an entry with params \{"cell":\{"type":"L5tt"\},"tau":20\}/);
    expect(await first.load()).toMatchObject({ data: new Float64Array([1, 2]) });
    await res.add({ tau: 20, cell: { type: 'L5tt' } }, new Float64Array([3]), { replace: true });
    expect(await (await res.one({ tau: 20 })).load()).toMatchObject({ data: new Float64Array([3]) });
  });

  it('get/one use the dialect; partitionBy, varying and missing', async () => {
    const res = await db.results('grid');
    for (const tau of [10, 20, 30]) for (const seed of [1, 2]) await res.add({ tau, seed, model: 'a' }, { tau, seed });
    expect((await res.get({ tau: { ge: 20 }, seed: 2 })).map((e) => e.params['tau']).sort()).toEqual([20, 30]);
    expect((await res.get()).length).toBe(6);
    expect((await res.one({ tau: 30, seed: 1 })).params).toEqual({ model: 'a', seed: 1, tau: 30 });
    const none = await caught(res.one({ tau: 99 }));
    expect(isDataBaseError(none, 'QueryError') && none.message).toMatch(/0 entries match, expected exactly one/);
    const many = await caught(res.one({ tau: 10 }));
    expect((many as Error).message).toMatch(/2 entries match/);
    const bad = await caught(res.get({ nope: 1 }));
    expect(isDataBaseError(bad, 'QueryError') && bad.column).toBe('nope');
    const groups = await res.partitionBy(['seed']);
    expect(groups.map((g) => g.map((e) => e.params['seed']).sort())).toEqual([[1, 2], [1, 2], [1, 2]]);
    expect(groups.map((g) => g[0]!.params['tau']).sort()).toEqual([10, 20, 30]);
    expect(await res.varying()).toEqual(['seed', 'tau']);
    expect(await res.missing({ tau: [10, 40], seed: [1, 3] }, { model: 'a' })).toEqual([
      { model: 'a', tau: 10, seed: 3 }, { model: 'a', tau: 40, seed: 1 }, { model: 'a', tau: 40, seed: 3 },
    ]);
  });

  it('two writers adding equal params at once: one wins, the other gets a typed error', async () => {
    const other = await DataBase.open(db.basedir, { registry: new Registry(path.join(dir, 'registry')) });
    await (await db.results('race')).add({ warmup: true }, 0);
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.allSettled([
        (await db.results('race')).add({ x: round }, 'a'),
        (await other.results('race')).add({ x: round }, 'b'),
      ]);
      const outcomes = [a, b].map((r) => r.status);
      expect(outcomes.sort()).toEqual(['fulfilled', 'rejected']);
      const lost = [a, b].find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(isDataBaseError(lost.reason, 'DuplicateResultError')).toBe(true);
      const winner = [a, b].findIndex((r) => r.status === 'fulfilled') === 0 ? 'a' : 'b';
      expect(await (await (await db.results('race')).one({ x: round })).load()).toBe(winner);
    }
  });

  it('an entry whose metadata has no params is reported', async () => {
    const res = await db.results('broken');
    await res.add({ a: 1 }, 1);
    await db.set(['broken', 'stray'], 2);
    const err = await caught(res.entries());
    expect(isDataBaseError(err, 'CorruptKeyError') && err.key).toBe(formatKey(['broken', 'stray']));
    expect((err as Error).message).toMatch(/results entry without params/);
  });

  it('refuses a name that holds data, and params that are not an object', async () => {
    await db.set('plain', 3);
    expect(isDataBaseError(await caught(db.results('plain')), 'InvalidInputError')).toBe(true);
    const res = await db.results('ok');
    expect(isDataBaseError(await caught(res.add([1, 2] as never, 1)), 'InvalidInputError')).toBe(true);
    expect(await db.has('ok')).toBe(false); // nothing created by a refused add
  });

  const python = pythonWith(['pandas']);
  it.skipIf(!python.ok)('entries are plain keys that Python reads', async () => {
    skipReason(python, 'python interop');
    const res = await db.results('py');
    const entry = await res.add({ n: 3 }, new Float64Array([1, 2, 3]));
    const folder = await db.folderOf(entry.key);
    const script = path.join(dir, 'read.py');
    writeFileSync(script, [
      'import json, sys, numpy, os',
      'folder = sys.argv[1]',
      "print(json.dumps({'loader': json.load(open(os.path.join(folder, 'Loader.json')))['Loader'],",
      "  'params': json.load(open(os.path.join(folder, 'metadata.json')))['isfdb_recipe']['params'],",
      "  'value': numpy.load(os.path.join(folder, 'np.npy')).tolist(),",
      "  'listed': sorted(os.listdir(os.path.dirname(folder)))}))",
    ].join('\n'));
    const out = spawnSync(python.ok ? python.value : 'python3', [script, folder], { encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    const parsed = JSON.parse(out.stdout) as { loader: string; params: unknown; value: number[]; listed: string[] };
    expect(parsed.loader).toMatch(/numpy_to_npy$/);
    expect(parsed.params).toEqual({ n: 3 });
    expect(parsed.value).toEqual([1, 2, 3]);
    expect(parsed.listed).toContain(entry.key[1]);
    expect(readFileSync(path.join(folder, 'metadata.json'), 'utf8')).toContain('"isfdb_recipe"');
  });
});

describe('db.find', () => {
  it('finds keys by loader, params, time, host and key name', async () => {
    const fdb = await DataBase.open(path.join(dir, 'finddb'), { registry: new Registry(path.join(dir, 'registry')) });
    await fdb.set('a', new Float64Array([1]));
    await fdb.set('b', { x: 1 });
    await fdb.maybeCalculate('c', () => new Float64Array([2]), { params: { tau: 5, opts: { mode: 'fast' } } });
    const res = await fdb.results('r');
    await res.add({ tau: 7 }, 1);
    const keys = async (where: Parameters<DataBase['find']>[0]): Promise<string[]> => (await fdb.find(where)).map((k) => k.key.join('/')).sort();
    expect(await keys({ loader: 'numpy_to_npy' })).toEqual(['a', 'c']);
    expect(await keys({ 'params.tau': { ge: 5 } })).toEqual(['c', `r/${(await res.one({ tau: 7 })).key[1]}`]);
    expect(await keys({ 'params.opts.mode': 'fast' })).toEqual(['c']);
    expect(await keys({ 'params.missing': { isnull: false } })).toEqual([]);
    expect(await keys({ time: { ge: '2000-01-01T00:00:00Z' }, key: { regex: '^[ab]$' } })).toEqual(['a', 'b']);
    const all = await fdb.find({});
    expect(all.length).toBe(4);
    expect(all.every((k) => typeof k.host === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(k.time ?? ''))).toBe(true);
    expect(isDataBaseError(await caught(fdb.find({ nope: 1 })), 'QueryError')).toBe(true);
    expect(isDataBaseError(await caught(fdb.find({ loader: { regex: '(' } })), 'QueryError')).toBe(true);
    expect(isDataBaseError(await caught(fdb.find({ dirty: 'yes' })), 'QueryError')).toBe(true);
  });
});
