/**
 * Reading and writing one key folder with its loader: Loader.json, the loader call with typed
 * errors, the lock-free read that retries across a writer's swap (store/read-retry.ts), and the
 * commit of a value (store/commit.ts) with its metadata.json. database.ts decides which folder.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { DataBaseError, KeyNotFoundError, KeyTypeConflictError, LoaderError, UnsupportedFormatError, isDataBaseError } from './errors.js';
import { createDbState } from './dbstate.js';
import { CHECKSUMS_FIELD, LOADER_FILE, loaderJsonSchema, pythonJson, readJsonFile, type DbStateJson, type MetadataJson } from './ondisk.js';
import { buildMetadata } from './provenance.js';
import type { KeyCommit } from './store/commit.js';
import { readRetryingSwaps } from './store/read-retry.js';
import { fullLoaderName, getLoader, shortLoaderName } from '../loaders/index.js';
import type { Loader, LoaderContext, LoaderJson } from '../loaders/types.js';

type AnyLoader = Loader<never>;

/**
 * The one rule for symbolic links: a link in place of a key folder (or of a sub-database's `db`
 * folder) is never followed, for reads as for writes, so nothing reads or writes outside the
 * database through it. keys() does not list it; fsck reports it.
 */
export function refuseLinkedKeyFolder(dbDir: string, name: string, shown: string): void {
  const folder = path.join(dbDir, name);
  if (fsSync.lstatSync(folder, { throwIfNoEntry: false })?.isSymbolicLink() !== true) return;
  const target = fsSync.readlinkSync(folder);
  throw new KeyTypeConflictError(shown, dbDir, `${folder} is a symbolic link (to ${target}), and links in place of key or sub-database folders are never followed; replace it with the folder itself, or remove the link (isfdb fsck lists them)`);
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
        createDatabase: async (dir: string) => {
          // Built inside the staged folder, registered at its final place.
          created = await createDbState(dir, path.join(finalFolder, path.relative(staged.dir, dir)));
          return created;
        },
      };
      const extras = await callLoader(w.loader, 'dump', w.shown, () => w.loader.dump(w.value as never, staged.dir, ctx, w.dumpOptions));
      const metadata: MetadataJson = await buildMetadata(w.loader.name, { gitDir: w.gitDir });
      return {
        loaderJson: pythonJson({ Loader: fullLoaderName(w.loader.name), ...(extras ?? {}) }),
        // Containers change in place after creation; only data keys carry checksums.
        checksums: w.loader.kind === undefined || w.loader.kind === 'data',
        metadata: (checksums) => pythonJson({ ...metadata, ...(checksums === undefined ? {} : { [CHECKSUMS_FIELD]: checksums }), ...w.extraMetadata }),
      };
    },
  };
  return { commit, created: () => created };
}

function isMissingFile(err: unknown): boolean {
  return isDataBaseError(err, 'CorruptKeyError') && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
