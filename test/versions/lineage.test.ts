/** Lineage-aware maybeCalculate: recompute on each kind of change and not otherwise; staleness; compute once. */
import fsSync from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataBase, RECIPE_FIELD, canonicalJson, isDataBaseError } from '../../src/index.js';
import { settleBackgroundRemovals } from '../../src/store/keyfolder.js';
import { caught, cleanupTemp, makeTemp, sandbox, type Sandbox } from '../core/helpers.js';
import { startChild } from './procs.js';

let sb: Sandbox;
beforeEach(async () => { sb = await sandbox(); });
afterEach(async () => {
  await settleBackgroundRemovals();
  await cleanupTemp();
});

async function open(keepVersions?: number): Promise<DataBase> {
  return DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry, keepVersions });
}

/** A computation that counts its calls. */
function counted<T>(make: () => T): { fn: () => T; calls: () => number } {
  let n = 0;
  return { fn: () => { n++; return make(); }, calls: () => n };
}

describe('maybeCalculate without a recipe (ISF behaviour)', () => {
  it('computes once, then reads; force recomputes', async () => {
    const db = await open();
    const c = counted(() => ({ v: 1 }));
    expect(await db.maybeCalculate('k', c.fn)).toEqual({ v: 1 });
    expect(await db.maybeCalculate('k', c.fn)).toEqual({ v: 1 });
    expect(c.calls()).toBe(1);
    await db.maybeCalculate('k', c.fn, { force: true });
    expect(c.calls()).toBe(2);
  });
});

describe('maybeCalculate with a recipe', () => {
  it('recomputes when params change, not when they are equal up to key order', async () => {
    const db = await open();
    const c = counted(() => ({ v: 1 }));
    await db.maybeCalculate('k', c.fn, { params: { a: 1, b: { c: 2, d: [1, 2] } } });
    await db.maybeCalculate('k', c.fn, { params: { b: { d: [1, 2], c: 2 }, a: 1 } });
    expect(c.calls()).toBe(1);
    await db.maybeCalculate('k', c.fn, { params: { a: 1, b: { c: 3, d: [1, 2] } } });
    expect(c.calls()).toBe(2);
    await db.maybeCalculate('k', c.fn, { params: { a: 1, b: { c: 3, d: [1, 2] } } });
    expect(c.calls()).toBe(2);
    const recipe = (await db.metadata('k'))[RECIPE_FIELD] as { params: unknown; hash: string };
    expect(recipe.params).toEqual({ a: 1, b: { c: 3, d: [1, 2] } });
    expect(recipe.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("recomputes when an input's content changes, not when it is rewritten unchanged", async () => {
    const db = await open();
    await db.set('raw', { x: [1, 2, 3] });
    const c = counted(() => ({ sum: 6 }));
    const opts = { inputs: ['raw'] };
    await db.maybeCalculate('sum', c.fn, opts);
    await db.maybeCalculate('sum', c.fn, opts);
    expect(c.calls()).toBe(1);
    await db.set('raw', { x: [1, 2, 3] }); // same content, new write
    await db.maybeCalculate('sum', c.fn, opts);
    expect(c.calls()).toBe(1);
    await db.set('raw', { x: [1, 2, 4] });
    await db.maybeCalculate('sum', c.fn, opts);
    expect(c.calls()).toBe(2);
    await db.maybeCalculate('sum', c.fn, opts);
    expect(c.calls()).toBe(2);
  });

  it('recomputes when the code version or the function source changes', async () => {
    const db = await open();
    const c = counted(() => ({ v: 1 }));
    await db.maybeCalculate('k', c.fn, { code: 'v1' });
    await db.maybeCalculate('k', c.fn, { code: 'v1' });
    expect(c.calls()).toBe(1);
    await db.maybeCalculate('k', c.fn, { code: 'v2' });
    expect(c.calls()).toBe(2);
    const analyse = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    const analyseFixed = (xs: number[]): number => xs.reduce((a, b) => a + b, 1);
    await db.maybeCalculate('k', c.fn, { code: analyse });
    expect(c.calls()).toBe(3);
    await db.maybeCalculate('k', c.fn, { code: analyse });
    expect(c.calls()).toBe(3);
    await db.maybeCalculate('k', c.fn, { code: analyseFixed });
    expect(c.calls()).toBe(4);
    expect((await db.metadata('k'))[RECIPE_FIELD]).toMatchObject({ code: expect.stringMatching(/^source:sha256:/) });
  });

  it('force always recomputes; a key written without a recipe is recomputed once a recipe is given', async () => {
    const db = await open();
    await db.set('k', { v: 0 });
    const c = counted(() => ({ v: 1 }));
    await db.maybeCalculate('k', c.fn, { params: { p: 1 } });
    expect(c.calls()).toBe(1);
    await db.maybeCalculate('k', c.fn, { params: { p: 1 }, force: true });
    expect(c.calls()).toBe(2);
  });

  it('keeps the old result in history when history is on', async () => {
    const db = await open(3);
    await db.maybeCalculate('k', () => ({ v: 1 }), { params: { p: 1 } });
    await db.maybeCalculate('k', () => ({ v: 2 }), { params: { p: 2 } });
    const history = await db.history('k');
    expect(history.map((v) => v.version)).toEqual([1, 'current']);
    expect(history[0]!.recipe).not.toBe(history[1]!.recipe);
    expect(await db.get('k', { version: 1 })).toEqual({ v: 1 });
  });

  it('refuses params that are not JSON', async () => {
    const db = await open();
    const err = await caught(() => db.maybeCalculate('k', () => 1, { params: { f: () => 1 } }));
    expect(isDataBaseError(err, 'InvalidInputError')).toBe(true);
    expect(canonicalJson({ b: 1, a: [2, { d: 1, c: 2 }] })).toBe('{"a":[2,{"c":2,"d":1}],"b":1}');
  });

  it('a missing input is an error naming it', async () => {
    const db = await open();
    const err = await caught(() => db.maybeCalculate('k', () => 1, { inputs: ['nope'] }));
    expect(isDataBaseError(err, 'KeyNotFoundError')).toBe(true);
  });

  it('on a readonly database returns a fresh value and refuses to recompute', async () => {
    const db = await open();
    await db.maybeCalculate('k', () => ({ v: 1 }), { params: { p: 1 } });
    const ro = await DataBase.open(db.basedir, { readonly: true, registry: sb.registry });
    expect(await ro.maybeCalculate('k', () => ({ v: 9 }), { params: { p: 1 } })).toEqual({ v: 1 });
    expect(isDataBaseError(await caught(() => ro.maybeCalculate('k', () => ({ v: 9 }), { params: { p: 2 } })), 'ReadonlyError')).toBe(true);
  });

  it('concurrent callers in one process compute once', async () => {
    const db = await open();
    let calls = 0;
    const fn = async (): Promise<{ v: number }> => { calls++; await new Promise((r) => setTimeout(r, 100)); return { v: 7 }; };
    const results = await Promise.all([1, 2, 3].map(() => db.maybeCalculate('k', fn, { params: { p: 1 } })));
    expect(calls).toBe(1);
    expect(results).toEqual([{ v: 7 }, { v: 7 }, { v: 7 }]);
  });
});

describe('narrow then broaden (filter reuse)', () => {
  const spikes = { gid: [1, 2, 3, 4], t: [10, 20, 30, 40] };
  const narrow = (s: { gid: number[]; t: number[] }, keep: number[]): { gid: number[]; t: number[] } => {
    const idx = s.gid.map((g, i) => (keep.includes(g) ? i : -1)).filter((i) => i >= 0);
    return { gid: idx.map((i) => s.gid[i]!), t: idx.map((i) => s.t[i]!) };
  };

  it('one key, different params: asking for the broad result again never returns the narrowed data', async () => {
    const db = await open(2);
    const compute = (gids: number[] | 'all') => () => (gids === 'all' ? spikes : narrow(spikes, gids));
    expect(await db.maybeCalculate('spikes', compute('all'), { params: { gids: 'all' } })).toEqual(spikes);
    expect(await db.maybeCalculate('spikes', compute([2, 3]), { params: { gids: [2, 3] } })).toEqual({ gid: [2, 3], t: [20, 30] });
    expect(await db.maybeCalculate('spikes', compute('all'), { params: { gids: 'all' } })).toEqual(spikes);
    expect(await db.get('spikes')).toEqual(spikes);
  });

  it('narrower result computed from the broader cached one is stored under its own recipe', async () => {
    const db = await open();
    const broadFn = counted(() => spikes);
    const broad = await db.maybeCalculate('spikes', broadFn.fn, { params: { gids: 'all' } });
    const narrowed = await db.maybeCalculate('spikes_2_3', async () => {
      // Filter the broad value in place, as careless filter code does.
      const cached = (await db.get('spikes')) as { gid: number[]; t: number[] };
      const n = narrow(cached, [2, 3]);
      cached.gid.splice(0, cached.gid.length, ...n.gid);
      cached.t.splice(0, cached.t.length, ...n.t);
      return cached;
    }, { params: { gids: [2, 3] }, inputs: ['spikes'] });
    expect(narrowed).toEqual({ gid: [2, 3], t: [20, 30] });
    expect(broad).toEqual(spikes);
    expect(await db.maybeCalculate('spikes', broadFn.fn, { params: { gids: 'all' } })).toEqual(spikes);
    expect(broadFn.calls()).toBe(1);
    expect(await db.stale()).toEqual([]);
    const recipes = await Promise.all(['spikes', 'spikes_2_3'].map(async (k) => ((await db.metadata(k))[RECIPE_FIELD] as { hash: string }).hash));
    expect(recipes[0]).not.toBe(recipes[1]);
  });
});

describe('stale()', () => {
  it('finds keys whose inputs changed, transitively, with the reason', async () => {
    const db = await open();
    await db.set('raw', { x: 1 });
    await db.maybeCalculate('mid', () => ({ y: 2 }), { inputs: ['raw'] });
    await db.maybeCalculate('top', () => ({ z: 3 }), { inputs: ['mid'] });
    await db.maybeCalculate('other', () => ({ w: 4 }), { params: { p: 1 } });
    expect(await db.stale()).toEqual([]);
    await db.set('raw', { x: 2 });
    const stale = await db.stale();
    expect(stale.map((s) => s.key)).toEqual([['mid'], ['top']]);
    expect(stale[0]!.reasons).toMatchObject([{ input: ['raw'], kind: 'changed' }]);
    expect(stale[0]!.reasons[0]!.message).toMatch(/^input 'raw' changed since 'mid' was computed \([0-9a-f]{12} -> [0-9a-f]{12}\)$/);
    expect(stale[1]!.reasons).toMatchObject([{ input: ['mid'], kind: 'stale', message: "input 'mid' of 'top' is itself stale" }]);
    // Recomputing mid with the same content makes both fresh.
    await db.maybeCalculate('mid', () => ({ y: 2 }), { inputs: ['raw'] });
    expect(await db.stale()).toEqual([]);
    // Recomputing mid with new content makes top stale by change.
    await db.set('raw', { x: 3 });
    await db.maybeCalculate('mid', () => ({ y: 3 }), { inputs: ['raw'] });
    expect((await db.stale()).map((s) => [s.key, s.reasons.map((r) => r.kind)])).toEqual([[['top'], ['changed']]]);
    await db.delete('mid');
    expect((await db.stale()).map((s) => [s.key, s.reasons.map((r) => r.kind)])).toEqual([[['top'], ['missing']]]);
  });

  it('works across sub-databases, from the top database or the sub-database object', async () => {
    const db = await open();
    await db.set('raw', { x: 1 });
    await db.maybeCalculate(['analysis', 'rate'], () => ({ r: 1 }), { inputs: ['raw'] });
    const sub = (await db.get('analysis')) as DataBase;
    await sub.maybeCalculate('rate2', () => ({ r: 2 }), { inputs: ['rate'] });
    expect(await db.stale()).toEqual([]);
    await db.set('raw', { x: 2 });
    expect((await db.stale()).map((s) => s.key)).toEqual([['analysis', 'rate'], ['analysis', 'rate2']]);
    expect((await sub.stale()).map((s) => s.key)).toEqual([['rate'], ['rate2']]);
  });
});

describe('compute once across processes', () => {
  it('4 processes calling maybeCalculate on the same key compute once', async () => {
    const dbDir = path.join(sb.root, 'db');
    await open();
    const markers = await makeTemp('isfdb-versions-markers-');
    const procs = [1, 2, 3, 4].map(() => startChild('versions-calc', [dbDir, 'shared', markers]));
    await Promise.all(procs.map((p) => p.ready));
    fsSync.writeFileSync(path.join(markers, 'go'), '');
    const results = await Promise.all(procs.map((p) => p.done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const computed = fsSync.readdirSync(markers).filter((f) => f.startsWith('computed-'));
    expect(computed).toHaveLength(1);
    const values = results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!) as { by: number });
    expect(new Set(values.map((v) => v.by)).size).toBe(1);
    expect(`computed-${values[0]!.by}`).toBe(computed[0]);
  }, 30_000);
});
