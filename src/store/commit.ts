/**
 * THE commit of a key folder: every value that becomes a key (`set`, `setMany`, `restore`,
 * sub-databases, managed folders, initSimrun's keys) goes through `commitKeys` here.
 *
 * How to use it (the caller holds the lock of every key it commits, see locks.ts):
 *
 * ```ts
 * await commitKey({
 *   dbDir, name,                                    // the database folder and the key folder's name
 *   write: async (staged) => {                      // fill the empty staged folder `staged.dir`
 *     staged.writeFile('data.npy', bytes);          //   written and hashed at once (no read-back)
 *     await fs.rename(encoded, path.join(staged.dir, 'part.0.parquet'));
 *     staged.recordChecksum('part.0.parquet', sum); //   a file placed by other means, hashed by its producer
 *     return {                                      // the two JSON files, written last by the commit
 *       loaderJson: pythonJson({ Loader: ... }),
 *       metadata: (checksums) => pythonJson({ ...provenance, isfdb_checksums: checksums }),
 *     };
 *   },
 *   history: { keep: 3 },                           // optional: keep the old value as a version
 *   lock,                                           // optional: a compromised lock aborts the commit
 * }, { durable: true });
 * ```
 *
 * Steps: stage an empty folder in the database's staging folder; let `write` fill it; checksum
 * the data files (the ones `write` did not hash itself are read once); write metadata.json, then
 * Loader.json (its presence marks a staged folder complete: recovery rolls forward only such
 * folders); fsync every file and folder with bounded concurrency; retire the old value to
 * `<key>.deleting.<X>`; rename the staged folder into place (the only place this happens:
 * `publishStaged`); fsync the database folder; move the old value into the history or remove it
 * in the background. A batch (`commitKeys` with many entries) shares the fsyncs: files of all keys
 * in parallel, one fsync per database folder. Each key is atomic; the batch as a whole is not.
 */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidInputError, NotADataBaseError } from '../errors.js';
import { checksumBytes, checksumFile, type FileChecksums } from './checksum.js';
import { forEachLimited, pathExists, syncDirectoryShared, syncPaths, writeFileAsync, SYNC_CONCURRENCY } from './durable.js';
import { COMPLETE_MARKER, METADATA_NAME, createTempKeyFolder, ensureStagingDir, publishStaged, removeInBackground, retireKeyFolder, stagingDir, stagingToken } from './keyfolder.js';
import { moveIntoHistory, pruneHistory, HISTORY_FOLDER } from './versions.js';

/** How many keys of a batch are staged at once (setMany is for many small keys). */
const STAGE_CONCURRENCY = 16;
/** Files up to this size are written through the thread pool in a batch; larger ones at once. */
const CONCURRENT_WRITE_MAX = 1 << 20;

/** The staged folder of one key being committed; `write` fills it. */
export class StagedKey {
  private readonly sums = new Map<string, string>();
  private readonly pending: Array<Promise<void>> = [];

  /**
   * `concurrent` (a batch): `writeFile` starts the write through the thread pool and returns, so
   * that the files of many keys are created at once; the commit waits for them before it lists,
   * checksums and fsyncs the folder. A dump must then neither read back nor change what it gave.
   */
  constructor(readonly dir: string, private readonly concurrent = false) {}

  /** Write a file of the value (path relative to `dir`, or absolute inside it), hashing the bytes as they are written. */
  writeFile(file: string, data: string | Uint8Array): void {
    const relative = this.relative(file);
    // Large files are written at once: nothing to overlap, and their bytes are not kept waiting in memory.
    if (this.concurrent && data.length <= CONCURRENT_WRITE_MAX) this.pending.push(writeFileAsync(path.join(this.dir, relative), data));
    else fsSync.writeFileSync(path.join(this.dir, relative), data);
    this.sums.set(relative, checksumBytes(data));
  }

  /** Wait for the writes started by `writeFile`; the first failure is thrown once all have ended. */
  async settled(): Promise<void> {
    const results = await Promise.allSettled(this.pending.splice(0));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** The checksum of a file placed by other means (moved in, streamed), computed by its producer while writing it. */
  recordChecksum(file: string, checksum: string): void {
    this.sums.set(this.relative(file), checksum);
  }

  /** Checksums of every regular data file below `dir` (Loader.json and metadata.json excluded), sorted by path. */
  async checksums(files: readonly string[]): Promise<FileChecksums> {
    const out: FileChecksums = {};
    for (const relative of [...files].sort()) out[relative] = this.sums.get(relative) ?? (await checksumFile(path.join(this.dir, relative)));
    return out;
  }

  private relative(file: string): string {
    const relative = path.relative(this.dir, path.resolve(this.dir, file));
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
      throw InvalidInputError.value(file, `a file of a staged key must lie inside ${this.dir}`);
    }
    return relative.split(path.sep).join('/');
  }
}

/** What `write` returns: the texts of the two JSON files the commit writes last. */
export interface KeyFiles {
  /** The text of Loader.json (written last of all). */
  loaderJson: string;
  /** The text of metadata.json, given the data files' checksums (undefined when `checksums` is false); undefined: no metadata.json. */
  metadata(checksums: FileChecksums | undefined): string | undefined | Promise<string | undefined>;
  /** Record checksums of the data files (default true); containers (sub-databases, managed folders) do not. */
  checksums?: boolean;
}

export interface KeyCommit {
  /** The database folder holding the key. */
  dbDir: string;
  /** The key folder's name in `dbDir`. */
  name: string;
  /** Fill `staged.dir` with the value's data files; return the JSON files' texts. */
  write(staged: StagedKey): Promise<KeyFiles>;
  /** Keep the old value in the history folder (newest `keep` versions); default: drop it as ISF does. */
  history?: { keep: number };
  /** Checked right before publishing: a lock that could not be kept fresh must not commit. */
  lock?: { readonly compromised: Error | undefined };
}

export interface CommitOptions {
  /** fsync files and folders before the value becomes visible (default true). */
  durable?: boolean;
  /** At most this many files or folders open for fsync at once. */
  syncConcurrency?: number;
}

export interface CommitResult {
  /** The key folder, now holding the new value. */
  folder: string;
  /** The version number the old value got in the history, when it was kept. */
  keptAs?: number;
}

/** Commit one key folder (see the file comment). */
export async function commitKey(commit: KeyCommit, options: CommitOptions = {}): Promise<CommitResult> {
  return (await commitKeys([commit], options))[0]!;
}

interface Staged {
  commit: KeyCommit;
  dir: string;
  files: string[];
  dirs: string[];
}

/**
 * Commit many key folders with shared work; each key is atomic, the batch is not. Names must
 * differ per database folder. Per database folder the batch checks the staging folder once and
 * fsyncs the folder once; per key it makes one staged folder, writes its files, and renames it
 * into place (after retiring the old value, when there is one). All files and folders of the batch
 * are fsynced together, `syncConcurrency` at a time, before the first key is published.
 */
export async function commitKeys(commits: readonly KeyCommit[], options: CommitOptions = {}): Promise<CommitResult[]> {
  const durable = options.durable !== false;
  const staged: Staged[] = [];
  try {
    const token = stagingToken();
    const ready = new Set<string>();
    for (const commit of commits) {
      if (!ready.has(commit.dbDir)) {
        ensureStagingDir(commit.dbDir, commit.name);
        ready.add(commit.dbDir);
      }
    }
    if (commits.length === 1) {
      staged.push(await stageOne(commits[0]!, token, false));
    } else {
      // Many keys at once: file creations overlap in the thread pool (about 2x faster on a busy disk).
      const slots: Array<Staged | undefined> = [];
      try {
        await forEachLimited(commits.map((commit, i) => ({ commit, i })), STAGE_CONCURRENCY, async ({ commit, i }) => {
          slots[i] = await stageOne(commit, `${token}-${i}`, true);
        });
      } finally {
        for (const slot of slots) if (slot !== undefined) staged.push(slot); // not push(...): ~125,000 keys overflow a call's arguments
      }
    }
    if (durable) {
      await syncPaths(staged.flatMap((s) => s.files), staged.flatMap((s) => s.dirs), options.syncConcurrency ?? SYNC_CONCURRENCY);
    }
    for (const { commit } of staged) if (commit.lock?.compromised) throw commit.lock.compromised;
  } catch (err) {
    await Promise.all(staged.map((s) => fs.rm(s.dir, { recursive: true, force: true })));
    throw await explainMissingDatabase(err, commits);
  }
  // Each key's commit point is its rename into place (publishStaged).
  const retired: Array<string | undefined> = [];
  let failure: { err: unknown } | undefined;
  for (const { commit, dir } of staged) {
    let old: string | undefined;
    try {
      old = retireKeyFolder(commit.dbDir, commit.name);
      publishStaged(dir, commit.dbDir, commit.name);
    } catch (err) {
      // A concurrent delete of the sub-database removed a folder under the batch: the keys
      // published so far stay (each is atomic); this one gets its old value back where its folder
      // still exists, and the rest are dropped with their staged folders.
      if (old !== undefined) {
        try { publishStaged(old, commit.dbDir, commit.name); } catch { /* the database folder is gone */ }
      }
      failure = { err };
      break;
    }
    retired.push(old);
  }
  if (durable) await Promise.all([...new Set(commits.slice(0, retired.length).map((c) => c.dbDir))].map((dir) => syncDirectoryShared(dir)));
  const results: CommitResult[] = [];
  for (let i = 0; i < retired.length; i++) {
    const { commit } = staged[i]!;
    const old = retired[i];
    const result: CommitResult = { folder: path.join(commit.dbDir, commit.name) };
    if (old !== undefined && commit.history !== undefined) {
      const keptAs = await keepInHistory(commit, old);
      if (keptAs !== undefined) result.keptAs = keptAs;
    } else if (old !== undefined) {
      removeInBackground(old);
    }
    results.push(result);
  }
  if (failure !== undefined) {
    await Promise.all(staged.slice(retired.length).map((s) => fs.rm(s.dir, { recursive: true, force: true })));
    throw await explainMissingDatabase(failure.err, commits);
  }
  return results;
}

async function stageOne(commit: KeyCommit, token: string, concurrent: boolean): Promise<Staged> {
  const dir = await createTempKeyFolder(commit.dbDir, commit.name, token, { viaThreadPool: concurrent });
  const entry: Staged = { commit, dir, files: [], dirs: [dir] };
  const stagedKey = new StagedKey(dir, concurrent);
  try {
    const files = await commit.write(stagedKey);
    await stagedKey.settled();
    const dataFiles: string[] = [];
    const listed = concurrent ? await fs.readdir(dir, { withFileTypes: true, recursive: true }) : fsSync.readdirSync(dir, { withFileTypes: true, recursive: true });
    for (const item of listed) {
      const full = path.join(item.parentPath, item.name);
      if (item.isDirectory()) entry.dirs.push(full);
      else if (item.isFile()) {
        entry.files.push(full);
        const relative = path.relative(dir, full).split(path.sep).join('/');
        if (relative !== COMPLETE_MARKER && relative !== METADATA_NAME) dataFiles.push(relative);
      }
    }
    const checksums = files.checksums === false ? undefined : await stagedKey.checksums(dataFiles);
    // Loader.json last: its presence marks the folder complete (see keyfolder.ts, recoverKeyFolder).
    for (const [name, text] of [[METADATA_NAME, await files.metadata(checksums)], [COMPLETE_MARKER, files.loaderJson]] as const) {
      if (text === undefined) continue;
      const file = path.join(dir, name);
      if (concurrent) await writeFileAsync(file, text);
      else fsSync.writeFileSync(file, text);
      if (!entry.files.includes(file)) entry.files.push(file);
    }
  } catch (err) {
    await stagedKey.settled().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
  return entry;
}

/** Move the old value into the history; on failure drop it (the new value is committed, saying otherwise would be false). */
async function keepInHistory(commit: KeyCommit, old: string): Promise<number | undefined> {
  let version: number;
  try {
    version = await moveIntoHistory(commit.dbDir, commit.name, old);
  } catch (err) {
    removeInBackground(old);
    process.emitWarning(`isf-data-base: could not keep the old value of key '${commit.name}' in ${HISTORY_FOLDER}: ${(err as Error).message}`);
    return undefined;
  }
  if (Number.isFinite(commit.history!.keep)) await pruneHistory(commit.dbDir, commit.name, commit.history!.keep);
  return version;
}

/** A concurrent delete of the sub-database holding a key removes the folder under the writer: say so, typed. */
async function explainMissingDatabase(err: unknown, commits: readonly KeyCommit[]): Promise<unknown> {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return err;
  // Only a removal of the database folder takes our own staged folder away: the folder may already
  // have been created again by another writer, so its presence now proves nothing.
  const missing = (err as NodeJS.ErrnoException).path;
  for (const commit of commits) {
    const insideStaging = typeof missing === 'string' && missing.startsWith(`${stagingDir(commit.dbDir)}${path.sep}`);
    if (insideStaging || !(await pathExists(commit.dbDir))) {
      return new NotADataBaseError(commit.dbDir, `the database folder was removed (its sub-database key was deleted) while key '${commit.name}' was being written`);
    }
  }
  return err;
}
