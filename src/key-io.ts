/**
 * Reading and writing one key folder with its loader: Loader.json, the loader call with typed
 * errors, the lock-free read that retries across a writer's swap (store/read-retry.ts), and the
 * commit of a value (store/commit.ts) with its metadata.json. database.ts decides which folder.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { DataBaseError, KeyNotFoundError, KeyTypeConflictError, LoaderError, UnknownLoaderError, UnsupportedFormatError, isDataBaseError } from './errors.js';
import { createDbState } from './dbstate.js';
import { CHECKSUMS_FIELD, FOLDER_LOADER, LOADER_FILE, METADATA_FILE, loaderJsonSchema, metadataSchema, pythonJson, readJsonFile, type DbStateJson, type MetadataJson } from './ondisk.js';
import { buildMetadata, postHocMetadata } from './provenance.js';
import { replaceFileAtomically } from './store/durable.js';
import type { KeyCommit } from './store/commit.js';
import { readRetryingSwaps } from './store/read-retry.js';
import { checksumFolder, type FileChecksums } from './store/checksum.js';
import { defaultDumperFor, fullLoaderName, getLoader, shortLoaderName, whyNoDefaultDumper } from '../loaders/index.js';
import type { Loader, LoaderContext, LoaderJson } from '../loaders/types.js';

type AnyLoader = Loader<never>;

/**
 * The one rule for symbolic links: a link in place of a key folder (or of a sub-database's `db`
 * folder) is never followed, for reads as for writes, so nothing reads or writes outside the
 * database through it. keys() does not list it; fsck reports it.
 */
export function refuseLinkedKeyFolder(dbDir: string, name: string, shown: string): void {
  const folder = path.join(dbDir, name);
  if (!isSymbolicLink(folder)) return;
  const target = fsSync.readlinkSync(folder);
  throw new KeyTypeConflictError(shown, dbDir, `${folder} is a symbolic link (to ${target}), and links in place of key or sub-database folders are never followed; replace it with the folder itself, or remove the link (isfdb fsck lists them)`);
}

export function isSymbolicLink(p: string): boolean {
  return fsSync.lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink() === true;
}

/**
 * Record in a managed folder's metadata.json the checksums of the files now in it (verify checks
 * them); the caller holds the key's lock. Returns the number of files.
 */
export async function recordFolderChecksums(dbDir: string, name: string, shown: string): Promise<number> {
  const loader = await loaderNameAt(dbDir, name);
  if (loader !== FOLDER_LOADER) throw new KeyTypeConflictError(shown, dbDir, `holds ${loader ?? 'nothing'}, not a managed folder`);
  const folder = path.join(dbDir, name);
  const checksums = await checksumFolder(folder, [LOADER_FILE, METADATA_FILE]);
  const metadata = await readKeyMetadata(dbDir, name, shown, false);
  await replaceFileAtomically(path.join(folder, METADATA_FILE), pythonJson({ ...metadata, [CHECKSUMS_FIELD]: checksums }));
  return Object.keys(checksums).length;
}

/** Loader.json of key folder `name` in `dbDir`; KeyNotFoundError when the folder is absent. */
export async function readLoaderJson(dbDir: string, name: string, shown: string): Promise<LoaderJson> {
  refuseLinkedKeyFolder(dbDir, name, shown);
  const folder = path.join(dbDir, name);
  try {
    return await readJsonFile(path.join(folder, LOADER_FILE), loaderJsonSchema, shown);
  } catch (err) {
    if (!isMissingFile(err)) throw err;
    if (!fsSync.existsSync(folder)) throw new KeyNotFoundError(shown, dbDir);
    if (fsSync.existsSync(path.join(folder, 'Loader.pickle'))) {
      throw new UnsupportedFormatError('Loader.pickle', shown, 'the key was written by a legacy Python ISF with a pickled loader; read it with Python ISF');
    }
    // Our read fell between a writer's two renames (no folder), and the new folder appeared before
    // the check above. A folder we publish always holds Loader.json.
    if (fsSync.existsSync(path.join(folder, LOADER_FILE))) return readJsonFile(path.join(folder, LOADER_FILE), loaderJsonSchema, shown);
    throw err;
  }
}

/** The short loader name of key folder `name`, or undefined when there is no such key. */
export async function loaderNameAt(dbDir: string, name: string): Promise<string | undefined> {
  try {
    return shortLoaderName((await readLoaderJson(dbDir, name, name)).Loader);
  } catch (err) {
    if (isDataBaseError(err, 'KeyNotFoundError')) return undefined;
    throw err;
  }
}

/** Run a loader's dump or load; a failure that is not one of ours becomes a LoaderError naming the key. */
export async function callLoader<T>(loader: AnyLoader, operation: 'dump' | 'load', shown: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof DataBaseError) throw err;
    throw new LoaderError(loader.name, shown, operation, err);
  }
}

/** Load the value in `folder` (a key folder or a kept version). */
export async function loadFolder(folder: string, shown: string, ctx: LoaderContext, options: Record<string, unknown> | undefined): Promise<unknown> {
  const loaderJson = await readLoaderJson(path.dirname(folder), path.basename(folder), shown);
  const loader = await getLoader(loaderJson.Loader, shown);
  return callLoader(loader, 'load', shown, () => loader.load(folder, loaderJson, ctx, options));
}

/** Load key folder `name` without a lock, retrying reads that raced a writer's swap. */
export function loadKey(dbDir: string, name: string, shown: string, ctx: LoaderContext, options: Record<string, unknown> | undefined, writerMayHold: () => boolean): Promise<unknown> {
  const folder = path.join(dbDir, name);
  return readRetryingSwaps(folder, () => loadFolder(folder, shown, ctx, options), writerMayHold);
}

export interface ValueWrite {
  dbDir: string;
  name: string;
  shown: string;
  loader: AnyLoader;
  value: unknown;
  dumpOptions: Record<string, unknown> | undefined;
  /** The loader's context; `createDatabase` is replaced so a sub-database is registered at its final place. */
  ctx: LoaderContext;
  gitDir: string | undefined;
  extraMetadata?: Record<string, unknown>;
  keep: number;
  lock?: { readonly compromised: Error | undefined };
  /** Shares the provenance part of metadata.json across a batch (default: built for this key alone). */
  texts?: MetadataTexts;
}

/**
 * The texts of metadata.json for the keys of one batch: the provenance (git facts, modules, host,
 * time) is built and serialised once per dumper; each key adds only its checksums and extra
 * fields. One batch commits at one time, so the keys share the commit's time stamp.
 */
export class MetadataTexts {
  private readonly byDumper = new Map<string, Promise<{ json: MetadataJson; open: string }>>();

  constructor(private readonly gitDir: string | undefined) {}

  async text(dumper: string, checksums: FileChecksums | undefined, extra: Record<string, unknown> | undefined): Promise<string> {
    let base = this.byDumper.get(dumper);
    if (base === undefined) {
      base = buildMetadata(dumper, { gitDir: this.gitDir }).then((json) => ({ json, open: pythonJson(json).slice(0, -1) }));
      this.byDumper.set(dumper, base);
    }
    const { json, open } = await base;
    const tail: Record<string, unknown> = { ...(checksums === undefined ? {} : { [CHECKSUMS_FIELD]: checksums }), ...extra };
    // A field that replaces a provenance field keeps its place, as the object spread does: serialise whole.
    if (Object.keys(tail).some((field) => field in json)) return pythonJson({ ...json, ...tail });
    const rest = pythonJson(tail).slice(1);
    return rest === '}' ? `${open}}` : `${open}, ${rest}`;
  }
}

/** The commit of a value written by its loader; `created()` is the state of a sub-database it created. */
export function valueCommit(w: ValueWrite): { commit: KeyCommit; created: () => DbStateJson | undefined } {
  let created: DbStateJson | undefined;
  const finalFolder = path.join(w.dbDir, w.name);
  const commit: KeyCommit = {
    dbDir: w.dbDir,
    name: w.name,
    ...(w.keep > 0 ? { history: { keep: w.keep } } : {}),
    ...(w.lock === undefined ? {} : { lock: w.lock }),
    write: async (staged) => {
      const ctx: LoaderContext = {
        ...w.ctx,
        writeFile: (file, data) => staged.writeFile(file, data),
        recordChecksum: (file, checksum) => staged.recordChecksum(file, checksum),
        createDatabase: async (dir: string) => {
          // Built inside the staged folder, registered at its final place.
          created = await createDbState(dir, path.join(finalFolder, path.relative(staged.dir, dir)));
          return created;
        },
      };
      const extras = await callLoader(w.loader, 'dump', w.shown, () => w.loader.dump(w.value as never, staged.dir, ctx, w.dumpOptions));
      const texts = w.texts ?? new MetadataTexts(w.gitDir);
      const metadata = async (checksums: FileChecksums | undefined) => texts.text(w.loader.name, checksums, w.extraMetadata);
      return {
        loaderJson: pythonJson({ Loader: fullLoaderName(w.loader.name), ...(extras ?? {}) }),
        // Containers change in place after creation; only data keys carry checksums.
        checksums: w.loader.kind === undefined || w.loader.kind === 'data',
        metadata,
      };
    },
  };
  return { commit, created: () => created };
}

/** The loader named by `dumper`, or the default one for `value`; UnknownLoaderError when none takes it. */
export async function chooseDumper(value: unknown, dumper: string | AnyLoader | undefined, shown: string): Promise<AnyLoader> {
  if (typeof dumper === 'string') return getLoader(dumper, shown);
  if (dumper !== undefined) return dumper;
  const chosen = await defaultDumperFor(value);
  if (chosen === undefined) {
    throw new UnknownLoaderError('(default)', shown, `no loader stores this value: ${await whyNoDefaultDumper(value)}; name a dumper, or register a loader whose canDump() accepts it`);
  }
  return chosen;
}

/** metadata.json of key folder `name`; a missing one is filled in "post hoc" (and written unless `readonly`), as ISF does. */
export async function readKeyMetadata(dbDir: string, name: string, shown: string, readonly: boolean): Promise<MetadataJson> {
  const folder = path.join(dbDir, name);
  const file = path.join(folder, METADATA_FILE);
  if (fsSync.existsSync(file)) return readJsonFile(file, metadataSchema, shown);
  const loaderJson = await readLoaderJson(dbDir, name, shown).catch(() => undefined);
  const meta = postHocMetadata(loaderJson ? shortLoaderName(loaderJson.Loader) : 'unknown', fsSync.statSync(folder).mtime);
  if (!readonly) await replaceFileAtomically(file, pythonJson(meta));
  return meta;
}


function isMissingFile(err: unknown): boolean {
  return isDataBaseError(err, 'CorruptKeyError') && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
