/**
 * Child process: take a key's write lock and keep it (a loader whose dump never ends), until killed.
 * argv: <dbDir> <key> <lockStaleMs>. Prints `holding` once the lock is held.
 */
import { DataBase, registerLoader, type Loader } from '../../src/index.js';

const [dbDir, key, staleText] = process.argv.slice(2);
if (dbDir === undefined || key === undefined || staleText === undefined) throw new Error('usage: lock-holder.js <dbDir> <key> <lockStaleMs>');

const blocker: Loader<unknown> = {
  name: 'blocker',
  canDump: () => false,
  dump: async () => {
    console.log('holding');
    await new Promise(() => { /* never settles: the lock stays held */ });
  },
  load: async () => undefined,
};
registerLoader(blocker as Loader<never>);
// Keep the process alive while the dump promise is pending.
setInterval(() => undefined, 60_000);
const db = await DataBase.open(dbDir, { lockStaleMs: Number(staleText) });
await db.set(key, 'never stored', 'blocker');
