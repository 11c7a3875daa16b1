/**
 * The one walker of a database tree: the key folders of a database folder (sorted, without
 * debris, locks and our `.isfdb.deleting.*` folders), the sub-databases below it, and the leaf
 * keys of all levels. keys({recurse}), delete and rename (ids to unregister or register),
 * staleness, verify and fsck list a level with `keyFolderEntries`.
 */
import fsSync, { type Dirent } from 'node:fs';
import path from 'node:path';
import { readDbState } from './dbstate.js';
import { isKeyFolderName } from './keys.js';
import { DB_STATE_FILE, LOADER_FILE, SUBDB_FOLDER, SUBDB_LOADER, loaderJsonSchema, parseJsonText, type DbStateJson } from './ondisk.js';

/** The entries of a database folder that may be keys (folders or links with a key's name), sorted by name. */
export function keyFolderEntries(dir: string, entries: Dirent[] = fsSync.readdirSync(dir, { withFileTypes: true })): Dirent[] {
  return entries
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && isKeyFolderName(e.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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
    out.push(...below);
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
