/**
 * One record of one step: where it stands (from its keys, its recipe and its event log), and
 * running it (through maybeCalculate, so the check, the computation and the atomic write of the
 * result happen under the output key's lock, in whichever process runs it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatKey, type DataBase, type Key, type MetadataJson } from '../index.js';
import { buildRecipe, inputFacts, recipeOf } from '../lineage.js';
import { appendEvent, readEvents, runsFolder, type RunEvent } from './events.js';
import { inputKeysOf, recipeOptionsOf, recordId, type RecordValue, type Step, type StepContext } from './step.js';

export const RECORD_STATUSES = ['ready', 'missing-input', 'running', 'done', 'stale', 'error'] as const;
export type RecordStatus = typeof RECORD_STATUSES[number];

/** What the keys say: ready, missing-input, done or stale. */
export type KeyState = 'ready' | 'missing-input' | 'done' | 'stale';

export interface RecordState {
  record: string;
  status: RecordStatus;
  output: string;
  /** Attempts since the record was last done (0 when it never ran). */
  attempts: number;
  message: string | null;
  stack: string | null;
  /** Time of the last event, ISO 8601, or null. */
  updated: string | null;
}

/**
 * Whether a key holds a value: one stat of its Loader.json. db.has() opens every sub-database on
 * the way; at hundreds of records per second that was most of a run's bookkeeping.
 */
export async function keyExists(db: DataBase, key: Key): Promise<boolean> {
  const folder = await db.folderOf(key);
  return fs.existsSync(path.join(folder, 'Loader.json')) || fs.existsSync(path.join(folder, 'Loader.pickle'));
}

async function storedMetadata(db: DataBase, key: Key, folder: string): Promise<MetadataJson> {
  try {
    return JSON.parse(fs.readFileSync(path.join(folder, 'metadata.json'), 'utf8')) as MetadataJson;
  } catch {
    return db.metadata(key); // absent or unreadable: the database's own reading (post-hoc metadata, typed errors)
  }
}

/** ready / missing-input / done / stale, from the keys alone. */
export async function keyState<R extends RecordValue>(db: DataBase, step: Step<R, unknown>, record: R): Promise<{ state: KeyState; missing: string[] }> {
  const inputs = Object.values(inputKeysOf(step, record));
  const missing: string[] = [];
  for (const key of inputs) if (!(await keyExists(db, key))) missing.push(formatKey(key));
  if (missing.length > 0) return { state: 'missing-input', missing };
  const output = step.output(record);
  const folder = await db.folderOf(output);
  if (!(await keyExists(db, output))) return { state: 'ready', missing };
  const recipe = await buildRecipe(recipeOptionsOf(step, record), async (key) => inputFacts(await db.folderOf(key)), path.dirname(folder));
  // metadata.json read directly: db.metadata() opens the sub-databases on the way, per record.
  const stored = recipeOf(await storedMetadata(db, output, folder));
  return { state: stored?.hash === recipe.hash ? 'done' : 'stale', missing };
}

/** The full status: the key state, refined by the event log (running, error). */
export async function recordState<R extends RecordValue>(db: DataBase, step: Step<R, unknown>, record: R, runs: string | undefined): Promise<RecordState> {
  const id = recordId(record);
  const { state, missing } = await keyState(db, step, record);
  const events = runs === undefined ? [] : readEvents(runs, step.name, id);
  const since = eventsSinceDone(events);
  const attempts = since.filter((e) => e.event === 'start').length;
  const last = [...since].reverse().find((e) => e.event !== 'log');
  const base = { record: id, output: formatKey(step.output(record)), attempts, updated: events.at(-1)?.time ?? null };
  if (state === 'done' || state === 'missing-input') {
    return { ...base, status: state, message: state === 'missing-input' ? `missing input: ${missing.join(', ')}` : null, stack: null };
  }
  if (last?.event === 'error') return { ...base, status: 'error', message: last.message ?? null, stack: last.stack ?? null };
  if (last?.event === 'start' && mayBeAlive(last)) return { ...base, status: 'running', message: null, stack: null };
  return { ...base, status: state, message: null, stack: null };
}

function eventsSinceDone(events: RunEvent[]): RunEvent[] {
  for (let i = events.length - 1; i >= 0; i--) if (events[i]!.event === 'done') return events.slice(i + 1);
  return events;
}

/** A 'start' without an end: running, unless it was on this host by a process that is gone. */
function mayBeAlive(event: RunEvent): boolean {
  if (event.host !== os.hostname() || event.pid === undefined) return true;
  try {
    process.kill(event.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ExecuteOptions {
  attempt: number;
  force?: boolean;
}

export type ExecuteResult =
  | { status: 'done'; computed: boolean; durationMs: number }
  | { status: 'missing-input'; missing: string[] };

/**
 * Run one record: log 'start', compute and commit through maybeCalculate (which computes only
 * when the stored result is absent or stale), log 'done'. A failure is logged with its stack
 * and rethrown, for the caller to retry.
 */
export async function executeRecord<R extends RecordValue>(db: DataBase, step: Step<R, unknown>, record: R, options: ExecuteOptions): Promise<ExecuteResult> {
  const runs = await runsFolder(db);
  const id = recordId(record);
  const inputKeys = inputKeysOf(step, record);
  const missing: string[] = [];
  for (const key of Object.values(inputKeys)) if (!(await keyExists(db, key))) missing.push(formatKey(key));
  if (missing.length > 0) {
    appendEvent(runs, step.name, id, { event: 'missing-input', missing });
    return { status: 'missing-input', missing };
  }
  appendEvent(runs, step.name, id, { event: 'start', attempt: options.attempt });
  const started = performance.now();
  let computed = false;
  const ctx: StepContext<R> = {
    record,
    db,
    inputKeys,
    attempt: options.attempt,
    input: async <T>(name: string | number) => {
      const key: Key | undefined = inputKeys[String(name)];
      if (key === undefined) throw new Error(`step '${step.name}' has no input '${String(name)}' (it has ${Object.keys(inputKeys).join(', ') || 'none'})`);
      return db.get(key) as Promise<T>;
    },
    log: (message: string) => appendEvent(runs, step.name, id, { event: 'log', message }),
  };
  try {
    await db.maybeCalculate(step.output(record), async () => {
      computed = true;
      return step.run(record, ctx);
    }, { ...recipeOptionsOf(step, record), force: options.force === true, ...(step.dumper === undefined ? {} : { dumper: step.dumper }) });
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    appendEvent(runs, step.name, id, { event: 'error', attempt: options.attempt, message: error.message, stack: error.stack ?? '' });
    throw err;
  }
  const durationMs = performance.now() - started;
  appendEvent(runs, step.name, id, { event: 'done', attempt: options.attempt, computed, duration_ms: Math.round(durationMs * 1000) / 1000 });
  return { status: 'done', computed, durationMs };
}
