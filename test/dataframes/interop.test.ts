/**
 * Our Parquet checked by independent readers (DuckDB, hyparquet), and files written by another
 * writer (DuckDB: dictionary pages, real snappy back-references) read by ours.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Table, vectorFromArray, Utf8, Dictionary, Int8 } from 'apache-arrow';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { loader } from '../../loaders/pandas_to_parquet.js';
import { withIndex, frameIndexOf, indexColumnOf } from '../../loaders/parquet/frame.js';
import { pandasMetadataSchema } from '../../loaders/parquet/ondisk.js';
import { readParquet } from '../../loaders/parquet/codec.js';
import { columnsOf, fakeContext, frameOf, tempDir } from './helpers.js';

let connection: DuckDBConnection;
const temp = tempDir();
beforeAll(async () => {
  connection = await (await DuckDBInstance.create(':memory:')).connect();
});
afterAll(() => temp.cleanup());

async function duckRows(sql: string): Promise<unknown[][]> {
  return (await connection.runAndReadAll(sql)).getRows();
}

describe('our files, read by others', () => {
  it('DuckDB and hyparquet read the same values; the pandas metadata is well-formed', async () => {
    const dir = join(temp.dir, 'ours');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    const rows = 3000;
    const frame = withIndex(frameOf({
      sim_trial_index: vectorFromArray(Array.from({ length: rows }, (_, i) => `trial_${i}`), new Utf8()),
      v: Float64Array.from({ length: rows }, (_, i) => i / 7),
      n: Int32Array.from({ length: rows }, (_, i) => i * 3),
      cat: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? null : `c${i % 5}`)), new Dictionary(new Utf8(), new Int8())),
    }), 'sim_trial_index');
    await loader.dump(frame, dir, fakeContext());
    const file = join(dir, 'pandas_to_parquet.parquet');

    const duck = await duckRows(`SELECT count(*), sum(v), sum(n), count(cat), min(sim_trial_index), max(cat) FROM read_parquet('${file}')`);
    const expectedSum = Array.from({ length: rows }, (_, i) => i / 7).reduce((a, b) => a + b, 0);
    expect(Number(duck[0]?.[0])).toBe(rows);
    expect(duck[0]?.[1] as number).toBeCloseTo(expectedSum, 6);
    expect(Number(duck[0]?.[2])).toBe(3 * rows * (rows - 1) / 2);
    expect(Number(duck[0]?.[3])).toBe(2000);
    expect(duck[0]?.[4]).toBe('trial_0');
    const schema = await duckRows(`SELECT name, type FROM parquet_schema('${file}') WHERE name <> 'schema'`);
    expect(schema).toEqual([['v', 'DOUBLE'], ['n', 'INT32'], ['cat', 'BYTE_ARRAY'], ['sim_trial_index', 'BYTE_ARRAY']]);

    const bytes = readFileSync(file);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    const objects = await parquetReadObjects({ file: buffer, compressors });
    expect(objects.length).toBe(rows);
    expect(objects[10]).toEqual({ v: 10 / 7, n: 30, cat: 'c0', sim_trial_index: 'trial_10' });
    expect(objects[3]?.cat).toBeNull();

    const kv = parquetMetadata(buffer).key_value_metadata ?? [];
    const pandas = JSON.parse(kv.find((e) => e.key === 'pandas')?.value ?? 'null');
    expect(pandasMetadataSchema.safeParse(pandas).success).toBe(true);
    expect(pandas.index_columns).toEqual(['sim_trial_index']);
    // Only the stored index is described: pyarrow takes the data columns from the Parquet schema.
    expect(pandas.columns.map((c: { name: string; pandas_type: string }) => [c.name, c.pandas_type])).toEqual([['sim_trial_index', 'unicode']]);
    expect(pandas.column_indexes[0]).toEqual({ name: null, field_name: null, pandas_type: 'unicode', numpy_type: 'object', metadata: { encoding: 'UTF-8' } });
    // The categorical column needs the Arrow schema; a frame of plain types goes without it.
    expect(kv.some((e) => e.key === 'ARROW:schema')).toBe(true);
  });
});

describe('files of other writers, read by ours', () => {
  async function duckFile(name: string, select: string, options: string): Promise<string> {
    const file = join(temp.dir, name);
    await connection.run(`COPY (${select}) TO '${file}' (FORMAT parquet, ${options})`);
    return file;
  }

  it('reads dictionary pages, nulls and snappy back-references as DuckDB writes them', async () => {
    const file = await duckFile('duck.parquet', `SELECT range::INTEGER AS i, ((range % 7) * 0.5)::DOUBLE AS d, CASE WHEN range % 4 = 0 THEN NULL ELSE 'label_' || (range % 9) END AS s, range % 2 = 0 AS b, range::BIGINT * 1000000000 AS big FROM range(50000)`, 'COMPRESSION snappy, ROW_GROUP_SIZE 20000');
    const { table } = await readParquet(file);
    const reference = await duckRows(`SELECT sum(i)::DOUBLE, sum(d), count(s), sum(length(s))::DOUBLE, sum(b::INT)::DOUBLE, sum(big)::DOUBLE FROM read_parquet('${file}')`);
    let [si, sd, cs, ls, sb, sbig] = [0, 0, 0, 0, 0, 0];
    for (const row of table) {
      si += row.i as number;
      sd += row.d as number;
      if (row.s !== null) { cs++; ls += (row.s as string).length; }
      sb += row.b ? 1 : 0;
      sbig += Number(row.big as bigint);
    }
    expect([si, sd, cs, ls, sb, sbig]).toEqual(reference[0]?.map(Number));
    expect(table.batches.length).toBe(3);
  });

  it('accepts both pandas index forms: a stored index column and a range descriptor', async () => {
    const stored = JSON.stringify({ index_columns: ['__index_level_0__'], column_indexes: [], columns: [{ name: 'x', field_name: 'x', pandas_type: 'float64', numpy_type: 'float64', metadata: null }, { name: null, field_name: '__index_level_0__', pandas_type: 'int64', numpy_type: 'int64', metadata: null }], pandas_version: '1.1.3' });
    const ranged = JSON.stringify({ index_columns: [{ kind: 'range', name: null, start: 0, stop: 3, step: 1 }], column_indexes: [], columns: [{ name: 'x', field_name: 'x', pandas_type: 'float64', numpy_type: 'float64', metadata: null }], pandas_version: '1.1.3' });
    const a = await duckFile('stored.parquet', `SELECT (range * 1.5)::DOUBLE AS x, range + 10 AS __index_level_0__ FROM range(3)`, `KV_METADATA {pandas: '${stored}'}`);
    const b = await duckFile('ranged.parquet', `SELECT (range * 1.5)::DOUBLE AS x FROM range(3)`, `KV_METADATA {pandas: '${ranged}'}`);
    const tableA: Table = (await readParquet(a)).table;
    expect(indexColumnOf(tableA)).toBe('__index_level_0__');
    expect(frameIndexOf(tableA)).toEqual({ kind: 'columns', columns: ['__index_level_0__'], names: [null] });
    expect(columnsOf(tableA)).toEqual({ x: [0, 1.5, 3], __index_level_0__: [10n, 11n, 12n] });
    const tableB: Table = (await readParquet(b)).table;
    expect(indexColumnOf(tableB)).toBeUndefined();
    expect(frameIndexOf(tableB)).toEqual({ kind: 'range', name: null, start: 0, stop: 3, step: 1 });
  });

  it('falls back to the complete reader for types the fast reader lacks (decimal), keeping the pandas metadata', async () => {
    const file = await duckFile('decimal.parquet', `SELECT range * 1.5 AS x FROM range(3)`, `KV_METADATA {pandas: '{"index_columns": [], "columns": []}'}`);
    const { table, bytesRead } = await readParquet(file);
    expect(bytesRead).toBeUndefined();
    expect(table.numRows).toBe(3);
    expect(table.schema.metadata.get('pandas')).toBe('{"index_columns": [], "columns": []}');
  });

  it('reads zstd pages as DuckDB writes them', async () => {
    const file = await duckFile('zstd.parquet', `SELECT range::DOUBLE AS x FROM range(1000)`, 'COMPRESSION zstd');
    const { table, bytesRead } = await readParquet(file);
    expect(bytesRead).toBeGreaterThan(0);
    expect(table.numRows).toBe(1000);
    expect(table.getChild('x')?.get(999)).toBe(999);
  });
});
