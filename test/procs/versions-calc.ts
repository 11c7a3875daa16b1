/**
 * Child process for the "compute once" test: waits for `<markerDir>/go`, then calls
 * maybeCalculate on <key> with a recipe; the computation leaves `computed-<pid>` in markerDir
 * and takes a while, so that all callers overlap. Prints the value it got as JSON.
 * Args: <dbDir> <key> <markerDir>
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { DataBase } from '../../src/index.js';
import { settleBackgroundRemovals } from '../../src/store/keyfolder.js';

const [dbDir, key, markerDir] = process.argv.slice(2);
if (dbDir === undefined || key === undefined || markerDir === undefined) {
  process.stderr.write('usage: versions-calc <dbDir> <key> <markerDir>\n');
  process.exit(2);
}
const db = await DataBase.open(dbDir, { lockTimeoutMs: 30_000 });
process.stdout.write('ready\n');
while (!fsSync.existsSync(path.join(markerDir, 'go'))) await new Promise((resolve) => setTimeout(resolve, 5));
const value = await db.maybeCalculate(key, async () => {
  fsSync.writeFileSync(path.join(markerDir, `computed-${process.pid}`), '');
  await new Promise((resolve) => setTimeout(resolve, 800));
  return { by: process.pid, data: [1, 2, 3] };
}, { params: { window: [0, 100] }, code: 'v1' });
await settleBackgroundRemovals();
process.stdout.write(`${JSON.stringify(value)}\n`);
