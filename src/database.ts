/**
 * DataBase: a folder of keys on ISF's on-disk format. This file orchestrates; the key rules live
 * in keys.ts, the JSON files in ondisk.ts, the atomic filesystem work in store/, and the formats
 * in loaders/.
 */
import path from 'node:path';
import { DataBaseNotFoundError, KeyNotFoundError, KeyTypeConflictError, NotADataBaseError, ReadonlyError, isDataBaseError } from './errors.js';
import { createDbState, readDbState, refuseLegacy } from './dbstate.js';
import { checkKeyFolderLength, formatKey, keyParts, relativeKeyFolder, type Key } from './keys.js';
import { LOADER_FILE, type DbStateJson, type MetadataJson, SUBDB_LOADER, FOLDER_LOADER, SUBDB_FOLDER } from './ondisk.js';
import type { MaybeCalculateOptions, OpenOptions, SetManyEntry, WriteOptions } from './options.js';
import { Registry } from './registry.js';
import { ensureRegistered } from './registration.js';
import { keyFolderEntries, subDataBaseIdentity, walkKeys } from './walk.js';
import { fsckDataBase, type FsckOptions, type FsckReport } from './fsck.js';
import { verifyDataBase, type VerifyReport } from './verify.js';
import { pathExists } from './store/durable.js';
import { commitKeys, type KeyCommit } from './store/commit.js';
import type { HeldLock } from './store/locks.js';
import { checkVersionRef, diffVersions, listVersions, resolveVersionFolder, restoreVersion, type VersionDiff, type VersionInfo, type VersionRef } from './history.js';
import { calculate, findStale, folderDigest, type CalculationPort, type StaleKey } from './lineage.js';
import { chooseDumper, isSymbolicLink, loadFolder, loaderNameAt, readKeyMetadata, readLoaderJson, recordFolderChecksums, refuseLinkedKeyFolder } from './key-io.js';
import { deleteKeyFolder, moveKeyFolder } from './key-ops.js';
import { DbFolder } from './db-folder.js';
import { getLoader, shortLoaderName } from '../loaders/index.js';
import type { Loader } from '../loaders/types.js';

export type { OpenOptions, WriteOptions, MaybeCalculateOptions, KeyInfo, SetManyEntry } from './options.js';

type AnyLoader = Loader<never>;

export class DataBase {
  /** Sub-database handles by key folder name, with the identity of the folder they were opened on. */
  private readonly subDbs = new Map<string, { db: DataBase; identity: string }>();

  /** The key-level work (locks, reads, commits) in this database's folder. */
  private readonly folder: DbFolder;

  private constructor(
    readonly basedir: string,
    private state: DbStateJson,
    private readonly options: OpenOptions & { registry: Registry },
  ) {
    this.folder = new DbFolder(basedir, options, (dir) => DataBase.open(dir, { ...options, nocreate: true }));
  }

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
    if (isSymbolicLink(folder)) return false;
    return (await pathExists(path.join(folder, LOADER_FILE))) || pathExists(path.join(folder, 'Loader.pickle'));
  }

  /** The stored value; `options` go to the loader, except `version` (a number from db.history(key), or 'current'). */
  async get(key: Key, options?: Record<string, unknown>): Promise<unknown> {
    const { parent, name, shown } = await this.locate(key);
    const { version, ...loaderOptions } = options ?? {};
    const wanted = version === undefined ? 'current' : checkVersionRef(version);
    if (wanted === 'current') return parent.folder.getLocal(name, shown, version === undefined ? options : loaderOptions);
    const folder = await resolveVersionFolder(parent.basedir, name, shown, wanted);
    return loadFolder(folder, shown, parent.folder.loaderContext(shown), loaderOptions);
  }

  /** The kept versions of a key, oldest first, then its current value (see history.ts). */
  async history(key: Key): Promise<VersionInfo[]> {
    const folder = await this.folderOf(key);
    return listVersions(path.dirname(folder), path.basename(folder));
  }

  /** Make a kept version current again; the current value goes into the history. Returns the number it got. */
  async restore(key: Key, version: number, options: WriteOptions = {}): Promise<number | undefined> {
    const { parent, name, shown } = await this.locate(key, { writing: 'restore' });
    const wanted = checkVersionRef(version);
    if (wanted === 'current') return undefined;
    return parent.folder.withKeyLock(name, shown, async () => {
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
    return readKeyMetadata(db.basedir, name, shown, db.readonly);
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
    this.assertWritable('set', formatKey(keyParts(key)));
    const loader = await chooseDumper(value, dumper, formatKey(keyParts(key)));
    if (loader.kind === 'database') {
      await this.createSubDb(key);
      return;
    }
    const { parent, name, shown } = await this.locate(key, { create: true });
    await parent.folder.withKeyLock(name, shown, (lock) => parent.folder.writeLocked(name, shown, loader, value, dumpOptions, lock, writeOptions));
  }

  /**
   * Store many values at once: every key is atomic and locked as by `set`, and the batch shares
   * its fsyncs (all files in parallel, one fsync per database folder), so durable small keys are
   * written several times faster than one `set` after another. Keys must differ; sub-databases are
   * not created here (use createSubDb). When a value fails to dump, no key of the batch is written.
   * An entry may carry extra metadata fields, and a `skipIf` check made under its lock (batched runs).
   */
  async setMany(entries: readonly SetManyEntry[], writeOptions: WriteOptions = {}): Promise<void> {
    const planned: Array<{ parent: DataBase; name: string; shown: string; loader: AnyLoader; entry: SetManyEntry }> = [];
    const seen = new Set<string>();
    for (const entry of entries) {
      const shown = formatKey(keyParts(entry.key));
      this.assertWritable('set', shown);
      const loader = await chooseDumper(entry.value, entry.dumper, shown);
      if (loader.kind === 'database') throw new KeyTypeConflictError(shown, this.basedir, 'setMany does not create sub-databases; use createSubDb');
      const { parent, name } = await this.locate(entry.key, { create: true });
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
        const lock = await p.parent.folder.lockKey(p.name, p.shown);
        locks.push(lock);
        await p.parent.folder.refuseSubDbOverwrite(p.name, p.shown);
        if (p.entry.skipIf !== undefined && (await p.entry.skipIf())) continue;
        const extras = p.entry.extraMetadata === undefined ? writeOptions : { ...writeOptions, extraMetadata: p.entry.extraMetadata };
        commits.push(p.parent.folder.valueWrite(p.name, p.shown, p.loader, p.entry.value, p.entry.dumpOptions, lock, extras).commit);
      }
      await commitKeys(commits, { durable: this.options.fsync !== false });
    } finally {
      await Promise.all(locks.map((lock) => lock.release()));
    }
  }

  async delete(key: Key): Promise<void> {
    const { parent, name, shown } = await this.locate(key, { writing: 'delete' });
    await parent.folder.withKeyLock(name, shown, async () => {
      parent.subDbs.delete(name);
      await deleteKeyFolder(parent.basedir, name, shown, this.basedir, this.options.registry);
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
    await first[0].folder.withKeyLock(first[1], first[2], () => second[0].folder.withKeyLock(second[1], second[2], async () => {
      source.subDbs.delete(fromName);
      await moveKeyFolder({ dir: fromDir, shown: formatKey(from) }, { dir: toDir, shown: formatKey(to) }, this.basedir, this.options.registry);
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
    const { parent, name, shown } = await this.locate(key, { create: true, writing: 'create a managed folder at' });
    const folder = path.join(parent.basedir, name);
    await parent.folder.withKeyLock(name, shown, async () => {
      const existing = await loaderNameAt(parent.basedir, name).catch(() => undefined);
      if (existing === FOLDER_LOADER) return;
      if (existing !== undefined || (await pathExists(folder))) {
        throw new KeyTypeConflictError(shown, parent.basedir, `holds ${existing ?? 'something'}, not a managed folder; a managed folder does not overwrite an existing key`);
      }
      await parent.folder.writeUnlocked(name, shown, await getLoader(FOLDER_LOADER), undefined, undefined);
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
    return db.folder.withKeyLock(name, shown, () => recordFolderChecksums(db.basedir, name, shown));
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

  /** Rewrite a frame key into our Parquet encoding, atomically, keeping its provenance (see optimize.ts). */
  async optimize(key: Key, options?: import('./optimize.js').OptimizeOptions): Promise<import('./optimize.js').OptimizeResult> {
    const { parent, name, shown } = await this.locate(key, { writing: 'optimize' });
    return (await import('./optimize.js')).optimizeKey(parent.folder, name, shown, options);
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

  // ---------------------------------------------------------------- runs (src/runs, loaded only when used)

  /** Run a step over records: the missing or stale ones, in worker processes or on a queue (see src/runs). */
  async run<R extends import('./runs/step.js').RecordValue>(step: import('./runs/step.js').Step<R, unknown>, options: import('./runs/runner.js').RunOptions<R>): Promise<import('./runs/runner.js').RunReport> {
    const { lockTimeoutMs, lockStaleMs, gitDir, fsync, keepVersions, locks } = this.options;
    const redis = locks !== undefined && 'redis' in locks ? { locks: { ...locks } } : {}; // plain options cross to worker processes
    return (await import('./runs/runner.js')).runStep(this, step, options, { lockTimeoutMs, lockStaleMs, gitDir, fsync, keepVersions, ...redis });
  }

  /** Record x step x status (an Arrow table) of a step, or of every step that ran here. */
  async status(step?: string | import('./runs/step.js').Step): Promise<import('apache-arrow').Table> {
    const { statusRows, statusTable } = await import('./runs/status.js');
    return statusTable(await statusRows(this, step));
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
    await this.folder.withKeyLock(name, shown, async () => {
      const now = await loaderNameAt(this.basedir, name).catch(() => undefined);
      if (now === SUBDB_LOADER) return;
      if (now !== undefined || (await pathExists(path.join(this.basedir, name)))) {
        throw new KeyTypeConflictError(shown, this.basedir, `holds data (${now ?? 'unknown'}); a key holding data cannot become a sub-database, delete it first`);
      }
      await this.folder.writeUnlocked(name, shown, await getLoader(SUBDB_LOADER), undefined, undefined);
    });
    return this.openSubDb(name);
  }

  /** The sub-database in key folder `name`, opened once per instance while the folder stays the same one. */
  private async openSubDb(name: string): Promise<DataBase> {
    refuseLinkedKeyFolder(this.basedir, name, name);
    refuseLinkedKeyFolder(path.join(this.basedir, name), SUBDB_FOLDER, name);
    const identity = subDataBaseIdentity(path.join(this.basedir, name));
    const cached = this.subDbs.get(name);
    if (cached !== undefined && cached.identity === identity) return cached.db;
    const db = await DataBase.open(path.join(this.basedir, name, SUBDB_FOLDER), { ...this.options, nocreate: true });
    this.subDbs.set(name, { db, identity });
    return db;
  }

  /**
   * The database holding `key` (created on the way with `create`), the key's folder name and its
   * printable form; KeyNotFoundError when a sub-database on the way is missing. `writing` names the
   * operation refused on a readonly database.
   */
  private async locate(key: Key, { create = false, writing }: { create?: boolean; writing?: string } = {}): Promise<{ parent: DataBase; name: string; shown: string }> {
    const parts = keyParts(key);
    const shown = formatKey(parts);
    if (writing !== undefined) this.assertWritable(writing, shown);
    const parent = await this.parentOf(parts, { create });
    if (parent === undefined) throw new KeyNotFoundError(shown, this.basedir);
    return { parent, name: parts[parts.length - 1]!, shown };
  }

  private async existingKey(key: Key): Promise<{ db: DataBase; name: string; shown: string }> {
    const { parent, name, shown } = await this.locate(key);
    refuseLinkedKeyFolder(parent.basedir, name, shown);
    if (!(await pathExists(path.join(parent.basedir, name)))) throw new KeyNotFoundError(shown, this.basedir);
    return { db: parent, name, shown };
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
        return parent.folder.withKeyLock(name, shown, (lock) => body(async (value, extraMetadata) => {
          const loader = await chooseDumper(value, options.dumper, shown);
          if (loader.kind === 'database') {
            throw new KeyTypeConflictError(shown, parent.basedir, 'maybeCalculate cannot store a sub-database; use createSubDb');
          }
          await parent.folder.writeLocked(name, shown, loader, value, undefined, lock, { extraMetadata, keepVersions: options.keepVersions });
        }));
      },
    };
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
