/**
 * DataBase: a folder of keys on ISF's on-disk format. This file orchestrates; the key rules live
 * in keys.ts, the JSON files in ondisk.ts, the atomic filesystem work in store/, and the formats
 * in loaders/.
 */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  DataBaseNotFoundError, KeyNotFoundError, KeyTypeConflictError, NotADataBaseError, ReadonlyError, UnknownLoaderError, isDataBaseError,
} from './errors.js';
import { createDbState, readDbState, refuseLegacy } from './dbstate.js';
import { checkKeyFolderLength, formatKey, keyParts, relativeKeyFolder, type Key } from './keys.js';
import { CHECKSUMS_FIELD, DB_STATE_FILE, LOADER_FILE, METADATA_FILE, metadataSchema, pythonJson, readJsonFile, type DbStateJson, type MetadataJson, SUBDB_LOADER, FOLDER_LOADER, SUBDB_FOLDER } from './ondisk.js';
import { postHocMetadata } from './provenance.js';
import { Registry } from './registry.js';
import { ensureRegistered, registerChecked, reregisterTree, unregisterTree } from './registration.js';
import { keyFolderEntries, walkKeys } from './walk.js';
import { fsckDataBase, type FsckOptions, type FsckReport } from './fsck.js';
import { verifyDataBase, type VerifyReport } from './verify.js';
import { pathExists, replaceFileAtomically, syncDirectory } from './store/durable.js';
import { commitKey, commitKeys, type KeyCommit } from './store/commit.js';
import { checksumFolder } from './store/checksum.js';
import { recoverKeyFolder, retireKeyFolder } from './store/keyfolder.js';
import { DEFAULT_LOCK_OPTIONS, fileLocks, type HeldLock, type KeyLocks } from './store/locks.js';
import { folderIdentity } from './store/read-retry.js';
import { checkVersionRef, diffVersions, listVersions, resolveVersionFolder, restoreVersion, type VersionDiff, type VersionInfo, type VersionRef } from './history.js';
import { calculate, findStale, folderDigest, type CalculationPort, type RecipeOptions, type StaleKey } from './lineage.js';
import { loadFolder, loadKey, loaderNameAt, readLoaderJson, refuseLinkedKeyFolder, valueCommit } from './key-io.js';
import { defaultDumperFor, getLoader, shortLoaderName, whyNoDefaultDumper } from '../loaders/index.js';
import type { Loader, LoaderContext } from '../loaders/types.js';

export interface OpenOptions {
  /** Refuse every write; never takes locks. Sub-databases inherit it. */
  readonly?: boolean;
  /** Throw instead of creating a database where there is none. */
  nocreate?: boolean;
  /** How long a writer waits for another writer of the same key (default 60 s). */
  lockTimeoutMs?: number;
  /** Age after which a lock of a killed process is taken over (default 10 s, at least 2 s). */
  lockStaleMs?: number;
  /** A folder in the git checkout of the code writing keys (default: the working directory). */
  gitDir?: string;
  /** Where ids are registered (default: $ISFDB_REGISTRY or ~/.isf-data-base/registry). */
  registry?: Registry;
  /**
   * fsync every written file and folder before a write becomes visible (default true): a value
   * then survives power loss. With false, writes stay atomic against killed processes (the page
   * cache survives them) but a power cut may lose recent ones; about 3x more small writes per second.
   */
  fsync?: boolean;
  /** Keep the last N values of a key on overwrite (see history.ts); 0 (default) drops them as ISF does. */
  keepVersions?: number;
  /** How writers of a key are serialised (default: `<key>.lock` folders, see store/locks.ts); e.g. a Redis backend. */
  locks?: KeyLocks;
}

/** Options of one write. */
export interface WriteOptions {
  /** Overrides the database's keepVersions for this write. */
  keepVersions?: number;
}

/** `params`, `inputs` and `code` make a recipe (see lineage.ts); without them ISF's behaviour: compute once, then read. */
export interface MaybeCalculateOptions extends RecipeOptions {
  force?: boolean;
  dumper?: string | Loader<never>;
  /** Overrides the database's keepVersions when this call overwrites the key. */
  keepVersions?: number;
}

/** Extras of a write: fields added to metadata.json, and the history setting. */
interface WriteExtras {
  extraMetadata?: Record<string, unknown>;
  keepVersions?: number;
}

/** What a key is, for listings: its loader's short name and, for sub-databases, that fact. */
export interface KeyInfo {
  key: string[];
  loader: string;
}

type AnyLoader = Loader<never>;

/** One entry of setMany: a key, its value and, optionally, the dumper and its options. */
export interface SetManyEntry {
  key: Key;
  value: unknown;
  dumper?: string | AnyLoader;
  dumpOptions?: Record<string, unknown>;
}

export class DataBase {
  /** Sub-database handles by key folder name, with the identity of the folder they were opened on. */
  private readonly subDbs = new Map<string, { db: DataBase; identity: string }>();

  private constructor(
    readonly basedir: string,
    private state: DbStateJson,
    private readonly options: OpenOptions & { registry: Registry },
  ) {}

  get id(): string {
    return this.state._unique_id ?? '';
  }

  get readonly(): boolean {
    return this.options.readonly === true;
  }

  /** Open (or create) the database in `dir`. */
  static async open(dir: string, options: OpenOptions = {}): Promise<DataBase> {
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
    const db = new DataBase(basedir, state, opts);
    if (!db.readonly) db.state = await ensureRegistered(opts.registry, basedir, state);
    return db;
  }

  /** Open the database registered under `id`. */
  static async byId(id: string, options: OpenOptions = {}): Promise<DataBase> {
    const registry = options.registry ?? Registry.default();
    const dir = await registry.lookup(id);
    const state = await readDbState(dir).catch(() => undefined);
    if (state === undefined) throw new DataBaseNotFoundError(id, `registered at ${dir}, but no database is there any more`);
    if (state._unique_id !== id) {
      throw new DataBaseNotFoundError(id, `registered at ${dir}, but the database there has id '${String(state._unique_id)}'`);
    }
    return DataBase.open(dir, { ...options, registry, nocreate: true });
  }

  // ---------------------------------------------------------------- reading

  async keys(): Promise<string[]>;
  async keys(options: { recurse: true }): Promise<string[][]>;
  async keys(options?: { recurse?: boolean }): Promise<string[] | string[][]>;
  async keys(options: { recurse?: boolean } = {}): Promise<string[] | string[][]> {
    if (options.recurse) return walkKeys(this.basedir).map((leaf) => leaf.key);
    return keyFolderEntries(this.basedir).filter((e) => e.isDirectory()).map((e) => e.name);
  }

  async has(key: Key): Promise<boolean> {
    const parts = keyParts(key);
    // Below a symbolic link there are no keys (the only KeyTypeConflictError of a lookup).
    const parent = await this.parentOf(parts, { create: false }).catch((err: unknown) => {
      if (isDataBaseError(err, 'KeyTypeConflictError')) return undefined;
      throw err;
    });
    if (parent === undefined) return false;
    const folder = path.join(parent.basedir, parts[parts.length - 1]!);
    // A symbolic link is not a key (keys() does not list it either).
    if (fsSync.lstatSync(folder, { throwIfNoEntry: false })?.isSymbolicLink()) return false;
    return (await pathExists(path.join(folder, LOADER_FILE))) || pathExists(path.join(folder, 'Loader.pickle'));
  }

  /** The stored value; `options` go to the loader, except `version` (a number from db.history(key), or 'current'). */
  async get(key: Key, options?: Record<string, unknown>): Promise<unknown> {
    const parts = keyParts(key);
    const shown = formatKey(parts);
    const parent = await this.parentOf(parts, { create: false });
    if (parent === undefined) throw new KeyNotFoundError(shown, this.basedir);
    const name = parts[parts.length - 1]!;
    const { version, ...loaderOptions } = options ?? {};
    const wanted = version === undefined ? 'current' : checkVersionRef(version);
    if (wanted === 'current') return parent.getLocal(name, shown, version === undefined ? options : loaderOptions);
    const folder = await resolveVersionFolder(parent.basedir, name, shown, wanted);
    return loadFolder(folder, shown, parent.loaderContext(shown), loaderOptions);
  }

  /** The kept versions of a key, oldest first, then its current value (see history.ts). */
  async history(key: Key): Promise<VersionInfo[]> {
    const folder = await this.folderOf(key);
    return listVersions(path.dirname(folder), path.basename(folder));
  }

  /** Make a kept version current again; the current value goes into the history. Returns the number it got. */
  async restore(key: Key, version: number, options: WriteOptions = {}): Promise<number | undefined> {
    const parts = keyParts(key);
    const shown = formatKey(parts);
    this.assertWritable('restore', shown);
    const parent = await this.parentOf(parts, { create: false });
    if (parent === undefined) throw new KeyNotFoundError(shown, this.basedir);
    const name = parts[parts.length - 1]!;
    const wanted = checkVersionRef(version);
    if (wanted === 'current') return undefined;
    return parent.withKeyLock(name, shown, async () => {
      if ((await loaderNameAt(parent.basedir, name).catch(() => undefined)) === SUBDB_LOADER) {
        throw new KeyTypeConflictError(shown, parent.basedir, 'is a sub-database and cannot be replaced by a kept version; delete it first');
      }
      return restoreVersion(parent.basedir, name, shown, wanted, options.keepVersions ?? this.options.keepVersions ?? 0, { durable: this.options.fsync !== false });
    });
  }

  /** Which provenance fields differ between two values of a key, and whether the content changed. */
  async diff(key: Key, a: VersionRef, b: VersionRef): Promise<VersionDiff> {
    return diffVersions(await this.folderOf(key), formatKey(keyParts(key)), a, b);
  }

  /** Computed keys whose recorded inputs changed since they were computed, transitively (see lineage.ts). */
  async stale(): Promise<StaleKey[]> {
    return findStale(walkKeys(this.basedir));
  }

  /** metadata.json of a key, as on disk; a missing file is filled in "post hoc" as ISF does. */
  async metadata(key: Key): Promise<MetadataJson> {
    const { db, name, shown } = await this.existingKey(key);
    const folder = path.join(db.basedir, name);
    const file = path.join(folder, METADATA_FILE);
    if (await pathExists(file)) return readJsonFile(file, metadataSchema, shown);
    const loaderJson = await readLoaderJson(db.basedir, name, shown).catch(() => undefined);
    const stat = await fs.stat(folder);
    const meta = postHocMetadata(loaderJson ? shortLoaderName(loaderJson.Loader) : 'unknown', stat.mtime);
    if (!db.readonly) await replaceFileAtomically(file, pythonJson(meta));
    return meta;
  }

  /** The short loader name of a key (e.g. 'numpy_to_npy'). */
  async loaderOf(key: Key): Promise<string> {
    const { db, name, shown } = await this.existingKey(key);
    return shortLoaderName((await readLoaderJson(db.basedir, name, shown)).Loader);
  }

  /** Absolute folder of a key (it need not exist). */
  async folderOf(key: Key): Promise<string> {
    return path.join(this.basedir, relativeKeyFolder(keyParts(key)));
  }

  // ---------------------------------------------------------------- writing

  /** Store `value` under `key`, atomically. `dumper` is a loader name or object; by default chosen from the value. */
  async set(key: Key, value: unknown, dumper?: string | AnyLoader, dumpOptions?: Record<string, unknown>, writeOptions: WriteOptions = {}): Promise<void> {
    const parts = keyParts(key);
    this.assertWritable('set', formatKey(parts));
    const loader = await this.chooseDumper(value, dumper, formatKey(parts));
    if (loader.kind === 'database') {
      await this.createSubDb(parts);
      return;
    }
    const parent = (await this.parentOf(parts, { create: true }))!;
    const name = parts[parts.length - 1]!;
    await parent.withKeyLock(name, formatKey(parts), (lock) => parent.writeLocked(name, formatKey(parts), loader, value, dumpOptions, lock, writeOptions));
  }

  /**
   * Store many values at once: every key is atomic and locked as by `set`, and the batch shares
   * its fsyncs (all files in parallel, one fsync per database folder), so durable small keys are
   * written several times faster than one `set` after another. Keys must differ; sub-databases are
   * not created here (use createSubDb). When a value fails to dump, no key of the batch is written.
   */
  async setMany(entries: readonly SetManyEntry[], writeOptions: WriteOptions = {}): Promise<void> {
    const planned: Array<{ parent: DataBase; name: string; shown: string; loader: AnyLoader; entry: SetManyEntry }> = [];
    const seen = new Set<string>();
    for (const entry of entries) {
      const parts = keyParts(entry.key);
      const shown = formatKey(parts);
      this.assertWritable('set', shown);
      const loader = await this.chooseDumper(entry.value, entry.dumper, shown);
      if (loader.kind === 'database') throw new KeyTypeConflictError(shown, this.basedir, 'setMany does not create sub-databases; use createSubDb');
      const parent = (await this.parentOf(parts, { create: true }))!;
      const name = parts[parts.length - 1]!;
      const id = path.join(parent.basedir, name);
      if (seen.has(id)) throw new KeyTypeConflictError(shown, this.basedir, 'appears twice in one setMany batch');
      seen.add(id);
      planned.push({ parent, name, shown, loader, entry });
    }
    // Lock in one fixed order so that two overlapping batches cannot deadlock.
    planned.sort((a, b) => (path.join(a.parent.basedir, a.name) < path.join(b.parent.basedir, b.name) ? -1 : 1));
    const locks: HeldLock[] = [];
    try {
      const commits: KeyCommit[] = [];
      for (const p of planned) {
        const lock = await p.parent.lockKey(p.name, p.shown);
        locks.push(lock);
        await p.parent.refuseSubDbOverwrite(p.name, p.shown);
        commits.push(p.parent.valueWrite(p.name, p.shown, p.loader, p.entry.value, p.entry.dumpOptions, lock, writeOptions).commit);
      }
      await commitKeys(commits, { durable: this.options.fsync !== false });
    } finally {
      await Promise.all(locks.map((lock) => lock.release()));
    }
  }

  async delete(key: Key): Promise<void> {
    const parts = keyParts(key);
    const shown = formatKey(parts);
    this.assertWritable('delete', shown);
    const parent = await this.parentOf(parts, { create: false });
    if (parent === undefined) throw new KeyNotFoundError(shown, this.basedir);
    const name = parts[parts.length - 1]!;
    await parent.withKeyLock(name, shown, async () => {
      if (!(await pathExists(path.join(parent.basedir, name)))) throw new KeyNotFoundError(shown, this.basedir);
      const isSubDb = (await loaderNameAt(parent.basedir, name).catch(() => undefined)) === SUBDB_LOADER;
      // Move the folder away first, then unregister the ids found in the moved copy. Walking it in
      // place raced with processes creating or opening sub-databases inside it, whose registrations
      // then outlived the folder (dangling ids); those processes re-check after registering (see
      // registration.ts).
      const retired = retireKeyFolder(parent.basedir, name);
      parent.subDbs.delete(name);
      if (retired === undefined) throw new KeyNotFoundError(shown, this.basedir);
      await syncDirectory(parent.basedir);
      if (isSubDb) await unregisterTree(this.options.registry, path.join(retired, SUBDB_FOLDER));
      // maxRetries: ENOTEMPTY when a process that still held a lock inside the moved folder left an
      // entry there late.
      await fs.rm(retired, { recursive: true, force: true, maxRetries: 5 });
    });
  }

  /** Move a key (with its sub-keys) to a new key that must not exist yet. */
  async rename(oldKey: Key, newKey: Key): Promise<void> {
    const from = keyParts(oldKey);
    const to = keyParts(newKey);
    this.assertWritable('rename', formatKey(from));
    if ((await this.folderOf(to)).startsWith(`${await this.folderOf(from)}${path.sep}`)) {
      throw new KeyTypeConflictError(formatKey(to), this.basedir, `cannot move ${formatKey(from)} into itself`);
    }
    const source = await this.parentOf(from, { create: false });
    if (source === undefined) throw new KeyNotFoundError(formatKey(from), this.basedir);
    const target = (await this.parentOf(to, { create: true }))!;
    const fromName = from[from.length - 1]!;
    const toName = to[to.length - 1]!;
    const fromDir = path.join(source.basedir, fromName);
    const toDir = path.join(target.basedir, toName);
    if (fromDir === toDir) return;
    // Lock in a fixed order so two opposite renames cannot deadlock.
    const [first, second] = fromDir < toDir
      ? [[source, fromName, formatKey(from)], [target, toName, formatKey(to)]] as const
      : [[target, toName, formatKey(to)], [source, fromName, formatKey(from)]] as const;
    await first[0].withKeyLock(first[1], first[2], () => second[0].withKeyLock(second[1], second[2], async () => {
      if (!(await pathExists(fromDir))) throw new KeyNotFoundError(formatKey(from), this.basedir);
      if (await pathExists(toDir)) {
        throw new KeyTypeConflictError(formatKey(to), target.basedir, 'already exists; delete it first or choose another key');
      }
      await fs.rename(fromDir, toDir);
      source.subDbs.delete(fromName);
      await syncDirectory(target.basedir);
      if (source.basedir !== target.basedir) await syncDirectory(source.basedir);
      if ((await loaderNameAt(target.basedir, toName).catch(() => undefined)) === SUBDB_LOADER) {
        await reregisterTree(this.options.registry, path.join(toDir, SUBDB_FOLDER));
      }
    }));
  }

  /** Create (or return the existing) sub-database at `key`. */
  async createSubDb(key: Key): Promise<DataBase> {
    const parts = keyParts(key);
    this.assertWritable('create a sub-database at', formatKey(parts));
    checkKeyFolderLength(this.basedir, parts);
    let db: DataBase = this;
    for (let i = 0; i < parts.length; i++) {
      db = await db.subDbLocal(parts[i]!, formatKey(parts.slice(0, i + 1)));
    }
    return db;
  }

  /** Create (or return the existing) managed folder at `key`; returns its absolute path. */
  async createManagedFolder(key: Key): Promise<string> {
    const parts = keyParts(key);
    const shown = formatKey(parts);
    this.assertWritable('create a managed folder at', shown);
    const parent = (await this.parentOf(parts, { create: true }))!;
    const name = parts[parts.length - 1]!;
    const folder = path.join(parent.basedir, name);
    await parent.withKeyLock(name, shown, async () => {
      const existing = await loaderNameAt(parent.basedir, name).catch(() => undefined);
      if (existing === FOLDER_LOADER) return;
      if (existing !== undefined || (await pathExists(folder))) {
        throw new KeyTypeConflictError(shown, parent.basedir, `holds ${existing ?? 'something'}, not a managed folder; a managed folder does not overwrite an existing key`);
      }
      await parent.writeUnlocked(name, shown, await getLoader(FOLDER_LOADER), undefined, undefined);
    });
    return folder;
  }

  /**
   * Record the checksums of the files now in the managed folder `key` in its metadata.json, so that
   * verify checks them: for folders a program fills (initSimrun's parameter files and morphologies).
   * Folders filled by hand are reported as unverified. Returns the number of files recorded.
   */
  async recordManagedFiles(key: Key): Promise<number> {
    const { db, name, shown } = await this.existingKey(key);
    this.assertWritable('record the files of', shown);
    return db.withKeyLock(name, shown, async () => {
      const loader = await loaderNameAt(db.basedir, name);
      if (loader !== FOLDER_LOADER) throw new KeyTypeConflictError(shown, db.basedir, `holds ${loader ?? 'nothing'}, not a managed folder`);
      const folder = path.join(db.basedir, name);
      const checksums = await checksumFolder(folder, [LOADER_FILE, METADATA_FILE]);
      const metadata = await this.metadata(key);
      await replaceFileAtomically(path.join(folder, METADATA_FILE), pythonJson({ ...metadata, [CHECKSUMS_FIELD]: checksums }));
      return Object.keys(checksums).length;
    });
  }

  /**
   * Read `key`, or compute it with `fn`, store it and return it. With `params`, `inputs` or
   * `code`, the stored value is returned only while that recipe is unchanged (see lineage.ts).
   * Concurrent callers, in any process, compute once. Returns what `get` returns, on the first
   * call as on later ones (the stored value read back, not `fn`'s own object).
   */
  async maybeCalculate(key: Key, fn: () => unknown, options: MaybeCalculateOptions = {}): Promise<unknown> {
    return calculate(await this.calculationPort(key, options), fn, options);
  }

  // ---------------------------------------------------------------- checking (src/verify.ts, src/fsck.ts)

  /** Recompute the checksums of every key (or of `key` and what is below it); reads only, takes no lock. */
  async verify(key?: Key): Promise<VerifyReport> {
    return verifyDataBase(this.basedir, key);
  }

  /** Find (and with `repair`, remove or re-register) what killed writers left; never touches a complete key. */
  async fsck(options: Omit<FsckOptions, 'registry'> = {}): Promise<FsckReport> {
    if (options.repair) this.assertWritable('repair');
    return fsckDataBase(this.basedir, { lockStaleMs: this.options.lockStaleMs, ...options, registry: this.options.registry });
  }

  // ---------------------------------------------------------------- internals

  private assertWritable(operation: string, key?: string): void {
    if (this.readonly) throw new ReadonlyError(operation, this.basedir, key);
  }

  /** The database directly holding the last part of `parts`, creating sub-databases on the way if asked. */
  private async parentOf(parts: readonly string[], { create }: { create: boolean }): Promise<DataBase | undefined> {
    // Before the first sub-database on the way is created: a key too deep for the file system fails whole.
    if (create) checkKeyFolderLength(this.basedir, parts);
    let db: DataBase = this;
    for (let i = 0; i < parts.length - 1; i++) {
      const name = parts[i]!;
      const shown = formatKey(parts.slice(0, i + 1));
      const loader = await loaderNameAt(db.basedir, name).catch((err: unknown) => {
        if (isDataBaseError(err, 'CorruptKeyError') && !create) return undefined;
        throw err;
      });
      if (loader === SUBDB_LOADER) {
        db = await db.openSubDb(name);
      } else if (loader === undefined && create && !(await pathExists(path.join(db.basedir, name)))) {
        db = await db.subDbLocal(name, shown);
      } else if (loader === undefined) {
        return undefined;
      } else if (create) {
        throw new KeyTypeConflictError(formatKey(parts), this.basedir, `${shown} holds data (${loader}), not a sub-database; delete it first`);
      } else {
        return undefined;
      }
    }
    return db;
  }

  private async subDbLocal(name: string, shown: string): Promise<DataBase> {
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
  private async openSubDb(name: string): Promise<DataBase> {
    refuseLinkedKeyFolder(this.basedir, name, name);
    refuseLinkedKeyFolder(path.join(this.basedir, name), SUBDB_FOLDER, name);
    // The key folder and its db_state.json as they are now: a cached handle serves only the same
    // sub-database (not one deleted and re-created, nor one whose db_state.json was removed or rewritten).
    const identity = `${folderIdentity(path.join(this.basedir, name))}/${fileVersion(path.join(this.basedir, name, SUBDB_FOLDER, DB_STATE_FILE))}`;
    const cached = this.subDbs.get(name);
    if (cached !== undefined && cached.identity === identity) return cached.db;
    const db = await DataBase.open(path.join(this.basedir, name, SUBDB_FOLDER), { ...this.options, nocreate: true });
    this.subDbs.set(name, { db, identity });
    return db;
  }

  private async existingKey(key: Key): Promise<{ db: DataBase; name: string; shown: string }> {
    const parts = keyParts(key);
    const shown = formatKey(parts);
    const db = await this.parentOf(parts, { create: false });
    const name = parts[parts.length - 1]!;
    if (db === undefined) throw new KeyNotFoundError(shown, this.basedir);
    refuseLinkedKeyFolder(db.basedir, name, shown);
    if (!(await pathExists(path.join(db.basedir, name)))) throw new KeyNotFoundError(shown, this.basedir);
    return { db, name, shown };
  }

  private async chooseDumper(value: unknown, dumper: string | AnyLoader | undefined, shown: string): Promise<AnyLoader> {
    if (typeof dumper === 'string') return getLoader(dumper, shown);
    if (dumper !== undefined) return dumper;
    const chosen = await defaultDumperFor(value);
    if (chosen === undefined) {
      throw new UnknownLoaderError('(default)', shown, `no loader stores this value: ${await whyNoDefaultDumper(value)}; name a dumper, or register a loader whose canDump() accepts it`);
    }
    return chosen;
  }

  private getLocal(name: string, shown: string, options: Record<string, unknown> | undefined): Promise<unknown> {
    const locks = this.locks();
    return loadKey(this.basedir, name, shown, this.loaderContext(shown), options, () => locks.mayBeHeld(path.join(this.basedir, name)));
  }

  private loaderContext(shown: string): LoaderContext {
    return {
      key: shown,
      basedir: this.basedir,
      readonly: this.readonly,
      createDatabase: async (dir: string) => createDbState(dir, dir),
      openDatabase: async (dir: string) => {
        refuseLinkedKeyFolder(path.dirname(dir), path.basename(dir), shown);
        return DataBase.open(dir, { ...this.options, nocreate: true });
      },
    };
  }

  /** What lineage.calculate needs to read, check and (under the key's lock) write `key`. */
  private async calculationPort(key: Key, options: MaybeCalculateOptions): Promise<CalculationPort> {
    const parts = keyParts(key);
    const shown = formatKey(parts);
    const name = parts[parts.length - 1]!;
    return {
      basedir: this.basedir,
      shown,
      readonly: this.readonly,
      resultDb: path.dirname(await this.folderOf(parts)),
      exists: () => this.has(parts),
      metadata: () => this.metadata(parts),
      read: () => this.get(parts),
      inputFacts: async (input) => {
        if (!(await this.has(input))) throw new KeyNotFoundError(formatKey(input), this.basedir);
        const folder = await this.folderOf(input);
        return { checksum: await folderDigest(folder), folder };
      },
      withLock: async (body) => {
        const parent = (await this.parentOf(parts, { create: true }))!;
        return parent.withKeyLock(name, shown, (lock) => body(async (value, extraMetadata) => {
          const loader = await this.chooseDumper(value, options.dumper, shown);
          if (loader.kind === 'database') {
            throw new KeyTypeConflictError(shown, parent.basedir, 'maybeCalculate cannot store a sub-database; use createSubDb');
          }
          await parent.writeLocked(name, shown, loader, value, undefined, lock, { extraMetadata, keepVersions: options.keepVersions });
        }));
      },
    };
  }

  private async refuseSubDbOverwrite(name: string, shown: string): Promise<void> {
    const existing = await loaderNameAt(this.basedir, name).catch(() => undefined);
    if (existing === SUBDB_LOADER || (await pathExists(path.join(this.basedir, name, SUBDB_FOLDER)))) {
      throw new KeyTypeConflictError(shown, this.basedir, 'is a sub-database and cannot be overwritten with data; delete it first');
    }
  }

  /** Write a data key; the caller holds its lock. */
  private async writeLocked(name: string, shown: string, loader: AnyLoader, value: unknown, dumpOptions: Record<string, unknown> | undefined, lock: HeldLock, writeExtras: WriteExtras): Promise<void> {
    await this.refuseSubDbOverwrite(name, shown);
    await this.writeUnlocked(name, shown, loader, value, dumpOptions, lock, writeExtras);
  }

  private valueWrite(name: string, shown: string, loader: AnyLoader, value: unknown, dumpOptions: Record<string, unknown> | undefined, lock: HeldLock | undefined, writeExtras: WriteExtras): ReturnType<typeof valueCommit> {
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
  private async writeUnlocked(
    name: string, shown: string, loader: AnyLoader, value: unknown,
    dumpOptions: Record<string, unknown> | undefined, lock?: HeldLock, writeExtras: WriteExtras = {},
  ): Promise<void> {
    const { commit, created } = this.valueWrite(name, shown, loader, value, dumpOptions, lock, writeExtras);
    await commitKey(commit, { durable: this.options.fsync !== false });
    const createdId = created()?._unique_id;
    if (createdId) await registerChecked(this.options.registry, createdId, path.join(this.basedir, name, SUBDB_FOLDER));
  }

  private locks(): KeyLocks {
    return this.options.locks ?? fileLocks;
  }

  /** Every write of a key goes through its lock: the one place writes refuse a symbolic link in place of the key. */
  private lockKey(name: string, shown: string): Promise<HeldLock> {
    refuseLinkedKeyFolder(this.basedir, name, shown);
    return this.locks().acquire(path.join(this.basedir, name), shown, {
      timeoutMs: this.options.lockTimeoutMs ?? DEFAULT_LOCK_OPTIONS.timeoutMs,
      staleMs: this.options.lockStaleMs ?? DEFAULT_LOCK_OPTIONS.staleMs,
    }).then(async (lock) => {
      try {
        await recoverKeyFolder(this.basedir, name);
      } catch (err) {
        await lock.release();
        throw err;
      }
      return lock;
    });
  }

  private async withKeyLock<T>(name: string, shown: string, body: (lock: HeldLock) => Promise<T>): Promise<T> {
    const lock = await this.lockKey(name, shown);
    try {
      return await body(lock);
    } finally {
      await lock.release();
    }
  }
}

/** Identity and last change of a file, or '' when it is absent. */
function fileVersion(file: string): string {
  const stat = fsSync.lstatSync(file, { throwIfNoEntry: false });
  return stat === undefined ? '' : `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
}
