/**
 * verify: recompute the content checksums recorded in each data key's metadata.json
 * (`isfdb_checksums`, see store/checksum.ts) and report every difference as a typed finding.
 * Reads only; never takes a lock; never follows a symlink (a symlinked key folder or file is a
 * finding, not something to read through).
 */
import fsSync from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { KeyNotFoundError, messageOf } from './errors.js';
import { keyParts, relativeKeyFolder, type Key } from './keys.js';
import { keyFolderEntries } from './walk.js';
import { CHECKSUMS_FIELD, DB_STATE_FILE, LOADER_FILE, METADATA_FILE, dbStateSchema, loaderJsonSchema, metadataSchema, parseJsonText, SUBDB_LOADER, FOLDER_LOADER, SUBDB_FOLDER } from './ondisk.js';
import { checksumFile } from './store/checksum.js';
import { shortLoaderName } from '../loaders/index.js';

/** Something verify found wrong (or, for `unverified`, could not check). `key` is the key's parts. */
export type VerifyFinding =
  /** A file's content differs from the checksum recorded when the key was written. */
  | { kind: 'checksum-mismatch'; key: string[]; file: string; expected: string; actual: string }
  /** A file named in the checksums (or Loader.json / db_state.json) is not there. */
  | { kind: 'missing-file'; key: string[]; file: string }
  /** A file in a checksummed key that was not there when the key was written. */
  | { kind: 'unexpected-file'; key: string[]; file: string }
  /** Loader.json, metadata.json or db_state.json that is not valid JSON or not of the expected layout. */
  | { kind: 'unreadable-json'; key: string[]; file: string; reason: string }
  /** A file that exists but cannot be read (permissions, I/O error, not a regular file). */
  | { kind: 'unreadable-file'; key: string[]; file: string; reason: string }
  /** A key folder or a file of a key that is a symbolic link: never followed. */
  | { kind: 'symlink'; key: string[]; file: string; target: string }
  /** Loader.json names another loader than the one metadata.json says wrote the key. */
  | { kind: 'loader-mismatch'; key: string[]; file: string; loader: string; dumper: string }
  /** A data key without recorded checksums (written by Python ISF): not an error. */
  | { kind: 'unverified'; key: string[]; reason: string };

export type VerifyFindingKind = VerifyFinding['kind'];

/** Kinds that are not errors: verify's exit code ignores them. */
export const INFORMATIONAL_FINDINGS: readonly VerifyFindingKind[] = ['unverified'];

export interface VerifyReport {
  basedir: string;
  /** Keys looked at (data keys, managed folders and sub-database keys). */
  keysChecked: number;
  /** Data keys whose every file matched its checksum. */
  keysVerified: number;
  filesChecked: number;
  bytesChecked: number;
  findings: VerifyFinding[];
  /** True when no finding is an error (`unverified` keys are allowed). */
  ok: boolean;
}


export function isErrorFinding(finding: VerifyFinding): boolean {
  return !INFORMATIONAL_FINDINGS.includes(finding.kind);
}

/**
 * Verify every key of a database (recursing into sub-databases), or only `key` (and, when it is
 * a sub-database, everything below it). `db` is an open database (anything with its `basedir`) or a database folder.
 */
export async function verifyDataBase(db: { readonly basedir: string } | string, key?: Key): Promise<VerifyReport> {
  const basedir = typeof db === 'string' ? path.resolve(db) : db.basedir;
  const report: VerifyReport = { basedir, keysChecked: 0, keysVerified: 0, filesChecked: 0, bytesChecked: 0, findings: [], ok: true };
  if (key === undefined) {
    await verifyDbFolder(basedir, [], report, true);
  } else {
    const parts = keyParts(key);
    const folder = path.join(basedir, relativeKeyFolder(parts));
    if (lstatOrUndefined(folder) === undefined) throw new KeyNotFoundError(parts.join('/'), basedir);
    await verifyKeyFolder(folder, parts, report);
  }
  report.ok = !report.findings.some(isErrorFinding);
  return report;
}

async function verifyDbFolder(dir: string, prefix: string[], report: VerifyReport, top: boolean): Promise<void> {
  const stateFile = path.join(dir, DB_STATE_FILE);
  const state = readSmallFile(stateFile, prefix, report, !top);
  if (state !== undefined) checkJson(state, stateFile, dbStateSchema, prefix, report);
  let entries: fsSync.Dirent[];
  try {
    entries = keyFolderEntries(dir);
  } catch (err) {
    report.findings.push({ kind: 'unreadable-file', key: prefix, file: dir, reason: messageOf(err) });
    return;
  }
  for (const entry of entries) await verifyKeyFolder(path.join(dir, entry.name), [...prefix, entry.name], report);
}

async function verifyKeyFolder(folder: string, key: string[], report: VerifyReport): Promise<void> {
  report.keysChecked++;
  const stat = lstatOrUndefined(folder);
  if (stat?.isSymbolicLink()) {
    report.findings.push({ kind: 'symlink', key, file: folder, target: readlinkOr(folder) });
    return;
  }
  if (stat === undefined || !stat.isDirectory()) {
    report.findings.push({ kind: 'unreadable-file', key, file: folder, reason: 'not a folder' });
    return;
  }
  const loaderFile = path.join(folder, LOADER_FILE);
  const loaderText = readSmallFile(loaderFile, key, report, true);
  if (loaderText === undefined) return;
  const loaderJson = checkJson(loaderText, loaderFile, loaderJsonSchema, key, report);
  if (loaderJson === undefined) return;
  const loader = shortLoaderName(loaderJson.Loader);

  const metadataFile = path.join(folder, METADATA_FILE);
  let checksums: Record<string, string> | undefined;
  if (lstatOrUndefined(metadataFile) === undefined) {
    if (loader !== SUBDB_LOADER && loader !== FOLDER_LOADER) {
      report.findings.push({ kind: 'unverified', key, reason: 'no metadata.json (written by an old Python ISF)' });
    }
  } else {
    const text = readSmallFile(metadataFile, key, report, true);
    const metadata = text === undefined ? undefined : checkJson(text, metadataFile, metadataSchema, key, report);
    if (metadata === undefined) return;
    checksums = metadata[CHECKSUMS_FIELD];
    const dumper = shortLoaderName(metadata.dumper);
    if (dumper !== loader && dumper !== 'unknown' && metadata.metadata_creation_time !== 'post_hoc') {
      report.findings.push({ kind: 'loader-mismatch', key, file: loaderFile, loader, dumper });
      return;
    }
  }

  if (loader === SUBDB_LOADER) {
    const sub = path.join(folder, SUBDB_FOLDER);
    const subStat = lstatOrUndefined(sub);
    if (subStat === undefined) report.findings.push({ kind: 'missing-file', key, file: sub });
    else if (subStat.isSymbolicLink()) report.findings.push({ kind: 'symlink', key, file: sub, target: readlinkOr(sub) });
    else await verifyDbFolder(sub, key, report, false);
    return;
  }
  if (loader === FOLDER_LOADER && checksums === undefined) {
    // Files users put there carry no checksums; folders the library fills record them (db.recordManagedFiles).
    report.findings.push({ kind: 'unverified', key, reason: 'managed folder filled by its user: no checksums recorded' });
    return;
  }
  if (checksums === undefined) {
    if (lstatOrUndefined(metadataFile) !== undefined) {
      report.findings.push({ kind: 'unverified', key, reason: 'metadata.json records no checksums (written by Python ISF)' });
    }
    return;
  }

  let clean = true;
  const listed = new Set(Object.keys(checksums));
  for (const [relative, expected] of Object.entries(checksums).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const file = resolveInside(folder, relative);
    if (file === undefined) {
      report.findings.push({ kind: 'unreadable-json', key, file: metadataFile, reason: `checksum entry '${relative}' points outside the key folder` });
      clean = false;
      continue;
    }
    const fileStat = lstatOrUndefined(file);
    if (fileStat === undefined) {
      report.findings.push({ kind: 'missing-file', key, file });
      clean = false;
      continue;
    }
    if (fileStat.isSymbolicLink()) {
      report.findings.push({ kind: 'symlink', key, file, target: readlinkOr(file) });
      clean = false;
      continue;
    }
    if (!fileStat.isFile()) {
      report.findings.push({ kind: 'unreadable-file', key, file, reason: 'not a regular file' });
      clean = false;
      continue;
    }
    let actual: string;
    try {
      actual = await checksumFile(file);
    } catch (err) {
      report.findings.push({ kind: 'unreadable-file', key, file, reason: messageOf(err) });
      clean = false;
      continue;
    }
    report.filesChecked++;
    report.bytesChecked += fileStat.size;
    if (actual !== expected) {
      report.findings.push({ kind: 'checksum-mismatch', key, file, expected, actual });
      clean = false;
    }
  }
  const extra = listFiles(folder).filter((relative) => relative !== LOADER_FILE && relative !== METADATA_FILE && !listed.has(relative));
  if (loader === FOLDER_LOADER && extra.length > 0) {
    // A managed folder stays open to its user: files added after the recorded ones are not errors.
    const names = extra.length > 5 ? `${extra.slice(0, 5).join(', ')}, ... (${extra.length} files)` : extra.join(', ');
    report.findings.push({ kind: 'unverified', key, reason: `managed folder: files added after its checksums were recorded: ${names}` });
  } else {
    for (const relative of extra) {
      report.findings.push({ kind: 'unexpected-file', key, file: path.join(folder, relative) });
      clean = false;
    }
  }
  if (clean) report.keysVerified++;
}

/** Every file and symlink below `dir` (relative, '/'-separated), without following links. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (sub: string): void => {
    let entries: fsSync.Dirent[];
    try {
      entries = fsSync.readdirSync(path.join(dir, sub), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const relative = sub === '' ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) visit(relative);
      else out.push(relative);
    }
  };
  visit('');
  return out.sort();
}

/** `relative` inside `folder`, or undefined when it would leave it. */
function resolveInside(folder: string, relative: string): string | undefined {
  if (relative.includes('\0') || path.isAbsolute(relative)) return undefined;
  const full = path.resolve(folder, relative);
  return full.startsWith(folder + path.sep) ? full : undefined;
}

function readSmallFile(file: string, key: string[], report: VerifyReport, required: boolean): string | undefined {
  try {
    const stat = fsSync.lstatSync(file);
    if (stat.isSymbolicLink()) {
      report.findings.push({ kind: 'symlink', key, file, target: readlinkOr(file) });
      return undefined;
    }
    return fsSync.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      if (required) report.findings.push({ kind: 'missing-file', key, file });
    } else {
      report.findings.push({ kind: 'unreadable-file', key, file, reason: messageOf(err) });
    }
    return undefined;
  }
}

function checkJson<T>(text: string, file: string, schema: z.ZodType<T>, key: string[], report: VerifyReport): T | undefined {
  try {
    return parseJsonText(text, file, schema);
  } catch (err) {
    report.findings.push({ kind: 'unreadable-json', key, file, reason: messageOf(err) });
    return undefined;
  }
}

function lstatOrUndefined(p: string): fsSync.Stats | undefined {
  try {
    return fsSync.lstatSync(p);
  } catch {
    return undefined;
  }
}

function readlinkOr(p: string): string {
  try {
    return fsSync.readlinkSync(p);
  } catch {
    return '?';
  }
}

/** @deprecated Use verifyDataBase (one spelling of DataBase in every name). */
export const verifyDatabase = verifyDataBase;

/** One line per finding, for people. */
export function describeFinding(finding: VerifyFinding): string {
  const key = finding.key.length === 0 ? '(database)' : finding.key.join('/');
  switch (finding.kind) {
    case 'checksum-mismatch': return `${key}: ${finding.file}: content changed (expected ${finding.expected}, found ${finding.actual})`;
    case 'missing-file': return `${key}: ${finding.file}: missing`;
    case 'unexpected-file': return `${key}: ${finding.file}: not part of the value as written`;
    case 'unreadable-json': return `${key}: ${finding.file}: ${finding.reason}`;
    case 'unreadable-file': return `${key}: ${finding.file}: cannot be read (${finding.reason})`;
    case 'symlink': return `${key}: ${finding.file}: is a symbolic link to ${finding.target} (not followed)`;
    case 'loader-mismatch': return `${key}: ${finding.file} names loader ${finding.loader}, but metadata.json says ${finding.dumper} wrote the key`;
    case 'unverified': return `${key}: unverified: ${finding.reason}`;
  }
}
