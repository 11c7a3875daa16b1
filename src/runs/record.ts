/**
 * One record of one step: where it stands, from its keys, its recipe and its event log. Running
 * records is execute.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatKey, type DataBase, type Key, type MetadataJson } from '../index.js';
import { buildRecipe, inputFacts, recipeOf, type RecipeJson } from '../lineage.js';
import { processAlive, type RunEvent } from './events.js';
import { inputKeysOf, recipeOptionsOf, recordId, type RecordValue, type Step } from './step.js';

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

/** The recipe of the record's result now (its inputs' current checksums), as maybeCalculate records it. */
export async function recordRecipe<R extends RecordValue>(db: DataBase, step: Step<R, unknown>, record: R): Promise<RecipeJson> {
  const folder = await db.folderOf(step.output(record));
  return buildRecipe(recipeOptionsOf(step, record), async (key) => inputFacts(await db.folderOf(key)), path.dirname(folder));
}

/** Whether the output key holds a result made by `recipe` (metadata.json read directly: db.metadata() opens the sub-databases on the way, per record). */
export async function holdsRecipe(db: DataBase, output: Key, recipe: RecipeJson): Promise<boolean> {
  if (!(await keyExists(db, output))) return false;
  return recipeOf(await storedMetadata(db, output, await db.folderOf(output)))?.hash === recipe.hash;
}

/** ready / missing-input / done / stale, from the keys alone. */
export async function keyState<R extends RecordValue>(db: DataBase, step: Step<R, unknown>, record: R): Promise<{ state: KeyState; missing: string[] }> {
  const missing = await missingInputs(db, step, record);
  if (missing.length > 0) return { state: 'missing-input', missing };
  const output = step.output(record);
  if (!(await keyExists(db, output))) return { state: 'ready', missing };
  return { state: (await holdsRecipe(db, output, await recordRecipe(db, step, record))) ? 'done' : 'stale', missing };
}

/** The record's input keys that hold no value, as printed. */
export async function missingInputs<R extends RecordValue>(db: DataBase, step: Step<R, unknown>, record: R): Promise<string[]> {
  const missing: string[] = [];
  for (const key of Object.values(inputKeysOf(step, record))) if (!(await keyExists(db, key))) missing.push(formatKey(key));
  return missing;
}

/** The full status: the key state, refined by the event log (running, error). */
export async function recordState<R extends RecordValue>(db: DataBase, step: Step<R, unknown>, record: R, events: readonly RunEvent[]): Promise<RecordState> {
  const id = recordId(record);
  const { state, missing } = await keyState(db, step, record);
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

function eventsSinceDone(events: readonly RunEvent[]): readonly RunEvent[] {
  for (let i = events.length - 1; i >= 0; i--) if (events[i]!.event === 'done') return events.slice(i + 1);
  return events;
}

/** A 'start' without an end: running, unless it was on this host by a process that is gone. */
function mayBeAlive(event: RunEvent): boolean {
  return event.host !== os.hostname() || event.pid === undefined || processAlive(event.pid);
}

