/**
 * ISF's spike analyses (`data_base.analyze.spike_detection`): threshold crossings of voltage
 * traces, and whether each trial spiked in a window.
 */
import { Bool, Float64, Table, Utf8, makeData, makeVector, vectorFromArray, type Data, type DataType, type Vector } from 'apache-arrow';
import { InvalidInputError } from '../errors.js';
import { dataColumnsOf, withColumnLabelTypes, withIndex } from '../../loaders/parquet/frame.js';
import { float64Of, indexValuesOf, partitionsOf, timeColumnsOf, type FrameInput } from './frames.js';

export interface SpikeDetectionOptions {
  /** mV; a spike is at t[i] where v[i-1] < threshold <= v[i] (ISF's simple_spike_detection, 'regular' mode). */
  threshold?: number;
}

/**
 * Spike times per trial from voltage traces (columns = time points, labelled by their time):
 * the same shape as the spike_times key (index kept; columns '0'..'m-1', NaN-padded).
 */
export async function spikeDetection(voltageTraces: FrameInput, options: SpikeDetectionOptions = {}): Promise<Table> {
  const threshold = options.threshold ?? 0;
  if (!Number.isFinite(threshold)) throw InvalidInputError.value('threshold option', `must be a finite number, got ${threshold}`);
  const ids: unknown[] = [];
  const lists: number[][] = [];
  let indexName: string | undefined;
  for await (const part of partitionsOf(voltageTraces)) {
    const index = indexValuesOf(part);
    indexName ??= index?.name;
    const labels = dataColumnsOf(part);
    const times = labels.map(Number);
    const bad = labels.find((_, i) => Number.isNaN(times[i]));
    if (bad !== undefined) throw InvalidInputError.value('voltage traces', `column '${bad}' is not a time point (labels must be times)`);
    const columns = labels.map((l) => float64Of(part.getChild(l)!));
    const start = lists.length;
    for (let r = 0; r < part.numRows; r++) lists.push([]);
    for (let j = 1; j < columns.length; j++) {
      const before = columns[j - 1]!;
      const now = columns[j]!;
      const t = times[j]!;
      for (let r = 0; r < part.numRows; r++) if (before[r]! < threshold && now[r]! >= threshold) lists[start + r]!.push(t);
    }
    if (index) for (const id of index.values) ids.push(id); // not push(...): a frame may have more rows than a call takes arguments
    else for (let r = 0; r < part.numRows; r++) ids.push(start + r);
  }
  return spikeFrame(indexName, ids, lists);
}

/** An ISF spike-times frame: index, then float64 columns '0'..'m-1' (int labels in Python), NaN-padded. */
export function spikeFrame(indexName: string | undefined, ids: unknown[], lists: readonly (readonly number[])[]): Table {
  const width = lists.reduce((m, l) => Math.max(m, l.length), 0);
  const n = lists.length;
  const children: Record<string, Vector> = {};
  const name = indexName ?? '__index_level_0__';
  children[name] = typeof ids[0] === 'string' || ids.length === 0 ? vectorFromArray(ids.map(String), new Utf8()) : makeVector(BigInt64Array.from(ids, (x) => BigInt(x as number)));
  for (let k = 0; k < width; k++) {
    const col = new Float64Array(n).fill(Number.NaN);
    for (let r = 0; r < n; r++) if (k < lists[r]!.length) col[r] = lists[r]![k]!;
    children[String(k)] = makeVector(makeData({ type: new Float64(), length: n, nullCount: 0, data: col }) as Data<DataType>);
  }
  const labels = Object.fromEntries(Array.from({ length: width }, (_, k) => [String(k), 'int' as const]));
  return withColumnLabelTypes(withIndex(new Table(children), name), labels);
}

/**
 * Per trial, whether any spike falls in [tmin, tmax) (ISF's spike_in_interval: every column of
 * the spike-times frame is compared). The result keeps the index; its column is `spike_in_interval`.
 */
export async function spikeInInterval(spikeTimes: FrameInput, tmin: number, tmax: number): Promise<Table> {
  const ids: unknown[] = [];
  const flags: boolean[] = [];
  let indexName: string | undefined;
  for await (const part of partitionsOf(spikeTimes)) {
    const index = indexValuesOf(part);
    indexName ??= index?.name;
    const columns = dataColumnsOf(part).map((c) => float64Of(part.getChild(c)!));
    const start = flags.length;
    for (let r = 0; r < part.numRows; r++) flags.push(columns.some((col) => col[r]! >= tmin && col[r]! < tmax));
    if (index) for (const id of index.values) ids.push(id); // not push(...): a frame may have more rows than a call takes arguments
    else for (let r = 0; r < part.numRows; r++) ids.push(start + r);
  }
  const name = indexName ?? '__index_level_0__';
  const table = new Table({
    [name]: typeof ids[0] === 'string' || ids.length === 0 ? vectorFromArray(ids.map(String), new Utf8()) : makeVector(BigInt64Array.from(ids, (x) => BigInt(x as number))),
    spike_in_interval: vectorFromArray(flags, new Bool()),
  });
  return withIndex(table, name);
}

/** ISF's time_list_from_pd over a frame: every non-NaN value of its int-labelled columns, and its row count. */
export async function timeList(frame: FrameInput): Promise<{ times: Float64Array; rows: number }> {
  const chunks: Float64Array[] = [];
  let rows = 0;
  let total = 0;
  for await (const part of partitionsOf(frame)) {
    rows += part.numRows;
    for (const c of timeColumnsOf(part)) {
      const col = float64Of(part.getChild(c)!);
      let kept = 0;
      const out = new Float64Array(col.length);
      for (let i = 0; i < col.length; i++) if (!Number.isNaN(col[i]!)) out[kept++] = col[i]!;
      chunks.push(out.subarray(0, kept));
      total += kept;
    }
  }
  const times = new Float64Array(total);
  let at = 0;
  for (const c of chunks) { times.set(c, at); at += c.length; }
  return { times, rows };
}
