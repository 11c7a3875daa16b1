/**
 * What an earlier initSimrun on the same campaign left: the `simrun_init_state` key (written
 * last, so a run interrupted before it is redone), the partitions of its keys (reused, not
 * re-parsed) and the spike lists of its run folders (read back from the spike keys).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Table } from 'apache-arrow';
import type { DataBase } from '../../src/index.js';
import { CHECKSUMS_FIELD } from '../../src/ondisk.js';
import { OBJECT_META } from './encode.js';
import { pyFloatRepr } from './pyfloat.js';
import { type RunFolder, trialId } from './scan.js';
import { INDEX } from './tables.js';

export const STATE_KEY = 'simrun_init_state';

export interface SimrunState {
  version: 1;
  simresult_path: string;
  folders: string[];
  synWidth: number;
  cellWidth: number;
  grid: number[];
  dendGrids: Record<string, number[]>;
  /** key (sub-db keys as 'a/b') -> the run folder of each partition, in order */
  partitions: Record<string, string[]>;
  options: Record<string, unknown>;
  writtenAt: string;
}

/** A partitioned key of the earlier run, and the run folder of each of its partitions. */
export interface PartitionSource {
  frame: {
    readPartition(i: number, options?: { columns?: string[] }): Promise<Table>;
    partitionPath(i: number): string;
    readonly dir: string;
    readonly divisions?: readonly unknown[];
    readonly numPartitions: number;
    readonly schema: { fields: { name: string }[] };
  };
  rels: string[];
  /** the key's object_meta.json, as text */
  objectMeta: string;
  /** checksums metadata.json records for the key's files (by file name), reused when a partition is copied */
  checksums: Record<string, string>;
}

const asKey = (name: string): string | string[] => {
  const parts = name.split('/');
  return parts.length === 1 ? parts[0]! : parts;
};

/** 'C2/run/000003' -> 'C2/run'; '000003' -> '' (a run folder at the root) */
export function folderOfId(id: string): string | undefined {
  if (!/(^|\/)\d{6}$/.test(id)) return undefined;
  const at = id.lastIndexOf('/');
  return at === -1 ? '' : id.slice(0, at);
}

/** The state of an earlier run on this campaign with the same options, when every key it lists is there. */
export async function previousState(db: DataBase, root: string, options: Record<string, unknown>): Promise<SimrunState | undefined> {
  if (!(await db.has(STATE_KEY))) return undefined;
  const state = (await db.get(STATE_KEY)) as SimrunState;
  if (state?.version !== 1 || state.simresult_path !== root) return undefined;
  if (JSON.stringify(state.options) !== JSON.stringify(options)) return undefined;
  for (const key of Object.keys(state.partitions)) {
    if (!(await db.has(asKey(key)))) return undefined;
  }
  return state;
}

const numericColumns = (f: PartitionSource['frame']): number => f.schema.fields.filter((x) => /^\d+$/.test(x.name)).length;

/** The earlier run's partitioned keys (opened lazily: partitions are read while the new keys are written). */
export async function openOldFrames(db: DataBase, prev: SimrunState | undefined): Promise<{ frames: Map<string, PartitionSource>; synWidth: number; cellWidth: number }> {
  const frames = new Map<string, PartitionSource>();
  let synWidth = prev?.synWidth ?? 0;
  let cellWidth = prev?.cellWidth ?? 0;
  for (const [key, rels] of Object.entries(prev?.partitions ?? {})) {
    const frame = (await db.get(asKey(key))) as PartitionSource['frame'];
    // which run folder each partition holds, from the key itself (its divisions: the first
    // trial id of every partition), so a key rewritten by an interrupted run maps correctly
    const fromDivisions = (frame.divisions ?? []).slice(0, frame.numPartitions).map((d) => (typeof d === 'string' ? folderOfId(d) : undefined));
    const known = fromDivisions.length === frame.numPartitions && fromDivisions.every((d) => d !== undefined);
    const checksums = (await db.metadata(asKey(key)))[CHECKSUMS_FIELD] ?? {};
    const objectMeta = await readFile(path.join(frame.dir, OBJECT_META), 'utf8');
    frames.set(key, { frame, rels: known ? fromDivisions as string[] : rels, objectMeta, checksums });
    if (key === 'synapse_activation') synWidth = Math.max(synWidth, numericColumns(frame));
    if (key === 'cell_activation') cellWidth = Math.max(cellWidth, numericColumns(frame));
  }
  return { frames, synWidth, cellWidth };
}

/** Spike lists of the kept run folders, from the spike keys written by the earlier run. */
export async function restoreSpikes(
  db: DataBase, prev: SimrunState, folders: RunFolder[], position: Map<string, number>,
  spikes: Float64Array[][], dendSpikes: Map<string, Float64Array[][]>,
  want: { spikeTimes: boolean; dendriticSpikeTimes: boolean }, dendThreshold: number,
): Promise<void> {
  const old = new Set(prev.folders);
  const fill = (t: Table, into: Float64Array[][]): void => {
    const ids = t.getChild(INDEX)!;
    const cols = t.schema.fields.map((f) => f.name).filter((n) => n !== INDEX).map((n) => t.getChild(n)!);
    const byId = new Map<string, Float64Array>();
    for (let r = 0; r < t.numRows; r++) {
      const list: number[] = [];
      for (const c of cols) { const v = c.get(r) as number; if (!Number.isNaN(v)) list.push(v); }
      byId.set(String(ids.get(r)), Float64Array.from(list));
    }
    for (const f of folders) {
      if (!old.has(f.rel)) continue;
      into[position.get(f.rel)!] = f.trials.map((n) => byId.get(trialId(f.rel, n)) ?? new Float64Array(0));
    }
  };
  if (want.spikeTimes && (await db.has('spike_times'))) fill((await db.get('spike_times')) as Table, spikes);
  if (want.dendriticSpikeTimes) {
    for (const [label, into] of dendSpikes) {
      const key = ['dendritic_spike_times', `${label}_${pyFloatRepr(dendThreshold)}`];
      if (await db.has(key)) fill((await db.get(key)) as Table, into);
    }
  }
}
