/** Child of many-partitions.test.ts: writes a dask_to_parquet key of N partitions (fsync on) and reads it back. */
import { Table, makeVector } from 'apache-arrow';
import { DataBase } from '../../src/index.js';
import type { PartitionedFrame } from '../../loaders/parquet/partitioned-frame.js';

const [dir, countText] = process.argv.slice(2);
const count = Number(countText);
function* partitions(): Generator<Table> {
  for (let i = 0; i < count; i++) yield new Table({ x: makeVector(Float64Array.of(i, i + 0.5)) });
}
const db = await DataBase.open(dir as string);
await db.set('many', partitions(), 'dask_to_parquet');
const frame = await db.get('many') as PartitionedFrame;
const last = await frame.readPartition(count - 1);
process.stdout.write(`${JSON.stringify({ partitions: frame.numPartitions, last: last.getChild('x')?.get(1) })}\n`);
