/**
 * The one walker of a database tree: the key folders of a database folder (sorted, without
 * debris, locks and our `.isfdb.deleting.*` folders), the sub-databases below it, and the leaf
 * keys of all levels. keys({recurse}), delete and rename (ids to unregister or register),
 * staleness and verify list a level with `keyFolderEntries`; fsck lists it with `listDbFolder`,
 * which also reports the debris the key listing skips (staged writes, retired values, locks,
 * temporary files).
 */
import fsSync, { type Dirent } from 'node:fs';
import path from 'node:path';
import { readDbState } from './dbstate.js';
import { DELETING_MARK, isKeyFolderName } from './keys.js';
import { STAGING_FOLDER, keyOfStagedWrite, listStagedWrites } from './store/keyfolder.js';
import { scratchOwner } from './store/scratch.js';
import { DB_STATE_FILE, LOADER_FILE, SUBDB_FOLDER, SUBDB_LOADER, loaderJsonSchema, parseJsonText, type DbStateJson } from './ondisk.js';

/** The entries of a database folder that may be keys (folders or links with a key's name), sorted by name. */
export function keyFolderEntries(dir: string, entries: Dirent[] = fsSync.readdirSync(dir, { withFileTypes: true })): Dirent[] {
  return entries
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && isKeyFolderName(e.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Our internal folders in a database folder: `.isfdb.deleting.staging`, `.isfdb.deleting.history`, initSimrun's `.isfdb.deleting.simrun-<host>-<pid>-*`. */
const INTERNAL_PREFIX = '.isfdb';
const TEMP_FILE = /^\..+\.\d+\.[0-9a-f]+\.tmp$/;
const STATE_TEMP_FILE = new RegExp(`^\\.${DB_STATE_FILE.replace('.', '\\.')}\\.\\d+\\.[A-Z0-9]+$`);

/** What a database folder holds besides its keys: what killed or interrupted writers left (all sorted). */
export interface FolderDebris {
  /** The staging folder, when it is a symbolic link (never followed). */
  stagingLink?: string;
  /** Key folder names with staged writes in the staging folder (`<key>#tmp#...`). */
  stagedKeys: string[];
  /** Entry names of retired values (`<key>.deleting.<X>`), old values being removed. */
  retired: string[];
  /** Entry names of locks (`<key>.lock`). */
  locks: string[];
  /** Entry names of temporary files of atomic replacements (`.<name>.<pid>.<rand>.tmp`, `.db_state.json.<pid>.<RAND>`). */
  tempFiles: string[];
  /** Entry names of processes' scratch folders (store/scratch.ts), whoever owns them, and whether alive or not. */
  scratch: string[];
}

/** One level of a database folder, read once: its key folders (as `keyFolderEntries`) and its debris. */
export function listDbFolder(dir: string): { keys: Dirent[]; debris: FolderDebris } {
  const entries = fsSync.readdirSync(dir, { withFileTypes: true });
  const names = entries.map((e) => e.name).sort();
  const staging = entries.find((e) => e.name === STAGING_FOLDER);
  const debris: FolderDebris = {
    stagedKeys: staging?.isDirectory() ? [...new Set(listStagedWrites(dir).map(keyOfStagedWrite))].sort() : [],
    retired: names.filter(isRetiredName),
    locks: names.filter((name) => name.endsWith('.lock')),
    tempFiles: entries.filter((e) => e.isFile() && (TEMP_FILE.test(e.name) || STATE_TEMP_FILE.test(e.name))).map((e) => e.name).sort(),
    scratch: entries.filter((e) => e.isDirectory() && scratchOwner(e.name) !== undefined).map((e) => e.name).sort(),
  };
  if (staging?.isSymbolicLink()) debris.stagingLink = path.join(dir, STAGING_FOLDER);
  return { keys: keyFolderEntries(dir, entries), debris };
}

/**
 * `<key>.deleting.<X>`: an old value being removed. Our own folders (`.isfdb.deleting.staging`,
 * `.isfdb.deleting.history`, ...) also carry the mark so that no reader lists them; they are not debris.
 */
export function isRetiredName(name: string): boolean {
  return name.includes(DELETING_MARK) && !name.startsWith(INTERNAL_PREFIX) && name.indexOf(DELETING_MARK) > 0;
}

/** The key folder name a retired value belongs to. */
export function keyOfRetired(name: string): string {
  return name.slice(0, name.indexOf(DELETING_MARK));
}

/** The retired values of key folder `name` in `dir` (absolute paths), listed now. */
export function retiredValuesOf(dir: string, name: string): string[] {
  return fsSync.readdirSync(dir).filter((entry) => isRetiredName(entry) && keyOfRetired(entry) === name).map((entry) => path.join(dir, entry));
}

/** The short loader name in a key folder's Loader.json, or undefined when unreadable. */
export function loaderNameIn(folder: string): string | undefined {
  try {
    const file = path.join(folder, LOADER_FILE);
    return parseJsonText(fsSync.readFileSync(file, 'utf8'), file, loaderJsonSchema).Loader.split('.').pop();
  } catch {
    return undefined;
  }
}

/** Every database folder at or below `dir` (sub-databases included), with its state; `dir` first. */
export async function* walkDatabases(dir: string): AsyncGenerator<{ dir: string; state: DbStateJson }> {
  const state = await readDbState(dir).catch(() => undefined);
  if (state === undefined) return;
  yield { dir, state };
  let entries: Dirent[];
  try {
    entries = keyFolderEntries(dir);
  } catch {
    return; // removed meanwhile
  }
  for (const entry of entries) {
    if (entry.isDirectory() && isRealFolder(path.join(dir, entry.name, SUBDB_FOLDER))) yield* walkDatabases(path.join(dir, entry.name, SUBDB_FOLDER));
  }
}

/** A leaf key: its parts and its folder. An empty sub-database is a leaf too (as ISF lists it). */
export interface KeyLeaf {
  key: string[];
  folder: string;
}

/** The leaf keys at or below the database folder `dir`, in sorted order. */
export function walkKeys(dir: string, prefix: string[] = []): KeyLeaf[] {
  const out: KeyLeaf[] = [];
  for (const entry of keyFolderEntries(dir)) {
    if (!entry.isDirectory()) continue;
    const folder = path.join(dir, entry.name);
    const key = [...prefix, entry.name];
    if (loaderNameIn(folder) !== SUBDB_LOADER) {
      out.push({ key, folder });
      continue;
    }
    const below = isRealFolder(path.join(folder, SUBDB_FOLDER)) ? walkKeys(path.join(folder, SUBDB_FOLDER), key) : [];
    if (below.length === 0) out.push({ key, folder });
    for (const leaf of below) out.push(leaf); // not push(...below): a sub-database may hold more keys than a call takes arguments
  }
  return out;
}

/**
 * Which sub-database a key folder holds now: the folder's identity and its db_state.json's inode,
 * change time and size. A cached handle serves only the same sub-database (not one deleted and
 * re-created, nor one whose db_state.json was removed or rewritten): two lstat calls instead of
 * reading db_state.json and the registry on every access.
 */
export function subDataBaseIdentity(keyFolder: string): string {
  const stat = (p: string) => fsSync.lstatSync(p, { throwIfNoEntry: false });
  const folder = stat(keyFolder);
  const state = stat(path.join(keyFolder, SUBDB_FOLDER, DB_STATE_FILE));
  return `${folder === undefined ? '' : `${folder.dev}:${folder.ino}`}/${state === undefined ? '' : `${state.ino}:${state.mtimeMs}:${state.size}`}`;
}

/** A folder, not a symbolic link to one: links in place of key or `db` folders are never followed (key-io.ts). */
function isRealFolder(dir: string): boolean {
  return fsSync.lstatSync(dir, { throwIfNoEntry: false })?.isDirectory() === true;
}
