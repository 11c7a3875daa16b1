/**
 * ISF's binning analyses, to its definitions: `temporal_binning_pd`, `spatiotemporal_binning.universal_pd`
 * and `voltage_binning.calculate_vdensity_array_pd` (summed over partitions, as their dask
 * variants do). Counts are float64; NumPy would give int64 for the unnormalised ones.
 */
import { InvalidInputError } from '../errors.js';
import { dataColumnsOf, columnLabelTypes } from '../../loaders/parquet/frame.js';
import type { NdArray } from '../../loaders/types.js';
import { Histogram, arange } from './numpy.js';
import { float64Of, isIntLabel, partitionsOf, requireColumn, timeColumnsOf, type FrameInput } from './frames.js';

export interface TemporalBinningOptions {
  /** Bin width (default 1). */
  binSize?: number;
  /** First edge (default: the smallest time). */
  minTime?: number;
  /** Last edge is the first arange value past it (default: the largest time). */
  maxTime?: number;
  /** Explicit bin edges instead of binSize/minTime/maxTime. */
  binBorders?: ArrayLike<number>;
  /** Divide by the number of rows (trials) (default true). */
  normalize?: boolean;
  /** Divide by the bin widths (default false). */
  rate?: boolean;
}

export interface TemporalBinning {
  borders: Float64Array;
  counts: Float64Array;
}

/** ISF's temporal_binning_pd: a PSTH of every time in the int-labelled columns. */
export async function temporalBinning(spikeTimes: FrameInput, options: TemporalBinningOptions = {}): Promise<TemporalBinning> {
  // The columns themselves, not a concatenated time list: NaN falls outside every bin anyway.
  const columns: Float64Array[] = [];
  let rows = 0;
  for await (const part of partitionsOf(spikeTimes)) {
    rows += part.numRows;
    for (const c of timeColumnsOf(part)) columns.push(float64Of(part.getChild(c)!));
  }
  return binColumns(columns, rows, options);
}

/** temporal_binning_pd over a list of times (a frame's non-NaN times) and the frame's row count. */
export function binTimes(times: Float64Array, rows: number, options: TemporalBinningOptions = {}): TemporalBinning {
  return binColumns([times], rows, options);
}

function binColumns(columns: readonly Float64Array[], rows: number, options: TemporalBinningOptions): TemporalBinning {
  let borders: Float64Array;
  let values: readonly Float64Array[] = columns;
  if (options.binBorders !== undefined) {
    if (options.binSize !== undefined || options.minTime !== undefined || options.maxTime !== undefined) {
      throw InvalidInputError.value('temporalBinning options', 'binBorders excludes binSize, minTime and maxTime (as in ISF)');
    }
    borders = Float64Array.from(options.binBorders);
  } else {
    let min = options.minTime;
    let max = options.maxTime;
    if (min === undefined || max === undefined) {
      // One pass finds the range and keeps the non-NaN times (ISF's time list), so the binning
      // pass does not revisit the padding.
      const total = columns.reduce((n, c) => n + c.length, 0);
      const times = new Float64Array(total);
      let kept = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (const column of columns) {
        for (let i = 0; i < column.length; i++) {
          const t = column[i]!;
          if (t !== t) continue;
          times[kept++] = t;
          if (t < lo) lo = t;
          if (t > hi) hi = t;
        }
      }
      if (kept === 0) throw InvalidInputError.value('temporalBinning input', 'holds no times, so minTime and maxTime must be given');
      values = [times.subarray(0, kept)];
      min ??= lo;
      max ??= hi;
    }
    const size = options.binSize ?? 1;
    borders = arange(min, max + size, size);
  }
  const histogram = new Histogram(borders);
  const counts = new Float64Array(histogram.numBins);
  for (const times of values) histogram.add(times, counts);
  if (options.normalize ?? true) for (let i = 0; i < counts.length; i++) counts[i] = counts[i]! / rows;
  if (options.rate) for (let i = 0; i < counts.length; i++) counts[i] = counts[i]! / (borders[i + 1]! - borders[i]!);
  return { borders, counts };
}

export interface SpatiotemporalBinningOptions {
  /** The distance column (default 'soma_distance'). */
  distanceColumn?: string;
  /** Spatial bin size (default 50, ISF's spatial_distance_bins). */
  spatialBins?: number;
  /** Time bin size (default 1, ISF's time_distance_bins). */
  timeBins?: number;
  /** Default 0. */
  minTime?: number;
  /** Default 300. */
  maxTime?: number;
}

/**
 * ISF's spatiotemporal binning: rows are floor(distance / spatialBins) = 0..max, columns the
 * time bins arange(minTime, maxTime + timeBins, timeBins); counts of the int-labelled columns' times.
 */
export async function spatiotemporalBinning(synapseActivation: FrameInput, options: SpatiotemporalBinningOptions = {}): Promise<NdArray> {
  const column = options.distanceColumn ?? 'soma_distance';
  const size = options.spatialBins ?? 50;
  const histogram = new Histogram(arange(options.minTime ?? 0, (options.maxTime ?? 300) + (options.timeBins ?? 1), options.timeBins ?? 1));
  const nt = histogram.numBins;
  const rowsByBin: Float64Array[] = [];
  let maxBin = -1;
  for await (const part of partitionsOf(synapseActivation)) {
    const distance = float64Of(requireColumn(part, column, 'synapse activation frame'));
    const times = timeColumnsOf(part).map((c) => float64Of(part.getChild(c)!));
    for (let r = 0; r < part.numRows; r++) {
      const z = Math.floor(distance[r]! / size);
      if (!(z >= 0)) throw InvalidInputError.value('synapse activation frame', `row ${r}: '${column}' = ${distance[r]} does not fall in a spatial bin from 0 (ISF's binning needs non-negative distances)`);
      if (z > maxBin) maxBin = z;
      while (rowsByBin.length <= z) rowsByBin.push(new Float64Array(nt));
      const counts = rowsByBin[z]!;
      for (const col of times) {
        const b = histogram.binOf(col[r]!);
        if (b >= 0) counts[b]! += 1;
      }
    }
  }
  if (maxBin < 0) throw InvalidInputError.value('synapse activation frame', 'has no rows to bin');
  const data = new Float64Array((maxBin + 1) * nt);
  rowsByBin.forEach((row, z) => data.set(row, z * nt));
  return { dtype: 'float64', shape: [maxBin + 1, nt], data };
}

export interface VoltageDensityOptions {
  /** Voltage bin size (default 0.05 mV). */
  binSize?: number;
  /** Default -100 mV. */
  ymin?: number;
  /** Default 50 mV. */
  ymax?: number;
}

/** ISF's voltage density: for each time column, a histogram of the voltages across trials; shape [voltage bins, time points]. */
export async function voltageDensity(voltageTraces: FrameInput, options: VoltageDensityOptions = {}): Promise<NdArray> {
  const binSize = options.binSize ?? 0.05;
  const histogram = new Histogram(arange(options.ymin ?? -100, (options.ymax ?? 50) + binSize, binSize));
  const nv = histogram.numBins;
  let labels: string[] | undefined;
  let data = new Float64Array(0);
  for await (const part of partitionsOf(voltageTraces)) {
    const types = columnLabelTypes(part);
    const cols = dataColumnsOf(part).filter((c) => isIntLabel(c, types.get(c) ?? 'str'));
    if (labels === undefined) {
      labels = cols;
      data = new Float64Array(nv * cols.length);
    } else if (cols.join('\u0000') !== labels.join('\u0000')) {
      throw InvalidInputError.value('voltage traces', 'partitions have different time columns');
    }
    const nt = cols.length;
    cols.forEach((c, j) => histogram.add(float64Of(part.getChild(c)!), data, j, nt));
  }
  return { dtype: 'float64', shape: [nv, labels?.length ?? 0], data };
}
