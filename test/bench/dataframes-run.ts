/**
 * Runs the data frame benchmark (`node --expose-gc dist/test/bench/dataframes-run.js [--quick]`),
 * or, with `--child <op> <dir> <rows>`, one measurement of it in this process, printing a JSON
 * line with its time and peak RSS.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Table, makeVector } from 'apache-arrow';
import { loader as pandasLoader } from '../../loaders/pandas_to_parquet.js';
import { loader as daskLoader } from '../../loaders/dask_to_parquet.js';
import { readFrameFile, readObjectMeta } from '../../loaders/parquet/frame-io.js';
import { withIndex } from '../../loaders/parquet/frame.js';
import type { PartitionedFrame } from '../../loaders/parquet/partitioned-frame.js';
import type { LoaderContext } from '../../loaders/types.js';
import { benchDataFrames, type ChildResult } from './dataframes.js';

const context: LoaderContext = {
  key: 'bench', basedir: '/bench', readonly: false,
  createDatabase: async () => undefined, openDatabase: async () => undefined,
};

/** 4 float64 columns of pseudo-random values and one int32 column, from a fixed seed. */
function makeFrame(rows: number): Table {
  let state = 0x9e3779b9;
  const next = (): number => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state;
  };
  const columns: Record<string, ReturnType<typeof makeVector>> = {};
  for (const name of ['a', 'b', 'c', 'd']) {
    const values = new Float64Array(rows);
    for (let i = 0; i < rows; i++) values[i] = next() / 4294967296 * 100;
    columns[name] = makeVector(values);
  }
  const ints = new Int32Array(rows);
  for (let i = 0; i < rows; i++) ints[i] = next() | 0;
  columns.e = makeVector(ints);
  return new Table(columns);
}

async function warmUp(dir: string): Promise<void> {
  const warmDir = join(dir, `warm-${process.pid}`);
  await fs.mkdir(warmDir, { recursive: true });
  await pandasLoader.dump(makeFrame(100_000), warmDir, context);
  await pandasLoader.load(warmDir, { Loader: 'pandas_to_parquet' }, context);
  await fs.rm(warmDir, { recursive: true, force: true });
  gc();
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function maxRssMB(): number {
  // resourceUsage().maxRSS is in kilobytes.
  return process.resourceUsage().maxRSS / 1024;
}

async function duck(): Promise<{ run: (sql: string) => Promise<unknown>; stream: (sql: string) => Promise<{ fetchChunk(): Promise<{ rowCount: number; getColumnVector(i: number): unknown } | null> }> }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  return {
    run: (sql) => connection.run(sql),
    stream: (sql) => connection.stream(sql) as never,
  };
}

async function child(op: string, dir: string, rows: number): Promise<ChildResult> {
  const frameDir = join(dir, 'frame');
  const ourFile = join(frameDir, 'pandas_to_parquet.parquet');
  const duckFile = join(dir, 'duck.parquet');
  switch (op) {
    case 'ours-set': {
      const frame = makeFrame(rows);
      await fs.rm(frameDir, { recursive: true, force: true });
      await fs.mkdir(frameDir, { recursive: true });
      gc();
      const t0 = performance.now();
      await pandasLoader.dump(frame, frameDir, context);
      return { ms: performance.now() - t0, maxRssMB: maxRssMB() };
    }
    case 'duck-set': {
      const db = await duck();
      await db.run(`CREATE TABLE frame AS SELECT a, b, c, d, e FROM read_parquet('${ourFile}')`);
      const t0 = performance.now();
      await db.run(`COPY frame TO '${duckFile}' (FORMAT parquet, COMPRESSION snappy)`);
      return { ms: performance.now() - t0, maxRssMB: maxRssMB() };
    }
    case 'ours-get': {
      // Warm, as pandas' baseline is (best of 2 in one process): load the reader's lazy parts
      // (zstd-napi, Node's internals) on a small frame first, without a second large table in RSS.
      await warmUp(dir);
      const t0 = performance.now();
      const table = (await pandasLoader.load(frameDir, { Loader: 'pandas_to_parquet' }, context)) as Table;
      const ms = performance.now() - t0;
      if (table.numRows !== rows) throw new Error('wrong row count');
      return { ms, maxRssMB: maxRssMB() };
    }
    case 'ours-get-column': {
      const meta = await readObjectMeta(join(frameDir, 'object_meta.json'), 'bench');
      const t0 = performance.now();
      const { bytesRead } = await readFrameFile(ourFile, meta, join(frameDir, 'object_meta.json'), { columns: ['c'] }, { key: 'bench', loader: 'pandas_to_parquet' });
      const ms = performance.now() - t0;
      const fileBytes = (await fs.stat(ourFile)).size;
      return { ms, maxRssMB: maxRssMB(), bytesRead: bytesRead ?? 0, fileBytes };
    }
    case 'duck-get': {
      const db = await duck();
      const t0 = performance.now();
      const result = await db.stream(`SELECT a, b, c, d, e FROM read_parquet('${duckFile}')`);
      const out = [new Float64Array(rows), new Float64Array(rows), new Float64Array(rows), new Float64Array(rows), new Int32Array(rows)];
      let at = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        for (let c = 0; c < 5; c++) {
          const items = (chunk.getColumnVector(c) as unknown as { items: Float64Array | Int32Array }).items;
          (out[c] as Float64Array).set(items.subarray(0, chunk.rowCount) as Float64Array, at);
        }
        at += chunk.rowCount;
      }
      const ms = performance.now() - t0;
      if (at !== rows) throw new Error(`DuckDB returned ${at} rows`);
      return { ms, maxRssMB: maxRssMB() };
    }
    case 'raw': {
      const size = (await fs.stat(ourFile)).size;
      const bytes = Buffer.alloc(size, 7);
      const rawFile = join(dir, 'raw.bin');
      let t0 = performance.now();
      await fs.writeFile(rawFile, bytes);
      const writeMs = performance.now() - t0;
      t0 = performance.now();
      const back = await fs.readFile(rawFile);
      const readMs = performance.now() - t0;
      await fs.rm(rawFile);
      return { ms: writeMs + readMs, maxRssMB: maxRssMB(), bytes: back.length, extra: { writeMs, readMs } };
    }
    case 'partitions': {
      const count = rows;
      const rowsPerPartition = 100;
      const partsDir = join(dir, 'parts');
      await fs.rm(partsDir, { recursive: true, force: true });
      await fs.mkdir(partsDir);
      async function* partitions(): AsyncGenerator<Table> {
        for (let p = 0; p < count; p++) {
          const index = Float64Array.from({ length: rowsPerPartition }, (_, i) => p * rowsPerPartition + i);
          yield withIndex(new Table({ t: makeVector(index), v: makeVector(Float64Array.from(index, (x) => x * 2)) }), 't');
        }
      }
      let t0 = performance.now();
      await daskLoader.dump(partitions(), partsDir, context);
      const writeMs = performance.now() - t0;
      t0 = performance.now();
      const frame = (await daskLoader.load(partsDir, { Loader: 'dask_to_parquet' }, context)) as PartitionedFrame;
      const openMs = performance.now() - t0;
      // Count the partition files opened while reading one partition.
      const touched = new Set<string>();
      const open = fs.open.bind(fs);
      (fs as { open: typeof fs.open }).open = (async (path: Parameters<typeof fs.open>[0], ...rest: unknown[]) => {
        if (String(path).endsWith('.parquet')) touched.add(String(path));
        return (open as (...a: unknown[]) => ReturnType<typeof fs.open>)(path, ...rest);
      }) as typeof fs.open;
      t0 = performance.now();
      await frame.readPartition(Math.floor(count / 2));
      const readOneMs = performance.now() - t0;
      (fs as { open: typeof fs.open }).open = open;
      const filesTouched = touched.size;
      const prunedPartitions = frame.partitionsInRange([250, 420]).length;
      return {
        ms: writeMs + openMs + readOneMs, maxRssMB: maxRssMB(),
        extra: { partitions: frame.numPartitions, rowsPerPartition, writeMs, openMs, readOneMs, filesTouched, prunedPartitions },
      };
    }
    default:
      throw new Error(`unknown bench op '${op}'`);
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  const [, op, dir, rows] = args;
  const result = await child(op ?? '', dir ?? '', Number(rows));
  console.log(JSON.stringify(result));
} else {
  await benchDataFrames({ quick: args.includes('--quick') });
}
