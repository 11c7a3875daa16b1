/**
 * The analyses run cached: each writes its result as a key through maybeCalculate, whose recipe
 * records the input keys (their checksums) and the parameters, so a second call reads the key
 * and a changed input or parameter recomputes it (and `isfdb stale` reports it).
 */
import type { Table } from 'apache-arrow';
import type { DataBase } from '../database.js';
import type { Key } from '../keys.js';
import type { NdArray } from '../../loaders/types.js';
import { spikeDetection, spikeInInterval, type SpikeDetectionOptions } from './spikes.js';
import { spatiotemporalBinning, temporalBinning, voltageDensity, type SpatiotemporalBinningOptions, type TemporalBinning, type TemporalBinningOptions, type VoltageDensityOptions } from './binning.js';
import { binnedKey, synapseActivationBinning, type SynapseBinning, type SynapseBinningOptions } from './synapse-binning.js';
import type { FrameInput } from './frames.js';

/** The code identity in every recipe: a change of an analysis' definition must bump it. */
export const ANALYSES_VERSION = 'isf-data-base/analyses@1';

interface CachedIO {
  /** The key read (default: the analysis' usual input). */
  input?: Key;
  /** The key written. */
  output: Key;
  /** Recompute even when the recipe is unchanged. */
  force?: boolean;
}

async function cached<T>(db: DataBase, io: CachedIO, analysis: string, params: object, compute: (input: FrameInput) => Promise<T>, defaultInput: Key): Promise<T> {
  const input = io.input ?? defaultInput;
  // maybeCalculate returns what get returns: the loaders give back the types these analyses return.
  return (await db.maybeCalculate(io.output, async () => compute((await db.get(input)) as FrameInput), {
    params: { analysis, ...params }, inputs: [input], code: ANALYSES_VERSION, ...(io.force ? { force: true } : {}),
  })) as T;
}

export function spikeDetectionCached(db: DataBase, io: CachedIO, options: SpikeDetectionOptions = {}): Promise<Table> {
  return cached(db, io, 'spikeDetection', { threshold: options.threshold ?? 0 }, (vt) => spikeDetection(vt, options), 'voltage_traces');
}

export function spikeInIntervalCached(db: DataBase, io: CachedIO, tmin: number, tmax: number): Promise<Table> {
  return cached(db, io, 'spikeInInterval', { tmin, tmax }, (st) => spikeInInterval(st, tmin, tmax), 'spike_times');
}

/** Stored as a (2, n+1) float64 array: borders, then counts padded with one NaN (one portable numpy key). */
export async function temporalBinningCached(db: DataBase, io: CachedIO, options: TemporalBinningOptions = {}): Promise<TemporalBinning> {
  const params = { ...options, binBorders: options.binBorders === undefined ? undefined : Array.from(options.binBorders) };
  const stored = await cached(db, io, 'temporalBinning', params, async (st) => {
    const { borders, counts } = await temporalBinning(st, options);
    const data = new Float64Array(2 * borders.length).fill(Number.NaN);
    data.set(borders, 0);
    data.set(counts, borders.length);
    return { dtype: 'float64', shape: [2, borders.length], data } satisfies NdArray;
  }, 'spike_times');
  const width = stored.shape[1]!;
  const data = stored.data as Float64Array;
  return { borders: data.slice(0, width), counts: data.slice(width, 2 * width - 1) };
}

export function spatiotemporalBinningCached(db: DataBase, io: CachedIO, options: SpatiotemporalBinningOptions = {}): Promise<NdArray> {
  return cached(db, io, 'spatiotemporalBinning', options, (sa) => spatiotemporalBinning(sa, options), 'synapse_activation');
}

export function voltageDensityCached(db: DataBase, io: CachedIO, options: VoltageDensityOptions = {}): Promise<NdArray> {
  return cached(db, io, 'voltageDensity', options, (vt) => voltageDensity(vt, options), 'voltage_traces');
}

/**
 * synapseActivationBinning writes a sub-database (ISF's layout), which maybeCalculate cannot
 * hold; its recipe is kept in a sibling key `<grouping>.recipe` under ('synapse_activation_binned', 't1').
 */
export async function synapseActivationBinningCached(db: DataBase, options: SynapseBinningOptions & { force?: boolean }): Promise<SynapseBinning> {
  const key = binnedKey(options.groupby);
  const recipeKey = [...key.slice(0, -1), `${key[key.length - 1]}.recipe`];
  const input = options.input ?? 'synapse_activation';
  let computed: SynapseBinning | undefined;
  const params = { analysis: 'synapseActivationBinning', groupby: typeof options.groupby === 'string' ? [options.groupby] : [...options.groupby], maxTime: options.maxTime ?? 400 };
  const run = async (): Promise<{ groups: string[][]; trials: string[] }> => {
    computed = await synapseActivationBinning(db, options);
    return { groups: [...computed.groups.values()].map((g) => g.values), trials: computed.trials };
  };
  const force = options.force === true || !(await db.has(key));
  const summary = (await db.maybeCalculate(recipeKey, run, { params, inputs: [input], code: ANALYSES_VERSION, force, dumper: 'value_to_msgpack' })) as Awaited<ReturnType<typeof run>>;
  if (computed) return computed;
  const groups = new Map<string, { values: string[]; array: NdArray }>();
  for (const values of summary.groups) groups.set(JSON.stringify(values), { values, array: (await db.get([...key, ...values])) as NdArray });
  return { key, groups, trials: summary.trials };
}
