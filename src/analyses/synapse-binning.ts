/**
 * ISF's `db_initializers.synapse_activation_binning.init`: per trial and per group value, the
 * synapse activation times binned at 1 ms over [0, maxTime], stored as one numpy key per group
 * value under ('synapse_activation_binned', 't1', '<groupby joined by __>').
 *
 * As ISF does it: each partition is grouped by (trial, group values), rows are the partition's
 * trials in sorted order, a trial without activations of a group gets zeros; partitions are
 * stacked in order, and a group absent from a partition gets zeros for its trials.
 */
import type { Table } from 'apache-arrow';
import { InvalidInputError, indexColumnOf, type DataBase, type Key, type NdArray } from '../index.js';
import { Histogram, arange } from './numpy.js';
import { float64Of, partitionsOf, requireColumn, timeColumnsOf, type FrameInput } from './frames.js';

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
    throw new InvalidInputError('groupby option', 'name at least one group: celltype, presynaptic_column, proximal, EI, binned_somadist, or a column');
  }
  const maxTime = options.maxTime ?? 400;
  if (!Number.isInteger(maxTime) || maxTime <= 0) throw new InvalidInputError('maxTime option', `must be a positive integer (ISF's arrays are maxTime wide), got ${maxTime}`);
  const histogram = new Histogram(arange(0, maxTime + 1, 1));
  const stacks = new Map<string, { values: string[]; blocks: Array<{ at: number; data: Float64Array }> }>();
  const trials: string[] = [];
  for await (const part of partitionsOf(frame)) {
    const { ids, groups } = binPartition(part, groupby, histogram, maxTime);
    for (const [id, group] of groups) {
      let stack = stacks.get(id);
      if (!stack) stacks.set(id, stack = { values: group.values, blocks: [] });
      stack.blocks.push({ at: trials.length, data: group.data });
    }
    trials.push(...ids);
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
  ids: string[]; groups: Map<string, { values: string[]; data: Float64Array }>;
} {
  const indexName = indexColumnOf(part);
  if (indexName === undefined) throw new InvalidInputError('synapse activation frame', 'needs its trial index (sim_trial_index) stored as a column');
  const index = part.getChild(indexName)!.toArray() as unknown[];
  const keys = groupby.map((g) => groupValues(part, g));
  const times = timeColumnsOf(part).map((c) => float64Of(part.getChild(c)!));
  // pandas' groupby drops rows whose group value is missing, then sorts the trials it saw.
  const rowValues: Array<string[] | undefined> = new Array(part.numRows);
  const seen = new Map<string, unknown>();
  for (let r = 0; r < part.numRows; r++) {
    const values: string[] = [];
    for (const k of keys) {
      const v = k[r];
      if (v === null || v === undefined) break;
      values.push(v);
    }
    if (values.length !== keys.length) continue;
    rowValues[r] = values;
    seen.set(String(index[r]), index[r]);
  }
  const trialIds = [...seen.entries()].sort(([, a], [, b]) => compareIndexValues(a, b)).map(([id]) => id);
  const row = new Map(trialIds.map((id, i) => [id, i]));
  const groups = new Map<string, { values: string[]; data: Float64Array }>();
  for (let r = 0; r < part.numRows; r++) {
    const values = rowValues[r];
    if (values === undefined) continue;
    const id = JSON.stringify(values);
    let group = groups.get(id);
    if (!group) groups.set(id, group = { values, data: new Float64Array(trialIds.length * maxTime) });
    const base = row.get(String(index[r]))! * maxTime;
    for (const col of times) {
      const b = histogram.binOf(col[r]!);
      if (b >= 0) group.data[base + b]! += 1;
    }
  }
  return { ids: trialIds, groups };
}

function compareIndexValues(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const x = Number(a);
  const y = Number(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The group value of every row (null: missing, dropped by pandas' groupby), as ISF's prefun derives it. */
function groupValues(part: Table, name: string): Array<string | null> {
  const n = part.numRows;
  const types = (): string[] => (requireColumn(part, 'synapse_type', 'synapse activation frame').toArray() as unknown[]).map(String);
  const distance = (): Float64Array => float64Of(requireColumn(part, 'soma_distance', 'synapse activation frame'));
  if (part.schema.fields.some((f) => f.name === name) && !(DERIVED_GROUPS as readonly string[]).includes(name)) {
    const column = part.getChild(name)!;
    return Array.from({ length: n }, (_, i) => {
      const v = column.get(i) as unknown;
      return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? null : String(v);
    });
  }
  switch (name) {
    case 'celltype': return types().map((t) => t.split('_')[0]!);
    case 'presynaptic_column': return types().map((t) => t.split('_')[1] ?? null);
    case 'proximal': return Array.from(distance(), (d) => (d < 500 ? 'prox' : 'dist'));
    case 'EI': return types().map((t) => ((EXCITATORY as readonly string[]).includes(t.split('_')[0]!) ? 'EXC' : 'INH'));
    case 'binned_somadist': return Array.from(distance(), (d) => {
      const x = Math.floor(d / 50);
      if (!Number.isFinite(x)) throw new InvalidInputError('synapse activation frame', `soma_distance ${d} cannot be binned`);
      return `${x * 50}to${x * 50 + 50}`;
    });
    default:
      throw new InvalidInputError('groupby option', `'${name}' is neither a column of the synapse activation frame nor one of ${DERIVED_GROUPS.join(', ')}`);
  }
}
