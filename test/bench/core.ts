/**
 * Core benchmark: small-key set/s (metadata + fsync, sequential, 8 in flight, and setMany in
 * batches of 100 with shared fsyncs), get/s, and
 * registry lookups/s, with a baseline measured in the same run: a bare JSON file written with
 * fsync and read back, the cheapest durable store of a small record.
 */
import { promises as fs } from 'node:fs';
import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataBase, Registry } from '../../src/index.js';
import { fmt, line, measureRate } from './measure.js';

export async function benchCore(opts: { quick?: boolean } = {}): Promise<void> {
  const n = opts.quick ? 200 : 2000;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'isfdb-bench-core-'));
  const registry = new Registry(path.join(root, 'registry'));
  try {
    const db = await DataBase.open(path.join(root, 'db'), { registry });
    const value = (i: number) => ({ trial: i, tau_ms: 20.5, label: `trial-${i}` });
    process.stdout.write(`\ncore: ${n} small keys (a 3-field object, value_to_msgpack), ${os.cpus().length} cores\n`);

    const baselineWrite = await measureRate(n, async (i) => {
      const fd = fsSync.openSync(path.join(root, `baseline-${i % 100}.json`), 'w');
      fsSync.writeSync(fd, JSON.stringify(value(i)));
      fsSync.fdatasyncSync(fd);
      fsSync.closeSync(fd);
    });
    const setSeq = await measureRate(n, (i) => db.set(`k${i % 500}`, value(i)));
    const setConcurrent = await measureRate(n, (i) => db.set(`c${i % 500}`, value(i)), 8);
    // Batches of 100 keys (each key atomic, the fsyncs shared): `n` keys in n/100 calls.
    const batch = 100;
    const batches = await measureRate(Math.max(1, Math.floor(n / batch)), (b) =>
      db.setMany(Array.from({ length: batch }, (_, j) => ({ key: `m${(b * batch + j) % 1000}`, value: value(b * batch + j) }))));
    const setManyPerKey = batches.perSecond * batch;
    const noSyncDb = await DataBase.open(path.join(root, 'db-nosync'), { registry, fsync: false });
    const setNoSync = await measureRate(n, (i) => noSyncDb.set(`k${i % 500}`, value(i)));
    const baselineRead = await measureRate(n * 5, async (i) => JSON.parse(fsSync.readFileSync(path.join(root, `baseline-${i % 100}.json`), 'utf8')));
    const get = await measureRate(n * 5, (i) => db.get(`k${i % Math.min(n, 500)}`));
    const lookups = await measureRate(n * 5, () => registry.lookup(db.id));
    const byId = await measureRate(n, () => DataBase.byId(db.id, { registry, readonly: true }));

    line('baseline: JSON file write + fdatasync', `${fmt(baselineWrite.perSecond)}/s`);
    line('set, sequential (3 files + metadata, fsync)', `${fmt(setSeq.perSecond)}/s`, `goal >= 1,000/s; ${fmt(setSeq.perSecond / baselineWrite.perSecond, 2)}x baseline`);
    line('set, 8 in flight', `${fmt(setConcurrent.perSecond)}/s`, `goal >= 1,000/s; ${fmt(setConcurrent.perSecond / baselineWrite.perSecond, 2)}x baseline`);
    line('setMany, batches of 100 (durable keys)', `${fmt(setManyPerKey)}/s`, `goal >= 3,000/s; ${fmt(setManyPerKey / baselineWrite.perSecond, 2)}x baseline; ${fmt(setManyPerKey / setSeq.perSecond, 1)}x sequential set`);
    line('set, fsync: false (atomic, not power-loss safe)', `${fmt(setNoSync.perSecond)}/s`, `${fmt(setNoSync.perSecond / baselineWrite.perSecond, 2)}x baseline`);
    line('baseline: JSON file read', `${fmt(baselineRead.perSecond)}/s`);
    line('get', `${fmt(get.perSecond)}/s`, `goal >= 20,000/s; ${fmt(get.perSecond / baselineRead.perSecond, 2)}x baseline`);
    line('registry lookup (id -> folder)', `${fmt(lookups.perSecond)}/s`);
    line('DataBase.byId (lookup + open + check id)', `${fmt(byId.perSecond)}/s`);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}
