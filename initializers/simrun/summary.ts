/**
 * The small keys, written once every partitioned key is in place: simresult_path, filelist,
 * sim_trial_index, metadata, spike_times, dendritic_spike_times, parameterfiles with its managed
 * folders, and failed_runs.
 */
import path from 'node:path';
import type { DataBase, SetManyEntry } from '../../src/index.js';
import { type ManagedFolders, type ParamScan, copyParams } from './params.js';
import type { FailedRun } from './plan.js';
import { pyFloatRepr } from './pyfloat.js';
import { type Campaign, type RunFolder, trialId } from './scan.js';
import { INDEX, spikeTable, stringTable } from './tables.js';

/** Dump options of the Parquet data-frame loaders: the index column, and what the data columns' labels were in Python. */
export function frameOptions(index: string, labelType?: 'float' | 'int'): Record<string, unknown> {
  return labelType === undefined ? { index } : { index, columnLabelType: labelType };
}

/** Where a key goes: the database itself, or a batch committed later in one setMany. */
export interface KeySink {
  set(key: string | string[], value: unknown, dumper: string, dumpOptions?: Record<string, unknown>): unknown;
}

/**
 * Small keys written together by one `setMany` (shared fsyncs, one pass of directory work); each
 * key is still committed atomically.
 */
export class KeyBatch implements KeySink {
  private readonly entries: SetManyEntry[] = [];

  set(key: string | string[], value: unknown, dumper: string, dumpOptions?: Record<string, unknown>): void {
    this.entries.push(dumpOptions === undefined ? { key, value, dumper } : { key, value, dumper, dumpOptions });
  }

  async commit(db: DataBase): Promise<void> {
    if (this.entries.length > 0) await db.setMany(this.entries);
  }
}

export async function writeSpikeTable(db: KeySink, key: string | string[], ids: string[], lists: Float64Array[]): Promise<number> {
  const st = spikeTable(ids, lists);
  await db.set(key, st, 'pandas_to_parquet', frameOptions(INDEX, 'int'));
  return lists.reduce((s, l) => s + l.length, 0);
}

export const dendriticSpikeKey = (label: string, threshold: number): string => `${label}_${pyFloatRepr(threshold)}`;

export function writeCoreKeys(db: KeySink, campaign: Campaign, folders: RunFolder[], ids: string[]): string[] {
  db.set('simresult_path', campaign.root, 'to_msgpack');
  db.set('filelist', campaign.filelist, 'to_msgpack');
  db.set('sim_trial_index', ids, 'to_msgpack');
  const rows = folders.flatMap((f) => f.trials.map((t) => ({ f, t })));
  const meta = stringTable([
    [INDEX, ids],
    ['path', rows.map(({ f }) => f.rel)],
    ['trialnr', rows.map(({ t }) => String(t).padStart(6, '0'))],
    ['voltage_traces_file_name', rows.map(({ f }) => path.basename(f.vmFile))],
    ['synapses_file_name', rows.map(({ t }) => `simulation_run${String(t).padStart(4, '0')}_synapses.csv`)],
    ['cells_file_name', rows.map(({ t }) => `simulation_run${String(t).padStart(4, '0')}_presynaptic_cells.csv`)],
  ], ids.length);
  db.set('metadata', meta, 'pandas_to_parquet', {});
  return ['simresult_path', 'filelist', 'sim_trial_index', 'metadata'];
}

/** One key per recording site: the trials of the folders that recorded it. */
export async function writeDendriticSpikeKeys(
  db: DataBase, folders: RunFolder[], labels: string[], dendSpikes: Map<string, Float64Array[][]>, threshold: number,
): Promise<string[]> {
  const written: string[] = [];
  for (const label of labels) {
    const perFolder = dendSpikes.get(label)!;
    const labelIds: string[] = [];
    const lists: Float64Array[] = [];
    folders.forEach((f, i) => {
      if (!f.dendFiles.some((d) => d.label === label)) return;
      f.trials.forEach((t, j) => { labelIds.push(trialId(f.rel, t)); lists.push(perFolder[i]![j] ?? new Float64Array(0)); });
    });
    const key = dendriticSpikeKey(label, threshold);
    await writeSpikeTable(db, ['dendritic_spike_times', key], labelIds, lists);
    written.push(`dendritic_spike_times/${key}`);
  }
  return written;
}

const MANAGED = ['parameterfiles_cell_folder', 'parameterfiles_network_folder', 'morphology', 'syn_folder', 'con_folder', 'recsites_folder'] as const;

/** `task` on every item at once; when all have ended, the first failure (in item order) is thrown: nothing still writes. */
async function eachSettled<T>(items: readonly T[], task: (item: T) => Promise<unknown>): Promise<void> {
  const failed = (await Promise.allSettled(items.map(task))).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** The managed folders now; the `parameterfiles` frame into `sink` (a batch, written afterwards). */
export async function writeParameterFiles(db: DataBase, scan: ParamScan, folders: RunFolder[], ids: string[], sink: KeySink = db): Promise<string[]> {
  // The six folders are six keys, each committed on its own: at once, not one after the other
  // (they are most of the run's last ~0.1 s, which nothing overlaps).
  const dirs = {} as ManagedFolders;
  // createManagedFolder returns a managed folder already there, and refuses a key of another
  // kind: reading such a key's value as a folder's path wrote a morphology outside the database
  await eachSettled(MANAGED, async (k) => { dirs[k] = await db.createManagedFolder(k); });
  await copyParams(scan, dirs);
  // Files this library wrote: verify checks them from now on.
  await eachSettled(MANAGED, (k) => db.recordManagedFiles(k));
  const pf = folders.flatMap((f) => f.trials.map(() => scan.byFolder.get(f.rel)!));
  await sink.set('parameterfiles', stringTable([
    [INDEX, ids],
    ['path_neuron', pf.map((p) => p.neuronPath)],
    ['path_network', pf.map((p) => p.networkPath)],
    ['hash_neuron', pf.map((p) => p.neuronHash)],
    ['hash_network', pf.map((p) => p.networkHash)],
  ], ids.length), 'pandas_to_parquet', frameOptions(INDEX));
  return [...MANAGED, 'parameterfiles'];
}

export async function writeFailedRuns(db: KeySink, failed: FailedRun[]): Promise<string[]> {
  if (failed.length === 0) return [];
  await db.set('failed_runs', failed, 'to_msgpack');
  return ['failed_runs'];
}
