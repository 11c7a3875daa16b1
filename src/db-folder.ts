/**
 * One database folder: opening it (state, registration), resolving a (tuple) key to the folder
 * that holds its last part (sub-database handles cached per instance), locks, the lock-free read
 * of a key, and writes through the one commit (store/commit.ts). DataBase (database.ts) is the
 * public face over a DbFolder; sub-databases each have their own.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { KeyNotFoundError, KeyTypeConflictError, NotADataBaseError, ReadonlyError, isDataBaseError } from './errors.js';
import { createDbState, readDbState, refuseLegacy } from './dbstate.js';
import { checkKeyFolderLength, formatKey, keyParts, type Key } from './keys.js';
import { LOADER_FILE, SUBDB_FOLDER, SUBDB_LOADER, type DbStateJson } from './ondisk.js';
import type { OpenOptions, WriteExtras } from './options.js';
import { Registry } from './registry.js';
import { ensureRegistered, registerChecked } from './registration.js';
import { subDataBaseIdentity } from './walk.js';
import { pathExists } from './store/durable.js';
import { commitKey } from './store/commit.js';
import { recoverKeyFolders } from './store/keyfolder.js';
import { DEFAULT_LOCK_OPTIONS, fileLocks, type HeldLock, type KeyLocks, type LockOptions } from './store/locks.js';
import { redisLocks, type RedisLockOptions } from './store/redis-locks.js';
import { loadKey, loaderNameAt, refuseLinkedKeyFolder, valueCommit, type MetadataTexts } from './key-io.js';
import { lockKeyFolder } from './key-ops.js';
import { getLoader } from '../loaders/index.js';
import type { Loader, LoaderContext } from '../loaders/types.js';

type AnyLoader = Loader<never>;

/** Whether the key folder's Loader.json text contains `word` (a cheap pre-check; a missing file contains nothing). */
function loaderJsonMentions(folder: string, word: string): boolean {
  try {
    return fsSync.readFileSync(path.join(folder, LOADER_FILE), 'utf8').includes(word);
  } catch {
    return false;
  }
}
export type FolderOptions = OpenOptions & { registry: Registry };

/** Redis lock backends by their options object (`locks: { redis }`). */
const redisBackends = new WeakMap<RedisLockOptions, KeyLocks>();

/** Where a key lives: the database folder holding its last part, the key folder's name, its printable form. */
export interface Located {
  parent: DbFolder;
  name: string;
  shown: string;
}

export class DbFolder {
  /** Sub-database folders by key folder name, with the identity of the folder they were opened on. */
  private readonly subFolders = new Map<string, { folder: DbFolder; identity: string }>();

  private constructor(
    readonly basedir: string,
    private state: DbStateJson,
    readonly options: FolderOptions,
    /** Opens a (sub-)database with the same options, for the sub-database loader. */
    private readonly openDatabase: (dir: string) => Promise<unknown>,
  ) {}

  /** Open (or create) the database folder `dir`; a writable open registers it. */
  static async open(dir: string, options: OpenOptions, openDatabase: (dir: string) => Promise<unknown>): Promise<DbFolder> {
    const basedir = path.resolve(dir);
    const opts = { ...options, registry: options.registry ?? Registry.default() };
    let state = await readDbState(basedir);
    if (state === undefined) {
      await refuseLegacy(basedir);
      if (opts.nocreate || opts.readonly) {
        const flag = opts.nocreate ? 'nocreate' : 'readonly';
        throw new NotADataBaseError(basedir, `no database here (no db_state.json), and ${flag} forbids creating one`);
      }
      state = await createDbState(basedir, basedir);
    }
    if (!opts.readonly) state = await ensureRegistered(opts.registry, basedir, state);
    return new DbFolder(basedir, state, opts, openDatabase);
  }

  get id(): string {
    return this.state._unique_id ?? '';
  }

  get readonly(): boolean {
    return this.options.readonly === true;
  }

  get durable(): boolean {
    return this.options.fsync !== false;
  }

  assertWritable(operation: string, key?: string): void {
    if (this.readonly) throw new ReadonlyError(operation, this.basedir, key);
  }

  // ------------------------------------------------------------ resolving keys

  /**
   * The folder holding `key` (sub-databases created on the way with `create`), the key folder's
   * name and its printable form; KeyNotFoundError when a sub-database on the way is missing.
   * `writing` names the operation refused on a readonly database.
   */
  async locate(key: Key, { create = false, writing }: { create?: boolean; writing?: string } = {}): Promise<Located> {
    const parts = keyParts(key);
    const shown = formatKey(parts);
    if (writing !== undefined) this.assertWritable(writing, shown);
    const parent = await this.parentOf(parts, { create });
    if (parent === undefined) throw new KeyNotFoundError(shown, this.basedir);
    return { parent, name: parts[parts.length - 1]!, shown };
  }

  /** `locate`, for a key that must exist (and not be a symbolic link). */
  async existingKey(key: Key): Promise<Located> {
    const located = await this.locate(key);
    refuseLinkedKeyFolder(located.parent.basedir, located.name, located.shown);
    if (!(await pathExists(path.join(located.parent.basedir, located.name)))) throw new KeyNotFoundError(located.shown, this.basedir);
    return located;
  }

  /** The folder directly holding the last part of `parts`, creating sub-databases on the way if asked. */
  async parentOf(parts: readonly string[], { create }: { create: boolean }): Promise<DbFolder | undefined> {
    // Before the first sub-database on the way is created: a key too deep for the file system fails whole.
    if (create) checkKeyFolderLength(this.basedir, parts);
    let folder: DbFolder = this;
    for (let i = 0; i < parts.length - 1; i++) {
      const name = parts[i]!;
      const shown = formatKey(parts.slice(0, i + 1));
      const loader = await loaderNameAt(folder.basedir, name).catch((err: unknown) => {
        if (isDataBaseError(err, 'CorruptKeyError') && !create) return undefined;
        throw err;
      });
      if (loader === SUBDB_LOADER) {
        folder = await folder.openSubDb(name);
      } else if (loader === undefined && create && !(await pathExists(path.join(folder.basedir, name)))) {
        folder = await folder.subDbLocal(name, shown);
      } else if (loader === undefined) {
        return undefined;
      } else if (create) {
        throw new KeyTypeConflictError(formatKey(parts), this.basedir, `${shown} holds data (${loader}), not a sub-database; delete it first`);
      } else {
        return undefined;
      }
    }
    return folder;
  }

  /** The sub-database in key folder `name`, created (under the key's lock) when there is nothing there. */
  async subDbLocal(name: string, shown: string): Promise<DbFolder> {
    const existing = await loaderNameAt(this.basedir, name).catch(() => undefined);
    if (existing === SUBDB_LOADER) return this.openSubDb(name);
    await this.withKeyLock(name, shown, async () => {
      const now = await loaderNameAt(this.basedir, name).catch(() => undefined);
      if (now === SUBDB_LOADER) return;
      if (now !== undefined || (await pathExists(path.join(this.basedir, name)))) {
        throw new KeyTypeConflictError(shown, this.basedir, `holds data (${now ?? 'unknown'}); a key holding data cannot become a sub-database, delete it first`);
      }
      await this.writeUnlocked(name, shown, await getLoader(SUBDB_LOADER), undefined, undefined);
    });
    return this.openSubDb(name);
  }

  /** The sub-database in key folder `name`, opened once per instance while the folder stays the same one. */
  async openSubDb(name: string): Promise<DbFolder> {
    refuseLinkedKeyFolder(this.basedir, name, name);
    refuseLinkedKeyFolder(path.join(this.basedir, name), SUBDB_FOLDER, name);
    const identity = subDataBaseIdentity(path.join(this.basedir, name));
    const cached = this.subFolders.get(name);
    if (cached !== undefined && cached.identity === identity) return cached.folder;
    const folder = await DbFolder.open(path.join(this.basedir, name, SUBDB_FOLDER), { ...this.options, nocreate: true }, this.openDatabase);
    this.subFolders.set(name, { folder, identity });
    return folder;
  }

  /** Drop the cached handle of the sub-database in `name` (it is being deleted or moved). */
  forgetSubDb(name: string): void {
    this.subFolders.delete(name);
  }

  // ------------------------------------------------------------ reading and writing keys

  getLocal(name: string, shown: string, options: Record<string, unknown> | undefined): Promise<unknown> {
    const locks = this.locks();
    return loadKey(this.basedir, name, shown, this.loaderContext(shown), options, () => locks.mayBeHeld(path.join(this.basedir, name)));
  }

  loaderContext(shown: string): LoaderContext {
    return {
      key: shown,
      basedir: this.basedir,
      readonly: this.readonly,
      createDatabase: async (dir: string) => createDbState(dir, dir),
      openDatabase: async (dir: string) => {
        refuseLinkedKeyFolder(path.dirname(dir), path.basename(dir), shown);
        return this.openDatabase(dir);
      },
    };
  }

  async refuseSubDbOverwrite(name: string, shown: string): Promise<void> {
    // Nothing there (a new key, the common case of a batch): one lstat.
    if (!(await pathExists(path.join(this.basedir, name)))) return;
    // A data key (an overwrite): its Loader.json does not name the sub-database loader, and no `db` folder.
    if (!(await pathExists(path.join(this.basedir, name, SUBDB_FOLDER))) && !loaderJsonMentions(path.join(this.basedir, name), SUBDB_LOADER)) return;
    const existing = await loaderNameAt(this.basedir, name).catch(() => undefined);
    if (existing === SUBDB_LOADER || (await pathExists(path.join(this.basedir, name, SUBDB_FOLDER)))) {
      throw new KeyTypeConflictError(shown, this.basedir, 'is a sub-database and cannot be overwritten with data; delete it first');
    }
  }

  /** Write a data key; the caller holds its lock. */
  async writeLocked(name: string, shown: string, loader: AnyLoader, value: unknown, dumpOptions: Record<string, unknown> | undefined, lock: HeldLock, writeExtras: WriteExtras): Promise<void> {
    await this.refuseSubDbOverwrite(name, shown);
    await this.writeUnlocked(name, shown, loader, value, dumpOptions, lock, writeExtras);
  }

  /** The commit of `value` as key folder `name` (not yet run); `texts` shares metadata.json's provenance across a batch. */
  valueWrite(
    name: string, shown: string, loader: AnyLoader, value: unknown, dumpOptions: Record<string, unknown> | undefined,
    lock: HeldLock | undefined, writeExtras: WriteExtras, texts?: MetadataTexts,
  ): ReturnType<typeof valueCommit> {
    return valueCommit({
      dbDir: this.basedir, name, shown, loader, value, dumpOptions,
      ctx: this.loaderContext(shown),
      gitDir: this.options.gitDir,
      ...(writeExtras.extraMetadata === undefined ? {} : { extraMetadata: writeExtras.extraMetadata }),
      keep: writeExtras.keepVersions ?? this.options.keepVersions ?? 0,
      ...(lock === undefined ? {} : { lock }),
      ...(texts === undefined ? {} : { texts }),
    });
  }

  /** Commit a key folder through store/commit.ts; the caller holds the key's lock. */
  async writeUnlocked(
    name: string, shown: string, loader: AnyLoader, value: unknown,
    dumpOptions: Record<string, unknown> | undefined, lock?: HeldLock, writeExtras: WriteExtras = {},
  ): Promise<void> {
    const { commit, created } = this.valueWrite(name, shown, loader, value, dumpOptions, lock, writeExtras);
    await commitKey(commit, { durable: this.durable });
    const createdId = created()?._unique_id;
    if (createdId) await registerChecked(this.options.registry, createdId, path.join(this.basedir, name, SUBDB_FOLDER));
  }

  // ------------------------------------------------------------ locks

  locks(): KeyLocks {
    const given = this.options.locks;
    if (given === undefined) return fileLocks;
    if (!('redis' in given)) return given;
    // `locks: { redis }`: one backend per options object, shared by the sub-databases opened with them.
    let backend = redisBackends.get(given);
    if (backend === undefined) redisBackends.set(given, backend = redisLocks(given));
    return backend;
  }

  private lockOptions(): LockOptions {
    return {
      timeoutMs: this.options.lockTimeoutMs ?? DEFAULT_LOCK_OPTIONS.timeoutMs,
      staleMs: this.options.lockStaleMs ?? DEFAULT_LOCK_OPTIONS.staleMs,
    };
  }

  /** Every write of a key goes through its lock: the one place writes refuse a symbolic link in place of the key. */
  lockKey(name: string, shown: string): Promise<HeldLock> {
    refuseLinkedKeyFolder(this.basedir, name, shown);
    return lockKeyFolder(this.locks(), this.basedir, name, shown, this.lockOptions());
  }

  /**
   * Take the lock of one key of a batch without finishing a killed writer's leftovers; the batch
   * calls `recoverLocked` once per folder after taking all its locks (one staging listing, not one per key).
   * `tryOnly`: fail at once with LockTimeoutError when the lock is busy.
   */
  lockForBatch(name: string, shown: string, { tryOnly = false }: { tryOnly?: boolean } = {}): Promise<HeldLock> {
    refuseLinkedKeyFolder(this.basedir, name, shown);
    return this.locks().acquire(path.join(this.basedir, name), shown, { ...this.lockOptions(), many: true, ...(tryOnly ? { timeoutMs: 0 } : {}) });
  }

  /** Finish what killed writers left for these key folders; the caller holds their locks. */
  recoverLocked(names: readonly string[]): Promise<void> {
    return recoverKeyFolders(this.basedir, names);
  }

  async withKeyLock<T>(name: string, shown: string, body: (lock: HeldLock) => Promise<T>): Promise<T> {
    const lock = await this.lockKey(name, shown);
    try {
      return await body(lock);
    } finally {
      await lock.release();
    }
  }
}
