/**
 * DataBase: a folder of keys on ISF's on-disk format. This file orchestrates; the key rules live
 * in keys.ts, the JSON files in ondisk.ts, the atomic filesystem work in store/, and the formats
 * in loaders/.
 */
import path from 'node:path';
import { DataBaseNotFoundError, InvalidInputError, KeyNotFoundError, KeyTypeConflictError, isDataBaseError } from './errors.js';
import { readDbState } from './dbstate.js';
import { checkKeyFolderLength, formatKey, keyParts, relativeKeyFolder, type Key } from './keys.js';
import { LOADER_FILE, type MetadataJson, SUBDB_LOADER, FOLDER_LOADER } from './ondisk.js';
import type { MaybeCalculateOptions, OpenOptions, SetManyEntry, WriteOptions } from './options.js';
import type { ProvenanceFacts } from './provenance.js';
import { Registry } from './registry.js';
import { keyFolderEntries, walkKeys } from './walk.js';
import { fsckDataBase, type FsckOptions, type FsckReport } from './fsck.js';
import { verifyDataBase, type VerifyReport } from './verify.js';
import { pathExists } from './store/durable.js';
import { SCRATCH_PURPOSE, makeScratchFolder } from './store/scratch.js';
import { checkVersionRef, diffVersions, listVersions, resolveVersionFolder, restoreVersion, type VersionDiff, type VersionInfo, type VersionRef } from './history.js';
import { calculate, findStale, type StaleKey } from './lineage.js';
import { chooseDumper, isSymbolicLink, loadFolder, loaderNameAt, readKeyMetadata, readLoaderJson, recordFolderChecksums } from './key-io.js';
import { deleteKeyFolder, moveKeyFolder } from './key-ops.js';
import { DbFolder } from './db-folder.js';
import { setManyIn } from './set-many.js';
import { calculationPort } from './calculation-port.js';
import { getLoader, shortLoaderName } from '../loaders/index.js';
import type { Loader } from '../loaders/types.js';

export type { OpenOptions, WriteOptions, MaybeCalculateOptions, KeyInfo, SetManyEntry } from './options.js';

type AnyLoader = Loader<never>;

/** The DataBase of each folder handle, so that a sub-database is the same object while its folder is. */
const facades = new WeakMap<DbFolder, DataBase>();

export class DataBase {
  private constructor(
    /** The key-level work (resolution, locks, reads, commits) in this database's folder. */
    private readonly folder: DbFolder,
  ) {}

  private static of(folder: DbFolder): DataBase {
    let db = facades.get(folder);
    if (db === undefined) facades.set(folder, db = new DataBase(folder));
    return db;
  }

  get basedir(): string {
    return this.folder.basedir;
  }

  get id(): string {
    return this.folder.id;
  }

  get readonly(): boolean {
    return this.folder.readonly;
  }

  private get options(): DbFolder['options'] {
    return this.folder.options;
  }

  /** Open (or create) the database in `dir`. */
  static async open(dir: string, options: OpenOptions = {}): Promise<DataBase> {
    if (options.provenance !== undefined) (await import('./provenance.js')).seedProvenance(options.provenance);
    const opts = { ...options, registry: options.registry ?? Registry.default() };
    // The sub-database loader opens the databases it holds with the same options.
    return DataBase.of(await DbFolder.open(dir, opts, (sub) => DataBase.open(sub, { ...opts, nocreate: true })));
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
    const parent = await this.folder.parentOf(parts, { create: false }).catch((err: unknown) => {
      if (isDataBaseError(err, 'KeyTypeConflictError')) return undefined;
      throw err;
    });
    if (parent === undefined) return false;
    const folder = path.join(parent.basedir, parts[parts.length - 1]!);
    // A symbolic link is not a key (keys() does not list it either).
    if (isSymbolicLink(folder)) return false;
    return (await pathExists(path.join(folder, LOADER_FILE))) || pathExists(path.join(folder, 'Loader.pickle'));
  }

  /** The stored value; `options` go to the loader, except `version` (a number from db.history(key), or 'current'). */
  async get(key: Key, options?: Record<string, unknown>): Promise<unknown> {
    const { parent, name, shown } = await this.folder.locate(key);
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
    const { parent, name, shown } = await this.folder.locate(key, { writing: 'restore' });
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
    const { parent, name, shown } = await this.folder.existingKey(key);
    return readKeyMetadata(parent.basedir, name, shown, parent.readonly);
  }

  /** The short loader name of a key (e.g. 'numpy_to_npy'). */
  async loaderOf(key: Key): Promise<string> {
    const { parent, name, shown } = await this.folder.existingKey(key);
    return shortLoaderName((await readLoaderJson(parent.basedir, name, shown)).Loader);
  }

  /** Absolute folder of a key (it need not exist). */
  async folderOf(key: Key): Promise<string> {
    return path.join(this.basedir, relativeKeyFolder(keyParts(key)));
  }

  // ---------------------------------------------------------------- writing

  /** Store `value` under `key`, atomically. `dumper` is a loader name or object; by default chosen from the value. */
  async set(key: Key, value: unknown, dumper?: string | AnyLoader, dumpOptions?: Record<string, unknown>, writeOptions: WriteOptions = {}): Promise<void> {
    this.folder.assertWritable('set', formatKey(keyParts(key)));
    const loader = await chooseDumper(value, dumper, formatKey(keyParts(key)));
    if (loader.kind === 'database') {
      await this.createSubDb(key);
      return;
    }
    const { parent, name, shown } = await this.folder.locate(key, { create: true });
    await parent.withKeyLock(name, shown, (lock) => parent.writeLocked(name, shown, loader, value, dumpOptions, lock, writeOptions));
  }

  /**
   * Store many values at once: every key is atomic and locked as by `set`, and the batch shares
   * its fsyncs (all files in parallel, one fsync per database folder), so durable small keys are
   * written several times faster than one `set` after another. Keys must differ; sub-databases are
   * not created here (use createSubDb). When a value fails to dump, no key of the batch is written.
   * An entry may carry extra metadata fields, and a `skipIf` check made under its lock (batched runs).
   */
  async setMany(entries: readonly SetManyEntry[], writeOptions: WriteOptions = {}): Promise<void> {
    await setManyIn(this.folder, entries, writeOptions);
  }

  /**
   * Read ahead what the first write's metadata needs (git facts of the writing code, a few git
   * processes; installed module versions), so a worker process can do it while it waits for work.
   */
  async prepareWrites(): Promise<ProvenanceFacts | undefined> {
    if (this.readonly) return undefined;
    return (await import('./provenance.js')).provenanceFacts(this.options.gitDir ?? process.cwd());
  }

  async delete(key: Key): Promise<void> {
    const { parent, name, shown } = await this.folder.locate(key, { writing: 'delete' });
    await parent.withKeyLock(name, shown, async () => {
      parent.forgetSubDb(name);
      await deleteKeyFolder(parent.basedir, name, shown, this.basedir, this.options.registry);
    });
  }

  /** Move a key (with its sub-keys) to a new key that must not exist yet. */
  async rename(oldKey: Key, newKey: Key): Promise<void> {
    const from = keyParts(oldKey);
    const to = keyParts(newKey);
    this.folder.assertWritable('rename', formatKey(from));
    if ((await this.folderOf(to)).startsWith(`${await this.folderOf(from)}${path.sep}`)) {
      throw new KeyTypeConflictError(formatKey(to), this.basedir, `cannot move ${formatKey(from)} into itself`);
    }
    const source = await this.folder.parentOf(from, { create: false });
    if (source === undefined) throw new KeyNotFoundError(formatKey(from), this.basedir);
    const target = (await this.folder.parentOf(to, { create: true }))!;
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
      source.forgetSubDb(fromName);
      await moveKeyFolder({ dir: fromDir, shown: formatKey(from) }, { dir: toDir, shown: formatKey(to) }, this.basedir, this.options.registry);
    }));
  }

  /** Create (or return the existing) sub-database at `key`. */
  async createSubDb(key: Key): Promise<DataBase> {
    const parts = keyParts(key);
    this.folder.assertWritable('create a sub-database at', formatKey(parts));
    checkKeyFolderLength(this.basedir, parts);
    let folder = this.folder;
    for (let i = 0; i < parts.length; i++) {
      folder = await folder.subDbLocal(parts[i]!, formatKey(parts.slice(0, i + 1)));
    }
    return DataBase.of(folder);
  }

  /** Create (or return the existing) managed folder at `key`; returns its absolute path. */
  async createManagedFolder(key: Key): Promise<string> {
    const { parent, name, shown } = await this.folder.locate(key, { create: true, writing: 'create a managed folder at' });
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
   * A new folder of this process's own inside the database folder, for files that are to become
   * parts of keys by rename (initSimrun stages its partitions in one): never listed as a key, by
   * us or by Python ISF. Remove it when done; if the process dies first, the next scratch folder
   * made on the same host removes it, and so does `fsck --repair`. `purpose`: lower-case letters,
   * part of the folder's name.
   */
  async scratchFolder(purpose: string): Promise<string> {
    this.folder.assertWritable('make a scratch folder in');
    if (!SCRATCH_PURPOSE.test(purpose)) throw InvalidInputError.value('scratch folder purpose', `'${purpose}' is not lower-case letters (a-z)`);
    return makeScratchFolder(this.basedir, purpose);
  }

  /**
   * Record the checksums of the files now in the managed folder `key` in its metadata.json, so that
   * verify checks them: for folders a program fills (initSimrun's parameter files and morphologies).
   * Folders filled by hand are reported as unverified. Returns the number of files recorded.
   */
  async recordManagedFiles(key: Key): Promise<number> {
    const { parent, name, shown } = await this.folder.existingKey(key);
    this.folder.assertWritable('record the files of', shown);
    return parent.withKeyLock(name, shown, () => recordFolderChecksums(parent.basedir, name, shown));
  }

  /**
   * Read `key`, or compute it with `fn`, store it and return it. With `params`, `inputs` or
   * `code`, the stored value is returned only while that recipe is unchanged (see lineage.ts).
   * Concurrent callers, in any process, compute once. Returns what `get` returns, on the first
   * call as on later ones (the stored value read back, not `fn`'s own object).
   */
  async maybeCalculate(key: Key, fn: () => unknown, options: MaybeCalculateOptions = {}): Promise<unknown> {
    return calculate(calculationPort(this.folder, key, options, this), fn, options);
  }

  /** Rewrite a frame key into our Parquet encoding, atomically, keeping its provenance (see optimize.ts). */
  async optimize(key: Key, options?: import('./optimize.js').OptimizeOptions): Promise<import('./optimize.js').OptimizeResult> {
    const { parent, name, shown } = await this.folder.locate(key, { writing: 'optimize' });
    return (await import('./optimize.js')).optimizeKey(parent, name, shown, options);
  }

  // ---------------------------------------------------------------- checking (src/verify.ts, src/fsck.ts)

  /** Recompute the checksums of every key (or of `key` and what is below it); reads only, takes no lock. */
  async verify(key?: Key): Promise<VerifyReport> {
    return verifyDataBase(this.basedir, key);
  }

  /** Find (and with `repair`, remove or re-register) what killed writers left; never touches a complete key. */
  async fsck(options: Omit<FsckOptions, 'registry'> = {}): Promise<FsckReport> {
    if (options.repair) this.folder.assertWritable('repair');
    return fsckDataBase(this.basedir, { lockStaleMs: this.options.lockStaleMs, ...options, registry: this.options.registry });
  }

  // ---------------------------------------------------------------- runs (src/runs, loaded only when used)

  /** Run a step over records: the missing or stale ones, in worker processes or on a queue (see src/runs). */
  async run<R extends import('./runs/step.js').RecordValue>(step: import('./runs/step.js').Step<R, unknown>, options: import('./runs/runner.js').RunOptions<R>): Promise<import('./runs/runner.js').RunReport> {
    const { lockTimeoutMs, lockStaleMs, gitDir, fsync, keepVersions, locks } = this.options;
    const redis = locks !== undefined && 'redis' in locks ? { locks: { ...locks } } : {}; // plain options cross to worker processes
    // Local worker processes run this code from this working directory: they take its provenance
    // (no git each), read while the runs modules load.
    const local = options.redis === undefined && options.workers !== 0;
    const [runner, provenance] = await Promise.all([import('./runs/runner.js'), local ? this.prepareWrites() : undefined]);
    return runner.runStep(this, step, options, { lockTimeoutMs, lockStaleMs, gitDir, fsync, keepVersions, ...redis, ...(provenance === undefined ? {} : { provenance }) });
  }

  /** Record x step x status (an Arrow table) of a step, or of every step that ran here. */
  async status(step?: string | import('./runs/step.js').Step): Promise<import('apache-arrow').Table> {
    const { statusRows, statusTable } = await import('./runs/status.js');
    return statusTable(await statusRows(this, step));
  }

  // ---------------------------------------------------------------- querying (src/query, loaded on first use)

  /** The rows of a data frame key matching `where` (BlueETL's dialect, see src/query), reading only what they need. */
  async query(key: Key, where: import('./query/index.js').Where, options: import('./query/index.js').QueryOptions = {}): Promise<import('apache-arrow').Table> {
    return (await import('./query/stored.js')).queryStored(this, key, where, options);
  }

  /** The keys whose metadata (loader, time, commit, dirty, host, params.*) match `where`. */
  async find(where: import('./query/index.js').Where): Promise<import('./query/index.js').FoundKey[]> {
    return (await import('./query/find.js')).findKeys(this, where);
  }

  /** A collection of results unique by their params, stored as the sub-database `name`. */
  async results(name: Key): Promise<import('./query/index.js').ResultsCollection> {
    return (await import('./query/results.js')).ResultsCollection.open(this, name);
  }
}
