/**
 * Column buffers from the workers -> apache-arrow Tables, without copying the float data
 * (each time-point column of a voltage partition is a view into the folder's one buffer).
 */
import { Data, Dictionary, Field, Float64, Int32, Int64, RecordBatch, Schema, Struct, Table, Utf8, Vector, makeData, type DataType } from 'apache-arrow';
import { stringsOf, type ActivationBlock, type KeyedStrings, type SpikeBlock, type Strings, type TraceBlock } from './parse-folder.js';
import { pyFloatRepr } from './pyfloat.js';

export const INDEX = 'sim_trial_index';

const FLOAT64 = new Float64();

/** A float64 column over `arr` (no copy). Built directly: makeData's visitor costs ~25 µs per call,
 * which a 9,802-column partition of 10 rows pays 9,802 times for 0.8 MB of values. */
function f64(arr: Float64Array): Data<Float64> {
  return new Data(FLOAT64, 0, arr.length, 0, [undefined, arr]) as Data<Float64>;
}

function i64(arr: BigInt64Array): Data<Int64> {
  return makeData({ type: new Int64(), length: arr.length, nullCount: 0, data: arr });
}

function utf8(s: Strings): Data<Utf8> {
  return makeData({ type: new Utf8(), length: s.offsets.length - 1, nullCount: 0, valueOffsets: s.offsets, data: s.data });
}

/** Dictionary-encoded strings: the key's partitions store them as plain strings (withPlainStrings). */
function keyed(k: KeyedStrings): Data<Dictionary<Utf8, Int32>> {
  const type = new Dictionary(new Utf8(), new Int32());
  return makeData({ type, length: k.keys.length, nullCount: 0, data: k.keys, dictionary: new Vector([utf8(k.values)]) });
}

export function utf8Of(values: string[]): Data<Utf8> {
  return utf8(stringsOf(values));
}

/**
 * `new RecordBatch(schema, data)` merges the schema again with a linear search per field, which
 * is quadratic in the column count (10,001 time-point columns: ~0.2 s per partition). Every
 * child here has the batch's length already, so that merge would change nothing: assemble the
 * batch directly for wide tables.
 */
function batchOf(schema: Schema, struct: Data<Struct>): RecordBatch {
  if (schema.fields.length < 200) return new RecordBatch(schema, struct);
  const batch = Object.create(RecordBatch.prototype) as RecordBatch;
  Object.assign(batch, { schema, data: struct, _metadata: new Map<string, string>() });
  return batch;
}

export function tableOf(columns: [string, Data<DataType>][], rows: number, schemaIn?: Schema): Table {
  const schema = schemaIn ?? new Schema(columns.map(([name, d]) => new Field(name, d.type, false)));
  const fields = schema.fields;
  const struct = makeData({ type: new Struct(fields), length: rows, nullCount: 0, children: columns.map(([, d]) => d) });
  return new Table(schema, batchOf(schema, struct));
}

/** Column labels of a time grid, as Python's str(float) writes them. */
export function timeLabels(time: Float64Array): string[] {
  return Array.from(time, (t) => pyFloatRepr(t));
}

/** The schema of every partition on one time grid: built once, not 10,001 fields per partition. */
const traceSchemas = new WeakMap<string[], Schema>();

/** Labels of the last grids seen (a worker sees the same grid folder after folder). */
const gridCache: { time: Float64Array; labels: string[] }[] = [];

function sameValues(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** timeLabels, the same array (so the same schema and dump options) for an equal grid. */
export function gridLabels(time: Float64Array): string[] {
  const hit = gridCache.find((g) => sameValues(g.time, time));
  if (hit) return hit.labels;
  const labels = timeLabels(time);
  gridCache.unshift({ time: time.slice(), labels });
  if (gridCache.length > 8) gridCache.pop();
  return labels;
}

/** One voltage partition: index + one float64 column per time point. */
export function traceTable(index: Strings, block: TraceBlock, labels: string[]): Table {
  const n = block.nCols;
  let schema = traceSchemas.get(labels);
  if (!schema) {
    const f = new Float64();
    schema = new Schema([new Field(INDEX, new Utf8(), false), ...labels.map((l) => new Field(l, f, false))]);
    traceSchemas.set(labels, schema);
  }
  const cols: [string, Data<DataType>][] = [[INDEX, utf8(index)]];
  for (let t = 0; t < labels.length; t++) cols.push([labels[t]!, f64(block.values.subarray(t * n, (t + 1) * n))]);
  return tableOf(cols, n, schema);
}

export function activationTable(a: ActivationBlock, kind: 'synapses' | 'cells'): Table {
  const cols: [string, Data<DataType>][] = [[INDEX, keyed(a.index)]];
  if (kind === 'synapses') {
    cols.push(['synapse_type', keyed(a.type)], ['synapse_ID', i64(a.id)], ['soma_distance', f64(a.somaDistance!)],
      ['section_ID', i64(a.sectionId!)], ['section_pt_ID', i64(a.sectionPtId!)], ['dendrite_label', keyed(a.dendriteLabel!)]);
  } else {
    cols.push(['presynaptic_cell_type', keyed(a.type)], ['cell_ID', i64(a.id)]);
  }
  for (let k = 0; k < a.width; k++) cols.push([String(k), f64(a.times.subarray(k * a.rows, (k + 1) * a.rows))]);
  return tableOf(cols, a.rows);
}

/** Spike lists of many trials -> index + columns '0'..'m-1' (NaN-padded). */
export function spikeTable(ids: string[], lists: Float64Array[]): Table {
  const m = lists.reduce((s, l) => Math.max(s, l.length), 0);
  const n = ids.length;
  const cols: [string, Data<DataType>][] = [[INDEX, utf8Of(ids)]];
  for (let k = 0; k < m; k++) {
    const col = new Float64Array(n).fill(NaN);
    lists.forEach((l, i) => { if (k < l.length) col[i] = l[k]!; });
    cols.push([String(k), f64(col)]);
  }
  return tableOf(cols, n);
}

export function spikeLists(block: SpikeBlock): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i + 1 < block.offsets.length; i++) out.push(block.times.slice(block.offsets[i]!, block.offsets[i + 1]!));
  return out;
}

export function stringTable(columns: [string, string[]][], rows: number): Table {
  return tableOf(columns.map(([name, values]) => [name, utf8Of(values)]), rows);
}
