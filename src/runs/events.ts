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
import type { DataBase } from '../index.js';

export const RUNS_KEY = 'isfdb_runs';

export type EventKind = 'start' | 'done' | 'error' | 'missing-input' | 'log';

/** One line of the event log (validated by event-read.ts; zod loads only where logs are read). */
export interface RunEvent {
  event: EventKind;
  record?: string;
  time: string;
  attempt?: number;
  host?: string;
  pid?: number;
  /** done: whether this attempt's value was stored (false: a fresh result was already there). */
  computed?: boolean;
  duration_ms?: number;
  message?: string;
  stack?: string;
  missing?: string[];
  [field: string]: unknown;
}

/** step.json: what the last run of a step was. */
export interface StepFileJson {
  name: string;
  module: string | null;
  /** A key whose value lists the records, or null when the list is in records.json. */
  records_key: string | string[] | null;
  updated: string;
  [field: string]: unknown;
}

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
/** The host as it appears in log file names. */
export const LOG_HOST = HOST.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);

/** Whether a process of this host with this pid may still run (EPERM: it runs under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

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
    this.file ??= path.join(this.dir, `${LOG_HOST}.${process.pid}.${Date.now().toString(36)}.jsonl`);
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

export function writeStepFile(runs: string, json: StepFileJson, records: readonly unknown[] | undefined): void {
  const dir = path.join(runs, json.name);
  fs.mkdirSync(dir, { recursive: true });
  if (records !== undefined) replaceFile(path.join(dir, 'records.json'), JSON.stringify(records));
  replaceFile(path.join(dir, 'step.json'), `${JSON.stringify(json, null, 2)}\n`);
}

function replaceFile(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}
