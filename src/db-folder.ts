/**
 * The key-level work in one database folder: locks, the lock-free read of a key, and writes
 * through the one commit (store/commit.ts). DataBase (database.ts) resolves tuple keys to the
 * folder holding them and calls this; sub-databases each have their own DbFolder.
 */
import path from 'node:path';
import { KeyTypeConflictError } from './errors.js';
import { createDbState } from './dbstate.js';
import { SUBDB_FOLDER, SUBDB_LOADER } from './ondisk.js';
import type { OpenOptions, WriteExtras } from './options.js';
import type { Registry } from './registry.js';
import { registerChecked } from './registration.js';
import { pathExists } from './store/durable.js';
import { commitKey } from './store/commit.js';
import { DEFAULT_LOCK_OPTIONS, fileLocks, type HeldLock, type KeyLocks } from './store/locks.js';
import { redisLocks, type RedisLockOptions } from './store/redis-locks.js';

/** Redis lock backends by their options object (`locks: { redis }`). */
const redisBackends = new WeakMap<RedisLockOptions, KeyLocks>();
import { loadKey, loaderNameAt, refuseLinkedKeyFolder, valueCommit } from './key-io.js';
import { lockKeyFolder } from './key-ops.js';
import type { Loader, LoaderContext } from '../loaders/types.js';

type AnyLoader = Loader<never>;

export class DbFolder {
  constructor(
    readonly basedir: string,
    private readonly options: OpenOptions & { registry: Registry },
    /** Opens a (sub-)database with the same options, for the sub-database loader. */
    private readonly openDatabase: (dir: string) => Promise<unknown>,
  ) {}

  get readonly(): boolean {
    return this.options.readonly === true;
  }

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

  valueWrite(name: string, shown: string, loader: AnyLoader, value: unknown, dumpOptions: Record<string, unknown> | undefined, lock: HeldLock | undefined, writeExtras: WriteExtras): ReturnType<typeof valueCommit> {
    return valueCommit({
      dbDir: this.basedir, name, shown, loader, value, dumpOptions,
      ctx: this.loaderContext(shown),
      gitDir: this.options.gitDir,
      ...(writeExtras.extraMetadata === undefined ? {} : { extraMetadata: writeExtras.extraMetadata }),
      keep: writeExtras.keepVersions ?? this.options.keepVersions ?? 0,
      ...(lock === undefined ? {} : { lock }),
    });
  }

  /** Commit a key folder through store/commit.ts; the caller holds the key's lock. */
  async writeUnlocked(
    name: string, shown: string, loader: AnyLoader, value: unknown,
    dumpOptions: Record<string, unknown> | undefined, lock?: HeldLock, writeExtras: WriteExtras = {},
  ): Promise<void> {
    const { commit, created } = this.valueWrite(name, shown, loader, value, dumpOptions, lock, writeExtras);
    await commitKey(commit, { durable: this.options.fsync !== false });
    const createdId = created()?._unique_id;
    if (createdId) await registerChecked(this.options.registry, createdId, path.join(this.basedir, name, SUBDB_FOLDER));
  }

  locks(): KeyLocks {
    const given = this.options.locks;
    if (given === undefined) return fileLocks;
    if (!('redis' in given)) return given;
    // `locks: { redis }`: one backend per options object, shared by the sub-databases opened with them.
    let backend = redisBackends.get(given);
    if (backend === undefined) redisBackends.set(given, backend = redisLocks(given));
    return backend;
  }

  /** Every write of a key goes through its lock: the one place writes refuse a symbolic link in place of the key. */
  lockKey(name: string, shown: string): Promise<HeldLock> {
    refuseLinkedKeyFolder(this.basedir, name, shown);
    return lockKeyFolder(this.locks(), this.basedir, name, shown, {
      timeoutMs: this.options.lockTimeoutMs ?? DEFAULT_LOCK_OPTIONS.timeoutMs,
      staleMs: this.options.lockStaleMs ?? DEFAULT_LOCK_OPTIONS.staleMs,
    });
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
