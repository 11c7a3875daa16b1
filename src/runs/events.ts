/**
 * The event log of runs, kept in the database in the managed folder `isfdb_runs`:
 *
 *   isfdb_runs/<step>/step.json                          what the last run of the step was (module, records)
 *   isfdb_runs/<step>/events/<host>.<pid>.<t>.jsonl      one file per writing process: a JSON line per event, naming its record
 *   isfdb_runs/<step>/records/<xx>/<record>.jsonl        the older layout (a file per record), still read
 *
 * One file per process: only that process appends to it, so no two writers share a file, which
 * holds on NFS too; a batch of events (the 'done' of every record of one commit) is one write.
 * A file per record cost a file creation per record, most of a run's bookkeeping on a slow disk.
 * Whether a record is done is never read from here but from its output key and recipe; the log
 * adds what the key cannot tell: running, the errors with their stacks, how many attempts were made.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { isDataBaseError, type DataBase } from '../index.js';

export const RUNS_KEY = 'isfdb_runs';

export type EventKind = 'start' | 'done' | 'error' | 'missing-input' | 'log';

export const eventSchema = z.looseObject({
  event: z.enum(['start', 'done', 'error', 'missing-input', 'log']),
  record: z.string().optional(),
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

const HOST = os.hostname();

/** An event as written: what happened to which record (time, host and pid are added). */
export type NewEvent = Omit<RunEvent, 'time' | 'host' | 'pid'> & { record: string } & Record<string, unknown>;

/** This process's log file of one step, opened on first use and kept open. */
class ProcessLog {
  private fd: number | undefined;
  private file: string | undefined;

  constructor(private readonly dir: string) {}

  /** All lines in one write: a killed writer leaves at most a torn last line, which readers skip. */
  append(events: readonly NewEvent[]): void {
    if (events.length === 0) return;
    const time = new Date().toISOString();
    const text = events.map((e) => `${JSON.stringify({ ...e, time, host: HOST, pid: process.pid })}\n`).join('');
    const fd = this.open();
    fs.writeSync(fd, text);
  }

  private open(): number {
    // A file unlinked under us (the database deleted and created again) would swallow the events.
    if (this.fd !== undefined && fs.fstatSync(this.fd).nlink > 0) return this.fd;
    if (this.fd !== undefined) fs.closeSync(this.fd);
    fs.mkdirSync(this.dir, { recursive: true });
    const safeHost = HOST.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
    this.file ??= path.join(this.dir, `${safeHost}.${process.pid}.${Date.now().toString(36)}.jsonl`);
    this.fd = fs.openSync(this.file, 'a');
    return this.fd;
  }
}

const logs = new Map<string, ProcessLog>();

/** This process's event log of `step` in the runs folder `runs`. */
export function eventLog(runs: string, step: string): ProcessLog {
  const dir = path.join(runs, step, 'events');
  let log = logs.get(dir);
  if (log === undefined) logs.set(dir, log = new ProcessLog(dir));
  return log;
}

/** Append one event of record `id`. */
export function appendEvent(runs: string, step: string, id: string, event: Omit<RunEvent, 'time' | 'host' | 'pid'> & Record<string, unknown>): void {
  eventLog(runs, step).append([{ ...event, record: id }]);
}

interface ParsedFile { stamp: string; byRecord: Map<string, RunEvent[]> }
/** Parsed log files by path, reused while their size and mtime stay the same (status and tests read a step's events often). */
const parsed = new Map<string, ParsedFile>();
/** The merged events of a step, by its folder, reused while no file changed. */
const mergedCache = new Map<string, { stamps: string; merged: Map<string, RunEvent[]> }>();

function stampOf(file: string): string | undefined {
  try {
    const stat = fs.statSync(file);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parseFile(file: string, stamp: string): Map<string, RunEvent[]> {
  const cached = parsed.get(file);
  if (cached?.stamp === stamp) return cached.byRecord;
  const byRecord = new Map<string, RunEvent[]>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      const result = eventSchema.safeParse(JSON.parse(line));
      const record = result.success ? result.data['record'] : undefined;
      if (typeof record !== 'string') continue;
      let list = byRecord.get(record);
      if (list === undefined) byRecord.set(record, list = []);
      list.push(result.data!);
    } catch { /* torn line */ }
  }
  parsed.set(file, { stamp, byRecord });
  return byRecord;
}

function logFiles(runs: string, step: string): string[] {
  const files: string[] = [];
  const dir = path.join(runs, step, 'events');
  try {
    for (const name of fs.readdirSync(dir).sort()) if (name.endsWith('.jsonl')) files.push(path.join(dir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const older = path.join(runs, step, 'records');
  if (fs.existsSync(older)) {
    for (const entry of fs.readdirSync(older, { withFileTypes: true, recursive: true })) {
      if (entry.isFile() && entry.name.endsWith('.jsonl')) files.push(path.join(entry.parentPath, entry.name));
    }
  }
  return files;
}

/** Every record's events of `step`, oldest first (by time; lines of one file keep their order). */
export function readStepEvents(runs: string, step: string): Map<string, RunEvent[]> {
  const files = logFiles(runs, step).map((file) => ({ file, stamp: stampOf(file) }));
  const stamps = files.map((f) => `${f.file}=${f.stamp ?? ''}`).join('\n');
  const folder = path.join(runs, step);
  const cached = mergedCache.get(folder);
  if (cached?.stamps === stamps) return cached.merged;
  const merged = new Map<string, RunEvent[]>();
  for (const { file, stamp } of files) {
    if (stamp === undefined) continue;
    for (const [record, events] of parseFile(file, stamp)) {
      const list = merged.get(record);
      if (list === undefined) merged.set(record, [...events]);
      else list.push(...events);
    }
  }
  // A stable sort: events of the same millisecond keep their file order.
  for (const list of merged.values()) list.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  mergedCache.set(folder, { stamps, merged });
  return merged;
}

/** A record's events, oldest first; a torn last line (a killed writer) is skipped. */
export function readEvents(runs: string, step: string, id: string): RunEvent[] {
  return readStepEvents(runs, step).get(id) ?? [];
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
