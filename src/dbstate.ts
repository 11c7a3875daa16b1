/** db_state.json: creating, reading and updating a database folder's identity. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { NotADataBaseError } from './errors.js';
import { DB_STATE_FILE, dbStateSchema, pythonJson, readJsonFile, type DbStateJson, REGISTERED_DUMPERS } from './ondisk.js';
import { randomToken, replaceFileAtomically, syncDirectory, writeFileSynced } from './store/durable.js';

const LEGACY_MARKERS = ['dbcore.pickle', 'sqlitedict.db'];
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `<YYYY-MM-DD (UTC)>_<pid>_<7 random chars>`, as ISF makes them. */
export function newUniqueId(now = new Date()): string {
  return `${now.toISOString().slice(0, 10)}_${process.pid}_${randomToken(7, ID_ALPHABET)}`;
}

export function dbStateFile(dir: string): string {
  return path.join(dir, DB_STATE_FILE);
}

export async function readDbState(dir: string): Promise<DbStateJson | undefined> {
  try {
    await fs.access(dbStateFile(dir));
  } catch {
    return undefined;
  }
  return readJsonFile(dbStateFile(dir), dbStateSchema);
}

export async function writeDbState(dir: string, state: DbStateJson): Promise<void> {
  await replaceFileAtomically(dbStateFile(dir), pythonJson(state));
}

/** Refuse a folder that holds a legacy ModelDataBase rather than an ISF database. */
export async function refuseLegacy(dir: string): Promise<void> {
  for (const marker of LEGACY_MARKERS) {
    try {
      await fs.access(path.join(dir, marker));
    } catch {
      continue;
    }
    throw new NotADataBaseError(dir, `holds a legacy ModelDataBase (${marker}); convert it with Python ISF before opening it here`);
  }
}

/**
 * Create the database files in `dir` (absent or empty). Exclusive: when another process
 * creates the same database at the same moment, both end up with the one state it wrote.
 */
export async function createDbState(dir: string, registeredTo: string): Promise<DbStateJson> {
  await fs.mkdir(dir, { recursive: true });
  const entries = (await fs.readdir(dir)).filter((entry) => !entry.startsWith(`.${DB_STATE_FILE}.`));
  if (entries.length > 0 && !entries.includes(DB_STATE_FILE)) {
    throw new NotADataBaseError(dir, "can't build database: folder not empty and holds no db_state.json");
  }
  const state: DbStateJson = { _registeredDumpers: REGISTERED_DUMPERS, _unique_id: newUniqueId(), _registered_to_path: registeredTo };
  const temp = path.join(dir, `.${DB_STATE_FILE}.${process.pid}.${randomToken(6)}`);
  await writeFileSynced(temp, pythonJson(state));
  try {
    await fs.link(temp, dbStateFile(dir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await fs.rm(temp, { force: true });
    const winner = await readDbState(dir);
    if (winner !== undefined) return winner;
    throw err;
  }
  await fs.rm(temp, { force: true });
  await syncDirectory(dir);
  return state;
}
