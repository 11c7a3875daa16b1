/**
 * initSimrun: a raw simulation campaign -> the keys ISF's load_simrun_general.init builds, as
 * self-contained Parquet. Run folders are parsed in worker threads, one folder per worker at a
 * time; the main thread only turns their column buffers into Arrow tables and writes them, one
 * partition per run folder, as they arrive. Nothing is written before every structural check
 * has passed, and a parse error aborts every key being written (each key is written through a
 * temporary folder), so bad input leaves the database as it was.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Table } from 'apache-arrow';
import { type DataBase, InvalidInputError } from '../../src/index.js';
import { InputProblemError } from './parse-csv.js';
import type { FolderResult, ParseOptions, TraceBlock } from './parse-folder.js';
import { type ManagedFolders, copyParams, scanParams } from './params.js';
import { ParsePool } from './pool.js';
import { ProgressBar, type ProgressEvent } from './progress.js';
import { pyFloatRepr } from './pyfloat.js';
import { type Campaign, type RunFolder, scanCampaign, trialId } from './scan.js';
import { INDEX, activationTable, spikeLists, spikeTable, stringTable, timeLabels, traceTable } from './tables.js';

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

  const pool = new ParsePool(workers);
  try {
    // 2. check pass: shapes and activation widths, no parsing
    report(true);
    const checks = await Promise.all(folders.map((f) => pool.check(f))).catch((e) => { throw toInvalidInput(e); });
    const synWidth = Math.max(0, ...checks.map((c) => c.maxSynTimes));
    const cellWidth = Math.max(0, ...checks.map((c) => c.maxCellTimes));
    const labels = [...new Set(folders.flatMap((f) => f.dendFiles.map((d) => d.label)))].sort();

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
    let grid: Float64Array | undefined;
    const dendGrids = new Map<string, { time: Float64Array; file: string }>();
    const spikes: Float64Array[][] = folders.map(() => []);
    const dendSpikes = new Map<string, Float64Array[][]>(labels.map((l) => [l, folders.map(() => [])]));
    let gridFile = '';
    const checkGrid = (block: TraceBlock, ref: Float64Array, refFile: string, folder: RunFolder): void => {
      const at = sameGrid(ref, block.time);
      if (at === -1) return;
      const reason = at < Math.min(ref.length, block.time.length)
        ? `run folder ${folder.dir} has a different time grid: time ${pyFloatRepr(block.time[at]!)} where ${refFile} has ${pyFloatRepr(ref[at]!)}`
        : `run folder ${folder.dir} has a different time grid: ${block.time.length} time points where ${refFile} has ${ref.length}`;
      throw new InputProblemError({ file: block.file, reason, line: at + 2 });
    };
    let firstDone: Promise<void> | undefined;
    const start = (i: number): Promise<FolderResult> => {
      const folder = folders[i]!;
      const p = pool.parse(folder, parseOpts).then(async (r) => {
        if (i === 0) {
          grid = r.vm?.time;
          gridFile = folder.vmFile;
          for (const d of r.dend) dendGrids.set(d.label, { time: d.block.time, file: d.block.file });
        } else {
          await firstDone;
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
        if (r.spikes) spikes[i] = spikeLists(r.spikes);
        for (const d of r.dend) if (d.spikes) dendSpikes.get(d.label)![i] = spikeLists(d.spikes);
        progress.folders++;
        progress.trials += folder.trials.length;
        progress.bytes += folder.bytes;
        report();
        return r;
      });
      if (i === 0) firstDone = p.then(() => undefined, () => undefined);
      return p;
    };

    interface Stream { key: string | string[]; make: (r: FolderResult) => Table | undefined; labels?: () => string[] }
    const streams: Stream[] = [];
    let vmLabels: string[] | undefined;
    const dendLabelCache = new Map<string, string[]>();
    if (want.voltageTraces) {
      streams.push({ key: 'voltage_traces', make: (r) => r.vm ? traceTable(r.index, r.vm, (vmLabels ??= timeLabels(grid!))) : undefined, labels: () => (vmLabels ??= timeLabels(grid!)) });
    }
    if (want.synapseActivation) {
      streams.push({ key: 'synapse_activation', make: (r) => r.syn ? activationTable(r.syn, 'synapses') : undefined });
      streams.push({ key: 'cell_activation', make: (r) => r.cells ? activationTable(r.cells, 'cells') : undefined });
    }
    if (want.dendriticVoltageTraces) {
      for (const label of labels) {
        streams.push({
          key: ['dendritic_recordings', label],
          make: (r) => {
            const d = r.dend.find((x) => x.label === label);
            if (!d) return undefined;
            let l = dendLabelCache.get(label);
            if (!l) { l = timeLabels(dendGrids.get(label)!.time); dendLabelCache.set(label, l); }
            return traceTable(r.index, d.block, l);
          },
          labels: () => dendLabelCache.get(label) ?? timeLabels(dendGrids.get(label)!.time),
        });
      }
    }
    const feed = new Feed(folders, start, Math.max(1, streams.length), Math.max(2, pool.mode === 'workers' ? workers + 1 : 1));
    const createdContainers: string[] = [];
    if (want.dendriticVoltageTraces && labels.length > 0 && !(await db.has('dendritic_recordings'))) {
      await db.createSubDb('dendritic_recordings');
      createdContainers.push('dendritic_recordings');
    }
    try {
      if (streams.length === 0) {
        for (let i = 0; i < folders.length; i++) { await feed.get(i); feed.release(i); }
      } else {
        const settled = await Promise.allSettled(streams.map(async (s) => {
          async function* partitions(): AsyncGenerator<Table> {
            for (let i = 0; i < folders.length; i++) {
              let r: FolderResult;
              try {
                r = await feed.get(i);
              } catch (e) {
                feed.abort(e);
                throw e;
              }
              const t = s.make(r);
              feed.release(i);
              if (t) {
                // float time labels: known once the first partition is in hand
                if (s.labels && dumpOptions.columnLabelTypes === undefined) Object.assign(dumpOptions, frameOptions(INDEX, s.labels(), 'float'));
                yield t;
              }
            }
          }
          const dumpOptions: Record<string, unknown> = frameOptions(INDEX);
          try {
            await db.set(s.key, partitions(), 'dask_to_parquet', dumpOptions);
          } catch (e) {
            feed.abort(e);
            throw e;
          }
          written.push(Array.isArray(s.key) ? s.key.join('/') : s.key);
        }));
        const firstInput = settled.find((s) => s.status === 'rejected' && containsInputProblem(s.reason));
        const first = firstInput ?? settled.find((s) => s.status === 'rejected');
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
    await db.set(STATE_KEY, {
      simresult_path: campaign.root,
      folders: folders.map((f) => f.rel),
      synWidth, cellWidth,
      timePoints: grid?.length ?? 0,
      options: { core, ...want, dendThreshold, somaThreshold },
      writtenAt: new Date().toISOString(),
    }, 'value_to_msgpack');
    progress.phase = 'done';
    report(true);
    bar.finish();
    return {
      campaign: campaign.root,
      format: campaign.format,
      folders: folders.length,
      trials: ids.length,
      bytes: folders.reduce((s, f) => s + f.bytes, 0),
      timePoints: grid?.length ?? 0,
      spikes: nSpikes,
      failedRuns: failed.length,
      keys: written,
      elapsedMs: Date.now() - t0,
      parsing: pool.mode,
      ...(pool.reason === undefined ? {} : { parsingReason: pool.reason }),
    };
  } finally {
    bar.finish();
    await pool.close();
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
