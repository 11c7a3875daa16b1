/** `mdb://` and `reldb://` paths, as ISF's dbopen writes them into parameter files. */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { DataBase, type OpenOptions } from './database.js';
import { InvalidPathError } from './errors.js';
import { DB_STATE_FILE } from './ondisk.js';
import { keyParts } from './keys.js';

export interface ResolveOptions {
  /** For `reldb://`: a path inside the database (a file or folder); default the working directory. */
  from?: string;
  /** For `mdb://`: how to reach the registry. */
  open?: OpenOptions;
}

const MDB = 'mdb://';
const RELDB = 'reldb://';

/** Turn an `mdb://`, `reldb://` or plain path into an absolute filesystem path. */
export async function resolvePath(target: string, options: ResolveOptions = {}): Promise<string> {
  if (target.startsWith(MDB)) return resolveMdb(target, options);
  if (target.startsWith(RELDB)) return resolveReldb(target, options);
  return path.resolve(options.from !== undefined ? await folderOf(options.from) : process.cwd(), target);
}

async function resolveMdb(target: string, options: ResolveOptions): Promise<string> {
  const [id, key, ...rest] = target.slice(MDB.length).split('/');
  if (id === undefined || id === '' || key === undefined || key === '') {
    throw new InvalidPathError(target, 'expected mdb://<database id>/<key>/<path inside the key>');
  }
  try {
    keyParts(key);
  } catch (err) {
    throw new InvalidPathError(target, (err as Error).message);
  }
  const db = await DataBase.byId(id, { ...options.open, readonly: true });
  const keyFolder = await db.folderOf(key);
  // The key folder itself must not lead out of the database either (a symbolic link in its place).
  return insideOf(keyFolder, rest.join('/'), target, db.basedir);
}

async function resolveReldb(target: string, options: ResolveOptions): Promise<string> {
  const relative = target.slice(RELDB.length);
  const start = options.from !== undefined ? await folderOf(options.from) : process.cwd();
  const root = await enclosingDataBase(start);
  if (root === undefined) throw new InvalidPathError(target, `no database encloses ${start} (no db_state.json in it or above it)`);
  return insideOf(root, relative, target);
}

/** The nearest folder at or above `start` that holds db_state.json. */
export async function enclosingDataBase(start: string): Promise<string | undefined> {
  let dir = path.resolve(start);
  for (;;) {
    try {
      await fs.access(path.join(dir, DB_STATE_FILE));
      return dir;
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  }
}

async function folderOf(p: string): Promise<string> {
  const resolved = path.resolve(p);
  try {
    return (await fs.stat(resolved)).isDirectory() ? resolved : path.dirname(resolved);
  } catch {
    return path.dirname(resolved);
  }
}

/**
 * Join and refuse a result that leaves `container` (default `base`): lexically through `..`, or
 * really, through a symbolic link on the way (checked on the real paths of what exists).
 */
async function insideOf(base: string, rest: string, target: string, container = base): Promise<string> {
  const joined = path.resolve(base, rest);
  if (!isWithin(joined, base)) throw new InvalidPathError(target, `the path leaves ${base}`);
  const [realJoined, realContainer] = await Promise.all([realPathOfPrefix(joined), realPathOfPrefix(container)]);
  if (!isWithin(realJoined, realContainer)) {
    throw new InvalidPathError(target, `the path leaves ${container} through a symbolic link (it leads to ${realJoined})`);
  }
  return joined;
}

function isWithin(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith(path.sep) ? outer : `${outer}${path.sep}`);
}

/** The real path of `p`: of its longest existing prefix, joined with the part that does not exist yet. */
async function realPathOfPrefix(p: string): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    // A dangling symbolic link: where a write through it would land.
    const link = await fs.readlink(p).catch(() => undefined);
    if (link !== undefined) return realPathOfPrefix(path.resolve(path.dirname(p), link));
    const parent = path.dirname(p);
    return parent === p ? p : path.join(await realPathOfPrefix(parent), path.basename(p));
  }
}

/** @deprecated Use enclosingDataBase (one spelling of DataBase in every name). */
export const enclosingDatabase = enclosingDataBase;
