/**
 * Concurrency harness: N writer processes x M conflicting operations on overlapping keys and
 * sub-databases (the same sub-databases created by all at the same moment, hence registry
 * registrations at once), with readonly readers running meanwhile. At the end every key holds
 * one of the values written to it (byte-compared) with matching metadata, verify finds nothing,
 * no lock is left, and every sub-database is registered to its folder.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { DataBase, Registry, isErrorFinding } from '../../src/index.js';
import { observe, findLocks } from './check.js';
import { CONC_DATA_KEYS, CONC_SUBDBS, type ConcRecord, type ReaderSummary } from './conc-model.js';
import { startProc } from './proc.js';
import type { ValueSpec } from './values.js';

export interface ConcurrencyOptions {
  root: string;
  registryDir: string;
  writers: number;
  opsPerWriter: number;
  readers: number;
  /** Also delete sub-databases while others write into them (default true). */
  deleteSubDbs?: boolean;
  seed?: number;
  log?: (line: string) => void;
}

export interface ConcurrencyFigures {
  writers: number;
  readers: number;
  operationsAttempted: number;
  operationsSucceeded: number;
  typedRefusals: Record<string, number>;
  /** fsck --repair runs during the writes, and what they repaired (should be nothing but leftovers of typed failures). */
  onlineFsckRuns: number;
  onlineFsckRepairs: number;
  readerReads: number;
  readerValuesSeen: number;
  readerNotFound: number;
  readerTransientErrors: number;
  tornReads: number;
  keysChecked: number;
  wrongValues: number;
  lostKeys: number;
  locksLeft: number;
  verifyFindings: number;
  fsckFindings: number;
  registryProblems: number;
  elapsedMs: number;
  failures: string[];
}

export async function runConcurrency(options: ConcurrencyOptions): Promise<ConcurrencyFigures> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const f: ConcurrencyFigures = {
    writers: options.writers, readers: options.readers, operationsAttempted: 0, operationsSucceeded: 0, typedRefusals: {}, onlineFsckRuns: 0, onlineFsckRepairs: 0,
    readerReads: 0, readerValuesSeen: 0, readerNotFound: 0, readerTransientErrors: 0, tornReads: 0,
    keysChecked: 0, wrongValues: 0, lostKeys: 0, locksLeft: 0, verifyFindings: 0, fsckFindings: 0, registryProblems: 0, elapsedMs: 0, failures: [],
  };
  const fail = (msg: string): void => { f.failures.push(msg); log(`  FAIL ${msg}`); };
  const dbDir = path.join(options.root, 'conc-db');
  const registry = new Registry(options.registryDir);
  await DataBase.open(dbDir, { registry });
  const stopFile = path.join(options.root, 'conc-stop');
  const env = { ISFDB_REGISTRY: options.registryDir, STRESS_START_AT: String(Date.now() + 1500), STRESS_DELETE_SUBDBS: options.deleteSubDbs === false ? '0' : '1' };

  const readers = Array.from({ length: options.readers }, () => startProc('stress-reader', [dbDir, stopFile], env));
  const journals = Array.from({ length: options.writers }, (_, w) => path.join(options.root, `conc-journal-${w}.jsonl`));
  const writers = journals.map((journal, w) => startProc('stress-writer', [dbDir, journal, String(w), String(options.opsPerWriter), String(options.seed ?? 7)], env));
  // fsck --repair (online: not offline) runs again and again while the writers work; it must
  // never disturb them or touch a complete key.
  let writing = true;
  const fsckLoop = (async () => {
    const checker = await DataBase.open(dbDir, { registry });
    while (writing) {
      const report = await checker.fsck({ repair: true, lockTimeoutMs: 2000 });
      f.onlineFsckRuns++;
      for (const finding of report.findings) {
        if (finding.kind === 'busy') continue;
        f.onlineFsckRepairs++;
        log(`  note: online fsck: ${JSON.stringify(finding).slice(0, 300)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const results = await Promise.allSettled(writers.map((w) => w.done));
  writing = false;
  const fsckResult = (await Promise.allSettled([fsckLoop]))[0]!;
  if (fsckResult.status === 'rejected') fail(`online fsck --repair threw: ${String((fsckResult.reason as Error)?.stack ?? fsckResult.reason)}`);
  fsSync.writeFileSync(stopFile, '');
  const readerResults = await Promise.allSettled(readers.map((r) => r.done));

  for (const [i, r] of results.entries()) {
    if (r.status === 'rejected') { fail(`writer ${i}: ${String(r.reason)}`); continue; }
    if (r.value.code !== 0 || !r.value.stdout.includes('done 0')) fail(`writer ${i} exited ${String(r.value.code)}: ${r.value.stdout.slice(-200)} ${r.value.stderr.slice(0, 500)}`);
  }
  for (const [i, r] of readerResults.entries()) {
    if (r.status === 'rejected' || r.value.code !== 0) { fail(`reader ${i} failed: ${r.status === 'rejected' ? String(r.reason) : r.value.stderr.slice(0, 500)}`); continue; }
    const line = r.value.stdout.trim().split('\n').pop() ?? '{}';
    const s = JSON.parse(line) as ReaderSummary;
    f.readerReads += s.reads; f.readerValuesSeen += s.valuesSeen; f.readerNotFound += s.notFound;
    f.readerTransientErrors += s.transientErrors; f.tornReads += s.torn;
    for (const t of s.tornSamples) fail(`reader ${i} saw a torn value: ${t}`);
    for (const u of s.untypedSamples) fail(`reader ${i} got an untyped error: ${u}`);
    for (const t of s.transientSamples) log(`  note: reader ${i} transient error: ${t}`);
  }

  // What each key may hold: any value successfully written to it; absent only if deleted (or an ancestor was) or never written.
  const records: ConcRecord[] = journals.flatMap((j) => (fsSync.existsSync(j) ? fsSync.readFileSync(j, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ConcRecord) : []));
  for (const rec of records) {
    f.operationsAttempted++;
    if (rec.ok) f.operationsSucceeded++;
    else if (rec.tag) f.typedRefusals[rec.tag] = (f.typedRefusals[rec.tag] ?? 0) + 1;
    if (rec.untyped) fail(`writer ${rec.w} op ${rec.n} ${rec.op} ${rec.key.join('/')}: untyped error ${rec.untyped.slice(0, 400)}`);
  }
  const db = await DataBase.open(dbDir, { registry });
  for (const key of CONC_DATA_KEYS) {
    f.keysChecked++;
    const name = key.join('/');
    const written: ValueSpec[] = records.filter((r) => r.ok && r.op === 'set' && r.key.join('/') === name).map((r) => r.spec!);
    // A batch's keys are each atomic: a failed batch (its sub-database deleted meanwhile) may have written some.
    const batched = records.flatMap((r) => (r.op === 'setMany' ? r.entries!.filter((e) => e.key.join('/') === name).map((e) => e.spec) : []));
    written.push(...batched);
    const deleted = records.some((r) => r.ok && r.op === 'delete' && (name === r.key.join('/') || name.startsWith(`${r.key.join('/')}/`)));
    const seen = await observe(db, name, written);
    if (seen.problem !== undefined) { f.wrongValues++; fail(`key ${name}: ${seen.problem}`); continue; }
    const mustExist = written.length > batched.length || records.some((r) => r.ok && r.op === 'setMany' && r.entries!.some((e) => e.key.join('/') === name));
    if (seen.state.t === 'absent' && mustExist && !deleted) { f.lostKeys++; fail(`key ${name}: absent although ${written.length} set(s) succeeded and nothing deleted it`); }
    if (seen.state.t !== 'absent' && seen.state.t !== 'data') { f.wrongValues++; fail(`key ${name}: holds a ${seen.state.t}`); }
  }
  for (const key of CONC_SUBDBS) {
    if (!(await db.has(key))) continue;
    const sub = (await db.get(key)) as DataBase;
    const registered = await registry.lookup(sub.id).catch((err: Error) => `(${err.message})`);
    if (registered !== sub.basedir) { f.registryProblems++; fail(`sub-database ${key.join('/')} (id ${sub.id}) registered to ${registered}`); }
  }
  for (const entry of (await registry.list()).entries) {
    if (!entry.path.startsWith(dbDir)) continue;
    const state = (() => { try { return JSON.parse(fsSync.readFileSync(path.join(entry.path, 'db_state.json'), 'utf8')) as { _unique_id?: string }; } catch { return undefined; } })();
    if (state?._unique_id !== entry.id) { f.registryProblems++; fail(`registry entry ${entry.id} -> ${entry.path}: no database with that id there (dangling)`); }
  }
  const locks = findLocks(dbDir);
  f.locksLeft = locks.length;
  for (const l of locks) fail(`lock left: ${l}`);
  const verified = await db.verify();
  const errors = verified.findings.filter(isErrorFinding);
  f.verifyFindings = errors.length;
  for (const e of errors) fail(`verify: ${JSON.stringify(e)}`);
  const checked = await db.fsck({ offline: true });
  f.fsckFindings = checked.findings.length;
  for (const e of checked.findings) fail(`fsck: ${JSON.stringify(e)}`);
  f.elapsedMs = Date.now() - started;
  return f;
}
