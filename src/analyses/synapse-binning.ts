/**
 * ISF's `db_initializers.synapse_activation_binning.init`: per trial and per group value, the
 * synapse activation times binned at 1 ms over [0, maxTime], stored as one numpy key per group
 * value under ('synapse_activation_binned', 't1', '<groupby joined by __>').
 *
 * As ISF does it: each partition is grouped by (trial, group values), rows are the partition's
 * trials in sorted order, a trial without activations of a group gets zeros; partitions are
 * stacked in order, and a group absent from a partition gets zeros for its trials.
 */
import { Schema, Table as ArrowTable, type Table } from 'apache-arrow';
import { InvalidInputError } from '../errors.js';
import { dataColumnsOf, indexColumnOf } from '../../loaders/parquet/frame.js';
import type { DataBase } from '../database.js';
import type { Key } from '../keys.js';
import type { NdArray } from '../../loaders/types.js';
import { Histogram, arange } from './numpy.js';
import { float64Of, partitionsOf, requireColumn, timeColumnsOf, type FrameInput } from './frames.js';
import { codesOf, type Codes } from './codes.js';

/** ISF's config.cell_types.EXCITATORY (barrel cortex). */
export const EXCITATORY = ['L1', 'L2', 'L34', 'L4py', 'L4sp', 'L4ss', 'L5st', 'L5tt', 'L6cc', 'L6ccinv', 'L6ct', 'VPM'] as const;

/** The derived columns ISF's prefun adds; any other name is a column of the frame. */
export const DERIVED_GROUPS = ['celltype', 'presynaptic_column', 'proximal', 'EI', 'binned_somadist'] as const;

export interface SynapseBinningOptions {
  /** One name or several (celltype, presynaptic_column, proximal, EI, binned_somadist, or a column). */
  groupby: string | readonly string[];
  /** Bins of 1 ms over [0, maxTime] (default 400, an integer). */
  maxTime?: number;
  /** The synapse activation key (default 'synapse_activation'). */
  input?: Key;
}

export interface SynapseBinning {
  /** The sub-database key holding the result. */
  key: string[];
  /** Group value(s) -> [trials, maxTime] counts (float64). */
  groups: Map<string, { values: string[]; array: NdArray }>;
  /** The trials of the rows, in order. */
  trials: string[];
}

/** The key ISF stores a grouping under. */
export function binnedKey(groupby: string | readonly string[]): string[] {
  const names = typeof groupby === 'string' ? [groupby] : [...groupby];
  return ['synapse_activation_binned', 't1', names.join('__')];
}

/** Bin and store, replacing an earlier result of the same grouping (as ISF deletes it first). */
export async function synapseActivationBinning(db: DataBase, options: SynapseBinningOptions): Promise<SynapseBinning> {
  const frame = await db.get(options.input ?? 'synapse_activation');
  const result = binSynapseActivation(frame as FrameInput, options);
  const computed = await result;
  const key = binnedKey(options.groupby);
  if (await db.has(key)) await db.delete(key);
  await db.createSubDb(key);
  for (const { values, array } of computed.groups.values()) await db.set([...key, ...values], array, 'numpy_to_npy');
  return { ...computed, key };
}

/** The binning alone (nothing stored), over any frame input. */
export async function binSynapseActivation(frame: FrameInput, options: SynapseBinningOptions): Promise<Omit<SynapseBinning, 'key'>> {
  const groupby = typeof options.groupby === 'string' ? [options.groupby] : [...options.groupby];
  if (groupby.length === 0 || groupby.some((g) => typeof g !== 'string' || g === '')) {
    throw InvalidInputError.value('groupby option', 'name at least one group: celltype, presynaptic_column, proximal, EI, binned_somadist, or a column');
  }
  const maxTime = options.maxTime ?? 400;
  if (!Number.isInteger(maxTime) || maxTime <= 0) throw InvalidInputError.value('maxTime option', `must be a positive integer (ISF's arrays are maxTime wide), got ${maxTime}`);
  const histogram = new Histogram(arange(0, maxTime + 1, 1));
  const stacks = new Map<string, { values: string[]; blocks: Array<{ at: number; data: Float64Array }> }>();
  const trials: string[] = [];
  for await (const part of partitionsOf(frame, neededColumns(frame, groupby))) {
    const { ids, groups } = binPartition(part, groupby, histogram, maxTime);
    for (const group of groups.values()) {
      const id = JSON.stringify(group.values);
      let stack = stacks.get(id);
      if (!stack) stacks.set(id, stack = { values: group.values, blocks: [] });
      stack.blocks.push({ at: trials.length, data: group.data });
    }
    for (const id of ids) trials.push(id); // not push(...ids): a partition may have more trials than a call takes arguments
  }
  const out = new Map<string, { values: string[]; array: NdArray }>();
  for (const id of [...stacks.keys()].sort()) {
    const stack = stacks.get(id)!;
    const data = new Float64Array(trials.length * maxTime);
    for (const block of stack.blocks) data.set(block.data, block.at * maxTime);
    out.set(id, { values: stack.values, array: { dtype: 'float64', shape: [trials.length, maxTime], data } });
  }
  return { groups: out, trials };
}

function binPartition(part: Table, groupby: string[], histogram: Histogram, maxTime: number): {
  ids: string[]; groups: Map<number, { values: string[]; data: Float64Array }>;
} {
  const indexName = indexColumnOf(part);
  if (indexName === undefined) throw InvalidInputError.value('synapse activation frame', 'needs its trial index (sim_trial_index) stored as a column');
  const trial = codesOf(part.getChild(indexName)!);
  const dims = groupby.map((g) => groupCodes(part, g));
  const times = timeColumnsOf(part).map((c) => float64Of(part.getChild(c)!));
  const n = part.numRows;
  // One integer per row for its group values; -1 when one is missing (pandas' groupby drops the row).
  const group = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let code = 0;
    for (let d = dims.length - 1; d >= 0; d--) {
      const c = dims[d]!.codes[r]!;
      if (c < 0) { code = -1; break; }
      code = code * dims[d]!.values.length + c;
    }
    group[r] = code;
  }
  // The trials pandas saw (rows with all group values), in its sorted order.
  const seen = new Uint8Array(trial.values.length);
  for (let r = 0; r < n; r++) if (group[r]! >= 0 && trial.codes[r]! >= 0) seen[trial.codes[r]!] = 1;
  const order = trial.values.map((v, code) => ({ v, code })).filter((t) => seen[t.code]).sort((a, b) => compareIndexValues(a.v, b.v));
  const rowOf = new Int32Array(trial.values.length).fill(-1);
  order.forEach((t, i) => { rowOf[t.code] = i; });
  const groups = new Map<number, { values: string[]; data: Float64Array }>();
  const width = order.length * maxTime;
  for (let r = 0; r < n; r++) {
    const g = group[r]!;
    if (g < 0) continue;
    let entry = groups.get(g);
    if (!entry) {
      const values = dims.map((d) => String(d.values[d.codes[r]!]));
      groups.set(g, entry = { values, data: new Float64Array(width) });
    }
    const base = rowOf[trial.codes[r]!]! * maxTime;
    const data = entry.data;
    for (let c = 0; c < times.length; c++) {
      const b = histogram.binOf(times[c]![r]!);
      if (b >= 0) data[base + b]! += 1;
    }
  }
  return { ids: order.map((t) => String(t.v)), groups };
}

/** For a stored frame, only the columns the grouping and the binning read. */
function neededColumns(frame: FrameInput, groupby: string[]): string[] | undefined {
  const schema = (frame as { schema?: unknown }).schema;
  if (frame instanceof ArrowTable || !(schema instanceof Schema)) return undefined;
  const empty = new ArrowTable(schema);
  const names = new Set(empty.schema.fields.map((f) => f.name));
  const needed = new Set(timeColumnsOf(empty));
  for (const g of groupby) {
    if (names.has(g) && !(DERIVED_GROUPS as readonly string[]).includes(g)) needed.add(g);
    else if (g === 'proximal' || g === 'binned_somadist') needed.add('soma_distance');
    else needed.add('synapse_type');
  }
  return [...needed].filter((c) => names.has(c) && dataColumnsOf(empty).includes(c));
}

function compareIndexValues(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const x = Number(a);
  const y = Number(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The group value of every row as codes (-1: missing, dropped by pandas' groupby), as ISF's prefun derives it. */
function groupCodes(part: Table, name: string): Codes {
  if (part.schema.fields.some((f) => f.name === name) && !(DERIVED_GROUPS as readonly string[]).includes(name)) return codesOf(part.getChild(name)!);
  const n = part.numRows;
  const mapped = (source: Codes, label: (value: string) => string | null): Codes => {
    // Derive the label of each distinct source value once, then recode.
    const labels: string[] = [];
    const index = new Map<string, number>();
    const recode = source.values.map((v) => {
      const l = label(String(v));
      if (l === null) return -1;
      let code = index.get(l);
      if (code === undefined) { code = labels.length; labels.push(l); index.set(l, code); }
      return code;
    });
    const codes = new Int32Array(n);
    for (let r = 0; r < n; r++) codes[r] = source.codes[r]! < 0 ? -1 : recode[source.codes[r]!]!;
    return { codes, values: labels };
  };
  const types = (): Codes => codesOf(requireColumn(part, 'synapse_type', 'synapse activation frame'));
  const byDistance = (label: (d: number) => string): Codes => {
    const distance = float64Of(requireColumn(part, 'soma_distance', 'synapse activation frame'));
    const labels: string[] = [];
    const index = new Map<string, number>();
    const codes = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const l = label(distance[r]!);
      let code = index.get(l);
      if (code === undefined) { code = labels.length; labels.push(l); index.set(l, code); }
      codes[r] = code;
    }
    return { codes, values: labels };
  };
  switch (name) {
    case 'celltype': return mapped(types(), (t) => t.split('_')[0]!);
    case 'presynaptic_column': return mapped(types(), (t) => t.split('_')[1] ?? null);
    case 'EI': return mapped(types(), (t) => ((EXCITATORY as readonly string[]).includes(t.split('_')[0]!) ? 'EXC' : 'INH'));
    case 'proximal': return byDistance((d) => (d < 500 ? 'prox' : 'dist'));
    case 'binned_somadist': return byDistance((d) => {
      const x = Math.floor(d / 50);
      if (!Number.isFinite(x)) throw InvalidInputError.value('synapse activation frame', `soma_distance ${d} cannot be binned`);
      return `${x * 50}to${x * 50 + 50}`;
    });
    default:
      throw InvalidInputError.value('groupby option', `'${name}' is neither a column of the synapse activation frame nor one of ${DERIVED_GROUPS.join(', ')}`);
  }
}
