/**
 * Registration of databases in the id registry, in one place: a database registering itself on
 * open (and again when it was moved), a sub-database created by a write, the ids below a deleted
 * or renamed sub-database, and fsck's repairs. The rule everywhere: register, then check the
 * folder still holds the id; a concurrent delete of an enclosing sub-database may have walked
 * it for ids to unregister just before, and an entry must never point at nothing.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { NotADataBaseError, isDataBaseError } from './errors.js';
import { newUniqueId, readDbState, writeDbState } from './dbstate.js';
import { DB_STATE_FILE, dbStateSchema, parseJsonText, type DbStateJson } from './ondisk.js';
import type { Registry } from './registry.js';
import { walkDatabases } from './walk.js';

/** Whether the database folder `dir` holds the id `id` now (read synchronously, no symlink followed for the file's folder). */
export function holdsId(dir: string, id: string): boolean {
  try {
    const file = path.join(dir, DB_STATE_FILE);
    return parseJsonText(fsSync.readFileSync(file, 'utf8'), file, dbStateSchema)._unique_id === id;
  } catch {
    return false;
  }
}

/** Register `id` to `dir`; false (and nothing left registered) when `dir` no longer holds that id. */
export async function registerChecked(registry: Registry, id: string, dir: string): Promise<boolean> {
  await registry.register(id, dir);
  if (holdsId(dir, id)) return true;
  await registry.unregister(id);
  return false;
}

/**
 * A writable open: give the database an id if it has none, register it when the registry does
 * not point here (first open, or the folder was moved or copied), and record the folder in
 * db_state.json. Returns the state as now on disk.
 */
export async function ensureRegistered(registry: Registry, basedir: string, state: DbStateJson): Promise<DbStateJson> {
  let next = state;
  if (!next._unique_id) next = { ...next, _unique_id: newUniqueId() };
  const id = next._unique_id!;
  const registered = await registry.lookup(id).catch((err: unknown) => {
    if (isDataBaseError(err, 'DataBaseNotFoundError', 'CorruptKeyError')) return undefined;
    throw err;
  });
  if (registered !== undefined && isCopyOf(basedir, registered, id)) return giveCopyItsOwnId(registry, basedir, next);
  if (registered !== basedir) {
    await registry.register(id, basedir);
    // A concurrent delete of this sub-database may have unregistered it just before we registered
    // it again; do not leave an entry pointing at a removed folder.
    if ((await readDbState(basedir).catch(() => undefined))?._unique_id !== id && state._unique_id) {
      await registry.unregister(id);
      throw new NotADataBaseError(basedir, 'the database was removed (its sub-database key was deleted) while it was being opened');
    }
  }
  if (next !== state || next._registered_to_path !== basedir) {
    next = { ...next, _registered_to_path: basedir };
    await writeDbState(basedir, next);
  }
  return next;
}

/**
 * Whether the database in `dir` is a copy of the one registered at `registered` under the same id:
 * that folder still holds the id, and it is another folder (not the same one reached through
 * another path). Then `dir` must not take the id over: two folders would fight over one id.
 */
export function isCopyOf(dir: string, registered: string, id: string): boolean {
  if (registered === dir || !holdsId(registered, id)) return false;
  const here = fsSync.statSync(path.join(dir, DB_STATE_FILE), { throwIfNoEntry: false });
  const there = fsSync.statSync(path.join(registered, DB_STATE_FILE), { throwIfNoEntry: false });
  return here === undefined || there === undefined || here.dev !== there.dev || here.ino !== there.ino;
}

/**
 * A copy of a database gets its own id (written to its db_state.json, then registered): the
 * original keeps its id and its registration, and mdb:// paths keep pointing at the original.
 */
export async function giveCopyItsOwnId(registry: Registry, basedir: string, state: DbStateJson): Promise<DbStateJson> {
  const fresh: DbStateJson = { ...state, _unique_id: newUniqueId(), _registered_to_path: basedir };
  await writeDbState(basedir, fresh);
  if (await registerChecked(registry, fresh._unique_id!, basedir)) return fresh;
  // Another process gave the copy an id at the same moment, or the copy was removed: follow the folder.
  const now = await readDbState(basedir).catch(() => undefined);
  if (now === undefined) throw new NotADataBaseError(basedir, 'the database was removed while it was being opened');
  return ensureRegistered(registry, basedir, now);
}

/** Unregister every database at or below `dir` (a sub-database folder moved away to be deleted). */
export async function unregisterTree(registry: Registry, dir: string): Promise<void> {
  for await (const { state } of walkDatabases(dir)) {
    if (state._unique_id) await registry.unregister(state._unique_id);
  }
}

/** Register again every database at or below `dir` (a sub-database renamed to another key). */
export async function reregisterTree(registry: Registry, dir: string): Promise<void> {
  for await (const { dir: dbDir, state } of walkDatabases(dir)) await ensureRegistered(registry, dbDir, state);
}
