/**
 * Concurrency-harness writer: <db> <journal> <worker> <ops> <seed>. Conflicting operations on a
 * shared key set (see stress/conc-model.ts); each finished operation is journaled.
 */
import fsSync from 'node:fs';
import { DataBase, isDataBaseError } from '../../src/index.js';
import { settleBackgroundRemovals } from '../../src/store/keyfolder.js';
import { makeValue, rng, type ValueKind } from '../stress/values.js';
import { CONC_DATA_KEYS, CONC_SUBDBS, type ConcRecord } from '../stress/conc-model.js';

const [dbDir, journal, workerText, opsText, seedText] = process.argv.slice(2);
const worker = Number(workerText);
const ops = Number(opsText);
const random = rng(Number(seedText) * 1000 + worker);
const fd = fsSync.openSync(journal!, 'a');
let untyped = 0;

const db = await DataBase.open(dbDir!, { lockStaleMs: 5000, lockTimeoutMs: 120_000 });
process.stdout.write('ready\n');
// Everyone creates the same sub-databases at the same moment first.
const start = Number(process.env['STRESS_START_AT'] ?? '0');
while (Date.now() < start) await new Promise((r) => setTimeout(r, 2));

for (let n = 0; n < ops; n++) {
  const roll = random.int(100);
  let rec: ConcRecord;
  if (n < CONC_SUBDBS.length) rec = { w: worker, n, op: 'createSubDb', key: CONC_SUBDBS[n]!, ok: false };
  else if (roll < 15) {
    // A batch of 2 to 4 distinct keys, possibly in sub-databases other writers delete meanwhile.
    const keys: string[][] = [];
    const count = 2 + random.int(3);
    while (keys.length < count) {
      const key = random.pick(CONC_DATA_KEYS);
      if (!keys.includes(key)) keys.push(key);
    }
    const entries = keys.map((key, i) => ({ key, spec: { kind: random.pick(['npy', 'msgpack', 'parquet'] as const), id: ((worker + 1) * 1_000_000 + n) * 10 + i, bytes: 16 + random.int(8 * 1024) } }));
    rec = { w: worker, n, op: 'setMany', key: entries[0]!.key, entries, ok: false };
  } else if (roll < 70) {
    const kind: ValueKind = random.pick(['npy', 'npy', 'msgpack', 'parquet'] as const);
    rec = { w: worker, n, op: 'set', key: random.pick(CONC_DATA_KEYS), spec: { kind, id: (worker + 1) * 1_000_000 + n, bytes: 16 + random.int(random.chance(0.1) ? 2 << 20 : 8 * 1024) }, ok: false };
  } else if (roll < 82) rec = { w: worker, n, op: 'delete', key: random.pick(CONC_DATA_KEYS), ok: false };
  else if (roll < 96) rec = { w: worker, n, op: 'createSubDb', key: random.pick(CONC_SUBDBS), ok: false };
  else if (process.env['STRESS_DELETE_SUBDBS'] !== '0') rec = { w: worker, n, op: 'delete', key: random.pick(CONC_SUBDBS), ok: false };
  else rec = { w: worker, n, op: 'createSubDb', key: random.pick(CONC_SUBDBS), ok: false };
  try {
    if (rec.op === 'set') await db.set(rec.key, makeValue(rec.spec!));
    else if (rec.op === 'setMany') await db.setMany(rec.entries!.map((e) => ({ key: e.key, value: makeValue(e.spec) })));
    else if (rec.op === 'delete') await db.delete(rec.key);
    else await db.createSubDb(rec.key);
    rec.ok = true;
  } catch (err) {
    if (isDataBaseError(err)) rec.tag = err._tag;
    else { rec.untyped = String((err as Error)?.stack ?? err); untyped++; }
  }
  fsSync.writeSync(fd, `${JSON.stringify(rec)}\n`);
}
await settleBackgroundRemovals();
process.stdout.write(`done ${untyped}\n`);
