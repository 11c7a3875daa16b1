/**
 * Child process: commit batches with db.setMany (or single `set`s) over a range of keys, each
 * value saying which generation wrote it, until `rounds` are done (or the process is killed).
 * argv: <dbDir> <mode: many|set> <from> <to> <rounds> <writerId> [shuffle|pause|crash:<n>]
 * Prints `ready`, then `batch <g>` after generation g is committed, and `done` at the end.
 * With `pause`, setMany's dump of the middle key of each batch prints `staging <g>` and waits
 * 200 ms, so that a test can kill the writer in the middle of a batch. With `crash:<n>`, the
 * process kills itself (SIGKILL) in its first batch after publishing n keys and retiring the old
 * value of the next one: between that key's two renames.
 * A value: { gen, writer, key, data: Float64Array(256) filled with gen*1000+writer }.
 */
import fsSync from 'node:fs';
import { DataBase, getLoader, type Loader } from '../../src/index.js';
import { settleBackgroundRemovals } from '../../src/store/keyfolder.js';

const [dbDir, mode, fromText, toText, roundsText, writerText, shuffle] = process.argv.slice(2);
if (dbDir === undefined || mode === undefined || fromText === undefined || toText === undefined || roundsText === undefined || writerText === undefined) {
  throw new Error('usage: batch-writer.js <dbDir> <many|set> <from> <to> <rounds> <writerId> [shuffle|pause|crash:<n>]');
}
const writer = Number(writerText);
const db = await DataBase.open(dbDir, { lockStaleMs: 2000 });
const keys = Array.from({ length: Number(toText) - Number(fromText) }, (_, i) => `k${String(Number(fromText) + i).padStart(3, '0')}`);
const value = (gen: number, key: string) => ({ gen, writer, key, data: new Float64Array(256).fill(gen * 1000 + writer) });
const msgpack = await getLoader('value_to_msgpack');
let dumped = 0;
/** value_to_msgpack, announcing (and pausing at) the middle key of each batch. */
const pausing: Loader<never> = {
  ...msgpack,
  dump: async (value, dir, ctx, options) => {
    if (++dumped % keys.length === Math.floor(keys.length / 2)) {
      console.log(`staging ${(value as { gen: number }).gen}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return msgpack.dump(value, dir, ctx, options);
  },
};
const dumper = shuffle === 'pause' ? pausing : undefined;

if (shuffle?.startsWith('crash:')) {
  const publishes = Number(shuffle.slice('crash:'.length));
  let published = 0;
  const rename = fsSync.renameSync;
  fsSync.renameSync = (from: fsSync.PathLike, to: fsSync.PathLike) => {
    rename(from, to);
    if (String(from).includes('.isfdb.deleting.staging')) published++;
    else if (String(to).includes('.deleting.') && published === publishes) process.kill(process.pid, 'SIGKILL');
  };
}
console.log('ready');
for (let gen = 1; gen <= Number(roundsText); gen++) {
  // Another order each round: overlapping batches must not deadlock whatever order they are given in.
  const order = shuffle === 'shuffle' ? [...keys].sort(() => Math.random() - 0.5) : keys;
  if (mode === 'many') await db.setMany(order.map((key) => ({ key, value: value(gen, key), ...(dumper === undefined ? {} : { dumper }) })));
  else for (const key of order) await db.set(key, value(gen, key));
  console.log(`batch ${gen}`);
}
await settleBackgroundRemovals();
console.log('done');
