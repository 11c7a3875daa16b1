/**
 * Atomic replacement of key folders. A new value is written into a temporary folder in the
 * database's staging folder, fsynced, and renamed into place; an old value is first renamed to
 * ISF's `<key>.deleting.<XXXXX>` and then removed. A staged folder holding Loader.json is
 * complete (the database writes it last). The staging folder's name contains `.deleting.`, so neither we
 * nor Python ISF list it as a key. Nothing here knows what a loader is.
 */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import { NotADataBaseError } from '../errors.js';
import { DELETING_MARK } from '../keys.js';
import { pathExists, randomToken, syncDirectory } from './durable.js';

export const STAGING_FOLDER = `.isfdb${DELETING_MARK}staging`;
/** Separates the key from the rest of a staged name; never part of a key. */
const SEP = '#';
/** A staged folder holding this file is complete: the commit writes it last (it is ISF's Loader.json). */
export const COMPLETE_MARKER = 'Loader.json';
/** ISF's metadata.json, written by the commit just before the marker. */
export const METADATA_NAME = 'metadata.json';

export function stagingDir(dbDir: string): string {
  return path.join(dbDir, STAGING_FOLDER);
}

/** The database folder removed under a writer: typed, naming the key. */
function removedUnder(dbDir: string, name: string): NotADataBaseError {
  return new NotADataBaseError(dbDir, `the database folder was removed (its sub-database key was deleted) while key '${name}' was being written`);
}

/**
 * Make sure the staging folder of `dbDir` exists; a batch calls this once per database folder.
 * Never `recursive: true` here. When a concurrent delete has removed the (sub-)database folder, a
 * recursive mkdir re-created it as an orphan key folder without Loader.json, and the write then
 * "succeeded" into a folder nobody can read.
 */
export function ensureStagingDir(dbDir: string, name: string): void {
  const staging = stagingDir(dbDir);
  // lstat first: a failed mkdir (EEXIST) costs an exception, and the folder exists nearly always.
  if (fsSync.lstatSync(staging, { throwIfNoEntry: false })?.isDirectory()) return;
  try {
    fsSync.mkdirSync(staging);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw removedUnder(dbDir, name);
    if (code !== 'EEXIST') throw err;
  }
}

/** A token naming the staged folders of one commit (a batch shares it; each key adds its index). */
export function stagingToken(): string {
  return `${process.pid}${SEP}${randomToken(6)}`;
}

/**
 * Create an empty temporary folder for a new value of key folder `name`; `token` (from
 * `stagingToken`, plus something unique within the batch) names it. Call `ensureStagingDir` first.
 */
export async function createTempKeyFolder(dbDir: string, name: string, token = stagingToken(), { viaThreadPool = false } = {}): Promise<string> {
  const temp = path.join(stagingDir(dbDir), `${name}${SEP}tmp${SEP}${token}`);
  try {
    // A batch makes its folders through the thread pool, where they overlap; one key at once here is cheaper.
    if (viaThreadPool) await fs.mkdir(temp);
    else fsSync.mkdirSync(temp);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw removedUnder(dbDir, name);
    throw err;
  }
  return temp;
}

/**
 * Rename a complete staged folder into place as key folder `name`. The one place a staged folder
 * becomes a value: the commit (commit.ts) and the roll-forward of recovery call it (and a batch
 * whose publishing failed puts a key's retired old value back with it).
 */
export function publishStaged(stagedDir: string, dbDir: string, name: string): void {
  fsSync.renameSync(stagedDir, path.join(dbDir, name));
}

/** Rename a key folder out of the way (ISF's `.deleting.` convention); returns where it went. */
export function retireKeyFolder(dbDir: string, name: string): string | undefined {
  // No old value (a new key, the common case of a batch): one lstat instead of a failed rename.
  if (fsSync.lstatSync(path.join(dbDir, name), { throwIfNoEntry: false }) === undefined) return undefined;
  const retired = path.join(dbDir, `${name}${DELETING_MARK}${randomToken(5)}`);
  try {
    fsSync.renameSync(path.join(dbDir, name), retired);
    return retired;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const pendingRemovals = new Set<Promise<void>>();

/** Remove a retired folder without making the caller wait; fsck removes what a killed process left. */
export function removeInBackground(folder: string): void {
  const removal = fs.rm(folder, { recursive: true, force: true }).catch(() => undefined).finally(() => pendingRemovals.delete(removal));
  pendingRemovals.add(removal);
}

/** Wait for background removals (tests, and processes that exit explicitly). */
export async function settleBackgroundRemovals(): Promise<void> {
  while (pendingRemovals.size > 0) await Promise.allSettled([...pendingRemovals]);
}

/** Temporary write folders of key folder `name` (all keys when `name` is undefined). */
export function listStagedWrites(dbDir: string, name?: string): string[] {
  let entries: string[];
  try {
    entries = fsSync.readdirSync(stagingDir(dbDir));
  } catch {
    return [];
  }
  return entries
    .filter((entry) => name === undefined || entry.startsWith(`${name}${SEP}`))
    .map((entry) => path.join(stagingDir(dbDir), entry));
}

/** The key folder a staged write belongs to. */
export function keyOfStagedWrite(folder: string): string {
  return path.basename(folder).split(SEP)[0] ?? '';
}

/**
 * Finish what a killed writer left for key folder `name`. Call only while holding the key's
 * lock, so that every staged write of the key belongs to a writer that is gone. A writer retires
 * the old value only after its new one is on disk; so when the key folder is missing, an old value
 * is retired and a complete staged write exists, the writer died between its two renames: roll
 * that write forward. Other staged writes never became values and are removed.
 */
export async function recoverKeyFolder(dbDir: string, name: string): Promise<{ rolledForward?: string; removed: string[] }> {
  const staged = listStagedWrites(dbDir, name);
  const result: { rolledForward?: string; removed: string[] } = { removed: [] };
  if (staged.length === 0) return result;
  if (!(await pathExists(path.join(dbDir, name))) && (await hasRetiredValue(dbDir, name))) {
    const complete = await newestComplete(staged);
    if (complete !== undefined) {
      publishStaged(complete, dbDir, name);
      await syncDirectory(dbDir);
      result.rolledForward = complete;
    }
  }
  for (const folder of staged) {
    if (folder === result.rolledForward) continue;
    await fs.rm(folder, { recursive: true, force: true });
    result.removed.push(folder);
  }
  return result;
}

/** `recoverKeyFolder` for many keys of `dbDir` (the caller holds their locks), listing the staging folder once. */
export async function recoverKeyFolders(dbDir: string, names: readonly string[]): Promise<void> {
  const pending = new Set(listStagedWrites(dbDir).map(keyOfStagedWrite));
  for (const name of names) if (pending.has(name)) await recoverKeyFolder(dbDir, name);
}

async function hasRetiredValue(dbDir: string, name: string): Promise<boolean> {
  const entries = await fs.readdir(dbDir).catch(() => [] as string[]);
  return entries.some((entry) => entry.startsWith(`${name}${DELETING_MARK}`));
}

async function newestComplete(folders: string[]): Promise<string | undefined> {
  let best: { folder: string; mtime: number } | undefined;
  for (const folder of folders) {
    try {
      const stat = await fs.stat(path.join(folder, COMPLETE_MARKER));
      if (best === undefined || stat.mtimeMs > best.mtime) best = { folder, mtime: stat.mtimeMs };
    } catch {
      // Incomplete: the writer died before Loader.json, so this value never existed.
    }
  }
  return best?.folder;
}
