/** The filter dialect on Arrow tables: the worked examples, the rules, and the errors. */
import { tableFromArrays, type Table } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { isDataBaseError } from '../../src/index.js';
import { q } from '../../src/query/index.js';
import { frameIndexOf, withIndex, withSchemaMetadata } from '../../loaders/parquet/frame.js';
import { buildPandasMetadata } from '../../loaders/parquet/frame.js';

/** Index (i0, i1) = (a,c), (a,d), (b,c), (b,d) stored as two columns; v0 = 0..3, v1 = 4..7. */
function multiIndexed(): Table {
  const t = tableFromArrays({ v0: new Float64Array([0, 1, 2, 3]), v1: new Float64Array([4, 5, 6, 7]), i0: ['a', 'a', 'b', 'b'], i1: ['c', 'd', 'c', 'd'] });
  const meta = buildPandasMetadata(t.schema, { kind: 'columns', columns: ['i0', 'i1'], names: ['i0', 'i1'] });
  return withSchemaMetadata(t, { pandas: JSON.stringify(meta) });
}

const indexOf = (t: Table): string[] => t.toArray().map((r) => `${String(r.i0)},${String(r.i1)}`);

/** Strings s0,s10,s11,s12,s20,s21,s10,s2 under a range index 0..7. */
const strings = (): Table => tableFromArrays({ s: ['s0', 's10', 's11', 's12', 's20', 's21', 's10', 's2'] });
const positions = (t: Table): number[] => Array.from(t.getChild('__index_level_0__')!, (x) => Number(x));

function queryError(fn: () => unknown): { column?: string; operator?: string; value?: unknown; message: string } {
  try {
    fn();
  } catch (err) {
    if (isDataBaseError(err, 'QueryError')) return err;
    throw err;
  }
  throw new Error('expected a QueryError');
}

describe('q: the worked examples of the issue', () => {
  it('{v0:[1,2], v1:[6,7]} -> (b,c)', () => {
    expect(indexOf(q(multiIndexed(), { v0: [1, 2], v1: [6, 7] }))).toEqual(['b,c']);
  });
  it('{v0:{ge:1,le:2}, v1:{isin:[6,7]}} -> (b,c)', () => {
    expect(indexOf(q(multiIndexed(), { v0: { ge: 1, le: 2 }, v1: { isin: [6, 7] } }))).toEqual(['b,c']);
  });
  it('[{v0:0},{v0:1,v1:5}] -> (a,c), (a,d)', () => {
    expect(indexOf(q(multiIndexed(), [{ v0: 0 }, { v0: 1, v1: 5 }]))).toEqual(['a,c', 'a,d']);
  });
  it("{regex:'s2'} -> positions 4, 5, 7", () => {
    expect(positions(q(strings(), { s: { regex: 's2' } }))).toEqual([4, 5, 7]);
  });
  it("{ge:'s10', lt:'s12'} -> positions 1, 2, 6", () => {
    expect(positions(q(strings(), { s: { ge: 's10', lt: 's12' } }))).toEqual([1, 2, 6]);
  });
});

describe('q: rules', () => {
  it('names an index level by its name, and keeps the index as the index', () => {
    const out = q(multiIndexed(), { i0: 'b', i1: { ne: 'c' } });
    expect(indexOf(out)).toEqual(['b,d']);
    expect(frameIndexOf(out)).toMatchObject({ kind: 'columns', columns: ['i0', 'i1'] });
  });
  it('a column wins over an index of the same name', () => {
    const t = tableFromArrays({ idx: ['x', 'y', 'z'], k: new Float64Array([10, 20, 30]) });
    // index stored in column 'idx' but named 'k' in pandas metadata, and 'k' is also a column
    const meta = buildPandasMetadata(t.schema, { kind: 'columns', columns: ['idx'], names: ['k'] });
    const framed = withSchemaMetadata(t, { pandas: JSON.stringify(meta) });
    expect(q(framed, { k: 20 }).getChild('idx')!.toArray()).toEqual(['y']);
  });
  it('keeps row order and the range index labels', () => {
    const t = tableFromArrays({ v: new Float64Array([5, 1, 4, 1, 5]) });
    const out = q(t, { v: { lt: 5 } });
    expect(Array.from(out.getChild('v')!)).toEqual([1, 4, 1]);
    expect(positions(out)).toEqual([1, 2, 3]);
    expect(q(t, { index: { ge: 3 } }).getChild('v')!.toArray()).toEqual(new Float64Array([1, 5]));
  });
  it('an empty where returns the input; empty objects in a list are skipped', () => {
    const t = strings();
    expect(q(t, {})).toBe(t);
    expect(q(t, [])).toBe(t);
    expect(q(t, [{}, {}])).toBe(t);
    expect(positions(q(t, [{}, { s: 's2' }]))).toEqual([7]);
  });
  it('notin, between, isnull', () => {
    const t = withIndex(tableFromArrays({ id: ['a', 'b', 'c', 'd'], x: new Float64Array([1, Number.NaN, 3, 4]) }), 'id');
    const ids = (w: Parameters<typeof q>[1]): unknown[] => q(t, w).getChild('id')!.toArray() as unknown[];
    expect(ids({ x: { notin: [1, 4] } })).toEqual(['b', 'c']);
    expect(ids({ x: { between: [1, 3] } })).toEqual(['a', 'c']);
    expect(ids({ x: { isnull: true } })).toEqual(['b']);
    expect(ids({ x: { isnull: false } })).toEqual(['a', 'c', 'd']);
    expect(ids({ x: { ne: 1 } })).toEqual(['b', 'c', 'd']);
    expect(ids({ id: { between: ['b', 'c'] } })).toEqual(['b', 'c']);
  });
  it('int64, int32, bool and dictionary columns', () => {
    const t = tableFromArrays({
      big: new BigInt64Array([1n, 2n, 3n]), small: new Int32Array([7, 8, 9]), flag: [true, false, true], cat: ['u', 'v', 'u'],
    });
    expect(positions(q(t, { big: { gt: 1 }, small: [9, 8] }))).toEqual([1, 2]);
    expect(positions(q(t, { flag: true }))).toEqual([0, 2]);
    expect(positions(q(t, { cat: 'u', big: 3n }))).toEqual([2]);
    const out = q(t, { flag: false });
    expect(out.getChild('big')!.toArray()).toEqual(new BigInt64Array([2n]));
    expect(out.getChild('cat')!.toArray()).toEqual(['v']);
  });
  it('an empty result keeps the columns', () => {
    const out = q(multiIndexed(), { v0: { gt: 100 } });
    expect(out.numRows).toBe(0);
    expect(out.schema.fields.map((f) => f.name)).toEqual(['v0', 'v1', 'i0', 'i1']);
  });
});

describe('q: bad input raises a QueryError naming the column, operator or value', () => {
  const t = multiIndexed();
  it('unknown operator', () => {
    const err = queryError(() => q(t, { v0: { gte: 1 } as never }));
    expect(err).toMatchObject({ column: 'v0', operator: 'gte' });
    expect(err.message).toBe("where-clause, column 'v0', operator 'gte': unknown operator; use one of eq, ne, lt, le, gt, ge, isin, notin, regex, between, isnull");
  });
  it('empty operator object', () => {
    const err = queryError(() => q(t, { v1: {} }));
    expect(err).toMatchObject({ column: 'v1' });
    expect(err.message).toMatch(/column 'v1': empty operator object/);
  });
  it('missing column', () => {
    const err = queryError(() => q(t, { nope: 1 }));
    expect(err).toMatchObject({ column: 'nope' });
    expect(err.message).toMatch(/no such column or index; available: v0, v1, i0, i1/);
  });
  it('type mismatch, both ways, even when no row would be compared', () => {
    expect(queryError(() => q(t, { v0: 'x' }))).toMatchObject({ column: 'v0', operator: 'eq', value: 'x' });
    expect(queryError(() => q(t, { i0: { lt: 3 } }))).toMatchObject({ column: 'i0', operator: 'lt', value: 3 });
    expect(queryError(() => q(t, { v0: { regex: '1' } }))).toMatchObject({ column: 'v0', operator: 'regex' });
    expect(queryError(() => q(q(t, { v0: -1 }), { v0: { isin: [1, 'a'] } }))).toMatchObject({ column: 'v0', operator: 'isin', value: 'a' });
  });
  it('malformed regex', () => {
    const err = queryError(() => q(t, { i0: { regex: 'a(' } }));
    expect(err).toMatchObject({ column: 'i0', operator: 'regex', value: 'a(' });
    expect(err.message).toMatch(/malformed regex "a\("/);
  });
  it('malformed operands and clauses', () => {
    expect(queryError(() => q(t, { v0: { between: [1] } as never }))).toMatchObject({ column: 'v0', operator: 'between' });
    expect(queryError(() => q(t, { v0: { isin: 3 } as never }))).toMatchObject({ column: 'v0', operator: 'isin' });
    expect(queryError(() => q(t, { v0: { isnull: 'yes' } as never }))).toMatchObject({ column: 'v0', operator: 'isnull' });
    expect(queryError(() => q(t, { v0: null as never }))).toMatchObject({ column: 'v0' });
    expect(queryError(() => q(t, ['v0'] as never)).message).toMatch(/item 0 of the list must be an object/);
  });
});
