/**
 * Child process: set one big array under a key (to be killed in the middle).
 * argv: <dbDir> <key> <fillValue> <elements> <lockStaleMs>. Prints `ready` before the set, `done` after.
 */
import { DataBase } from '../../src/index.js';

const [dbDir, key, fillText, elementsText, staleText] = process.argv.slice(2);
if (dbDir === undefined || key === undefined || fillText === undefined || elementsText === undefined || staleText === undefined) {
  throw new Error('usage: big-writer.js <dbDir> <key> <fillValue> <elements> <lockStaleMs>');
}
const db = await DataBase.open(dbDir, { lockStaleMs: Number(staleText) });
const value = new Float64Array(Number(elementsText)).fill(Number(fillText));
console.log('ready');
await db.set(key, value);
console.log('done');
