/** Opening the database a command names, with messages about the folder rather than open() flags. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataBase, NotADataBaseError, isDataBaseError } from '../index.js';

/** Open an existing database: readonly for commands that only read, else without creating one. */
export async function openExisting(dir: string, mode: 'read' | 'write'): Promise<DataBase> {
  const basedir = path.resolve(dir);
  const stat = await fs.stat(basedir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new NotADataBaseError(basedir, 'no such folder');
    throw err;
  });
  if (!stat.isDirectory()) throw new NotADataBaseError(basedir, 'not a folder, so not a database');
  try {
    return await DataBase.open(basedir, mode === 'read' ? { readonly: true } : { nocreate: true });
  } catch (err) {
    if (isDataBaseError(err, 'NotADataBaseError') && err.path === basedir && /no db_state\.json/.test(err.reason)) {
      throw new NotADataBaseError(basedir, 'not a database (it holds no db_state.json)');
    }
    throw err;
  }
}
