/**
 * db.setMany with real processes: a writer killed (SIGKILL) in the middle of a batch leaves every
 * key either at its old or at its new value, never torn, and the next lock of a key (or fsck)
 * cleans the staging folder; writers doing setMany and set on overlapping keys at once all finish,
 * and every key ends with one writer's whole value.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { STAGING_FOLDER, settleBackgroundRemovals } from '../../src/store/keyfolder.js';
import { cleanupTemp, ls, sandbox, spawnProc } from '../core/helpers.js';

afterEach(async () => {
  await settleBackgroundRemovals();
  await cleanupTemp();
});

interface Written { gen: number; writer: number; key: string; data: Float64Array }

/** Every key's value, checked whole: its data says the same generation and writer as its fields. */
async function readAll(db: DataBase, keys: string[]): Promise<Map<string, Written>> {
  const out = new Map<string, Written>();
  for (const key of keys) {
    const v = (await db.get(key)) as Written;
    expect(v.key).toBe(key);
    expect(new Set(v.data)).toEqual(new Set([v.gen * 1000 + v.writer]));
    out.set(key, v);
  }
  return out;
}

const keyNames = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `k${String(from + i).padStart(3, '0')}`);
const lastBatch = (stdout: string) => Math.max(0, ...stdout.split('\n').filter((l) => l.startsWith('batch ')).map((l) => Number(l.slice(6))));

describe('db.setMany under crashes and concurrency (real processes)', () => {
  it('a writer killed mid-batch leaves each key old or new, never torn; recovery and fsck clean the staging folder', async () => {
    const sb = await sandbox();
    const dir = path.join(sb.root, 'db');
    const env = { ISFDB_REGISTRY: sb.registryDir };
    const keys = keyNames(0, 120);
    const db = await DataBase.open(dir, { registry: sb.registry, lockStaleMs: 2000 });
    await db.setMany(keys.map((key) => ({ key, value: { gen: 0, writer: 0, key, data: new Float64Array(256).fill(0) } })));
    for (let round = 1; round <= 4; round++) {
      const before = await readAll(db, keys);
      // Rounds 1 and 2: killed while staging (half the keys staged). Rounds 3 and 4: killed while
      // publishing, between the two renames of the 38th key.
      const how = round <= 2 ? 'pause' : 'crash:37';
      const child = spawnProc('batch-writer', [dir, 'many', '0', '120', '1000', String(round), how], env);
      if (how === 'pause') {
        await child.waitForLine('staging 1', 60_000);
        await new Promise((resolve) => setTimeout(resolve, 50));
        child.kill('SIGKILL');
      }
      const { stdout, signal } = await child.done;
      expect(signal).toBe('SIGKILL');
      expect(lastBatch(stdout)).toBe(0);
      expect(ls(path.join(dir, STAGING_FOLDER)).length).toBeGreaterThan(0);
      const isNew = (v: Written | undefined) => v?.writer === round && v.gen === 1;
      const isOld = (key: string, v: Written | undefined) => v?.writer === before.get(key)!.writer && v.gen === before.get(key)!.gen;
      // Before recovery: every key old or new, except, when killed between a key's two renames, that one key.
      const seen = new Map<string, Written | undefined>();
      for (const key of keys) seen.set(key, await db.has(key) ? (await readAll(db, [key])).get(key) : undefined);
      const missing = keys.filter((key) => seen.get(key) === undefined);
      expect(missing).toEqual(how === 'pause' ? [] : [keys[37]]);
      expect(keys.filter((key) => isNew(seen.get(key))).length).toBe(how === 'pause' ? 0 : 37);
      for (const key of keys) if (seen.get(key) !== undefined) expect(isNew(seen.get(key)) || isOld(key, seen.get(key))).toBe(true);
      if (round % 2 === 1) {
        // fsck (offline: the killed writer's locks count as stale at once) rolls forward and cleans.
        expect((await db.fsck({ repair: true, offline: true })).clean).toBe(true);
      } else {
        // The next lock of each key finishes what the killed writer left (here: a batch over all keys).
        await db.setMany(keys.map((key) => ({ key, value: { gen: 0, writer: 0, key, data: new Float64Array(256).fill(0) } })));
      }
      const after = await readAll(db, keys);
      if (round % 2 === 1) {
        // The key killed between its renames was rolled forward: it has its new value.
        expect(keys.filter((key) => isNew(after.get(key))).length).toBe(how === 'pause' ? 0 : 38);
        for (const key of keys) expect(isNew(after.get(key)) || isOld(key, after.get(key))).toBe(true);
      }
      expect((await db.verify()).ok).toBe(true);
      await settleBackgroundRemovals();
      expect(ls(path.join(dir, STAGING_FOLDER))).toEqual([]);
      expect(ls(dir).filter((name) => name.endsWith('.lock'))).toEqual([]);
      // Retired old values a killed writer had not removed yet are fsck's to remove (ISF ignores `.deleting.`).
      if (round % 2 === 1) expect(ls(dir).filter((name) => name.includes('.deleting.') && !name.startsWith('.isfdb'))).toEqual([]);
    }
  }, 180_000);

  it('processes doing setMany and set on overlapping keys all finish; every key holds one writer\'s whole value', async () => {
    const sb = await sandbox();
    const dir = path.join(sb.root, 'db');
    await DataBase.open(dir, { registry: sb.registry });
    const env = { ISFDB_REGISTRY: sb.registryDir };
    const children = [
      spawnProc('batch-writer', [dir, 'many', '0', '60', '6', '1', 'shuffle'], env),
      spawnProc('batch-writer', [dir, 'many', '30', '90', '6', '2', 'shuffle'], env),
      spawnProc('batch-writer', [dir, 'set', '20', '70', '3', '3', 'shuffle'], env),
    ];
    const results = await Promise.all(children.map((c) => c.done));
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.stdout.trim().split('\n').at(-1)).toBe('done');
    }
    const db = await DataBase.open(dir, { registry: sb.registry });
    const values = await readAll(db, keyNames(0, 90));
    // Keys only one writer touched hold its last generation.
    expect(values.get('k000')).toMatchObject({ writer: 1, gen: 6 });
    expect(values.get('k089')).toMatchObject({ writer: 2, gen: 6 });
    for (const [key, v] of values) {
      const n = Number(key.slice(1));
      const writers = [n < 60 ? 1 : 0, n >= 30 ? 2 : 0, n >= 20 && n < 70 ? 3 : 0].filter((w) => w > 0);
      expect(writers).toContain(v.writer);
    }
    expect((await db.verify()).ok).toBe(true);
    expect(ls(path.join(dir, STAGING_FOLDER))).toEqual([]);
    expect(ls(dir).filter((name) => name.endsWith('.lock') || (name.includes('.deleting.') && !name.startsWith('.isfdb')))).toEqual([]);
  }, 180_000);
});
