/**
 * ISF's add_dendritic_voltage_traces and add_dendritic_spike_times: the dendritic keys added to a
 * database initialised without them. The first parses the dendritic trace files of the run
 * folders the database already holds; the second detects spikes in the stored
 * dendritic_recordings at a threshold (one key `<site>_<threshold>` per recording site).
 */
import type { Table } from 'apache-arrow';
import type { DataBase } from '../../src/database.js';
import { InvalidInputError } from '../../src/errors.js';
import { type InitSimrunOptions, type InitSimrunReport, runSimrun } from './init-simrun.js';
import { folderOfId } from './state.js';
import { dendriticSpikeKey, writeSpikeTable } from './summary.js';
import { INDEX } from './tables.js';

export interface AddDendriticVoltageTracesOptions extends Pick<InitSimrunOptions, 'workers' | 'workerHeapMb' | 'quiet' | 'onProgress' | 'recordFailedRuns'> {
  /** also detect dendritic spikes (default true, as ISF) */
  dendriticSpikeTimes?: boolean;
  /** mV, default -30 */
  dendriticSpikeTimesThreshold?: number;
}

async function required(db: DataBase, key: string, what: string): Promise<unknown> {
  if (!(await db.has(key))) throw new InvalidInputError(db.basedir, `the database has no '${key}' key: ${what} (run initSimrun first)`);
  return db.get(key);
}

/**
 * Parse the dendritic voltage traces of the run folders in `db` (from `raw`, by default the
 * campaign the database was initialised from: its `simresult_path`) into dendritic_recordings.
 */
export async function addDendriticVoltageTraces(db: DataBase, raw?: string, options: AddDendriticVoltageTracesOptions = {}): Promise<InitSimrunReport> {
  const root = raw ?? (await required(db, 'simresult_path', 'where the campaign is')) as string;
  const ids = (await required(db, 'sim_trial_index', 'which trials it holds')) as string[];
  const onlyFolders = new Set(ids.map((id) => folderOfId(id) ?? ''));
  const spikes = options.dendriticSpikeTimes ?? true;
  return runSimrun(root, db, {
    ...options,
    core: false, voltageTraces: false, synapseActivation: false, parameterfiles: false, spikeTimes: false,
    dendriticVoltageTraces: true, dendriticSpikeTimes: spikes,
  }, { writeState: false, onlyFolders });
}

/** Spike times of every stored recording site: t[i] wherever v[i-1] < threshold <= v[i]. */
export async function addDendriticSpikeTimes(db: DataBase, options: { threshold?: number } = {}): Promise<string[]> {
  const threshold = options.threshold ?? -30;
  await required(db, 'dendritic_recordings', 'the dendritic voltage traces (see addDendriticVoltageTraces)');
  const labels = (await db.keys({ recurse: true })).filter((k) => k.length === 2 && k[0] === 'dendritic_recordings').map((k) => k[1]!).sort();
  const written: string[] = [];
  for (const label of labels) {
    const frame = (await db.get(['dendritic_recordings', label])) as AsyncIterable<Table>;
    const ids: string[] = [];
    const lists: Float64Array[] = [];
    for await (const part of frame) spikesOf(part, threshold, ids, lists);
    const key = dendriticSpikeKey(label, threshold);
    await writeSpikeTable(db, ['dendritic_spike_times', key], ids, lists);
    written.push(`dendritic_spike_times/${key}`);
  }
  return written;
}

function spikesOf(t: Table, threshold: number, ids: string[], lists: Float64Array[]): void {
  const names = t.schema.fields.map((f) => f.name).filter((n) => n !== INDEX);
  const times = names.map(Number);
  const cols = names.map((n) => t.getChild(n)!.toArray() as Float64Array);
  const index = t.getChild(INDEX)!;
  for (let r = 0; r < t.numRows; r++) {
    ids.push(String(index.get(r)));
    const out: number[] = [];
    for (let i = 1; i < cols.length; i++) {
      if (cols[i - 1]![r]! < threshold && cols[i]![r]! >= threshold) out.push(times[i]!);
    }
    lists.push(Float64Array.from(out));
  }
}
