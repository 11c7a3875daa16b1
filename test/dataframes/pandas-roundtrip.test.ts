import { describe, expect, it, afterEach } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Table, vectorFromArray, makeVector, Float32, Int8, Int16, Int64, Uint8, Uint16, Uint32, Uint64, Bool, Utf8,
  Dictionary, Int32, TimestampNanosecond, TimestampMillisecond, Float64, Field, Schema, Struct, makeData,
} from 'apache-arrow';
import { recordBatchOf } from '../../loaders/parquet/record-batch.js';
import { loader } from '../../loaders/pandas_to_parquet.js';
import { columnLabelTypes, columnLabels, frameIndexOf, indexColumnOf, withIndex, pandasMetadataOf } from '../../loaders/parquet/frame.js';
import { columnsOf, fakeContext, frameOf, tempDir, typesOf } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => { cleanups.splice(0).forEach((c) => c()); });
function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

async function roundTrip(table: Table, options = {}, loadOptions = {}): Promise<{ back: Table; dir: string }> {
  const d = dir();
  await loader.dump(table, d, fakeContext(), options);
  const back = (await loader.load(d, { Loader: 'pandas_to_parquet' }, fakeContext(), loadOptions)) as Table;
  return { back, dir: d };
}

export function everyType(): Table {
  return frameOf({
    f64: new Float64Array([1.5, Number.NaN, -0, 1e300]),
    f32: vectorFromArray([1.5, null, 3.25, -1], new Float32()),
    i8: vectorFromArray([-128, 127, null, 0], new Int8()),
    i16: vectorFromArray([-32768, 32767, 1, 0], new Int16()),
    i32: vectorFromArray([-2147483648, 2147483647, null, 5], new Int32()),
    i64: vectorFromArray([-(2n ** 63n), 2n ** 63n - 1n, 0n, null], new Int64()),
    u8: vectorFromArray([0, 255, 1, 2], new Uint8()),
    u16: vectorFromArray([0, 65535, 1, 2], new Uint16()),
    u32: vectorFromArray([0, 4294967295, null, 2], new Uint32()),
    u64: vectorFromArray([0n, 2n ** 64n - 1n, 1n, 2n], new Uint64()),
    flag: vectorFromArray([true, false, null, true], new Bool()),
    text: vectorFromArray(['a', '', null, 'ünïcödé ✓ a longer string value'], new Utf8()),
    cat: vectorFromArray(['x', 'y', null, 'x'], new Dictionary(new Utf8(), new Int8())),
    tns: makeVector({ type: new TimestampNanosecond(), length: 4, nullCount: 0, data: new BigInt64Array([1n, 1_700_000_000_123_456_789n, -5n, 0n]) }),
    tms: makeVector({ type: new TimestampMillisecond('UTC'), length: 4, nullCount: 0, data: new BigInt64Array([1n, 1_700_000_000_123n, 0n, 2n]) }),
  });
}

/** Built directly: apache-arrow's Table-from-object constructor is quadratic in the column count. */
function wideFrame(columns: number): Table {
  const fields = Array.from({ length: columns }, (_, c) => new Field(String(c), new Float64(), true));
  const children = fields.map((_, c) => makeData({ type: new Float64(), length: 2, nullCount: 0, data: Float64Array.of(c, -c) }));
  const schema = new Schema(fields);
  return new Table(schema, [recordBatchOf(schema, makeData({ type: new Struct(fields), length: 2, nullCount: 0, children }))]);
}

describe('pandas_to_parquet round trip', () => {
  it('keeps values and types of every supported column type, nulls and NaN included', async () => {
    const table = everyType();
    const { back } = await roundTrip(table);
    expect(typesOf(back)).toEqual(typesOf(table));
    expect(columnsOf(back)).toEqual(columnsOf(table));
    expect(indexColumnOf(back)).toBeUndefined();
    expect(frameIndexOf(back)).toEqual({ kind: 'range', name: null, start: 0, stop: 4, step: 1 });
  });

  it('writes the files ISF writes, with object_meta.json as ISF spells it', async () => {
    const table = withIndex(frameOf({ sim_trial_index: vectorFromArray(['t0', 't1'], new Utf8()), '100.025': new Float64Array([1, 2]), '3': new Int32Array([4, 5]), name: vectorFromArray(['a', 'b'], new Utf8()) }), 'sim_trial_index');
    const { back, dir: d } = await roundTrip(table, { columnLabelTypes: { '100.025': 'float', '3': 'int' } });
    const objectMeta = JSON.parse(readFileSync(join(d, 'object_meta.json'), 'utf8'));
    expect(objectMeta).toEqual({
      // JavaScript objects list integer-like keys first, so '3' leads the columns.
      columns: ['3', '100.025', 'name'],
      column_name_dtypes: ['int64', 'float64', '<U4'],
      index_dtype: 'object',
      // 'str', not ISF's 'object' under pandas 2: pandas 2 builds 'object' from it too, and
      // pandas 3 the string dtype its reads give (test/parquet/python-interop.test.ts)
      dtypes: ['int32', 'float64', 'str'],
      index_name: 'sim_trial_index',
      index_name_dtype: '<U15',
    });
    expect(readFileSync(join(d, 'object_meta.json'), 'utf8')).toContain('"columns": ["3", "100.025", "name"]');
    expect(indexColumnOf(back)).toBe('sim_trial_index');
    expect(back.schema.fields.map((f) => f.name)).toEqual(['3', '100.025', 'name', 'sim_trial_index']);
    expect([...columnLabelTypes(back)]).toEqual([['3', 'int'], ['100.025', 'float'], ['name', 'str']]);
    expect(columnLabels(back)).toEqual([3, 100.025, 'name']);
  });

  it('one label type for every data column (columnLabelType), a listed label overriding it', async () => {
    const table = withIndex(frameOf({ sim_trial_index: vectorFromArray(['t0'], new Utf8()), '100.0': new Float64Array([1]), '100.025': new Float64Array([2]), '7': new Float64Array([3]) }), 'sim_trial_index');
    const { back, dir: d } = await roundTrip(table, { columnLabelType: 'float', columnLabelTypes: { '7': 'int' } });
    expect(JSON.parse(readFileSync(join(d, 'object_meta.json'), 'utf8')).column_name_dtypes).toEqual(['int64', 'float64', 'float64']);
    expect(columnLabels(back)).toEqual([7, 100, 100.025]);
    // the same check as for a listed label: a label that is no number cannot be a float
    const named = frameOf({ '1.5': new Float64Array([1]), volts: new Float64Array([2]) });
    await expect(roundTrip(named, { columnLabelType: 'float' })).rejects.toThrow(/column label 'volts' cannot be a Python float/);
    await expect(roundTrip(frameOf({ '1.5': new Float64Array([1]) }), { columnLabelType: 'int' })).rejects.toThrow(/column label '1.5' is not an int/);
  });

  it("columns named like an object's own methods take their label type as any other", async () => {
    const table = frameOf({ constructor: new Float64Array([1]), toString: new Float64Array([2]), '1.5': new Float64Array([3]) });
    const { dir: d } = await roundTrip(table, { columnLabelTypes: { '1.5': 'float' } });
    expect(JSON.parse(readFileSync(join(d, 'object_meta.json'), 'utf8')).column_name_dtypes).toEqual(['<U11', '<U8', 'float64']);
    await expect(roundTrip(table, { columnLabelTypes: {}, columnLabelType: 'float' })).rejects.toThrow(/column label 'constructor' cannot be a Python float/);
  });

  it('keeps label types when a read frame is written again', async () => {
    const table = frameOf({ '0': new Float64Array([1]), '1.5': new Float64Array([2]) });
    const first = await roundTrip(table, { columnLabelTypes: { '0': 'int', '1.5': 'float' } });
    const second = await roundTrip(first.back);
    expect(columnLabels(second.back)).toEqual([0, 1.5]);
  });

  it('round-trips 0 rows, 0 columns and 10,000 columns', async () => {
    const empty = frameOf({ a: new Float64Array(0), s: vectorFromArray([], new Utf8()) });
    const e = await roundTrip(empty);
    expect(e.back.numRows).toBe(0);
    expect(typesOf(e.back)).toEqual(typesOf(empty));

    const noColumns = new Table({});
    const n = await roundTrip(noColumns);
    expect(n.back.numCols).toBe(0);

    const w = await roundTrip(wideFrame(10_000));
    expect(w.back.numCols).toBe(10_000);
    expect(w.back.getChild('9999')?.get(1)).toBe(-9999);
  });

  it('reads only the requested columns, plus the index', async () => {
    const table = withIndex(frameOf({ idx: new Int32Array([7, 8]), a: new Float64Array([1, 2]), b: new Float64Array([3, 4]) }), 'idx');
    const { back } = await roundTrip(table, {}, { columns: ['b'] });
    expect(back.schema.fields.map((f) => f.name)).toEqual(['b', 'idx']);
    expect(columnsOf(back)).toEqual({ b: [3, 4], idx: [7, 8] });
  });

  it('writes zstd on request and reads it back', async () => {
    const table = frameOf({ a: new Float64Array([1, 2, 3]), s: vectorFromArray(['x', null, 'z'], new Utf8()) });
    const { back, dir: d } = await roundTrip(table, { compression: 'zstd' });
    expect(columnsOf(back)).toEqual(columnsOf(table));
    expect(pandasMetadataOf(back)?.index_columns).toEqual([{ kind: 'range', name: null, start: 0, stop: 3, step: 1 }]);
    expect(readFileSync(join(d, 'pandas_to_parquet.parquet')).length).toBeGreaterThan(0);
  });

  it('chooses itself as the dumper of an Arrow Table only', () => {
    expect(loader.canDump(frameOf({ a: new Float64Array(1) }))).toBe(true);
    expect(loader.canDump([frameOf({ a: new Float64Array(1) })])).toBe(false);
    expect(loader.canDump({})).toBe(false);
  });

  it('keeps multi-chunk columns and a float index', async () => {
    const a = frameOf({ t: Float64Array.of(0.5, 1.5), v: Float64Array.of(1, 2) });
    const b = frameOf({ t: Float64Array.of(2.5), v: Float64Array.of(3) });
    const table = withIndex(a.concat(b), 't');
    const { back } = await roundTrip(table);
    expect(columnsOf(back)).toEqual({ v: [1, 2, 3], t: [0.5, 1.5, 2.5] });
    expect(typesOf(back)).toEqual({ v: String(new Float64()), t: String(new Float64()) });
  });

  it('uses the pandas metadata of a pyarrow-style file with a stored unnamed index', async () => {
    const d = dir();
    const table = withIndex(frameOf({ x: Float64Array.of(1, 2), __index_level_0__: BigInt64Array.of(10n, 20n) }), '__index_level_0__');
    await loader.dump(table, d, fakeContext());
    const back = (await loader.load(d, { Loader: 'x' }, fakeContext())) as Table;
    expect(frameIndexOf(back)).toEqual({ kind: 'columns', columns: ['__index_level_0__'], names: [null] });
    writeFileSync(join(d, 'unused'), '');
  });
});
