/**
 * Partitions of one key read into one Table need one schema, and apache-arrow compares schemas
 * strictly ("Table and inner RecordBatch schemas must be equivalent"). Partitions written
 * independently (by pyarrow/ISF, or by older versions of this library) differ where pandas
 * sees one frame:
 * - a categorical column: every file's ARROW:schema yields its own Dictionary type (its own id);
 * - a column with no value in one partition: pyarrow stores it with the null type;
 * - an integer column that got NaN in some partition became float there (pandas' rule);
 * - categorical strings in one partition, plain strings in another.
 * Each is unified the way pandas concatenates them; anything else is a typed error.
 */
import {
  DataType, Field, Float64, Schema, Struct, Table, Utf8, makeData, makeVector, util, vectorFromArray, type Data, type Dictionary,
} from 'apache-arrow';
import { FrameError } from './frame.js';

const { compareTypes } = util;
import { recordBatchOf } from './record-batch.js';

/** The parts, with one schema (field objects and types shared), values unchanged. */
export function unifyPartitions(parts: Table[]): Table[] {
  const first = parts[0];
  if (first === undefined || parts.every((p) => p.schema === first.schema)) return parts;
  const names = first.schema.fields.map((f) => f.name);
  parts.forEach((part, p) => {
    const other = part.schema.fields.map((f) => f.name);
    if (other.length !== names.length || other.some((n, i) => n !== names[i])) {
      throw new FrameError(`partition ${p} has columns [${other.join(', ')}], partition 0 has [${names.join(', ')}]`);
    }
  });
  const targets: DataType[] = names.map((name, c) => {
    const types = parts.map((part) => (part.schema.fields[c] as Field).type);
    // A column without any value in a partition (pyarrow's null type, read as float64 when the
    // file has no Arrow schema; or an empty partition) does not constrain the type, as in pandas.
    const valued = parts.map((part, p) => (part.getChildAt(c)?.nullCount ?? 0) < part.numRows && !isNull(types[p] as DataType));
    const target = unifiedType(types.filter((_, p) => valued[p]), types);
    if (!target) throw new FrameError(`column '${name}' has types ${[...new Set(types.map(String))].join(', ')} in different partitions, which do not combine`);
    return target;
  });
  const fields = names.map((name, c) => new Field(name, targets[c] as DataType, true, (first.schema.fields[c] as Field).metadata));
  return parts.map((part) => {
    const schema = new Schema(fields, part.schema.metadata);
    const batches = part.batches.map((batch) => {
      const children = batch.data.children.map((child, c) => converted(child, targets[c] as DataType));
      return recordBatchOf(schema, makeData({ type: new Struct(fields), length: batch.numRows, nullCount: 0, children }));
    });
    return new Table(schema, batches);
  });
}

const isNull = (t: DataType): boolean => DataType.isNull(t);
const isNumber = (t: DataType): boolean => DataType.isInt(t) || DataType.isFloat(t);
const isString = (t: DataType): boolean => DataType.isUtf8(t) || (DataType.isDictionary(t) && DataType.isUtf8((t as Dictionary).dictionary));

function sameType(a: DataType, b: DataType): boolean {
  if (DataType.isDictionary(a) && DataType.isDictionary(b)) {
    // Equal but for the id each file's schema gave it.
    return a.isOrdered === b.isOrdered && sameType(a.indices, b.indices) && sameType(a.dictionary, b.dictionary);
  }
  return compareTypes(a, b);
}

function unifiedType(typed: DataType[], all: DataType[]): DataType | undefined {
  const head = typed[0];
  if (head === undefined) return all.find((t) => !isNull(t)) ?? all[0];
  if (typed.every((t) => sameType(t, head))) return head;
  if (typed.every(isNumber)) return new Float64();
  if (typed.every(isString)) return new Utf8();
  return undefined;
}

function converted(data: Data, target: DataType): Data {
  if (data.type === target) return data;
  if (sameType(data.type, target)) return data.clone(target);
  const vector = makeVector(data);
  const values = Array.from({ length: data.length }, (_, i) => {
    const value = vector.get(i) as unknown;
    return typeof value === 'bigint' ? Number(value) : value;
  });
  return vectorFromArray(values, target).data[0] as Data;
}
