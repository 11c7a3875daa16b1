/**
 * db.status(step?): an Arrow table with one row per record and step: its status, attempts, the
 * last error's message and stack, the output key and the time of its last event. Done and stale
 * come from the keys and recipes; running and error from the event log (events.ts).
 */
import type { Table } from 'apache-arrow';
import { InvalidInputError, type DataBase } from '../index.js';
import { runsFolder, RUNS_KEY } from './events.js';
import { loggedSteps, readStepEvents, readStepFile } from './event-read.js';
import { stepCached } from './open.js';
import { recordState, type RecordState } from './record.js';
import { resolveRecords } from './records.js';
import { isStep, recordId, type RecordValue, type Step } from './step.js';

export interface StatusRow extends RecordState {
  step: string;
}

/** Status rows of one step (a step object, or the name of a step that ran in this database), or of every step that ran. */
export async function statusRows(db: DataBase, step?: string | Step, records?: readonly RecordValue[]): Promise<StatusRow[]> {
  if (step === undefined) {
    const rows: StatusRow[] = [];
    // not push(...): a step may have more records than a call takes arguments
    for (const name of await loggedSteps(db)) for (const row of await statusRows(db, name)) rows.push(row);
    return rows;
  }
  const runs = (await db.has(RUNS_KEY)) ? await runsFolder(db) : undefined;
  let resolved: Step;
  let list: readonly RecordValue[] | undefined = records;
  if (isStep(step)) {
    resolved = step;
  } else {
    const logged = runs === undefined ? undefined : await readStepFile(runs, step);
    if (logged === undefined) throw InvalidInputError.value(`step '${step}'`, `never ran in database ${db.basedir} (no ${RUNS_KEY}/${step}/step.json): pass the step object`);
    if (logged.json.module === null) throw InvalidInputError.value(`step '${step}'`, 'ran from a step without a module file: pass the step object to status()');
    resolved = await stepCached(logged.json.module, step);
    list ??= logged.json.records_key !== null ? await resolveRecords(db, { key: logged.json.records_key }) : (logged.records as RecordValue[] | undefined);
  }
  if (list === undefined) {
    const logged = runs === undefined ? undefined : await readStepFile(runs, resolved.name);
    if (logged === undefined) throw InvalidInputError.value(`step '${resolved.name}'`, 'never ran here: pass the records');
    list = logged.json.records_key !== null ? await resolveRecords(db, { key: logged.json.records_key }) : (logged.records as RecordValue[] | undefined) ?? [];
  }
  const events = runs === undefined ? new Map() : await readStepEvents(runs, resolved.name);
  const rows: StatusRow[] = [];
  for (const record of list) rows.push({ step: resolved.name, ...(await recordState(db, resolved as Step<RecordValue, unknown>, record, events.get(recordId(record)) ?? [])) });
  return rows;
}

/** The records of the step's last run in `db` (a key's current list, or the stored list), or undefined. */
export async function lastRecords(db: DataBase, step: string): Promise<RecordValue[] | { key: string | string[] } | undefined> {
  if (!(await db.has(RUNS_KEY))) return undefined;
  const logged = await readStepFile(await runsFolder(db), step);
  if (logged === undefined) return undefined;
  return logged.json.records_key !== null ? { key: logged.json.records_key } : (logged.records as RecordValue[] | undefined);
}

/** The rows as an Arrow table (apache-arrow loads here: worker processes importing the runs API never load it). */
export async function statusTable(rows: readonly StatusRow[]): Promise<Table> {
  const { tableFromArrays } = await import('apache-arrow');
  return tableFromArrays({
    record: rows.map((r) => r.record),
    step: rows.map((r) => r.step),
    status: rows.map((r) => r.status),
    attempts: Int32Array.from(rows.map((r) => r.attempts)),
    message: rows.map((r) => r.message),
    stack: rows.map((r) => r.stack),
    output: rows.map((r) => r.output),
    updated: rows.map((r) => r.updated),
  });
}

/** Counts per status. */
export function summarize(rows: readonly StatusRow[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
  return counts;
}
