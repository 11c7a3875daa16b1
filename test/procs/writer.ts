/**
 * Child process: set the same key `count` times with values that say who wrote them.
 * argv: <dbDir> <key> <writerId> <count>. Prints `done <count>` when every set succeeded.
 */
import { DataBase } from '../../src/index.js';
import { settleBackgroundRemovals } from '../../src/store/keyfolder.js';

const [dbDir, key, writerId, countText] = process.argv.slice(2);
if (dbDir === undefined || key === undefined || writerId === undefined || countText === undefined) {
  throw new Error('usage: writer.js <dbDir> <key> <writerId> <count>');
}
const count = Number(countText);
const db = await DataBase.open(dbDir);
console.log('ready');
for (let i = 0; i < count; i++) {
  const stamp = Number(writerId) * 1000 + i;
  await db.set(key, { writer: writerId, i, pid: process.pid, data: new Float64Array(2048).fill(stamp) });
}
await settleBackgroundRemovals();
console.log(`done ${count}`);
