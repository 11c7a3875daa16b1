/**
 * Every frame key is readable in place by other engines, without this library: DuckDB with
 * `read_parquet('<key folder>/*.parquet')`, pyarrow and dask with a glob of the part files
 * (the one-liners of docs/scaling.md).
 */
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { withIndex } from '../../src/frames.js';
import { cleanupTemp, sandbox } from '../core/helpers.js';
import { pythonWith, runPython, skipReason } from '../services.js';

afterAll(cleanupTemp);

const rows = 1200;
function part(from: number, to: number) {
  const n = to - from;
  return withIndex(tableFromArrays({
    sim_trial_index: Array.from({ length: n }, (_, i) => `trial_${String(from + i).padStart(5, '0')}`),
    v: Float64Array.from({ length: n }, (_, i) => (from + i) / 4),
    k: Int32Array.from({ length: n }, (_, i) => from + i),
  }), 'sim_trial_index');
}

async function database(): Promise<{ db: DataBase; pandasKey: string; daskKey: string; zstdKey: string }> {
  const sb = await sandbox();
  const db = await DataBase.open(path.join(sb.root, 'engines'));
  await db.set('whole', part(0, rows));
  await db.set(['by_run', 'traces'], [part(0, 400), part(400, 800), part(800, rows)], 'dask_to_parquet');
  await db.set('zstd_traces', [part(0, 600), part(600, rows)], 'dask_to_parquet', { compression: 'zstd' });
  return { db, pandasKey: await db.folderOf('whole'), daskKey: await db.folderOf(['by_run', 'traces']), zstdKey: await db.folderOf('zstd_traces') };
}

const expectedSum = Array.from({ length: rows }, (_, i) => i / 4).reduce((a, b) => a + b, 0);

describe('frame keys read in place by other engines', () => {
  it("DuckDB: read_parquet('<key>/*.parquet') on pandas_to_parquet and dask_to_parquet keys (snappy, zstd)", async () => {
    const { pandasKey, daskKey, zstdKey } = await database();
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    for (const folder of [pandasKey, daskKey, zstdKey]) {
      const got = (await duck.runAndReadAll(`SELECT count(*), sum(v), sum(k), min(sim_trial_index), max(sim_trial_index) FROM read_parquet('${folder}/*.parquet')`)).getRows()[0]!;
      expect(Number(got[0]), folder).toBe(rows);
      expect(got[1] as number).toBeCloseTo(expectedSum, 6);
      expect(Number(got[2])).toBe((rows * (rows - 1)) / 2);
      expect(got.slice(3)).toEqual(['trial_00000', `trial_${String(rows - 1).padStart(5, '0')}`]);
    }
    duck.closeSync();
  }, 60_000);

  const python = pythonWith(['pyarrow', 'dask.dataframe']);
  const skip = skipReason(python, 'pyarrow/dask one-liners');
  it.skipIf(skip !== undefined)(`pyarrow and dask: a glob of the part files${skip ? ` (${skip})` : ''}`, async () => {
    const { pandasKey, daskKey, zstdKey } = await database();
    const script = `
import glob, json, sys
import pyarrow.parquet as pq
import dask.dataframe as dd
out = []
for key in sys.argv[1:]:
    t = pq.ParquetDataset(sorted(glob.glob(key + '/*.parquet'))).read()
    d = dd.read_parquet(key + '/*.parquet').compute()
    out.append([t.num_rows, float(t.column('v').to_pandas().sum()), len(d), float(d['v'].sum()), d.index.name, str(d.index[0])])
print(json.dumps(out))`;
    const got = JSON.parse(runPython(python.ok ? python.value : '', script, [pandasKey, daskKey, zstdKey])) as unknown[][];
    for (const row of got) {
      expect(row[0]).toBe(rows);
      expect(row[1] as number).toBeCloseTo(expectedSum, 6);
      expect(row[2]).toBe(rows);
      expect(row[3] as number).toBeCloseTo(expectedSum, 6);
      expect(row.slice(4)).toEqual(['sim_trial_index', 'trial_00000']);
    }
  }, 120_000);
});
