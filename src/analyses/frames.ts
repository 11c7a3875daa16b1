/** Reading ISF's frames for the analyses: partitions one at a time, columns as float64. */
import { Table, type Vector } from 'apache-arrow';
import { InvalidInputError } from '../errors.js';
import { columnLabelTypes, dataColumnsOf, indexColumnOf } from '../../loaders/parquet/frame.js';
import type { PartitionedFrame } from '../../loaders/parquet/partitioned-frame.js';

/** A frame as the analyses take it: one Table, a stored partitioned frame, or partitions. */
export type FrameInput = Table | PartitionedFrame | Iterable<Table> | AsyncIterable<Table>;

/** The partitions of a frame input, in order (one Table is one partition). */
export async function* partitionsOf(input: FrameInput, columns?: readonly string[]): AsyncGenerator<Table> {
  if (input instanceof Table) { yield input; return; }
  const frame = input as PartitionedFrame;
  if (typeof frame.readPartition === 'function' && typeof frame.numPartitions === 'number') {
    for (let i = 0; i < frame.numPartitions; i++) yield await frame.readPartition(i, columns ? { columns } : {});
    return;
  }
  for await (const part of input as AsyncIterable<Table>) {
    if (!(part instanceof Table)) throw InvalidInputError.value('frame input', 'expected apache-arrow Tables');
    yield part;
  }
}

/** Python's `int(label)` succeeds: int and float labels always, strings holding an integer. */
export function isIntLabel(label: string, type: string): boolean {
  return type !== 'str' || /^\s*[+-]?\d+\s*$/.test(label);
}

/** ISF's time columns (`time_list_from_pd`): the data columns whose label converts to int. */
export function timeColumnsOf(table: Table): string[] {
  const types = columnLabelTypes(table);
  return dataColumnsOf(table).filter((c) => isIntLabel(c, types.get(c) ?? 'str'));
}

/** A column as float64 (NaN for nulls); zero-copy when it already is one chunk of float64. */
export function float64Of(vector: Vector): Float64Array {
  if (vector.data.length === 1 && vector.nullCount === 0 && vector.data[0]!.values instanceof Float64Array && vector.data[0]!.values.length === vector.length) {
    return vector.data[0]!.values;
  }
  const out = new Float64Array(vector.length);
  let k = 0;
  for (const data of vector.data) {
    const values = data.values as ArrayLike<number | bigint>;
    for (let i = 0; i < data.length; i++, k++) out[k] = data.nullCount > 0 && !data.getValid(i) ? Number.NaN : Number(values[i]);
  }
  return out;
}

export function requireColumn(table: Table, name: string, what: string): Vector {
  const column = table.getChild(name);
  if (!column) throw InvalidInputError.value(what, `has no column '${name}' (columns: ${table.schema.fields.map((f) => f.name).join(', ')})`);
  return column;
}

/** The index values of a table as strings (its stored index column), for result frames. */
export function indexValuesOf(table: Table): { name: string; values: unknown[] } | undefined {
  const column = indexColumnOf(table);
  if (column === undefined) return undefined;
  return { name: column, values: table.getChild(column)!.toArray() as unknown[] };
}
