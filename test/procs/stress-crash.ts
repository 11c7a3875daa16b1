/**
 * Crash-harness child: performs random set/setMany/overwrite/delete/createSubDb/createManagedFolder
 * operations on a small fixed key set, forever, journaling each one before ("B") and after
 * ("E"); the parent kills it with SIGKILL at a random moment and checks the database against the
 * journal. Args: <db> <journal> <seed> <maxBytes>.
 */
import fsSync from 'node:fs';
import { DataBase, isDataBaseError } from '../../src/index.js';
import { initSimrun } from '../../initializers/index.js';
import { makeValue, rng, type ValueKind, type ValueSpec } from '../stress/values.js';
import { CRASH_DATA_KEYS, CRASH_SUB_KEYS, type CrashOp } from '../stress/crash-model.js';

const [dbDir, journal, seedText, maxText] = process.argv.slice(2);
const seed = Number(seedText);
const maxBytes = Number(maxText);
const random = rng(seed);
const campaign = process.env['STRESS_CAMPAIGN'];
const fd = fsSync.openSync(journal!, 'a');
const write = (record: unknown): void => { fsSync.writeSync(fd, `${JSON.stringify(record)}\n`); };

function size(big: boolean): number {
  const roll = random.int(100);
  if (roll < 35) return 1 + random.int(100);
  if (roll < 80 || !big) return 100 + random.int(64 * 1024);
  return Math.max(1, Math.floor(maxBytes * (0.2 + 0.8 * (random.int(1000) / 1000))));
}

function nextOp(n: number): CrashOp {
  const id = seed * 100_000 + n;
  const roll = random.int(100);
  const kind: ValueKind = random.pick(['npy', 'npy', 'msgpack', 'parquet'] as const);
  if (roll < 12) {
    // A batch of 2 to 5 distinct keys, plain and in the sub-database (created on the way).
    const pool = [...CRASH_DATA_KEYS.map((k) => [k]), ...CRASH_SUB_KEYS.map((k) => ['s1', k])];
    const count = 2 + random.int(4);
    const keys: string[][] = [];
    while (keys.length < count) {
      const key = random.pick(pool);
      if (!keys.includes(key)) keys.push(key);
    }
    const entries = keys.map((key, i) => ({ key, spec: { kind: random.pick(['npy', 'msgpack', 'parquet'] as const), id: id * 10 + i, bytes: size(false) } as ValueSpec }));
    return { op: 'setMany', key: entries[0]!.key, entries };
  }
  if (roll < 45) {
    const key = random.pick(CRASH_DATA_KEYS);
    const big = key === CRASH_DATA_KEYS[0];
    const spec: ValueSpec = { kind: big ? 'npy' : kind, id, bytes: size(big) };
    return { op: 'set', key: [key], spec };
  }
  if (roll < 60) return { op: 'delete', key: [random.pick(CRASH_DATA_KEYS)] };
  if (roll < 75) return { op: 'set', key: ['s1', random.pick(CRASH_SUB_KEYS)], spec: { kind, id, bytes: size(false) } };
  if (roll < 82) return { op: 'createSubDb', key: ['s1'] };
  if (roll < 86) return { op: 'delete', key: ['s1'] };
  if (roll < 91) return { op: 'createManagedFolder', key: ['mf'] };
  if (roll < 95 && campaign) return random.chance(0.7) ? { op: 'initSimrun', key: ['sim'] } : { op: 'delete', key: ['sim'] };
  return { op: 'delete', key: ['mf'] };
}

async function run(db: DataBase, op: CrashOp): Promise<void> {
  const key = op.key.length === 1 ? op.key[0]! : op.key;
  switch (op.op) {
    case 'set': await db.set(key, makeValue(op.spec!)); break;
    case 'setMany': await db.setMany(op.entries!.map((e) => ({ key: e.key.length === 1 ? e.key[0]! : e.key, value: makeValue(e.spec) }))); break;
    case 'delete': await db.delete(key); break;
    case 'createSubDb': await db.createSubDb(key); break;
    case 'createManagedFolder': await db.createManagedFolder(key); break;
    case 'initSimrun': await initSimrun(campaign!, await db.createSubDb(key), { quiet: true, workers: 0 }); break;
  }
}

const db = await DataBase.open(dbDir!, { lockStaleMs: 2000, lockTimeoutMs: 60_000 });
process.stdout.write('ready\n');
for (let n = 0; ; n++) {
  const op = nextOp(n);
  write({ b: n, ...op });
  try {
    await run(db, op);
    write({ e: n, ok: true });
  } catch (err) {
    if (!isDataBaseError(err)) {
      write({ e: n, ok: false, untyped: String((err as Error)?.stack ?? err) });
      process.stderr.write(`untyped error: ${String((err as Error)?.stack ?? err)}\n`);
      process.exit(3);
    }
    write({ e: n, ok: false, tag: err._tag });
  }
}
