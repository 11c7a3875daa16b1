/**
 * Core benchmark: small-key writes (set sequential, 8 in flight, setMany in batches of 100 with
 * shared work, fsync: false), get/s and registry lookups/s, against baselines measured in the same
 * run: a bare JSON file written with fdatasync (the cheapest durable store of a small record) and
 * read back. The write figures are medians of interleaved rounds, printed with their range. The
 * per-operation costs of this disk and of tmpfs, and setMany on tmpfs, say where a durable key's
 * time goes: directory operations (create, mkdir, rmdir) rather than the fsyncs themselves.
 */
import { promises as fs } from 'node:fs';
import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataBase, Registry } from '../../src/index.js';
import { forEachLimited, syncFile, SYNC_CONCURRENCY } from '../../src/store/durable.js';
import { fmt, line, measureRate } from './measure.js';
import { bareKeyBatch, settleBareRemovals } from './core-floor.js';

const BATCH = 100;

export async function benchCore(opts: { quick?: boolean } = {}): Promise<void> {
  const n = opts.quick ? 200 : 1000;
  const rounds = opts.quick ? 3 : 5;
  const batchesPerRound = opts.quick ? 3 : 10;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'isfdb-bench-core-'));
  const shm = tmpfsRoot();
  const registry = new Registry(path.join(root, 'registry'));
  try {
    const db = await DataBase.open(path.join(root, 'db'), { registry });
    const noSyncDb = await DataBase.open(path.join(root, 'db-nosync'), { registry, fsync: false });
    const shmDb = shm === undefined ? undefined : await DataBase.open(path.join(shm, 'db'), { registry });
    const value = (i: number) => ({ trial: i, tau_ms: 20.5, label: `trial-${i}` });
    const floorDir = path.join(root, 'db-floor');
    const body = JSON.stringify(value(0));
    process.stdout.write(`\ncore: small keys (a 3-field object, value_to_msgpack), ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; writes: median of ${rounds} interleaved rounds [min-max]\n`);

    const samples: Record<string, number[]> = {};
    const record = (name: string, perSecond: number) => { (samples[name] ??= []).push(perSecond); };
    const setMany = async (target: DataBase, round: number) => {
      const rate = await measureRate(batchesPerRound, (b) => target.setMany(Array.from({ length: BATCH }, (_, j) => {
        const i = (round * batchesPerRound + b) * BATCH + j;
        return { key: `m${i % 1000}`, value: value(i) };
      })));
      return rate.perSecond * BATCH;
    };
    for (let round = 0; round < rounds; round++) {
      record('baseline', (await measureRate(n, async (i) => {
        const fd = fsSync.openSync(path.join(root, `baseline-${i % 100}.json`), 'w');
        fsSync.writeSync(fd, JSON.stringify(value(i)));
        fsSync.fdatasyncSync(fd);
        fsSync.closeSync(fd);
      })).perSecond);
      record('set', (await measureRate(n, (i) => db.set(`k${i % 500}`, value(i)))).perSecond);
      record('set8', (await measureRate(n, (i) => db.set(`c${i % 500}`, value(i)), 8)).perSecond);
      record('setMany', await setMany(db, round));
      record('nosync', (await measureRate(n, (i) => noSyncDb.set(`k${i % 500}`, value(i)))).perSecond);
      if (shmDb !== undefined) record('setManyShm', await setMany(shmDb, round));
      record('floor', (await measureRate(batchesPerRound, (b) => bareKeyBatch(floorDir, Array.from({ length: BATCH }, (_, j) => `m${((round * batchesPerRound + b) * BATCH + j) % 1000}`), body))).perSecond * BATCH);
      await settleBareRemovals();
    }
    const m = (name: string) => median(samples[name]!);
    const base = m('baseline');
    const vsBase = (x: number) => `${fmt(x / base, 2)}x baseline`;
    line('baseline: JSON file write + fdatasync', `${fmt(base)}/s`, range(samples['baseline']!));
    line('set, sequential (3 files + metadata, fsync)', `${fmt(m('set'))}/s`, `${vsBase(m('set'))} ${range(samples['set']!)}`);
    line('set, 8 in flight', `${fmt(m('set8'))}/s`, `${vsBase(m('set8'))} ${range(samples['set8']!)}`);
    line('setMany, batches of 100 (durable keys)', `${fmt(m('setMany'))}/s`, `goal >= 3,000/s; ${vsBase(m('setMany'))}; ${fmt(m('setMany') / m('set'), 1)}x sequential set ${range(samples['setMany']!)}`);
    line('floor: the same batches as bare fs calls', `${fmt(m('floor'))}/s`, `setMany is ${fmt(m('setMany') / m('floor'), 2)}x this floor (see core-floor.ts) ${range(samples['floor']!)}`);
    line('set, fsync: false (atomic, not power-loss safe)', `${fmt(m('nosync'))}/s`, `${vsBase(m('nosync'))} ${range(samples['nosync']!)}`);
    if (shmDb !== undefined) line('setMany on tmpfs (the code, not the disk)', `${fmt(m('setManyShm'))}/s`, range(samples['setManyShm']!));

    // Where a durable key's time goes on this disk: the operations one key of a batch needs.
    const ops = await perOpCosts(root);
    const shmOps = shm === undefined ? undefined : await perOpCosts(shm);
    process.stdout.write('  per-operation cost, µs (this disk / tmpfs), median of 3 x 200 ops:\n');
    for (const [op, us] of Object.entries(ops)) {
      process.stdout.write(`    ${op.padEnd(34)} ${fmt(us).padStart(7)} / ${shmOps === undefined ? '-' : fmt(shmOps[op]!)}\n`);
    }
    // One key of a batch as the batch does it: lock and staged mkdir one at a time; 3 file
    // creations, 4 fsyncs and the lock's removal many at once (removal costs as much as an unlink); one rename.
    const estimate = ops['mkdir']! * 2 + ops['  32 at once, per file']! * 3 + ops['  32 at once, per file ']! * 4 + ops['  32 at once, per file  ']! + ops['rename (folder)']!;
    line('estimate for setMany from these costs', `${fmt(1e6 / estimate)}/s`, '(per key: 2 mkdir, 3 creates, 4 fsyncs, 1 removal, 1 rename)');
    const baselineRead = await measureRate(n * 5, async (i) => JSON.parse(fsSync.readFileSync(path.join(root, `baseline-${i % 100}.json`), 'utf8')));
    const get = await measureRate(n * 5, (i) => db.get(`k${i % Math.min(n, 500)}`));
    const lookups = await measureRate(n * 5, () => registry.lookup(db.id));
    const byId = await measureRate(n, () => DataBase.byId(db.id, { registry, readonly: true }));
    line('baseline: JSON file read', `${fmt(baselineRead.perSecond)}/s`);
    line('get', `${fmt(get.perSecond)}/s`, `goal >= 20,000/s; ${fmt(get.perSecond / baselineRead.perSecond, 2)}x baseline`);
    line('registry lookup (id -> folder)', `${fmt(lookups.perSecond)}/s`);
    line('DataBase.byId (lookup + open + check id)', `${fmt(byId.perSecond)}/s`);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
    if (shm !== undefined) await fs.rm(shm, { recursive: true, force: true });
  }
}

/** A temp folder on tmpfs (/dev/shm), when the machine has one. */
function tmpfsRoot(): string | undefined {
  try {
    return fsSync.mkdtempSync(path.join('/dev/shm', 'isfdb-bench-core-'));
  } catch {
    return undefined;
  }
}

/** Microseconds per filesystem operation in `dir` (median of 3 rounds of 200). */
async function perOpCosts(dir: string): Promise<Record<string, number>> {
  const work = fsSync.mkdtempSync(path.join(dir, 'ops-'));
  const count = 200;
  const costs: Record<string, number[]> = {};
  const time = (op: string, fn: (i: number) => void) => {
    const started = performance.now();
    for (let i = 0; i < count; i++) fn(i);
    (costs[op] ??= []).push(((performance.now() - started) * 1000) / count);
  };
  const timeAtOnce = async (op: string, fn: (i: number) => Promise<unknown>) => {
    const started = performance.now();
    await forEachLimited(Array.from({ length: count }, (_, i) => i), SYNC_CONCURRENCY, async (i) => { await fn(i); });
    (costs[op] ??= []).push(((performance.now() - started) * 1000) / count);
  };
  try {
    for (let round = 0; round < 3; round++) {
      const at = (i: number, name: string) => path.join(work, `${round}-${i}-${name}`);
      time('mkdir', (i) => fsSync.mkdirSync(at(i, 'd')));
      time('create + write 60 B', (i) => fsSync.writeFileSync(path.join(at(i, 'd'), 'f'), 'x'.repeat(60)));
      await timeAtOnce('  32 at once, per file', (i) => fs.writeFile(path.join(at(i, 'd'), 'g'), 'x'.repeat(60)));
      time('fdatasync (new file)', (i) => {
        const fd = fsSync.openSync(path.join(at(i, 'd'), 'f'), 'r');
        fsSync.fdatasyncSync(fd);
        fsSync.closeSync(fd);
      });
      // As a batch fsyncs: many files at once through the thread pool (the disk groups them).
      await timeAtOnce('  32 at once, per file ', (i) => syncFile(path.join(at(i, 'd'), 'g')));
      time('rename (folder)', (i) => fsSync.renameSync(at(i, 'd'), at(i, 'e')));
      time('unlink', (i) => fsSync.unlinkSync(path.join(at(i, 'e'), 'f')));
      await timeAtOnce('  32 at once, per file  ', (i) => fs.unlink(path.join(at(i, 'e'), 'g')));
      time('rmdir', (i) => fsSync.rmdirSync(at(i, 'e')));
    }
  } finally {
    fsSync.rmSync(work, { recursive: true, force: true });
  }
  return Object.fromEntries(Object.entries(costs).map(([op, values]) => [op, median(values)]));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function range(values: readonly number[]): string {
  return `[${fmt(Math.min(...values))}-${fmt(Math.max(...values))}]`;
}
