/**
 * The event log of runs, kept in the database in the managed folder `isfdb_runs`:
 *
 *   isfdb_runs/<step>/step.json                     what the last run of the step was (module, records)
 *   isfdb_runs/<step>/records/<xx>/<record>.jsonl   one JSON line per event of that record
 *
 * One file per record: only the process running a record appends to it (records are reserved
 * by the local pool or by the queue), so no two writers share a file, which holds on NFS too.
 * `<xx>` (256 shards) keeps folders small at a million records. Whether a record is done is
 * never read from here but from its output key and recipe; the log adds what the key cannot
 * tell: running, the errors with their stacks, and how many attempts were made.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { isDataBaseError, type DataBase } from '../index.js';

export const RUNS_KEY = 'isfdb_runs';

export type EventKind = 'start' | 'done' | 'error' | 'missing-input' | 'log';

export const eventSchema = z.looseObject({
  event: z.enum(['start', 'done', 'error', 'missing-input', 'log']),
  time: z.string(),
  attempt: z.number().optional(),
  host: z.string().optional(),
  pid: z.number().optional(),
  /** done: whether this attempt computed (false: a fresh result was already stored). */
  computed: z.boolean().optional(),
  duration_ms: z.number().optional(),
  message: z.string().optional(),
  stack: z.string().optional(),
  missing: z.array(z.string()).optional(),
});
export type RunEvent = z.infer<typeof eventSchema>;

export const stepFileSchema = z.looseObject({
  name: z.string(),
  module: z.string().nullable(),
  /** A key whose value lists the records, or null when the list is in records.json. */
  records_key: z.union([z.string(), z.array(z.string())]).nullable(),
  updated: z.string(),
});
export type StepFileJson = z.infer<typeof stepFileSchema>;

const runsFolders = new WeakMap<DataBase, Promise<string>>();

/** The absolute folder of `isfdb_runs`, created (once per process and database) when absent. */
export function runsFolder(db: DataBase): Promise<string> {
  let folder = runsFolders.get(db);
  if (folder === undefined) {
    folder = (async () => {
      const existing = await db.folderOf(RUNS_KEY);
      if (fs.existsSync(path.join(existing, 'Loader.json')) || db.readonly) return existing;
      return db.createManagedFolder(RUNS_KEY);
    })();
    folder.catch(() => runsFolders.delete(db));
    runsFolders.set(db, folder);
  }
  return folder;
}

/** The file name of a record's log: readable when the id is a plain name, else a digest. */
export function recordFileName(id: string): string {
  if (/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/.test(id)) return `${id}.jsonl`;
  const safe = id.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
  return `${safe}~${digest(id).slice(0, 16)}.jsonl`;
}

function digest(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

export function recordLogPath(runs: string, step: string, id: string): string {
  return path.join(runs, step, 'records', digest(id).slice(0, 2), recordFileName(id));
}

const madeDirs = new Set<string>();
const HOST = os.hostname();

/** Append one event (a single write of one line: a killed writer leaves at most a torn last line). */
export function appendEvent(runs: string, step: string, id: string, event: Omit<RunEvent, 'time' | 'host' | 'pid'> & Record<string, unknown>): void {
  const file = recordLogPath(runs, step, id);
  const dir = path.dirname(file);
  if (!madeDirs.has(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    madeDirs.add(dir);
  }
  const line = `${JSON.stringify({ ...event, record: id, time: new Date().toISOString(), host: HOST, pid: process.pid })}\n`;
  try {
    fs.appendFileSync(file, line);
  } catch (err) {
    // The folder was removed since we made it (a database deleted and created again).
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(dir, { recursive: true });
    fs.appendFileSync(file, line);
  }
}

/** A record's events, oldest first; a torn last line (a killed writer) is skipped. */
export function readEvents(runs: string, step: string, id: string): RunEvent[] {
  let text: string;
  try {
    text = fs.readFileSync(recordLogPath(runs, step, id), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const events: RunEvent[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const parsed = eventSchema.safeParse(JSON.parse(line));
      if (parsed.success) events.push(parsed.data);
    } catch { /* torn line */ }
  }
  return events;
}

/** The events of one record of a step in `db` (empty when it never ran). */
export async function recordEvents(db: DataBase, step: string, id: string): Promise<RunEvent[]> {
  if (!(await db.has(RUNS_KEY))) return [];
  return readEvents(await db.folderOf(RUNS_KEY), step, id);
}

export function writeStepFile(runs: string, json: StepFileJson, records: readonly unknown[] | undefined): void {
  const dir = path.join(runs, json.name);
  fs.mkdirSync(dir, { recursive: true });
  if (records !== undefined) replaceFile(path.join(dir, 'records.json'), JSON.stringify(records));
  replaceFile(path.join(dir, 'step.json'), `${JSON.stringify(json, null, 2)}\n`);
}

export function readStepFile(runs: string, step: string): { json: StepFileJson; records: unknown[] | undefined } | undefined {
  const dir = path.join(runs, step);
  let json: StepFileJson;
  try {
    json = stepFileSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, 'step.json'), 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const recordsFile = path.join(dir, 'records.json');
  const records = json.records_key === null && fs.existsSync(recordsFile) ? JSON.parse(fs.readFileSync(recordsFile, 'utf8')) as unknown[] : undefined;
  return { json, records };
}

/** The steps that have a step.json in the database. */
export async function loggedSteps(db: DataBase): Promise<string[]> {
  let runs: string;
  try {
    if (!(await db.has(RUNS_KEY))) return [];
    runs = await db.folderOf(RUNS_KEY);
  } catch (err) {
    if (isDataBaseError(err, 'KeyNotFoundError')) return [];
    throw err;
  }
  return fs.readdirSync(runs, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(runs, e.name, 'step.json')))
    .map((e) => e.name).sort();
}

function replaceFile(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}
