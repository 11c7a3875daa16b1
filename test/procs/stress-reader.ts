/**
 * Concurrency-harness reader: <db> <stopFile>. Opens the database readonly and reads random keys
 * until the stop file appears; every value it gets must be complete (it carries its own spec, see
 * stress/values.ts). Prints a ReaderSummary as JSON.
 */
import fsSync from 'node:fs';
import { DataBase, isDataBaseError } from '../../src/index.js';
import { digestOfLoaded, digestOfSpec, kindOfLoader, rng, specOfLoaded } from '../stress/values.js';
import { CONC_DATA_KEYS, type ReaderSummary } from '../stress/conc-model.js';
import { findLocks } from '../stress/check.js';

const [dbDir, stopFile] = process.argv.slice(2);
const random = rng(process.pid);
const summary: ReaderSummary = { reads: 0, valuesSeen: 0, notFound: 0, transientErrors: 0, transientSamples: [], torn: 0, tornSamples: [], untyped: 0, untypedSamples: [], lockDirsCreated: 0 };
const db = await DataBase.open(dbDir!, { readonly: true });
process.stdout.write('ready\n');
while (!fsSync.existsSync(stopFile!)) {
  const key = random.pick(CONC_DATA_KEYS);
  summary.reads++;
  try {
    const loader = await db.loaderOf(key);
    const kind = kindOfLoader(loader);
    const value = await db.get(key);
    // The loader may have changed between loaderOf and get: try every kind, the named one first.
    const kinds = [...new Set([kind ?? 'npy', 'npy', 'msgpack', 'parquet'] as const)];
    const complete = kinds.some((k) => {
      try { const s = specOfLoaded(k, value); return s !== undefined && digestOfSpec(s) === digestOfLoaded(k, value); } catch { return false; }
    });
    {
      if (complete) summary.valuesSeen++;
      else { summary.torn++; if (summary.tornSamples.length < 5) summary.tornSamples.push(`${key.join('/')}: ${loader}`); }
    }
  } catch (err) {
    if (isDataBaseError(err, 'KeyNotFoundError')) summary.notFound++;
    else if (isDataBaseError(err)) { summary.transientErrors++; if (summary.transientSamples.length < 5) summary.transientSamples.push(err.message.slice(0, 300)); }
    else { summary.untyped++; if (summary.untypedSamples.length < 5) summary.untypedSamples.push(String((err as Error)?.stack ?? err).slice(0, 500)); }
  }
}
void findLocks;
process.stdout.write(`${JSON.stringify(summary)}\n`);
