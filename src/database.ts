/**
 * DataBase: a folder of keys on ISF's on-disk format. This file orchestrates; the key rules live
 * in keys.ts, the JSON files in ondisk.ts, the atomic filesystem work in store/, and the formats
 * in loaders/.
 */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  DataBaseError, DatabaseNotFoundError, KeyNotFoundError, KeyTypeConflictError,
  LoaderError, NotADatabaseError, ReadonlyError, UnknownLoaderError, UnsupportedFormatError, isDataBaseError,
} from './errors.js';
import { createDbState, readDbState, refuseLegacy, writeDbState, newUniqueId } from './dbstate.js';
import { formatKey, isKeyFolderName, keyParts, relativeKeyFolder, type Key } from './keys.js';
import { CHECKSUMS_FIELD, LOADER_FILE, METADATA_FILE, loaderJsonSchema, metadataSchema, pythonJson, readJsonFile, type DbStateJson, type MetadataJson, SUBDB_LOADER, FOLDER_LOADER, SUBDB_FOLDER } from './ondisk.js';
import { buildMetadata, postHocMetadata } from './provenance.js';
import { Registry } from './registry.js';
import { fsckDatabase, type FsckOptions, type FsckReport } from './fsck.js';
import { verifyDatabase, type VerifyReport } from './verify.js';
import { pathExists, replaceFileAtomically, syncDirectory } from './store/durable.js';
import { checksumFolder } from './store/checksum.js';
import { commitTempKeyFolder, createTempKeyFolder, recoverKeyFolder, retireKeyFolder, syncTree } from './store/keyfolder.js';
import { DEFAULT_LOCK_OPTIONS, acquireLock, sleep, type HeldLock } from './store/locks.js';
import { checkVersionRef, commitKeepingHistory, diffVersions, listVersions, resolveVersionFolder, restoreVersion, type VersionDiff, type VersionInfo, type VersionRef } from './history.js';
import { calculate, findStale, inputFacts, type CalculationPort, type RecipeOptions, type StaleKey } from './lineage.js';
import { defaultDumperFor, fullLoaderName, getLoader, shortLoaderName } from '../loaders/index.js';
import type { Loader, LoaderContext, LoaderJson } from '../loaders/types.js';
import type { Table } from 'apache-arrow';
import type { Where, QueryOptions, FoundKey, ResultsCollection } from './query/index.js';

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

/** How long a reader waits out a writer's swap of a key folder before calling the key missing. */
const READ_RACE_RETRIES = 20;

type AnyLoader = Loader<never>;

export class DataBase {
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
        throw new NotADatabaseError(basedir, `no database here (no db_state.json), and ${flag} forbids creating one`);
      }
      state = await createDbState(basedir, basedir);
    }
    const db = new DataBase(basedir, state, opts);
    if (!db.readonly) await db.ensureRegistered();
    return db;
  }

  /** Open the database registered under `id`. */
  static async byId(id: string, options: OpenOptions = {}): Promise<DataBase> {
    const registry = options.registry ?? Registry.default();
    const dir = await registry.lookup(id);
    const state = await readDbState(dir).catch(() => undefined);
    if (state === undefined) throw new DatabaseNotFoundError(id, `registered at ${dir}, but no database is there any more`);
    if (state._unique_id !== id) {
      throw new DatabaseNotFoundError(id, `registered at ${dir}, but the database there has id '${String(state._unique_id)}'`);
    }
    return DataBase.open(dir, { ...options, registry, nocreate: true });
  }

  // ---------------------------------------------------------------- reading

  async keys(): Promise<string[]>;
  async keys(options: { recurse: true }): Promise<string[][]>;
  async keys(options?: { recurse?: boolean }): Promise<string[] | string[][]>;
  async keys(options: { recurse?: boolean } = {}): Promise<string[] | string[][]> {
    const entries = await fs.readdir(this.basedir, { withFileTypes: true });
    const names = entries.filter((e) => e.isDirectory() && isKeyFolderName(e.name)).map((e) => e.name).sort();
    if (!options.recurse) return names;
    const leaves: string[][] = [];
    for (const name of names) {
      if ((await this.loaderNameAt(name).catch(() => undefined)) !== SUBDB_LOADER) {
        leaves.push([name]);
        continue;
      }
      const sub = await this.openSubDb(name);
      const subKeys = await sub.keys({ recurse: true });
      if (subKeys.length === 0) leaves.push([name]);
      for (const subKey of subKeys) leaves.push([name, ...subKey]);
    }
    return leaves;
  }

  async has(key: Key): Promise<boolean> {
    const parts = keyParts(key);
    const parent = await this.parentOf(parts, { create: false });
    if (parent === undefined) return false;
    const folder = path.join(parent.basedir, parts[parts.length - 1]!);
    return (await pathExists(path.join(folder, LOADER_FILE))) || pathExists(path.join(folder, 'Loader.pickle'));
  }

  /** The stored value; `options` go to the loader, except `version` (a number from db.history(key), or 'current'). */
  async get(key: Key, options?: Record<string, unknown>): Promise<unknown> {
    const parts = keyParts(key);
    const parent = await this.parentOf(parts, { create: false });
    if (parent === undefined) throw new KeyNotFoundError(formatKey(parts), this.basedir);
    if (options?.['version'] === undefined) return parent.getLocal(parts[parts.length - 1]!, formatKey(parts), options);
    const { version, ...loaderOptions } = options;
    const wanted = checkVersionRef(version);
    if (wanted === 'current') return parent.getLocal(parts[parts.length - 1]!, formatKey(parts), loaderOptions);
    return parent.getVersionLocal(parts[parts.length - 1]!, formatKey(parts), wanted, loaderOptions);
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
      if ((await parent.loaderNameAt(name).catch(() => undefined)) === SUBDB_LOADER) {
        throw new KeyTypeConflictError(shown, parent.basedir, 'is a sub-database and cannot be replaced by a kept version; delete it first');
      }
      return restoreVersion(parent.basedir, name, shown, wanted, options.keepVersions ?? this.options.keepVersions ?? 0);
    });
  }

  /** Which provenance fields differ between two values of a key, and whether the content changed. */
  async diff(key: Key, a: VersionRef, b: VersionRef): Promise<VersionDiff> {
    return diffVersions(this, key, a, b);
  }

  /** Computed keys whose recorded inputs changed since they were computed, transitively (see lineage.ts). */
  async stale(): Promise<StaleKey[]> {
    return findStale(this);
  }

  /** metadata.json of a key, as on disk; a missing file is filled in "post hoc" as ISF does. */
  async metadata(key: Key): Promise<MetadataJson> {
    const { db, name, shown } = await this.existingKey(key);
    const folder = path.join(db.basedir, name);
    const file = path.join(folder, METADATA_FILE);
    if (await pathExists(file)) return readJsonFile(file, metadataSchema, shown);
    const loaderJson = await db.readLoaderJson(name, shown).catch(() => undefined);
    const stat = await fs.stat(folder);
    const meta = postHocMetadata(loaderJson ? shortLoaderName(loaderJson.Loader) : 'unknown', stat.mtime);
    if (!db.readonly) await replaceFileAtomically(file, pythonJson(meta));
    return meta;
  }

  /** The short loader name of a key (e.g. 'numpy_to_npy'). */
  async loaderOf(key: Key): Promise<string> {
    const { db, name, shown } = await this.existingKey(key);
    return shortLoaderName((await db.readLoaderJson(name, shown)).Loader);
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
    const parent = await this.parentOf(parts, { create: true });
    await parent!.writeLocal(parts[parts.length - 1]!, formatKey(parts), loader, value, dumpOptions, writeOptions);
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
      const isSubDb = (await parent.loaderNameAt(name).catch(() => undefined)) === SUBDB_LOADER;
      // Move the folder away first, then unregister the ids found in the moved copy. Walking it in
      // place raced with processes creating or opening sub-databases inside it, whose registrations
      // then outlived the folder (dangling ids); those processes now re-check after registering (see
      // writeUnlocked, ensureRegistered).
      const retired = retireKeyFolder(parent.basedir, name);
      if (retired === undefined) throw new KeyNotFoundError(shown, this.basedir);
      await syncDirectory(parent.basedir);
      if (isSubDb) {
        await forEachDatabaseIn(path.join(retired, SUBDB_FOLDER), (_dir, state) =>
          state._unique_id ? this.options.registry.unregister(state._unique_id) : Promise.resolve());
      }
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
      await syncDirectory(target.basedir);
      if (source.basedir !== target.basedir) await syncDirectory(source.basedir);
      if ((await target.loaderNameAt(toName).catch(() => undefined)) === SUBDB_LOADER) {
        await forEachDatabaseIn(path.join(toDir, SUBDB_FOLDER), (dir) => DataBase.open(dir, { ...this.options, nocreate: true }).then(() => undefined));
      }
    }));
  }

  /** Create (or return the existing) sub-database at `key`. */
  async createSubDb(key: Key): Promise<DataBase> {
    const parts = keyParts(key);
    this.assertWritable('create a sub-database at', formatKey(parts));
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
      const existing = await parent.loaderNameAt(name).catch(() => undefined);
      if (existing === FOLDER_LOADER) return;
      if (existing !== undefined || (await pathExists(folder))) {
        throw new KeyTypeConflictError(shown, parent.basedir, `holds ${existing ?? 'something'}, not a managed folder; a managed folder does not overwrite an existing key`);
      }
      await parent.writeUnlocked(name, shown, await getLoader(FOLDER_LOADER), undefined, undefined);
    });
    return folder;
  }

  /**
   * Read `key`, or compute it with `fn`, store it and return it. With `params`, `inputs` or
   * `code`, the stored value is returned only while that recipe is unchanged (see lineage.ts).
   * Concurrent callers, in any process, compute once.
   */
  async maybeCalculate<T>(key: Key, fn: () => T | Promise<T>, options: MaybeCalculateOptions = {}): Promise<T> {
    return calculate(await this.calculationPort(key, options), fn, options);
  }

  // ---------------------------------------------------------------- checking (src/verify.ts, src/fsck.ts)

  /** Recompute the checksums of every key (or of `key` and what is below it); reads only, takes no lock. */
  async verify(key?: Key): Promise<VerifyReport> {
    return verifyDatabase(this, key);
  }

  /** Find (and with `repair`, remove or re-register) what killed writers left; never touches a complete key. */
  async fsck(options: Omit<FsckOptions, 'registry'> = {}): Promise<FsckReport> {
    if (options.repair) this.assertWritable('repair');
    return fsckDatabase(this.basedir, { lockStaleMs: this.options.lockStaleMs, ...options, registry: this.options.registry });
  }

  // ---------------------------------------------------------------- internals

  private assertWritable(operation: string, key?: string): void {
    if (this.readonly) throw new ReadonlyError(operation, this.basedir, key);
  }

  /** Register this database (again) when the registry or db_state.json does not point here. */
  private async ensureRegistered(): Promise<void> {
    let state = this.state;
    if (!state._unique_id) state = { ...state, _unique_id: newUniqueId() };
    const registered = await this.options.registry.lookup(state._unique_id!).catch((err: unknown) => {
      if (isDataBaseError(err, 'DatabaseNotFoundError', 'CorruptKeyError')) return undefined;
      throw err;
    });
    if (registered !== this.basedir) {
      await this.options.registry.register(state._unique_id!, this.basedir);
      // A concurrent delete of this sub-database may have unregistered it just before we registered it
      // again; do not leave an entry pointing at a removed folder.
      if ((await readDbState(this.basedir).catch(() => undefined))?._unique_id !== state._unique_id && this.state._unique_id) {
        await this.options.registry.unregister(state._unique_id!);
        throw new NotADatabaseError(this.basedir, 'the database was removed (its sub-database key was deleted) while it was being opened');
      }
    }
    if (state !== this.state || state._registered_to_path !== this.basedir) {
      state = { ...state, _registered_to_path: this.basedir };
      await writeDbState(this.basedir, state);
    }
    this.state = state;
  }

  /** The database directly holding the last part of `parts`, creating sub-databases on the way if asked. */
  private async parentOf(parts: readonly string[], { create }: { create: boolean }): Promise<DataBase | undefined> {
    let db: DataBase = this;
    for (let i = 0; i < parts.length - 1; i++) {
      const name = parts[i]!;
      const shown = formatKey(parts.slice(0, i + 1));
      const loader = await db.loaderNameAt(name).catch((err: unknown) => {
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
    const existing = await this.loaderNameAt(name).catch(() => undefined);
    if (existing === SUBDB_LOADER) return this.openSubDb(name);
    await this.withKeyLock(name, shown, async () => {
      const now = await this.loaderNameAt(name).catch(() => undefined);
      if (now === SUBDB_LOADER) return;
      if (now !== undefined || (await pathExists(path.join(this.basedir, name)))) {
        throw new KeyTypeConflictError(shown, this.basedir, `holds data (${now ?? 'unknown'}); a key holding data cannot become a sub-database, delete it first`);
      }
      await this.writeUnlocked(name, shown, await getLoader(SUBDB_LOADER), undefined, undefined);
    });
    return this.openSubDb(name);
  }

  private openSubDb(name: string): Promise<DataBase> {
    return DataBase.open(path.join(this.basedir, name, SUBDB_FOLDER), { ...this.options, nocreate: true });
  }

  private async existingKey(key: Key): Promise<{ db: DataBase; name: string; shown: string }> {
    const parts = keyParts(key);
    const shown = formatKey(parts);
    const db = await this.parentOf(parts, { create: false });
    const name = parts[parts.length - 1]!;
    if (db === undefined || !(await pathExists(path.join(db.basedir, name)))) throw new KeyNotFoundError(shown, this.basedir);
    return { db, name, shown };
  }

  private async chooseDumper(value: unknown, dumper: string | AnyLoader | undefined, shown: string): Promise<AnyLoader> {
    if (typeof dumper === 'string') return getLoader(dumper, shown);
    if (dumper !== undefined) return dumper;
    const chosen = await defaultDumperFor(value);
    if (chosen === undefined) {
      throw new UnknownLoaderError('(default)', shown, `no loader stores a value of this kind (${describeKind(value)}); name a dumper, or register a loader whose canDump() accepts it`);
    }
    return chosen;
  }

  private async loaderNameAt(name: string): Promise<string | undefined> {
    try {
      return shortLoaderName((await this.readLoaderJson(name, name)).Loader);
    } catch (err) {
      if (isDataBaseError(err, 'KeyNotFoundError')) return undefined;
      throw err;
    }
  }

  private async readLoaderJson(name: string, shown: string): Promise<LoaderJson> {
    const folder = path.join(this.basedir, name);
    try {
      return await readJsonFile(path.join(folder, LOADER_FILE), loaderJsonSchema, shown);
    } catch (err) {
      if (!isMissingFile(err)) throw err;
      if (!(await pathExists(folder))) throw new KeyNotFoundError(shown, this.basedir);
      if (await pathExists(path.join(folder, 'Loader.pickle'))) {
        throw new UnsupportedFormatError('Loader.pickle', shown, 'the key was written by a legacy Python ISF with a pickled loader; read it with Python ISF');
      }
      // Our read fell between a writer's two renames (no folder), and the new folder appeared before
      // the check above. A folder we publish always holds Loader.json.
      if (await pathExists(path.join(folder, LOADER_FILE))) return readJsonFile(path.join(folder, LOADER_FILE), loaderJsonSchema, shown);
      throw err;
    }
  }

  private async getLocal(name: string, shown: string, options: Record<string, unknown> | undefined): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      // A writer may swap the key folder between our read of Loader.json and of the data files, and
      // release its lock before we look. Remember which folder we started on; if it changed, the read
      // mixed two values: retry.
      const folderBefore = folderIdentity(path.join(this.basedir, name));
      try {
        const loaderJson = await this.readLoaderJson(name, shown);
        const loader = await getLoader(loaderJson.Loader, shown);
        const value = await this.callLoader(loader, 'load', shown, () =>
          loader.load(path.join(this.basedir, name), loaderJson, this.loaderContext(shown), options));
        if (attempt < READ_RACE_RETRIES && folderIdentity(path.join(this.basedir, name)) !== folderBefore) continue;
        return value;
      } catch (err) {
        // A writer swaps key folders with two renames; a reader caught between them retries.
        const swapped = folderIdentity(path.join(this.basedir, name)) !== folderBefore;
        if (attempt >= READ_RACE_RETRIES || !(swapped || (await this.mayBeMidSwap(name, err)))) throw err;
        await sleep(5 + attempt * 5);
      }
    }
  }

  private async mayBeMidSwap(name: string, err: unknown): Promise<boolean> {
    const vanished = isDataBaseError(err, 'KeyNotFoundError', 'CorruptKeyError')
      || (err instanceof LoaderError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT');
    if (!vanished) return false;
    return pathExists(path.join(this.basedir, `${name}.lock`));
  }

  private async callLoader<T>(loader: AnyLoader, operation: 'dump' | 'load', shown: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof DataBaseError) throw err;
      throw new LoaderError(loader.name, shown, operation, err);
    }
  }

  private loaderContext(shown: string): LoaderContext {
    return {
      key: shown,
      basedir: this.basedir,
      readonly: this.readonly,
      createDatabase: async (dir: string) => {
        const finalDir = dir; // callers pass the folder's final place (see writeUnlocked)
        return createDbState(finalDir, finalDir);
      },
      openDatabase: (dir: string) => DataBase.open(dir, { ...this.options, nocreate: true }),
    };
  }

  private async getVersionLocal(name: string, shown: string, version: number, options: Record<string, unknown>): Promise<unknown> {
    const folder = await resolveVersionFolder(this.basedir, name, shown, version);
    const loaderJson = await readJsonFile(path.join(folder, LOADER_FILE), loaderJsonSchema, shown);
    const loader = await getLoader(loaderJson.Loader, shown);
    return this.callLoader(loader, 'load', shown, () => loader.load(folder, loaderJson, this.loaderContext(shown), options));
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
      inputFacts: (input) => inputFacts(this, input),
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

  private async writeLocal(name: string, shown: string, loader: AnyLoader, value: unknown, dumpOptions: Record<string, unknown> | undefined, writeExtras: WriteExtras = {}): Promise<void> {
    await this.withKeyLock(name, shown, (lock) => this.writeLocked(name, shown, loader, value, dumpOptions, lock, writeExtras));
  }

  /** writeLocal's body, for callers already holding the key's lock. */
  private async writeLocked(name: string, shown: string, loader: AnyLoader, value: unknown, dumpOptions: Record<string, unknown> | undefined, lock: HeldLock, writeExtras: WriteExtras): Promise<void> {
    const existing = await this.loaderNameAt(name).catch(() => undefined);
    if (existing === SUBDB_LOADER || (await pathExists(path.join(this.basedir, name, SUBDB_FOLDER)))) {
      throw new KeyTypeConflictError(shown, this.basedir, 'is a sub-database and cannot be overwritten with data; delete it first');
    }
    await this.writeUnlocked(name, shown, loader, value, dumpOptions, lock, writeExtras);
  }

  /** Write a key folder through a temporary folder; the caller holds the key's lock. */
  private async writeUnlocked(
    name: string, shown: string, loader: AnyLoader, value: unknown,
    dumpOptions: Record<string, unknown> | undefined, lock?: HeldLock, writeExtras: WriteExtras = {},
  ): Promise<void> {
    const temp = createTempKeyFolder(this.basedir, name);
    const finalFolder = path.join(this.basedir, name);
    let createdDb: DbStateJson | undefined;
    try {
      const ctx: LoaderContext = {
        ...this.loaderContext(shown),
        createDatabase: async (dir: string) => {
          // The sub-database is built inside the temporary folder but registered at its final place.
          const finalDir = path.join(finalFolder, path.relative(temp, dir));
          createdDb = await createDbState(dir, finalDir);
          return createdDb;
        },
      };
      const extras = await this.callLoader(loader, 'dump', shown, () => loader.dump(value as never, temp, ctx, dumpOptions));
      const metadata: MetadataJson = await buildMetadata(loader.name, { gitDir: this.options.gitDir });
      if (loader.kind === undefined || loader.kind === 'data') {
        // Containers change in place after creation; only data keys carry checksums.
        metadata[CHECKSUMS_FIELD] = await checksumFolder(temp, [LOADER_FILE, METADATA_FILE]);
      }
      Object.assign(metadata, writeExtras.extraMetadata);
      fsSync.writeFileSync(path.join(temp, METADATA_FILE), pythonJson(metadata));
      // Loader.json last: its presence marks the folder complete (see store/keyfolder.ts).
      fsSync.writeFileSync(path.join(temp, LOADER_FILE), pythonJson({ Loader: fullLoaderName(loader.name), ...(extras ?? {}) }));
      const durable = this.options.fsync !== false;
      if (durable) await syncTree(temp);
      if (lock?.compromised) throw lock.compromised;
      const keep = writeExtras.keepVersions ?? this.options.keepVersions ?? 0;
      if (keep > 0) await commitKeepingHistory(this.basedir, name, temp, keep, { durable });
      else await commitTempKeyFolder(this.basedir, name, temp, { durable });
    } catch (err) {
      await fs.rm(temp, { recursive: true, force: true });
      // A concurrent delete of the sub-database holding this key moved the folder (and the temporary
      // folder inside it) away: say so with a typed error, not a bare ENOENT.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await pathExists(this.basedir))) {
        throw new NotADatabaseError(this.basedir, `the database folder was removed (its sub-database key was deleted) while key '${shown}' was being written`);
      }
      throw err;
    }
    if (createdDb?._unique_id) {
      const subDir = path.join(finalFolder, SUBDB_FOLDER);
      await this.options.registry.register(createdDb._unique_id, subDir);
      // A concurrent delete of an enclosing sub-database may have walked it for ids to unregister
      // before this registration: do not leave an entry pointing at nothing.
      if ((await readDbState(subDir).catch(() => undefined))?._unique_id !== createdDb._unique_id) {
        await this.options.registry.unregister(createdDb._unique_id);
      }
    }
  }

  private async withKeyLock<T>(name: string, shown: string, body: (lock: HeldLock) => Promise<T>): Promise<T> {
    const lock = await acquireLock(path.join(this.basedir, name), path.join(this.basedir, `${name}.lock`), shown, {
      timeoutMs: this.options.lockTimeoutMs ?? DEFAULT_LOCK_OPTIONS.timeoutMs,
      staleMs: this.options.lockStaleMs ?? DEFAULT_LOCK_OPTIONS.staleMs,
    });
    try {
      await recoverKeyFolder(this.basedir, name);
      return await body(lock);
    } finally {
      await lock.release();
    }
  }

  // ---------------------------------------------------------------- querying (src/query, loaded on first use)

  /** The rows of a data frame key matching `where` (BlueETL's dialect, see src/query), reading only what they need. */
  async query(key: Key, where: Where, options: QueryOptions = {}): Promise<Table> {
    return (await import('./query/stored.js')).queryStored(this, key, where, options);
  }

  /** The keys whose metadata (loader, time, commit, dirty, host, params.*) match `where`. */
  async find(where: Where): Promise<FoundKey[]> {
    return (await import('./query/find.js')).findKeys(this, where);
  }

  /** A collection of results unique by their params, stored as the sub-database `name`. */
  async results(name: Key): Promise<ResultsCollection> {
    return (await import('./query/results.js')).ResultsCollection.open(this, name);
  }
}

/** Which folder is at `dir` now (device and inode), or '' when none is. */
function folderIdentity(dir: string): string {
  const stat = fsSync.lstatSync(dir, { throwIfNoEntry: false });
  return stat === undefined ? '' : `${stat.dev}:${stat.ino}`;
}

function describeKind(value: unknown): string {
  if (value === null || typeof value !== 'object') return typeof value;
  return Object.getPrototypeOf(value)?.constructor?.name ?? 'object without prototype';
}

function isMissingFile(err: unknown): boolean {
  return isDataBaseError(err, 'CorruptKeyError') && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Visit a database folder and every sub-database below it. */
async function forEachDatabaseIn(dir: string, visit: (dir: string, state: DbStateJson) => Promise<void>): Promise<void> {
  const state = await readDbState(dir).catch(() => undefined);
  if (state === undefined) return;
  await visit(dir, state);
  const entries = await fs.readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    if (entry.isDirectory() && isKeyFolderName(entry.name)) await forEachDatabaseIn(path.join(dir, entry.name, SUBDB_FOLDER), visit);
  }
}

