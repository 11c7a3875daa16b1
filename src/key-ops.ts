/**
 * What the database does to a whole key folder under its lock: take the lock (finishing what a
 * killed writer left), delete (retire, then unregister the ids inside, then remove), and move
 * (rename, then register the moved sub-databases again). database.ts picks the folders.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { KeyNotFoundError, KeyTypeConflictError } from './errors.js';
import { SUBDB_FOLDER, SUBDB_LOADER } from './ondisk.js';
import type { Registry } from './registry.js';
import { reregisterTree, unregisterTree } from './registration.js';
import { pathExists, syncDirectory } from './store/durable.js';
import { recoverKeyFolder, retireKeyFolder } from './store/keyfolder.js';
import type { HeldLock, KeyLocks, LockOptions } from './store/locks.js';
import { loaderNameAt } from './key-io.js';

/** Take the lock of key folder `name`, then finish (roll forward or remove) what a killed writer of it left. */
export async function lockKeyFolder(locks: KeyLocks, dbDir: string, name: string, shown: string, options: LockOptions): Promise<HeldLock> {
  const lock = await locks.acquire(path.join(dbDir, name), shown, options);
  try {
    await recoverKeyFolder(dbDir, name);
  } catch (err) {
    await lock.release();
    throw err;
  }
  return lock;
}

/** Delete key folder `name` of `dbDir` (the caller holds its lock); `topDir` is named in errors. */
export async function deleteKeyFolder(dbDir: string, name: string, shown: string, topDir: string, registry: Registry): Promise<void> {
  if (!(await pathExists(path.join(dbDir, name)))) throw new KeyNotFoundError(shown, topDir);
  const isSubDb = (await loaderNameAt(dbDir, name).catch(() => undefined)) === SUBDB_LOADER;
  // Move the folder away first, then unregister the ids found in the moved copy. Walking it in
  // place raced with processes creating or opening sub-databases inside it, whose registrations
  // then outlived the folder (dangling ids); those processes re-check after registering (see
  // registration.ts).
  const retired = retireKeyFolder(dbDir, name);
  if (retired === undefined) throw new KeyNotFoundError(shown, topDir);
  await syncDirectory(dbDir);
  if (isSubDb) await unregisterTree(registry, path.join(retired, SUBDB_FOLDER));
  // maxRetries: ENOTEMPTY when a process that still held a lock inside the moved folder left an
  // entry there late.
  await fs.rm(retired, { recursive: true, force: true, maxRetries: 5 });
}

/** Move a key folder to a new place that must be free (the caller holds both keys' locks). */
export async function moveKeyFolder(from: { dir: string; shown: string }, to: { dir: string; shown: string }, topDir: string, registry: Registry): Promise<void> {
  if (!(await pathExists(from.dir))) throw new KeyNotFoundError(from.shown, topDir);
  if (await pathExists(to.dir)) {
    throw new KeyTypeConflictError(to.shown, path.dirname(to.dir), 'already exists; delete it first or choose another key');
  }
  await fs.rename(from.dir, to.dir);
  await syncDirectory(path.dirname(to.dir));
  if (path.dirname(from.dir) !== path.dirname(to.dir)) await syncDirectory(path.dirname(from.dir));
  if ((await loaderNameAt(path.dirname(to.dir), path.basename(to.dir)).catch(() => undefined)) === SUBDB_LOADER) {
    await reregisterTree(registry, path.join(to.dir, SUBDB_FOLDER));
  }
}
