/**
 * Plot-ready views of frames: voltage traces decimated to min/max pairs per pixel bin (so a
 * 10,000-point trace costs the browser 2 x width points, whatever the sampling), and spike times
 * per trial for rasters and PSTHs (binned by the analyses' temporal binning, as ISF's).
 */
import { binTimes } from '../analyses/index.js';
import { RefusedError } from './security.js';
import type { FrameSlice, FrameSource, RowSelection } from './frames.js';

/** At most this many traces are drawn at once; the rest are counted, not sent. */
export const MAX_TRACES = 200;
export const MAX_BINS = 4000;

export type ViewKind = 'traces' | 'spikes' | 'table';

/** How the viewer shows a frame: by its key name and column labels. */
export function viewKindOf(source: FrameSource): ViewKind {
  const last = source.key[source.key.length - 1] ?? '';
  if (/spike_times/.test(last)) return 'spikes';
  if (source.labels.length >= 10 && source.labels.every((label) => typeof label === 'number')) return 'traces';
  return 'table';
}

export interface TraceView {
  key: string[];
  /** x values shared by every trace (time in ms): bin starts and mid-points when decimated. */
  times: number[];
  traces: Array<{ id: string | number; y: Array<number | null> }>;
  /** Rows the selection holds, and how many are sent. */
  selected: number;
  shown: number;
  /** Time points in the window before decimation. */
  points: number;
  decimated: boolean;
}

export interface TraceRequest {
  rows: RowSelection;
  t0?: number | undefined;
  t1?: number | undefined;
  bins: number;
}

/** The time columns in [t0, t1] (all when not given), in order. */
export function timeColumns(source: FrameSource, t0?: number, t1?: number): { columns: string[]; times: number[] } {
  if (viewKindOf(source) !== 'traces') throw new RefusedError(400, `key '${source.key.join('/')}' has no time-point columns to plot`);
  const columns: string[] = [];
  const times: number[] = [];
  source.labels.forEach((label, i) => {
    const t = label as number;
    if ((t0 === undefined || t >= t0) && (t1 === undefined || t <= t1)) {
      columns.push(source.dataColumns[i]!);
      times.push(t);
    }
  });
  return { columns, times };
}

export async function traceView(source: FrameSource, request: TraceRequest): Promise<TraceView> {
  if (!(request.bins >= 10 && request.bins <= MAX_BINS)) throw new RefusedError(400, `bins must be 10..${MAX_BINS}`);
  const { columns, times } = timeColumns(source, request.t0, request.t1);
  const rows = limitRows(request.rows);
  const slice = await source.slice(rows, columns);
  const shown = Math.min(slice.index.length, MAX_TRACES);
  const decimate = times.length > 2 * request.bins;
  const x = decimate ? binStartTimes(times, request.bins) : times;
  const traces = [];
  for (let r = 0; r < shown; r++) {
    const y = decimate ? minMaxBins(slice, r, request.bins) : slice.data.map((column) => finite((column as Float64Array)[r]!));
    traces.push({ id: slice.index[r]!, y });
  }
  return { key: source.key, times: x, traces, selected: slice.index.length, shown, points: times.length, decimated: decimate };
}

/** A positions selection is capped at MAX_TRACES rows (no need to read more than is drawn). */
function limitRows(rows: RowSelection): RowSelection {
  if (rows.kind !== 'positions') return rows;
  return { ...rows, stop: Math.min(rows.stop, rows.start + MAX_TRACES) };
}

function binEdges(n: number, bins: number): (b: number) => [number, number] {
  return (b) => [Math.floor((b * n) / bins), Math.floor(((b + 1) * n) / bins)];
}

function binStartTimes(times: number[], bins: number): number[] {
  const edge = binEdges(times.length, bins);
  const x: number[] = [];
  for (let b = 0; b < bins; b++) {
    const [lo, hi] = edge(b);
    const start = times[lo]!;
    x.push(start, (start + times[hi - 1]!) / 2);
  }
  return x;
}

/** Per bin the min and the max of row `r`, in the order they occur (the line passes through both). */
function minMaxBins(slice: FrameSlice, r: number, bins: number): Array<number | null> {
  const columns = slice.data as Float64Array[];
  const edge = binEdges(columns.length, bins);
  const y: Array<number | null> = [];
  for (let b = 0; b < bins; b++) {
    const [lo, hi] = edge(b);
    let min = Infinity; let max = -Infinity; let minAt = lo; let maxAt = lo;
    for (let c = lo; c < hi; c++) {
      const v = columns[c]![r]!;
      if (v < min) { min = v; minAt = c; }
      if (v > max) { max = v; maxAt = c; }
    }
    if (min === Infinity) y.push(null, null);
    else if (minAt <= maxAt) y.push(min, max);
    else y.push(max, min);
  }
  return y;
}

function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

export interface SpikeView {
  key: string[];
  trials: Array<{ id: string | number; times: number[] }>;
  selected: number;
  /** ISF's temporal binning (analyses' binTimes): bin edges and spikes per trial in each bin; null without spikes. */
  psth: { binSize: number; borders: number[]; counts: number[] } | null;
}

/** Spike times per trial (every numeric column of the rows, NaN padding dropped). */
export async function spikeView(source: FrameSource, rows: RowSelection, binSize = 1): Promise<SpikeView> {
  if (!(binSize >= 0.01 && binSize <= 1e6)) throw new RefusedError(400, 'bin must be a bin width in ms between 0.01 and 10^6');
  const numeric = source.dataColumns.filter((_, i) => typeof source.labels[i] === 'number');
  const slice = await source.slice(rows, numeric);
  const trials = slice.index.map((id, r) => {
    const times: number[] = [];
    for (const column of slice.data) {
      const v = Number(column[r]);
      if (Number.isFinite(v)) times.push(v);
    }
    return { id, times };
  });
  const all = Float64Array.from(trials.flatMap((trial) => trial.times));
  // The bins count stays bounded: at most 100,000 edges whatever the spikes' span.
  // A loop, not Math.max(...all): past ~125,000 spikes the spread overflows the stack.
  let lo = Infinity;
  let hi = -Infinity;
  for (const t of all) { if (t < lo) lo = t; if (t > hi) hi = t; }
  const span = all.length === 0 ? 0 : hi - lo;
  if (span / binSize > 100_000) throw new RefusedError(400, `bin ${binSize} ms makes more than 100,000 bins over ${span} ms`);
  const binned = all.length === 0 ? null : binTimes(all, trials.length, { binSize, normalize: true });
  const psth = binned === null ? null : { binSize, borders: Array.from(binned.borders), counts: Array.from(binned.counts) };
  return { key: source.key, trials, selected: trials.length, psth };
}
