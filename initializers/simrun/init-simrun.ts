/**
 * initSimrun: a raw simulation campaign -> the keys ISF's load_simrun_general.init builds, as
 * self-contained Parquet. Each worker thread takes one run folder at a time, parses it and
 * encodes its partitions (one per run folder and key) as Parquet into a staging folder; the main
 * thread only moves finished partitions into the keys, in run-folder order, as they arrive.
 * Nothing is written before every structural check has passed, and a parse error aborts every
 * key being written (each key is written through a temporary folder), so bad input leaves the
 * database as it was. Each dendritic recording site keeps its own time grid (labels from its
 * file); a site whose grid differs between run folders is an error like the soma's.
 * Re-running on a campaign that gained run folders parses only those; the partitions of the
 * earlier run are reused (copied), and each key is replaced atomically. The state key
 * `simrun_init_state` is written last: a run interrupted before it is redone by the next one.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os, { availableParallelism } from 'node:os';
import path from 'node:path';
import { Float64, makeData, type Data, type DataType, type Table } from 'apache-arrow';
import { type DataBase, InvalidInputError } from '../../src/index.js';
import { InputProblemError } from './parse-csv.js';
import type { FolderResult, ParseOptions, TraceBlock } from './parse-folder.js';
import { type ManagedFolders, copyParams, scanParams } from './params.js';
import { OBJECT_META, type StagedPartition, stageTable, stagedDaskLoader } from './encode.js';
import { ParsePool } from './pool.js';
import { ProgressBar, type ProgressEvent } from './progress.js';
import { pyFloatRepr } from './pyfloat.js';
import { type Campaign, type RunFolder, scanCampaign, trialId } from './scan.js';
import { INDEX, spikeLists, spikeTable, stringTable, tableOf } from './tables.js';

export interface InitSimrunOptions {
  /** simresult_path, filelist, sim_trial_index, metadata (default true) */
  core?: boolean;
  voltageTraces?: boolean;
  /** synapse_activation and cell_activation */
  synapseActivation?: boolean;
  dendriticVoltageTraces?: boolean;
  parameterfiles?: boolean;
  spikeTimes?: boolean;
  dendriticSpikeTimes?: boolean;
  /** mV, default -30 */
  dendriticSpikeTimesThreshold?: number;
  /** mV, default 0 */
  spikeTimesThreshold?: number;
  /** parsing threads (default: available cores, at most 8); 0 parses in the main thread */
  workers?: number;
  /** old-space limit of each worker's heap in MB (default: V8's own): lower peak RSS, slower */
  workerHeapMb?: number;
  /** record run folders whose parameter files are broken or reference missing files in a
   * `failed_runs` key and go on, instead of failing (default false) */
  recordFailedRuns?: boolean;
  /** no progress bar (it is also off when stderr is not a terminal) */
  quiet?: boolean;
  /** called as work progresses (for callers drawing their own progress) */
  onProgress?: (e: ProgressEvent) => void;
}

export interface InitSimrunReport {
  campaign: string;
  format: 'csv' | 'npz';
  folders: number;
  trials: number;
  bytes: number;
  timePoints: number;
  spikes: number;
  failedRuns: number;
  /** run folders parsed by this call (the others were kept from an earlier run) */
  newFolders?: number;
  keys: string[];
  elapsedMs: number;
  parsing: 'workers' | 'in-thread';
  /** why parsing ran in the main thread, when it did */
  parsingReason?: string;
}

const STATE_KEY = 'simrun_init_state';

function toInvalidInput(e: unknown): unknown {
  if (e instanceof InputProblemError) return new InvalidInputError(e.problem.file, e.problem.reason, e.problem.line);
  return e;
}

function sameGrid(ref: Float64Array, t: Float64Array): number {
  const n = Math.min(ref.length, t.length);
  for (let i = 0; i < n; i++) if (ref[i] !== t[i]) return i;
  return ref.length === t.length ? -1 : n;
}

/** Parse results shared by several writers; each result lives until every writer took it. */
class Feed {
  private readonly results: (Promise<FolderResult> | undefined)[] = [];
  private readonly consumed: number[];
  private started = 0;
  private low = 0;
  private failure: unknown;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly folders: RunFolder[],
    private readonly start: (i: number) => Promise<FolderResult>,
    private readonly consumers: number,
    private readonly window: number,
  ) {
    this.consumed = folders.map(() => 0);
  }

  async get(i: number): Promise<FolderResult> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      this.fill();
      const r = this.results[i];
      if (r !== undefined) return r;
      if (i < this.started) throw new Error(`internal: result ${i} was already released`);
      // a faster writer is ahead of the window: wait until the slower ones catch up
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  release(i: number): void {
    this.consumed[i] = (this.consumed[i] ?? 0) + 1;
    if (this.consumed[i] === this.consumers) {
      this.results[i] = undefined;
      while (this.low < this.folders.length && this.consumed[this.low] === this.consumers) this.low++;
      this.fill();
      this.wake();
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  abort(err: unknown): void {
    if (this.failure === undefined) this.failure = err;
    this.wake();
  }

  private fill(): void {
    while (this.started < this.folders.length && this.started < this.low + this.window) {
      const p = this.start(this.started);
      p.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
      this.results[this.started] = p;
      this.started++;
    }
  }
}

export async function initSimrun(rawPath: string, db: DataBase, options: InitSimrunOptions = {}): Promise<InitSimrunReport> {
  const t0 = Date.now();
  const core = options.core ?? true;
  const want = {
    voltageTraces: options.voltageTraces ?? true,
    synapseActivation: options.synapseActivation ?? true,
    dendriticVoltageTraces: options.dendriticVoltageTraces ?? true,
    parameterfiles: options.parameterfiles ?? true,
    spikeTimes: options.spikeTimes ?? true,
    dendriticSpikeTimes: options.dendriticSpikeTimes ?? true,
  };
  const dendThreshold = options.dendriticSpikeTimesThreshold ?? -30;
  const somaThreshold = options.spikeTimesThreshold ?? 0;
  const workers = options.workers ?? Math.max(1, Math.min(8, availableParallelism()));
  const bar = new ProgressBar(options.quiet ?? false);
  const written: string[] = [];

  let campaign: Campaign;
  try {
    campaign = await scanCampaign(rawPath);
  } catch (e) {
    throw toInvalidInput(e);
  }
  if (campaign.folders.length === 0) {
    throw new InvalidInputError(campaign.root, 'no run folder found (no *_vm_all_traces.csv or *_vm_all_traces.npz outside _running folders)');
  }

  const progress: ProgressEvent = {
    phase: 'check', folders: 0, totalFolders: campaign.folders.length, trials: 0, totalTrials: campaign.totalTrials,
    bytes: 0, totalBytes: campaign.totalBytes, elapsedMs: 0,
  };
  const report = (force = false): void => {
    progress.elapsedMs = Date.now() - t0;
    bar.update(progress, force);
    options.onProgress?.({ ...progress });
  };

  // 1. parameter files: parsed and their references checked before anything is written
  let folders = campaign.folders;
  let failed: { folder: string; file: string; line?: number; reason: string }[] = [];
  const paramScan = want.parameterfiles ? await scanParams(folders, options.recordFailedRuns ?? false).catch((e) => { throw toInvalidInput(e); }) : undefined;
  if (paramScan && paramScan.failed.length > 0) {
    const bad = new Set(paramScan.failed.map((f) => f.folder.rel));
    folders = folders.filter((f) => !bad.has(f.rel));
    failed = paramScan.failed.map((f) => ({ folder: f.folder.rel, file: f.problem.file, reason: f.problem.reason, ...(f.problem.line === undefined ? {} : { line: f.problem.line }) }));
  }
  if (folders.length === 0) throw new InvalidInputError(campaign.root, `every run folder failed: ${failed[0]?.reason ?? ''}`);

  // A previous run on the same campaign with the same options: keep its run folders' data
  // (read back from the keys, not re-parsed) and parse only the folders it did not have.
  const optionsRecord = { core, ...want, dendThreshold, somaThreshold };
  const prev = await previousState(db, campaign.root, optionsRecord);
  const oldSet = new Set(prev?.folders ?? []);
  const newFolders = folders.filter((f) => !oldSet.has(f.rel));
  const keptOld = folders.filter((f) => oldSet.has(f.rel));
  if (prev && newFolders.length === 0 && keptOld.length === prev.folders.length) {
    bar.finish();
    return {
      campaign: campaign.root, format: campaign.format, folders: folders.length,
      trials: folders.reduce((n, f) => n + f.trials.length, 0), bytes: 0, timePoints: prev.grid.length,
      spikes: 0, failedRuns: failed.length, keys: [], elapsedMs: Date.now() - t0, parsing: 'in-thread',
      parsingReason: 'up to date: no new run folder',
    };
  }
  progress.totalFolders = newFolders.length;
  progress.totalTrials = newFolders.reduce((n, f) => n + f.trials.length, 0);
  progress.totalBytes = newFolders.reduce((n, f) => n + f.bytes, 0);

  const pool = new ParsePool(workers, options.workerHeapMb);
  let staging: string | undefined;
  try {
    // 2. check pass: shapes and activation widths, no parsing
    report(true);
    const checks = await Promise.all(newFolders.map((f) => pool.check(f))).catch((e) => { throw toInvalidInput(e); });
    let synWidth = Math.max(prev?.synWidth ?? 0, ...checks.map((c) => c.maxSynTimes));
    let cellWidth = Math.max(prev?.cellWidth ?? 0, ...checks.map((c) => c.maxCellTimes));
    const labels = [...new Set(folders.flatMap((f) => f.dendFiles.map((d) => d.label)))].sort();
    // the old keys, read partition by partition while the new ones are written
    const oldFrames = new Map<string, PartitionSource>();
    const numericColumns = (f: PartitionSource['frame']): number => f.schema.fields.filter((x) => /^\d+$/.test(x.name)).length;
    if (prev) {
      for (const [key, rels] of Object.entries(prev.partitions)) {
        const parts = key.split('/');
        const frame = (await db.get(parts.length === 1 ? parts[0]! : parts)) as PartitionSource['frame'];
        // which run folder each partition holds, from the key itself (its divisions: the first
        // trial id of every partition), so a key rewritten by an interrupted run maps correctly
        const fromDivisions = (frame.divisions ?? []).slice(0, frame.numPartitions).map((d) => (typeof d === 'string' ? folderOfId(d) : undefined));
        const known = fromDivisions.length === frame.numPartitions && fromDivisions.every((d) => d !== undefined);
        oldFrames.set(key, { frame, rels: known ? fromDivisions as string[] : rels });
        if (key === 'synapse_activation') synWidth = Math.max(synWidth, numericColumns(frame));
        if (key === 'cell_activation') cellWidth = Math.max(cellWidth, numericColumns(frame));
      }
    }

    const parseOpts: ParseOptions = {
      voltageTraces: want.voltageTraces,
      synapseActivation: want.synapseActivation,
      spikeTimes: want.spikeTimes,
      dendriticVoltageTraces: want.dendriticVoltageTraces,
      dendriticSpikeTimes: want.dendriticSpikeTimes,
      somaThreshold,
      dendriticThreshold: dendThreshold,
      synWidth,
      cellWidth,
    };

    // 3. parse in workers, write partitions as they come
    progress.phase = 'parse';
    let grid: Float64Array | undefined = prev && prev.grid.length > 0 ? Float64Array.from(prev.grid) : undefined;
    const dendGrids = new Map<string, { time: Float64Array; file: string }>(
      Object.entries(prev?.dendGrids ?? {}).map(([l, g]) => [l, { time: Float64Array.from(g), file: 'the earlier run folders' }]));
    const spikes: Float64Array[][] = folders.map(() => []);
    const dendSpikes = new Map<string, Float64Array[][]>(labels.map((l) => [l, folders.map(() => [])]));
    let gridFile = grid ? 'the earlier run folders' : '';
    const position = new Map(folders.map((f, i) => [f.rel, i]));
    if (prev) await restoreSpikes(db, prev, folders, position, spikes, dendSpikes, want, dendThreshold);
    const checkGrid = (block: TraceBlock, ref: Float64Array, refFile: string, folder: RunFolder): void => {
      const at = sameGrid(ref, block.time);
      if (at === -1) return;
      const reason = at < Math.min(ref.length, block.time.length)
        ? `run folder ${folder.dir} has a different time grid: time ${pyFloatRepr(block.time[at]!)} where ${refFile} has ${pyFloatRepr(ref[at]!)}`
        : `run folder ${folder.dir} has a different time grid: ${block.time.length} time points where ${refFile} has ${ref.length}`;
      throw new InputProblemError({ file: block.file, reason, line: at + 2 });
    };
    let firstDone: Promise<void> | undefined;
    let startParse: ((folder: RunFolder, i: number) => Promise<FolderResult>) | undefined;
    const start = (i: number): Promise<FolderResult> => {
      const folder = newFolders[i]!;
      const at = position.get(folder.rel)!;
      const p = startParse!(folder, i).then(async (r) => {
        if (i === 0 && !prev) {
          grid = r.vm?.time;
          gridFile = folder.vmFile;
          for (const d of r.dend) dendGrids.set(d.label, { time: d.block.time, file: d.block.file });
        } else {
          if (i > 0) await firstDone;
          if (r.vm) {
            if (grid === undefined) { grid = r.vm.time; gridFile = folder.vmFile; }
            checkGrid(r.vm, grid, gridFile, folder);
          }
          for (const d of r.dend) {
            const ref = dendGrids.get(d.label);
            if (ref === undefined) dendGrids.set(d.label, { time: d.block.time, file: d.block.file });
            else checkGrid(d.block, ref.time, ref.file, folder);
          }
        }
        if (r.spikes) spikes[at] = spikeLists(r.spikes);
        for (const d of r.dend) if (d.spikes) dendSpikes.get(d.label)![at] = spikeLists(d.spikes);
        progress.folders++;
        progress.trials += folder.trials.length;
        progress.bytes += folder.bytes;
        report();
        return r;
      });
      if (i === 0) firstDone = p.then(() => undefined, () => undefined);
      return p;
    };

    interface Stream { key: string | string[]; name: string; width?: number; has: (f: RunFolder) => boolean }
    const streams: Stream[] = [];
    if (want.voltageTraces) streams.push({ key: 'voltage_traces', name: 'voltage_traces', has: () => true });
    if (want.synapseActivation) {
      streams.push({ key: 'synapse_activation', name: 'synapse_activation', width: synWidth, has: () => true });
      streams.push({ key: 'cell_activation', name: 'cell_activation', width: cellWidth, has: () => true });
    }
    if (want.dendriticVoltageTraces) {
      for (const label of labels) {
        streams.push({ key: ['dendritic_recordings', label], name: `dendritic_recordings/${label}`, has: (f) => f.dendFiles.some((d) => d.label === label) });
      }
    }
    // Parquet is encoded in the workers, into a staging folder beside the database
    staging = await makeStaging(db.basedir);
    const stagingDir = staging;
    const encodeKeys = streams.map((s) => s.name);
    startParse = (folder, i) => pool.parse(folder, parseOpts, { dir: path.join(stagingDir, String(i)), keys: encodeKeys });
    const feed = new Feed(newFolders, start, Math.max(1, streams.length), Math.max(2, pool.mode === 'workers' ? workers + 1 : 1));
    const createdContainers: string[] = [];
    const partitionsOf: Record<string, string[]> = {};
    if (want.dendriticVoltageTraces && labels.length > 0 && !(await db.has('dendritic_recordings'))) {
      await db.createSubDb('dendritic_recordings');
      createdContainers.push('dendritic_recordings');
    }
    const staged = await stagedDaskLoader();
    try {
      if (streams.length === 0) {
        for (let i = 0; i < newFolders.length; i++) { await feed.get(i); feed.release(i); }
      } else {
        const settled = await Promise.allSettled(streams.map(async (s) => {
          const old = oldFrames.get(s.name);
          async function* partitions(): AsyncGenerator<StagedPartition> {
            let i = -1;
            for (const folder of folders) {
              if (oldSet.has(folder.rel)) {
                // kept from the previous run: its Parquet file is reused, not re-parsed
                const j = old ? old.rels.indexOf(folder.rel) : -1;
                if (j === -1) continue;
                yield await keptPartition(old!.frame, j, s, path.join(stagingDir, 'kept', s.name.replace(/\//g, '__'), String(j)));
                continue;
              }
              i++;
              let r: FolderResult;
              try {
                r = await feed.get(i);
              } catch (e) {
                feed.abort(e);
                throw e;
              }
              const p = r.staged?.[s.name];
              feed.release(i);
              if (p) yield p;
            }
          }
          try {
            await db.set(s.key, partitions(), staged as never);
          } catch (e) {
            feed.abort(e);
            throw e;
          }
          written.push(s.name);
          partitionsOf[s.name] = folders.filter((f) => s.has(f)).map((f) => f.rel);
        }));
        const firstInput = settled.find((x) => x.status === 'rejected' && containsInputProblem(x.reason));
        const first = firstInput ?? settled.find((x) => x.status === 'rejected');
        if (first && first.status === 'rejected') throw toInvalidInput(unwrapInputProblem(first.reason));
      }
    } catch (e) {
      for (const k of createdContainers) await db.delete(k).catch(() => undefined);
      throw e;
    }

    // 4. the small keys, once all partitions are in place
    progress.phase = 'write';
    report(true);
    const ids = folders.flatMap((f) => f.trials.map((t) => trialId(f.rel, t)));
    if (core) {
      await db.set('simresult_path', campaign.root, 'value_to_msgpack');
      await db.set('filelist', campaign.filelist, 'value_to_msgpack');
      await db.set('sim_trial_index', ids, 'value_to_msgpack');
      const rows = folders.flatMap((f) => f.trials.map((t) => ({ f, t })));
      const meta = stringTable([
        [INDEX, ids],
        ['path', rows.map(({ f }) => f.rel)],
        ['trialnr', rows.map(({ t }) => String(t).padStart(6, '0'))],
        ['voltage_traces_file_name', rows.map(({ f }) => path.basename(f.vmFile))],
        ['synapses_file_name', rows.map(({ t }) => `simulation_run${String(t).padStart(4, '0')}_synapses.csv`)],
        ['cells_file_name', rows.map(({ t }) => `simulation_run${String(t).padStart(4, '0')}_presynaptic_cells.csv`)],
      ], ids.length);
      await db.set('metadata', meta, 'pandas_to_parquet', {});
      written.push('simresult_path', 'filelist', 'sim_trial_index', 'metadata');
    }
    let nSpikes = 0;
    if (want.spikeTimes) {
      const lists = spikes.flat();
      nSpikes = lists.reduce((s, l) => s + l.length, 0);
      const st = spikeTable(ids, lists);
      await db.set('spike_times', st, 'pandas_to_parquet', frameOptions(INDEX, intLabels(st), 'int'));
      written.push('spike_times');
    }
    if (want.dendriticSpikeTimes && labels.length > 0) {
      for (const label of labels) {
        const perFolder = dendSpikes.get(label)!;
        const labelIds: string[] = [];
        const lists: Float64Array[] = [];
        folders.forEach((f, i) => {
          if (!f.dendFiles.some((d) => d.label === label)) return;
          f.trials.forEach((t, j) => { labelIds.push(trialId(f.rel, t)); lists.push(perFolder[i]![j] ?? new Float64Array(0)); });
        });
        const key = `${label}_${pyFloatRepr(dendThreshold)}`;
        const st = spikeTable(labelIds, lists);
        await db.set(['dendritic_spike_times', key], st, 'pandas_to_parquet', frameOptions(INDEX, intLabels(st), 'int'));
        written.push(`dendritic_spike_times/${key}`);
      }
    }
    if (want.parameterfiles && paramScan) {
      const dirs = {} as ManagedFolders;
      for (const k of ['parameterfiles_cell_folder', 'parameterfiles_network_folder', 'morphology', 'syn_folder', 'con_folder', 'recsites_folder'] as const) {
        dirs[k] = (await db.has(k)) ? (await db.get(k)) as string : await db.createManagedFolder(k);
        written.push(k);
      }
      await copyParams(paramScan, dirs);
      // Files this library wrote: verify checks them from now on.
      for (const k of Object.keys(dirs)) await db.recordManagedFiles(k);
      const pf = folders.flatMap((f) => f.trials.map(() => paramScan.byFolder.get(f.rel)!));
      await db.set('parameterfiles', stringTable([
        [INDEX, ids],
        ['path_neuron', pf.map((p) => p.neuronPath)],
        ['path_network', pf.map((p) => p.networkPath)],
        ['hash_neuron', pf.map((p) => p.neuronHash)],
        ['hash_network', pf.map((p) => p.networkHash)],
      ], ids.length), 'pandas_to_parquet', frameOptions(INDEX));
      written.push('parameterfiles');
    }
    if (failed.length > 0) {
      await db.set('failed_runs', failed, 'value_to_msgpack');
      written.push('failed_runs');
    }
    const state: SimrunState = {
      version: 1,
      simresult_path: campaign.root,
      folders: folders.map((f) => f.rel),
      synWidth, cellWidth,
      grid: grid ? Array.from(grid) : [],
      dendGrids: Object.fromEntries([...dendGrids].map(([l, g]) => [l, Array.from(g.time)])),
      partitions: partitionsOf,
      options: optionsRecord,
      writtenAt: new Date().toISOString(),
    };
    // written last: a run interrupted before this point is redone from the previous state
    await db.set(STATE_KEY, state, 'value_to_msgpack');
    progress.phase = 'done';
    report(true);
    bar.finish();
    return {
      campaign: campaign.root,
      format: campaign.format,
      folders: folders.length,
      trials: ids.length,
      bytes: newFolders.reduce((s, f) => s + f.bytes, 0),
      timePoints: grid?.length ?? 0,
      spikes: nSpikes,
      newFolders: newFolders.length,
      failedRuns: failed.length,
      keys: written,
      elapsedMs: Date.now() - t0,
      parsing: pool.mode,
      ...(pool.reason === undefined ? {} : { parsingReason: pool.reason }),
    };
  } finally {
    bar.finish();
    await pool.close();
    if (staging !== undefined) await rm(staging, { recursive: true, force: true });
  }
}

/** Dump options of the Parquet data-frame loaders: the index column, and which labels were numbers in Python. */
function frameOptions(index: string, labels?: string[], type?: 'float' | 'int'): Record<string, unknown> {
  if (!labels || !type) return { index };
  return { index, columnLabelTypes: Object.fromEntries(labels.map((l) => [l, type])) };
}

function intLabels(t: Table): string[] {
  return t.schema.fields.map((f) => f.name).filter((n) => n !== INDEX);
}

function containsInputProblem(e: unknown): boolean {
  return unwrapInputProblem(e) instanceof InputProblemError;
}

/** A loader wraps the iterable's error as its cause: find our input problem inside. */
function unwrapInputProblem(e: unknown): unknown {
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur !== undefined; depth++) {
    if (cur instanceof InputProblemError) return cur;
    if (cur instanceof InvalidInputError) return cur;
    cur = cur instanceof Error ? (cur as Error & { cause?: unknown }).cause : undefined;
  }
  return e;
}

interface SimrunState {
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

interface PartitionSource {
  frame: {
    readPartition(i: number, options?: { columns?: string[] }): Promise<Table>;
    partitionPath(i: number): string;
    readonly dir: string;
    readonly divisions?: readonly unknown[];
    readonly numPartitions: number;
    readonly schema: { fields: { name: string }[] };
  };
  rels: string[];
}

/** 'C2/run/000003' -> 'C2/run'; '000003' -> '' (a run folder at the root) */
function folderOfId(id: string): string | undefined {
  if (!/(^|\/)\d{6}$/.test(id)) return undefined;
  const at = id.lastIndexOf('/');
  return at === -1 ? '' : id.slice(0, at);
}

/** The state of an earlier run on this campaign with the same options, when every key it lists is there. */
async function previousState(db: DataBase, root: string, options: Record<string, unknown>): Promise<SimrunState | undefined> {
  if (!(await db.has(STATE_KEY))) return undefined;
  const state = (await db.get(STATE_KEY)) as SimrunState;
  if (state?.version !== 1 || state.simresult_path !== root) return undefined;
  if (JSON.stringify(state.options) !== JSON.stringify(options)) return undefined;
  for (const key of Object.keys(state.partitions)) {
    const parts = key.split('/');
    if (!(await db.has(parts.length === 1 ? parts[0]! : parts))) return undefined;
  }
  return state;
}

/** Spike lists of the kept run folders, from the spike keys written by the earlier run. */
async function restoreSpikes(
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

/** An activation partition read back from an earlier run, widened to '0'..width-1 with NaN columns. */
function widen(t: Table, width: number | undefined): Table {
  if (width === undefined) return t;
  const names = t.schema.fields.map((f) => f.name);
  let have = 0;
  while (names.includes(String(have))) have++;
  if (have >= width) return t;
  const cols: [string, Data<DataType>][] = t.schema.fields.map((f) => [f.name, t.getChild(f.name)!.data[0]!] as [string, Data<DataType>]);
  for (let k = have; k < width; k++) {
    cols.push([String(k), makeData({ type: new Float64(), length: t.numRows, nullCount: 0, data: new Float64Array(t.numRows).fill(NaN) })]);
  }
  return tableOf(cols, t.numRows);
}

/**
 * A folder for staged partitions: beside the database (same filesystem: moves are renames),
 * else in the temp folder. Staging folders left by a process that died are removed first.
 */
async function makeStaging(basedir: string): Promise<string> {
  const parent = path.dirname(basedir);
  const prefix = `.${path.basename(basedir)}.simrun-staging-`;
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) await rm(path.join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
  try {
    return await mkdtemp(path.join(parent, `${prefix}${process.pid}-`));
  } catch {
    return mkdtemp(path.join(os.tmpdir(), `isfdb-simrun-staging-${process.pid}-`));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A partition of the earlier key, reused as is (copied), or re-encoded when its activation columns must widen. */
async function keptPartition(frame: PartitionSource['frame'], j: number, s: { name: string; width?: number }, dir: string): Promise<StagedPartition> {
  const numeric = frame.schema.fields.filter((f) => /^\d+$/.test(f.name)).length;
  if (s.width !== undefined && numeric < s.width) {
    const t = widen(await frame.readPartition(j), s.width);
    return stageTable(t, dir, s.name, { index: INDEX });
  }
  const ids = (await frame.readPartition(j, { columns: [] })).getChild(INDEX);
  const rows = ids?.length ?? 0;
  const p: StagedPartition = { file: frame.partitionPath(j), objectMeta: path.join(frame.dir, OBJECT_META), rows, copy: true };
  if (ids && rows > 0) { p.first = String(ids.get(0)); p.last = String(ids.get(rows - 1)); }
  return p;
}
