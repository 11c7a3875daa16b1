/**
 * Child process: open readonly and read keys in a loop; prints one JSON line with what it read.
 * argv: <dbDir> <count> <key>...
 */
import { DataBase } from '../../src/index.js';

const [dbDir, countText, ...keys] = process.argv.slice(2);
if (dbDir === undefined || countText === undefined || keys.length === 0) throw new Error('usage: reader.js <dbDir> <count> <key>...');
const started = Date.now();
const seen: unknown[] = [];
for (let i = 0; i < Number(countText); i++) {
  const db = await DataBase.open(dbDir, { readonly: true });
  for (const key of keys) seen.push(await db.get(key));
}
const summary = (_k: string, v: unknown): unknown =>
  ArrayBuffer.isView(v) ? { length: (v as Float64Array).length, first: (v as Float64Array)[0], last: (v as Float64Array).at(-1) } : v;
console.log(JSON.stringify({ ms: Date.now() - started, seen: seen.slice(0, keys.length) }, summary));
