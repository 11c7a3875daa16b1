/**
 * Reading the event log of runs (layout in events.ts): every record's events of a step, merged
 * from the per-process files, and step.json. zod loads here, on first read: worker processes,
 * which only write, never load it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isDataBaseError, type DataBase } from '../index.js';
import { RUNS_KEY, type RunEvent, type StepFileJson } from './events.js';
import { readableLogNames } from './event-compact.js';

async function makeSchemas() {
  const { z } = await import('zod');
  return {
    event: z.looseObject({
      event: z.enum(['start', 'done', 'error', 'missing-input', 'log']),
      record: z.string().optional(),
      time: z.string(),
      attempt: z.number().optional(),
      host: z.string().optional(),
      pid: z.number().optional(),
      computed: z.boolean().optional(),
      duration_ms: z.number().optional(),
      message: z.string().optional(),
      stack: z.string().optional(),
      missing: z.array(z.string()).optional(),
    }),
    stepFile: z.looseObject({
      name: z.string(),
      module: z.string().nullable(),
      records_key: z.union([z.string(), z.array(z.string())]).nullable(),
      updated: z.string(),
    }),
  };
}

type Schemas = Awaited<ReturnType<typeof makeSchemas>>;
let loaded: Promise<Schemas> | undefined;
function schemas(): Promise<Schemas> {
  return loaded ??= makeSchemas();
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

function parseFile(file: string, stamp: string, schema: Schemas['event']): Map<string, RunEvent[]> {
  const cached = parsed.get(file);
  if (cached?.stamp === stamp) return cached.byRecord;
  const byRecord = new Map<string, RunEvent[]>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      const result = schema.safeParse(JSON.parse(line));
      const record = result.success ? result.data.record : undefined;
      if (typeof record !== 'string') continue;
      let list = byRecord.get(record);
      if (list === undefined) byRecord.set(record, list = []);
      list.push(result.data as RunEvent);
    } catch { /* torn line */ }
  }
  parsed.set(file, { stamp, byRecord });
  return byRecord;
}

function logFiles(runs: string, step: string): string[] {
  const files: string[] = [];
  const dir = path.join(runs, step, 'events');
  try {
    for (const name of readableLogNames(fs.readdirSync(dir))) files.push(path.join(dir, name));
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
export async function readStepEvents(runs: string, step: string): Promise<Map<string, RunEvent[]>> {
  const { event: schema } = await schemas();
  // A file gone between the listing and its reading was merged by a compaction meanwhile: list again.
  for (let tries = 1; ; tries++) {
    try {
      return mergeStepEvents(runs, step, schema);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || tries >= 5) throw err;
    }
  }
}

function mergeStepEvents(runs: string, step: string, schema: Schemas['event']): Map<string, RunEvent[]> {
  const files = logFiles(runs, step).map((file) => ({ file, stamp: stampOf(file) }));
  if (files.some((f) => f.stamp === undefined)) throw Object.assign(new Error('a log file vanished'), { code: 'ENOENT' });
  const stamps = files.map((f) => `${f.file}=${f.stamp ?? ''}`).join('\n');
  const folder = path.join(runs, step);
  const cached = mergedCache.get(folder);
  if (cached?.stamps === stamps) return cached.merged;
  const merged = new Map<string, RunEvent[]>();
  for (const { file, stamp } of files) {
    for (const [record, events] of parseFile(file, stamp!, schema)) {
      const list = merged.get(record);
      if (list === undefined) merged.set(record, [...events]);
      else list.push(...events);
    }
  }
  // A stable sort: events of the same millisecond keep their file order.
  for (const list of merged.values()) list.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  mergedCache.set(folder, { stamps, merged });
  // Forget files merged away by a compaction (a long-lived reader would keep them all).
  const listed = new Set(files.map((f) => f.file));
  for (const file of parsed.keys()) if (file.startsWith(folder + path.sep) && !listed.has(file)) parsed.delete(file);
  return merged;
}

/** A record's events, oldest first; a torn last line (a killed writer) is skipped. */
export async function readEvents(runs: string, step: string, id: string): Promise<RunEvent[]> {
  return (await readStepEvents(runs, step)).get(id) ?? [];
}

/** The events of one record of a step in `db` (empty when it never ran). */
export async function recordEvents(db: DataBase, step: string, id: string): Promise<RunEvent[]> {
  if (!(await db.has(RUNS_KEY))) return [];
  return readEvents(await db.folderOf(RUNS_KEY), step, id);
}


export async function readStepFile(runs: string, step: string): Promise<{ json: StepFileJson; records: unknown[] | undefined } | undefined> {
  const { stepFile } = await schemas();
  const dir = path.join(runs, step);
  let json: StepFileJson;
  try {
    json = stepFile.parse(JSON.parse(fs.readFileSync(path.join(dir, 'step.json'), 'utf8'))) as StepFileJson;
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

