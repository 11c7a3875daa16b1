/**
 * The Parquet loaders' conformance cases (pandas_to_parquet, dask_to_parquet) and ISF's
 * to_msgpack, registered into the shared suite (which conformance.test.ts also runs with
 * fsync: false and keepVersions: 2).
 */
import { expect } from 'vitest';
import { Table, makeVector, tableFromArrays, vectorFromArray, Utf8 } from 'apache-arrow';
import { columnLabels, indexColumnOf, withColumnLabelTypes, withIndex } from '../../loaders/parquet/frame.js';
import { PartitionedFrame } from '../../loaders/parquet/partitioned-frame.js';
import { conformanceCases, registerConformanceCases, type ConformanceCase } from './suite.js';

/** Column values with nulls as null and dictionaries decoded (dask partitions store strings). */
function valuesOf(table: Table): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name);
    out[field.name] = Array.from({ length: table.numRows }, (_, i) => vector?.get(i) ?? null);
  }
  return out;
}

function expectSameFrame(actual: unknown, expected: unknown): void {
  expect(actual).toBeInstanceOf(Table);
  const [a, e] = [actual as Table, expected as Table];
  expect(a.numRows).toBe(e.numRows);
  expect(indexColumnOf(a)).toBe(indexColumnOf(e));
  expect(columnLabels(a)).toEqual(columnLabels(e));
  // The index column is stored last, as pyarrow orders it: compare by name.
  expect(valuesOf(a)).toEqual(valuesOf(e));
}

async function expectSamePartitions(actual: unknown, expected: unknown): Promise<void> {
  expect(actual).toBeInstanceOf(PartitionedFrame);
  const frame = actual as PartitionedFrame;
  const parts = expected as Table[];
  expect(frame.numPartitions).toBe(parts.length);
  for (let i = 0; i < parts.length; i++) expectSameFrame(await frame.readPartition(i), parts[i]);
}

function trace(ids: string[], base: number): Table {
  const columns: Record<string, ReturnType<typeof makeVector>> = { sim_trial_index: vectorFromArray(ids, new Utf8()) };
  for (const t of ['0.0', '0.025', '0.05']) columns[t] = makeVector(Float64Array.from(ids, (_, i) => (i === 1 ? Number.NaN : base + i + Number(t))));
  return withColumnLabelTypes(withIndex(new Table(columns), 'sim_trial_index'), { '0.0': 'float', '0.025': 'float', '0.05': 'float' });
}

const mixed = withIndex(new Table({
  n: makeVector(Int32Array.from({ length: 300 }, (_, i) => i % 7)),
  v: makeVector(Float64Array.from({ length: 300 }, (_, i) => (i % 5 === 0 ? Number.NaN : i / 3))),
  s: vectorFromArray(Array.from({ length: 300 }, (_, i) => (i % 4 === 0 ? null : `s${i % 9}`)), new Utf8()),
  id: vectorFromArray(Array.from({ length: 300 }, (_, i) => `t${String(i).padStart(4, '0')}`), new Utf8()),
}), 'id');

export const parquetCases: ConformanceCase[] = [
  { loader: 'pandas_to_parquet', name: 'float-labels-index-nan', value: trace(['a/0', 'a/1', 'a/2'], -65), compare: expectSameFrame, defaultLoader: 'pandas_to_parquet' },
  { loader: 'pandas_to_parquet', name: 'mixed-types-nulls', value: mixed, compare: expectSameFrame, defaultLoader: 'pandas_to_parquet' },
  { loader: 'dask_to_parquet', name: 'trace-partitions', value: [trace(['a/0', 'a/1'], -65), trace(['b/0', 'b/1', 'b/2'], -60)], compare: expectSamePartitions, defaultLoader: 'dask_to_parquet' },
  {
    loader: 'dask_to_parquet', name: 'string-columns',
    // tableFromArrays makes the strings dictionaries; they come back as plain strings.
    value: [tableFromArrays({ k: ['x', 'y'], w: Float64Array.of(1, 2) }), tableFromArrays({ k: ['z', 'x'], w: Float64Array.of(3, 4) })],
    compare: expectSamePartitions, defaultLoader: 'dask_to_parquet',
  },
];
registerConformanceCases(...parquetCases);

// ISF's to_msgpack (named explicitly) round-trips every value plain msgpack holds.
for (const c of conformanceCases.filter((x) => x.loader === 'value_to_msgpack' && isPortable(x.value))) {
  registerConformanceCases({ loader: 'to_msgpack', name: c.name, value: c.value });
}

function isPortable(value: unknown): boolean {
  if (typeof value === 'bigint' || ArrayBuffer.isView(value)) return false;
  if (typeof value === 'number') return !Object.is(value, -0);
  if (value === null || typeof value !== 'object') return true;
  return Object.values(value).every(isPortable);
}
