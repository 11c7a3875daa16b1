/**
 * db.run(step, options): the records that are not done run in a pool of worker processes
 * (tinypool's child_process runtime: a killed worker takes only its own records with it), or on a
 * BullMQ queue (queue.ts). Each process computes one record at a time and commits its results
 * itself, in groups (execute.ts): `batch` records are handed to each worker at once, so that one
 * computes while the ones before it commit.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { InvalidInputError, type DataBase, type Key } from '../index.js';
import { appendEvent, eventLog, runsFolder, writeStepFile } from './events.js';
import { compactEvents } from './event-compact.js';
import { executorOf, type ExecuteResult } from './execute.js';
import { keyState } from './record.js';
import { resolveRecords, type RecordsSpec } from './records.js';
import { recordId, type RecordValue, type Step } from './step.js';
import { PROVENANCE_ENV, WARMUP_ENV, type WorkerOpenOptions } from './open.js';
import type { PoolTask } from './pool-worker.js';
import type { QueueOptions } from './queue.js';

export interface RunProgress {
  total: number;
  /** Done before this run started. */
  alreadyDone: number;
  /** Finished in this run (computed, or found fresh by the worker). */
  done: number;
  errors: number;
  missingInput: number;
  remaining: number;
  /** Records finished per second in this run. */
  rate: number;
  elapsedMs: number;
}

export interface RunOptions<R extends RecordValue> {
  /** The records: a list, a key name whose value lists them, or `{ key }` (tuple keys too). */
  records: RecordsSpec<R>;
  /** Worker processes (default: the number of cores, at most 8); 0 runs in this process. */
  workers?: number;
  /**
   * Records handed to each worker process at once (default 16): it computes one at a time and
   * commits the finished ones together. A killed worker's uncommitted records run again.
   */
  batch?: number;
  /** Recompute every record, fresh or not. */
  force?: boolean;
  /** Skip records with missing inputs (status missing-input) instead of refusing the run. */
  ignoreMissing?: boolean;
  /** Tries per record before it is marked error (default 3); a killed worker counts as a try. */
  attempts?: number;
  /** First retry delay; doubled per retry (default 100 ms). */
  backoffMs?: number;
  onProgress?: (progress: RunProgress) => void;
  /** Run on a BullMQ queue on Redis instead of local processes (see queue.ts). */
  redis?: string | QueueOptions;
}

export interface RunReport extends RunProgress {
  step: string;
  /** Records computed in this run (the others were found fresh). */
  computed: number;
  failures: Array<{ record: string; message: string; attempts: number }>;
  missing: Array<{ record: string; missing: string[] }>;
  mode: 'in-process' | 'processes' | 'queue';
  workers: number;
}

/** What runs one record somewhere and says how it went. */
export type Executor<R> = (record: R, attempt: number) => Promise<ExecuteResult>;

export async function runStep<R extends RecordValue>(db: DataBase, step: Step<R, unknown>, options: RunOptions<R>, open: WorkerOpenOptions): Promise<RunReport> {
  if (db.readonly) throw InvalidInputError.value('db.run', `database ${db.basedir} is open readonly; runs write their results`);
  const started = performance.now();
  // bullmq and ioredis load while the records are read and classified.
  const queueModule = options.redis !== undefined ? import('./queue.js') : undefined;
  queueModule?.catch(() => undefined);
  // The worker processes start first: starting them takes longer than reading and classifying the records.
  const workers = options.redis !== undefined ? 0 : options.workers ?? Math.min(8, os.availableParallelism());
  const batch = Math.max(1, options.batch ?? 16);
  const pool = workers > 0 ? await startPool(db, step, workers, batch, open, options.force === true) : undefined;
  try {
    const records = await resolveRecords(db, options.records);
    const runs = await runsFolder(db);
    compactQuietly(runs, step.name);
    writeStepFile(runs, {
      name: step.name,
      module: step.module ?? null,
      records_key: recordsKeyOf(options.records),
      updated: new Date().toISOString(),
    }, recordsKeyOf(options.records) === null ? records : undefined);
    return await runClassified(db, step, options, open, { records, runs, started, workers, batch, pool, queueModule });
  } finally {
    await pool?.close();
  }
}

interface Prepared<R> {
  records: R[];
  runs: string;
  started: number;
  workers: number;
  batch: number;
  pool: LocalPool<R> | undefined;
  queueModule: Promise<typeof import('./queue.js')> | undefined;
}

interface LocalPool<R> {
  execute: Executor<R>;
  diedOf(err: unknown): boolean;
  close(): Promise<void>;
}

async function runClassified<R extends RecordValue>(db: DataBase, step: Step<R, unknown>, options: RunOptions<R>, open: WorkerOpenOptions, { records, runs, started, workers, batch, pool, queueModule }: Prepared<R>): Promise<RunReport> {
  const todo: R[] = [];
  const missing: RunReport['missing'] = [];
  let alreadyDone = 0;
  for (const record of records) {
    const { state, missing: absent } = await keyState(db, step, record);
    if (state === 'missing-input') missing.push({ record: recordId(record), missing: absent });
    else if (state === 'done' && !options.force) alreadyDone++;
    else todo.push(record);
  }
  if (missing.length > 0 && !options.ignoreMissing) {
    const shown = missing.slice(0, 3).map((m) => `${m.record} (${m.missing.join(', ')})`).join('; ');
    throw InvalidInputError.value(`step '${step.name}'`, `${missing.length} record(s) lack inputs, e.g. ${shown}: create them, or pass ignoreMissing to run the others`);
  }
  eventLog(runs, step.name).append(missing.map((m) => ({ record: m.record, event: 'missing-input', missing: m.missing })));

  await createOutputParent(db, step, todo[0]);

  const progress: RunProgress = {
    total: records.length, alreadyDone, done: 0, errors: 0, missingInput: missing.length,
    remaining: todo.length, rate: 0, elapsedMs: 0,
  };
  const report = (): void => {
    progress.elapsedMs = performance.now() - started;
    progress.rate = progress.done / Math.max(progress.elapsedMs / 1000, 1e-3);
    options.onProgress?.({ ...progress });
  };
  report();

  const base = { step: step.name, computed: 0, failures: [] as RunReport['failures'], missing };
  if (options.redis !== undefined) {
    const { runOnQueue } = await (queueModule ?? import('./queue.js'));
    const outcome = await runOnQueue(db, step, todo, { ...options, redis: options.redis }, open, (delta) => {
      Object.assign(progress, { done: progress.done + delta.done, errors: progress.errors + delta.errors, remaining: progress.remaining - delta.done - delta.errors });
      report();
    });
    return { ...progress, ...base, computed: outcome.computed, failures: outcome.failures, mode: 'queue', workers: 0, elapsedMs: performance.now() - started };
  }

  const inProcess = executorOf(db);
  const execute: Executor<R> = pool?.execute ?? ((record, attempt) => inProcess.execute(step, record, { attempt, force: options.force === true }));
  const attempts = Math.max(1, options.attempts ?? 3);
  const backoffMs = options.backoffMs ?? 100;
  const runOne = async (record: R): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await execute(record, attempt);
        if (result.status === 'done') {
          progress.done++;
          if (result.computed) base.computed++;
        } else {
          progress.missingInput++;
          missing.push({ record: recordId(record), missing: result.missing });
        }
        break;
      } catch (err) {
        const message = errorMessage(err);
        if (pool?.diedOf(err)) {
          // The worker process died (killed, out of memory): it could not log that itself.
          appendEvent(runs, step.name, recordId(record), { event: 'error', attempt, message: `worker process exited before the record was committed: ${message}`, stack: '' });
        }
        if (attempt >= attempts) {
          progress.errors++;
          base.failures.push({ record: recordId(record), message, attempts: attempt });
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** (attempt - 1)));
      }
    }
    progress.remaining--;
    report();
  };
  // Enough records in flight for every worker to compute one while its previous ones commit.
  const concurrency = Math.max(1, workers) * batch;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, async () => {
    while (next < todo.length) await runOne(todo[next++]!);
  }));
  progress.elapsedMs = performance.now() - started;
  return { ...progress, ...base, mode: pool ? 'processes' : 'in-process', workers: pool ? workers : 0 };
}

/**
 * Create the sub-database holding the first record's output (usually every record's), so that
 * the workers do not all race to create it with their first commits (lock waits with backoff).
 * A failure here is left to the records, which report it each.
 */
async function createOutputParent<R extends RecordValue>(db: DataBase, step: Step<R, unknown>, first: R | undefined): Promise<void> {
  if (first === undefined) return;
  try {
    const output = step.output(first);
    if (typeof output !== 'string' && output.length > 1) await db.createSubDb(output.slice(0, -1));
  } catch { /* reported by the records */ }
}

/** Merge the event-log files of ended processes (event-compact.ts); a failure leaves them readable as they are, for the next run. */
function compactQuietly(runs: string, step: string): void {
  try {
    compactEvents(runs, step);
  } catch { /* not worth failing a run for */ }
}

/** A rejection's message: tinypool's child processes reject with plain objects, not Errors. */
function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  return String(err);
}

function recordsKeyOf<R>(spec: RecordsSpec<R>): string | string[] | null {
  if (typeof spec === 'string') return spec;
  if (!Array.isArray(spec) && typeof spec === 'object' && spec !== null && 'key' in spec) {
    const key = (spec as { key: Key }).key;
    return typeof key === 'string' ? key : [...key];
  }
  return null;
}

/** Where the compiled pool worker is: beside this file, or under dist/ when running from sources. */
export function compiledBeside(metaUrl: string, file: string): string {
  const here = fileURLToPath(metaUrl);
  const besides = fileURLToPath(new URL(`./${file}`, metaUrl));
  if (here.endsWith('.js')) return besides;
  const marker = `${'/'}src${'/'}runs${'/'}`;
  const at = here.lastIndexOf(marker);
  const built = at === -1 ? besides : `${here.slice(0, at)}/dist/src/runs/${file}`;
  if (!existsSync(built)) throw new InvalidInputError(built, 'the compiled worker is missing: run `npx tsc -p tsconfig.json` (or run with workers: 0)');
  return built;
}

async function startPool<R extends RecordValue>(db: DataBase, step: Step<R, unknown>, workers: number, batch: number, open: WorkerOpenOptions, force: boolean): Promise<LocalPool<R>> {
  if (step.module === undefined) {
    throw InvalidInputError.value(`step '${step.name}'`, 'worker processes cannot import it: define it in a module file (defineStep finds the file from its caller, or pass module: import.meta.url), or run with workers: 0');
  }
  // tinypool loads only here: step modules import this package in every worker process.
  const { Tinypool } = await import('tinypool');
  const module = step.module;
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  // The coordinator's provenance goes to each process once, not with every task.
  const { provenance, ...taskOpen } = open;
  open = taskOpen;
  if (provenance !== undefined) env[PROVENANCE_ENV] = JSON.stringify(provenance);
  else delete env[PROVENANCE_ENV];
  env[WARMUP_ENV] = JSON.stringify({ db: db.basedir, open, module, step: step.name }); // see pool-worker.ts
  const pool = new Tinypool({
    filename: compiledBeside(import.meta.url, 'pool-worker.js'),
    runtime: 'child_process',
    minThreads: workers,
    maxThreads: workers,
    concurrentTasksPerWorker: batch,
    env,
  });
  return {
    execute: (record: R, attempt: number): Promise<ExecuteResult> => pool.run({ db: db.basedir, open, module, step: step.name, record, attempt, force } satisfies PoolTask),
    // tinypool's rejection when the process running the task exits.
    diedOf: (err: unknown): boolean => errorMessage(err).startsWith('Worker exited unexpectedly'),
    close: () => pool.destroy(),
  };
}
