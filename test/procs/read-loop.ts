/**
 * Child process: read a key in a loop until told to stop (a file appears), counting reads and failures.
 * argv: <dbDir> <key> <stopFile>. Prints one JSON line: { reads, failures: [messages], values: [distinct writer ids] }.
 */
import fsSync from 'node:fs';
import { DataBase } from '../../src/index.js';

const [dbDir, key, stopFile] = process.argv.slice(2);
if (dbDir === undefined || key === undefined || stopFile === undefined) throw new Error('usage: read-loop.js <dbDir> <key> <stopFile>');
const db = await DataBase.open(dbDir, { readonly: true });
console.log('ready');
let reads = 0;
const failures: string[] = [];
const writers = new Set<string>();
while (!fsSync.existsSync(stopFile)) {
  try {
    const value = (await db.get(key)) as { writer: string; i: number; data: Float64Array };
    const stamp = Number(value.writer) * 1000 + value.i;
    if (!value.data.every((x) => x === stamp)) failures.push(`incomplete value from writer ${value.writer}`);
    writers.add(value.writer);
    reads++;
  } catch (err) {
    failures.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  }
}
console.log(JSON.stringify({ reads, failures: failures.slice(0, 5), failureCount: failures.length, writers: [...writers].sort() }));
