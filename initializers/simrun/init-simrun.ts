/**
 * initSimrun: a raw simulation campaign -> the keys ISF's load_simrun_general.init builds, as
 * self-contained Parquet. The steps, one file each:
 * - plan.ts: scan the campaign, check parameter files and the files they name, check every
 *   file's shape and completeness. Nothing is written (not even the database created, when a
 *   path is given) before the plan stands.
 * - state.ts: what an earlier run on the same campaign left, so that a re-run parses only new
 *   run folders.
 * - partitioned.ts (with feed.ts, pool.ts, encode.ts): workers parse and encode each run folder;
 *   the main thread moves partitions into the keys, in run-folder order.
 * - summary.ts: the small keys, then the state key, written last: a run interrupted before it is
 *   redone by the next one. Each key is replaced atomically; bad input leaves the database as it was.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { DataBase } from '../../src/index.js';
import { type FailedRun, checkFolders, normalizePathMap, planSimrun } from './plan.js';
import { missingReport } from './params.js';
import type { FolderTimings, ParseOptions } from './parse-folder.js';
import { writePartitionedKeys } from './partitioned.js';
import { type FolderParser, ParsePool, type PoolMode } from './pool.js';
import { defaultThreads, parseThreadChoice, parseThreadWindow } from './threads.js';
import type { SimrunQueueOptions } from './distributed.js';
import { ProgressBar, type ProgressEvent } from './progress.js';
import { type RunFolder, trialId } from './scan.js';
import { STATE_KEY, type SimrunState, openOldFrames, previousState } from './state.js';
import { KeyBatch, writeCoreKeys, writeDendriticSpikeKeys, writeFailedRuns, writeParameterFiles, writeSpikeTable } from './summary.js';

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
  /**
   * worker threads that parse and encode, the main thread only committing; 0 parses in the main
   * thread. Default: full workers where two or more pay for themselves (one parsing thread per
   * idle core, by the 1-minute load average, at most 8, the main thread being one of them, and
   * only as many as the campaign's size pays for: the k-th from 80 MB x k(k+1)/2 of CSV); else,
   * on 2+ cores, one parse thread beside the main thread, which encodes and commits
   * (threads.ts; docs/simrun.md, "The worker pool").
   */
  workers?: number;
  /** old-space limit of each worker's heap in MB (default: V8's own): lower peak RSS, slower */
  workerHeapMb?: number;
  /** record run folders that cannot be imported (incomplete files, no trials, broken parameter
   * files or missing referenced files) in a `failed_runs` key and go on, instead of failing */
  recordFailedRuns?: boolean;
  /** OLD -> NEW path prefixes for the absolute paths parameter files name (a campaign moved from
   * a cluster: `{ '/gpfs/scratch/me/project': '/data/project' }`), applied before resolving */
  pathMap?: Record<string, string> | readonly (readonly [string, string])[];
  /** parse on queue workers (`isfdb worker --simrun`) through this Redis instead of local threads;
   * this process alone writes the keys (see distributed.ts) */
  redis?: string | SimrunQueueOptions;
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
  /** referenced files still missing after the path map, grouped by folder */
  missingFiles: { prefix: string; files: string[] }[];
  /** run folders parsed by this call (the others were kept from an earlier run) */
  newFolders?: number;
  keys: string[];
  elapsedMs: number;
  /** 'workers': threads parse and encode folders; 'parse-thread': one thread parses, the main thread encodes; 'in-thread': the main thread alone */
  parsing: PoolMode;
  /** why parsing ran in the main thread, when it did */
  parsingReason?: string;
  /** where the time went (ms): the workers' parts summed over folders, the main thread's wall time per phase */
  profile?: SimrunProfile;
}

export interface SimrunProfile extends FolderTimings {
  /** scan, parameter files, check pass: before anything is written */
  planMs: number;
  /** the partitioned keys, from the first parse to the last key committed (workers run meanwhile) */
  partitionedMs: number;
  /** the small keys, parameter files and the state key */
  summaryMs: number;
  /** time the main thread's event loop was busy (not waiting for workers or the disk) */
  mainBusyMs: number;
}

/** What the add* functions change: only some keys, no state key, only the folders given. */
export interface PartialRun { writeState: boolean; onlyFolders?: Set<string> }

/**
 * `db` is an open database or a folder: a folder is opened (created when absent) only once the
 * campaign has been scanned and checked, so a wrong raw path creates and registers nothing.
 */
export async function initSimrun(rawPath: string, db: DataBase | string, options: InitSimrunOptions = {}): Promise<InitSimrunReport> {
  return runSimrun(rawPath, db, options, { writeState: true });
}

export async function runSimrun(rawPath: string, dbOrDir: DataBase | string, options: InitSimrunOptions, partial: PartialRun): Promise<InitSimrunReport> {
  const t0 = Date.now();
  const elu0 = performance.eventLoopUtilization();
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
  const recordFailedRuns = options.recordFailedRuns ?? false;

  // The parse thread (the default on 2+ cores, unless the campaign pays for full workers) starts
  // first: it loads its modules while the campaign is scanned.
  const parseThread = options.workers === undefined && options.redis === undefined && availableParallelism() >= 2
    ? ParsePool.parseThread(options.workerHeapMb) : undefined;
  let plan: Awaited<ReturnType<typeof planSimrun>>;
  try {
    plan = await planSimrun(rawPath, { parameterfiles: want.parameterfiles, recordFailedRuns, pathMap: normalizePathMap(options.pathMap) });
  } catch (e) {
    await parseThread?.close();
    throw e;
  }
  if (partial.onlyFolders) plan.folders = plan.folders.filter((f) => partial.onlyFolders!.has(f.rel));
  const { campaign } = plan;
  const bar = new ProgressBar(options.quiet ?? false);
  const progress: ProgressEvent = {
    phase: 'check', folders: 0, totalFolders: plan.folders.length, trials: 0, totalTrials: campaign.totalTrials,
    bytes: 0, totalBytes: campaign.totalBytes, elapsedMs: 0,
  };
  const report = (force = false): void => {
    progress.elapsedMs = Date.now() - t0;
    bar.update(progress, force);
    options.onProgress?.({ ...progress });
  };
  const done = (fields: Partial<InitSimrunReport> & Pick<InitSimrunReport, 'keys' | 'parsing'>): InitSimrunReport => ({
    campaign: campaign.root, format: campaign.format, folders: plan.folders.length,
    trials: plan.folders.reduce((n, f) => n + f.trials.length, 0), bytes: 0, timePoints: 0, spikes: 0,
    failedRuns: plan.failed.length, missingFiles: missingReport(plan.missing), elapsedMs: Date.now() - t0, ...fields,
  });

  let pool: FolderParser | undefined = parseThread;
  let staging: string | undefined;
  try {
    // an existing database given by path is opened now (that creates nothing), for its earlier state
    const db = typeof dbOrDir !== 'string' ? dbOrDir : existsSync(path.join(dbOrDir, 'db_state.json')) ? await DataBase.open(dbOrDir) : undefined;
    // A previous run on the same campaign with the same options: keep its run folders' data
    // (read back from the keys, not re-parsed) and parse only the folders it did not have.
    const optionsRecord = { core, ...want, dendThreshold, somaThreshold };
    const prev = db && partial.writeState ? await previousState(db, campaign.root, optionsRecord) : undefined;
    const oldSet = new Set(prev?.folders ?? []);
    let newFolders = plan.folders.filter((f) => !oldSet.has(f.rel));
    if (prev && newFolders.length === 0 && plan.folders.length === prev.folders.length) {
      return done({ timePoints: prev.grid.length, keys: [], parsing: 'in-thread', parsingReason: 'up to date: no new run folder' });
    }
    // the threads: by the idle cores and the bytes to parse (threads.ts), unless told
    const full = options.workers === undefined
      ? defaultThreads(availableParallelism(), loadavg()[0] ?? 0, newFolders.reduce((n, f) => n + f.bytes, 0))
      : { workers: options.workers };
    // (a parse thread whose compiled worker file is missing runs in this thread: not a split)
    const split = parseThread?.mode === 'parse-thread' ? parseThreadChoice(availableParallelism(), full) : undefined;
    const threads = split ?? full;
    const { workers } = threads;
    const mainParses = options.workers === undefined && workers > 0;
    let parsers: FolderParser;
    if (parseThread !== undefined && split !== undefined) parsers = parseThread;
    else {
      await parseThread?.close();
      parsers = options.redis === undefined
        ? new ParsePool(workers, options.workerHeapMb, mainParses)
        : await (await import('./distributed.js')).QueueParsePool.open(typeof options.redis === 'string' ? { url: options.redis } : options.redis);
    }
    pool = parsers;
    // check pass: shapes and completeness of every new folder's files, no parsing
    report(true);
    const checks = await checkFolders(plan, newFolders, parsers, recordFailedRuns);
    newFolders = newFolders.filter((f) => plan.folders.includes(f));
    const folders = plan.folders;
    progress.totalFolders = newFolders.length;
    progress.totalTrials = newFolders.reduce((n, f) => n + f.trials.length, 0);
    progress.totalBytes = newFolders.reduce((n, f) => n + f.bytes, 0);

    // the plan stands: only now is a database opened (and created) by path
    const target = db ?? await DataBase.open(dbOrDir as string);
    // the git facts every key's metadata.json records: read while the folders are parsed, not
    // when the first key commits (git processes, ~80 ms of waiting at the end otherwise)
    void target.prepareWrites().catch(() => undefined);
    const old = await openOldFrames(target, prev);
    // reduce, not Math.max(...): a campaign may have more run folders than a call takes arguments
    const synWidth = checks.reduce((max, c) => Math.max(max, c.maxSynTimes), old.synWidth);
    const cellWidth = checks.reduce((max, c) => Math.max(max, c.maxCellTimes), old.cellWidth);
    const labels = [...new Set(folders.flatMap((f) => f.dendFiles.map((d) => d.label)))].sort();
    const parseOpts: ParseOptions = {
      voltageTraces: want.voltageTraces, synapseActivation: want.synapseActivation, spikeTimes: want.spikeTimes,
      dendriticVoltageTraces: want.dendriticVoltageTraces, dendriticSpikeTimes: want.dendriticSpikeTimes,
      somaThreshold, dendriticThreshold: dendThreshold, synWidth, cellWidth,
    };

    const planMs = Date.now() - t0;
    progress.phase = 'parse';
    // partitions are staged inside the database (moved into their keys by rename), never beside it
    staging = await target.scratchFolder('simrun');
    const parts = await writePartitionedKeys({
      db: target, folders, newFolders, prev, oldFrames: old.frames, labels, want, dendThreshold, parseOpts, pool: parsers,
      window: parsers.mode === 'parse-thread' ? parseThreadWindow(newFolders.map((f) => f.bytes)) : Math.max(2, parsers.mode === 'workers' ? workers + (mainParses ? 2 : 1) : 1), stagingDir: staging,
      onFolderParsed: (folder: RunFolder) => {
        progress.folders++;
        progress.trials += folder.trials.length;
        progress.bytes += folder.bytes;
        report();
      },
    });

    const partitionedMs = Date.now() - t0 - planMs;
    // the small keys, once all partitions are in place
    progress.phase = 'write';
    report(true);
    const written = [...parts.written];
    const ids = folders.flatMap((f) => f.trials.map((t) => trialId(f.rel, t)));
    // the top-level small keys go in one batch (setMany: shared fsyncs), each key still atomic
    const batch = new KeyBatch();
    if (core) written.push(...writeCoreKeys(batch, campaign, folders, ids));
    let nSpikes = 0;
    if (want.spikeTimes) {
      nSpikes = await writeSpikeTable(batch, 'spike_times', ids, parts.spikes.flat());
      written.push('spike_times');
    }
    if (want.dendriticSpikeTimes) written.push(...await writeDendriticSpikeKeys(target, folders, labels, parts.dendSpikes, dendThreshold));
    if (want.parameterfiles && plan.paramScan) written.push(...await writeParameterFiles(target, plan.paramScan, folders, ids, batch));
    // a partial run (the add* functions) leaves failed_runs of the full run as it was
    if (partial.writeState) written.push(...await writeFailedRuns(batch, plan.failed));
    await batch.commit(target);
    if (partial.writeState) {
      const state: SimrunState = {
        version: 1,
        simresult_path: campaign.root,
        folders: folders.map((f) => f.rel),
        synWidth, cellWidth,
        grid: parts.grid ? Array.from(parts.grid) : [],
        dendGrids: Object.fromEntries([...parts.dendGrids].map(([l, g]) => [l, Array.from(g.time)])),
        partitions: parts.partitions,
        options: optionsRecord,
        writtenAt: new Date().toISOString(),
      };
      // written last: a run interrupted before this point is redone from the previous state;
      // the default dumper: ISF's to_msgpack (Python reads it) unless a value needs ours
      await target.set(STATE_KEY, state);
    }
    progress.phase = 'done';
    const parsingReason = threads.reason ?? parsers.reason;
    report(true);
    return done({
      trials: ids.length,
      bytes: newFolders.reduce((s, f) => s + f.bytes, 0),
      timePoints: parts.grid?.length ?? 0,
      spikes: nSpikes,
      newFolders: newFolders.length,
      keys: written,
      parsing: parsers.mode,
      ...(parsingReason === undefined ? {} : { parsingReason }),
      profile: {
        ...parts.timings, planMs, partitionedMs, summaryMs: Date.now() - t0 - planMs - partitionedMs,
        mainBusyMs: performance.eventLoopUtilization(elu0).active,
      },
    });
  } finally {
    bar.finish();
    await pool?.close();
    if (staging !== undefined) await rm(staging, { recursive: true, force: true });
  }
}

export type { FailedRun };
