/**
 * Compaction of a step's event log (layout in events.ts). Every process that runs records adds
 * a file, so a campaign run for months would pile up thousands. At the start of a run, once
 * enough files of ended processes have gathered, they are merged into one `+compacted.<id>.jsonl`
 * together with the earlier compacted files that are still small, and removed: the folder then
 * holds about (events / maxBytes) compacted files plus the files of processes still running.
 *
 * Only files of this host whose process has ended are taken: no one appends to them any more.
 * (Files of other hosts are left alone: their processes cannot be seen from here.)
 *
 * Safe against crashes and concurrent compactions, in three steps under an id naming this process:
 * 1. each file taken is renamed to `<name>.compacting.<id>`: a rename succeeds for one compactor only;
 * 2. the merged lines are written to a temporary file, fsynced, and renamed to `+compacted.<id>.jsonl`;
 * 3. the taken files are removed.
 * Readers read a `.compacting.<id>` file only while `+compacted.<id>.jsonl` does not exist, so
 * they see every event once at every moment. A compactor killed midway is finished by the next
 * one: it removes the taken files whose output exists, and renames the others back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LOG_HOST, processAlive } from './events.js';

/** Files of ended processes that make a compaction worth its rewrite. */
export const COMPACT_MIN_FILES = 16;
/** Compacted files larger than this are left as they are: a run does not rewrite the whole log. */
export const COMPACTED_MAX_BYTES = 64 * 1024 * 1024;

const PROCESS_FILE = /^(.+)\.(\d+)\.([0-9a-z]+)\.jsonl$/;
const TAKEN_FILE = /^(.+\.jsonl)\.compacting\.(.+)$/;
const COMPACTED_PREFIX = '+compacted.';

export interface CompactOptions {
  minFiles?: number;
  maxBytes?: number;
}

export interface CompactReport {
  /** Files merged (ended processes' files and small compacted files). */
  merged: number;
  /** Complete event lines written. */
  lines: number;
}

/** The output file of compaction `id`. */
export function compactedName(id: string): string {
  return `${COMPACTED_PREFIX}${id}.jsonl`;
}

/**
 * The files a reader of `events` takes, in reading order: compacted files first (they hold the
 * older events), then the others by name; a file taken by a compaction whose output is not there.
 */
export function readableLogNames(names: readonly string[]): string[] {
  const present = new Set(names);
  const readable = names.filter((name) => {
    if (name.endsWith('.jsonl')) return true;
    const taken = TAKEN_FILE.exec(name);
    return taken !== null && !present.has(compactedName(taken[2]!));
  });
  return readable.sort((a, b) => {
    const ca = a.startsWith(COMPACTED_PREFIX);
    const cb = b.startsWith(COMPACTED_PREFIX);
    if (ca !== cb) return ca ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

/** Whether a compaction id (`<host>.<pid>.<t>`) belongs to a process of this host that may still run. */
function compactorAlive(id: string): boolean {
  const match = /^(.+)\.(\d+)\.[0-9a-z]+$/.exec(id);
  return match === null || match[1] !== LOG_HOST || processAlive(Number(match[2]));
}

/** Finish what killed compactors left: remove the files they merged, give back the others. */
function recover(dir: string, names: readonly string[]): void {
  const present = new Set(names);
  for (const name of names) {
    if (name.startsWith(COMPACTED_PREFIX) && name.endsWith('.tmp')) {
      const id = name.slice(COMPACTED_PREFIX.length, -'.jsonl.tmp'.length);
      if (!compactorAlive(id)) fs.rmSync(path.join(dir, name), { force: true });
      continue;
    }
    const taken = TAKEN_FILE.exec(name);
    if (taken === null || compactorAlive(taken[2]!)) continue;
    if (present.has(compactedName(taken[2]!))) fs.rmSync(path.join(dir, name), { force: true });
    else if (!present.has(taken[1]!)) renameIfPresent(path.join(dir, name), path.join(dir, taken[1]!));
  }
}

function renameIfPresent(from: string, to: string): boolean {
  try {
    fs.renameSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // another compactor took it
    throw err;
  }
}

/** Whether `name` is the file of an ended process of this host. */
function endedProcessFile(name: string): boolean {
  const match = PROCESS_FILE.exec(name);
  if (match === null || match[1] !== LOG_HOST || name.startsWith(COMPACTED_PREFIX)) return false;
  const pid = Number(match[2]);
  return pid !== process.pid && !processAlive(pid);
}

/** The complete lines of a log file (a killed writer's torn last line, and lines that are not JSON, are dropped). */
function completeLines(text: string): string[] {
  const lines = text.split('\n');
  lines.pop(); // after the last newline: empty, or a torn line
  return lines.filter((line) => {
    try {
      const value: unknown = JSON.parse(line);
      return typeof value === 'object' && value !== null;
    } catch {
      return false;
    }
  });
}

/** Merge the files of ended processes of `step` into one, when at least `minFiles` have gathered. */
export function compactEvents(runs: string, step: string, options: CompactOptions = {}): CompactReport {
  const dir = path.join(runs, step, 'events');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { merged: 0, lines: 0 };
    throw err;
  }
  recover(dir, names);
  names = fs.readdirSync(dir);
  const ended = names.filter(endedProcessFile);
  if (ended.length < (options.minFiles ?? COMPACT_MIN_FILES)) return { merged: 0, lines: 0 };
  const maxBytes = options.maxBytes ?? COMPACTED_MAX_BYTES;
  const small = names.filter((name) => name.startsWith(COMPACTED_PREFIX) && name.endsWith('.jsonl') && fs.statSync(path.join(dir, name)).size < maxBytes);

  const id = `${LOG_HOST}.${process.pid}.${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
  const taken: string[] = [];
  for (const name of readableLogNames([...small, ...ended])) {
    const to = path.join(dir, `${name}.compacting.${id}`);
    if (renameIfPresent(path.join(dir, name), to)) taken.push(to);
  }
  if (taken.length === 0) return { merged: 0, lines: 0 };
  const lines = taken.flatMap((file) => completeLines(fs.readFileSync(file, 'utf8')));
  const output = path.join(dir, compactedName(id));
  const temp = `${output}.tmp`;
  const fd = fs.openSync(temp, 'w');
  try {
    fs.writeSync(fd, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, output);
  syncFolder(dir);
  for (const file of taken) fs.rmSync(file, { force: true });
  return { merged: taken.length, lines: lines.length };
}

function syncFolder(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } catch { /* some filesystems refuse fsync on folders; the rename is still atomic there */ } finally {
    fs.closeSync(fd);
  }
}
