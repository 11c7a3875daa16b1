/**
 * `q(table, where)` on an Arrow Table: the rows matching the where-clause, in their order, with
 * the index kept. A range index (no stored column) becomes a stored `__index_level_0__` column
 * holding the kept rows' positions, as pandas keeps the original labels of a filtered frame.
 */
import {
  DataType, Int64, Schema, Struct, Table, makeData, makeVector, vectorFromArray, Field, type Data, type RecordBatch, type Vector,
} from 'apache-arrow';
import { recordBatchOf } from '../../loaders/parquet/record-batch.js';
import { PANDAS_KEY, buildPandasMetadata, frameIndexOf, type FrameIndex } from '../../loaders/parquet/frame.js';
import { columnOfValues, evaluateWhere, type EvalColumn } from './evaluate.js';
import { normalizeWhere, type NormalWhere, type Where } from './where.js';

export const RANGE_INDEX_COLUMN = '__index_level_0__';

/** The rows of `table` matching `where` (see where.ts); an empty where returns `table` itself. */
export function q(table: Table, where: Where): Table {
  const normal = normalizeWhere(where);
  return filterTable(table, normal);
}

export function filterTable(table: Table, where: NormalWhere, rowOffset = 0): Table {
  const mask = maskOf(table, where, rowOffset);
  if (mask === undefined) return table;
  return takeRows(table, indexesOf(mask), rowOffset);
}

/** The matching rows of a table (undefined: all); `rowOffset` shifts a range index (a row group's place). */
export function maskOf(table: Table, where: NormalWhere, rowOffset = 0): Uint8Array | undefined {
  const index = frameIndexOf(table);
  return evaluateWhere(where, table.numRows, (name) => tableColumn(table, index, name, rowOffset), () => namesIn(table, index));
}

export function indexesOf(mask: Uint8Array): Uint32Array {
  let count = 0;
  for (let i = 0; i < mask.length; i++) count += mask[i]!;
  const out = new Uint32Array(count);
  let k = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[k++] = i;
  return out;
}

/** Names a where-clause may use on this table: its columns and its index names. */
export function namesIn(table: { schema: Schema; numRows: number }, index = frameIndexOf(table)): string[] {
  const names = table.schema.fields.map((f) => f.name);
  if (index.kind === 'columns') index.names.forEach((n) => { if (n !== null && !names.includes(n)) names.push(n); });
  else names.push(index.name ?? 'index');
  return names;
}

/** The stored column a name refers to: a column first, then an index level by its name. */
export function physicalColumnOf(schema: Schema, index: FrameIndex, name: string): string | undefined {
  if (schema.fields.some((f) => f.name === name)) return name;
  if (index.kind === 'columns') {
    const level = index.names.indexOf(name);
    return level >= 0 ? index.columns[level] : undefined;
  }
  return undefined;
}

/** Whether `name` is the (unstored) range index of the frame. */
export function isRangeIndexName(schema: Schema, index: FrameIndex, name: string): boolean {
  return index.kind === 'range' && !schema.fields.some((f) => f.name === name) && name === (index.name ?? 'index');
}

function tableColumn(table: Table, index: FrameIndex, name: string, rowOffset: number): EvalColumn | undefined {
  if (isRangeIndexName(table.schema, index, name) && index.kind === 'range') {
    const numbers = new Float64Array(table.numRows);
    for (let i = 0; i < numbers.length; i++) numbers[i] = index.start + (rowOffset + i) * index.step;
    return { kind: 'number', length: numbers.length, numbers };
  }
  const physical = physicalColumnOf(table.schema, index, name);
  const vector = physical === undefined ? null : table.getChild(physical);
  return vector ? columnOfVector(vector) : undefined;
}

/** An Arrow column as the evaluator sees it: numbers (NaN for nulls), or JavaScript values. */
export function columnOfVector(vector: Vector): EvalColumn {
  const type = vector.type as DataType;
  const length = vector.length;
  if (DataType.isFloat(type) || DataType.isInt(type) || DataType.isDecimal(type)) {
    const single = vector.data.length === 1 ? vector.data[0] : undefined;
    if (single && vector.nullCount === 0 && single.values instanceof Float64Array && single.values.length === length) {
      return { kind: 'number', length, numbers: single.values };
    }
    const numbers = new Float64Array(length);
    let k = 0;
    for (const data of vector.data) {
      const values = data.values as ArrayLike<number | bigint>;
      const hasNulls = data.nullCount > 0;
      for (let i = 0; i < data.length; i++, k++) {
        numbers[k] = hasNulls && !isValid(data, i) ? Number.NaN : Number(values[i]);
      }
    }
    return { kind: 'number', length, numbers };
  }
  const values = vector.toArray() as ArrayLike<unknown>;
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || (DataType.isDictionary(type) && DataType.isUtf8(type.dictionary))) {
    return { kind: 'string', length, values };
  }
  if (DataType.isBool(type)) return { kind: 'boolean', length, values: Array.from(vector, (x) => x as boolean | null) };
  return columnOfValues(Array.from(vector));
}

function isValid(data: Data, i: number): boolean {
  const bitmap = data.nullBitmap;
  if (!bitmap || bitmap.length === 0) return true;
  const bit = data.offset + i;
  return ((bitmap[bit >> 3]! >> (bit & 7)) & 1) === 1;
}

/**
 * The given rows of a table, in that order. Numeric columns without nulls are gathered from
 * their buffers; the others go through apache-arrow's builders.
 */
export function takeRows(table: Table, rows: Uint32Array, rowOffset = 0): Table {
  const index = frameIndexOf(table);
  let fields = [...table.schema.fields];
  const children: Data[] = fields.map((field) => takeColumn(table.getChild(field.name)!, rows));
  let metadata = table.schema.metadata;
  if (index.kind === 'range') {
    const positions = new BigInt64Array(rows.length);
    for (let k = 0; k < rows.length; k++) positions[k] = BigInt(index.start + (rowOffset + rows[k]!) * index.step);
    fields = [...fields, new Field(RANGE_INDEX_COLUMN, new Int64(), false)];
    children.push(makeVector(positions).data[0]!);
    const schemaWithIndex = new Schema(fields);
    metadata = new Map(metadata);
    metadata.set(PANDAS_KEY, JSON.stringify(buildPandasMetadata(schemaWithIndex, { kind: 'columns', columns: [RANGE_INDEX_COLUMN], names: [index.name] })));
  }
  const schema = new Schema(fields, metadata);
  if (rows.length === 0 && fields.length === 0) return new Table(schema);
  const data = makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children });
  return new Table(schema, [recordBatchOf(schema, data)]);
}

type NumericArray = Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array | BigInt64Array | BigUint64Array;

function takeColumn(vector: Vector, rows: Uint32Array): Data {
  const type = vector.type as DataType;
  const fixed = (DataType.isFloat(type) || DataType.isInt(type)) && vector.nullCount === 0;
  if (fixed) {
    const chunks = vector.data.map((d) => d.values as NumericArray);
    const first = chunks[0];
    const Ctor = (first?.constructor ?? Float64Array) as new (n: number) => NumericArray;
    const out = new Ctor(rows.length);
    if (chunks.length === 1 && first) {
      for (let k = 0; k < rows.length; k++) out[k] = first[rows[k]!]!;
    } else {
      const starts = chunkStarts(vector.data);
      let c = 0;
      for (let k = 0; k < rows.length; k++) {
        const row = rows[k]!;
        while (row >= starts[c + 1]!) c++;
        while (row < starts[c]!) c--;
        out[k] = chunks[c]![row - starts[c]!]!;
      }
    }
    return makeData({ type: type as never, length: rows.length, nullCount: 0, data: out as never }) as Data;
  }
  const values = new Array<unknown>(rows.length);
  for (let k = 0; k < rows.length; k++) values[k] = vector.get(rows[k]!);
  const built = vectorFromArray(values as never[], type as never) as Vector;
  if (built.data.length === 1) return built.data[0]!;
  return makeVector(built.data).data[0]!;
}

function chunkStarts(chunks: readonly Data[]): number[] {
  const starts = [0];
  for (const chunk of chunks) starts.push(starts[starts.length - 1]! + chunk.length);
  return starts;
}

/** Concatenate tables with the same columns (schema metadata of the first). */
export function concatTables(tables: readonly Table[], schema: Schema): Table {
  const batches: RecordBatch[] = [];
  for (const t of tables) for (const b of t.batches) if (b.numRows > 0) batches.push(recordBatchOf(schema, b.data));
  return batches.length === 0 ? new Table(schema) : new Table(schema, batches);
}
