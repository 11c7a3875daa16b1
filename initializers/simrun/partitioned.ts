/**
 * The partitioned keys (voltage_traces, synapse_activation, cell_activation and one
 * dendritic_recordings/<site> per recording site): one partition per run folder, in run-folder
 * order. Workers parse and encode each new folder into the staging folder; the main thread
 * checks its time grid, keeps its spike lists and moves its partitions into the keys. Partitions
 * of folders kept from an earlier run are reused (copied) from the earlier keys.
 */
import path from 'node:path';
import { Float64, makeData, type Data, type DataType, type Table } from 'apache-arrow';
import type { DataBase } from '../../src/index.js';
import { type StagedPartition, stageTable, stagedDaskLoader } from './encode.js';
import { Feed } from './feed.js';
import { InputProblemError } from './parse-csv.js';
import type { FolderResult, FolderTimings, ParseOptions, TraceBlock } from './parse-folder.js';
import { toInvalidInput, unwrapInputProblem } from './plan.js';
import type { FolderParser } from './pool.js';
import { pyFloatRepr } from './pyfloat.js';
import type { RunFolder } from './scan.js';
import { type PartitionSource, type SimrunState, restoreSpikes } from './state.js';
import { INDEX, spikeLists, tableOf } from './tables.js';

export interface PartitionJob {
  db: DataBase;
  /** every run folder of the new keys, in order */
  folders: RunFolder[];
  /** the folders to parse (the others are kept from `prev`) */
  newFolders: RunFolder[];
  prev: SimrunState | undefined;
  oldFrames: Map<string, PartitionSource>;
  labels: string[];
  want: { voltageTraces: boolean; synapseActivation: boolean; dendriticVoltageTraces: boolean; spikeTimes: boolean; dendriticSpikeTimes: boolean };
  dendThreshold: number;
  parseOpts: ParseOptions;
  pool: FolderParser;
  /** how many parsed folders may wait at once */
  window: number;
  stagingDir: string;
  onFolderParsed: (folder: RunFolder) => void;
}

export interface PartitionOutcome {
  written: string[];
  /** key -> the run folder of each partition */
  partitions: Record<string, string[]>;
  grid: Float64Array | undefined;
  dendGrids: Map<string, { time: Float64Array; file: string }>;
  /** per folder (in `folders` order), per trial */
  spikes: Float64Array[][];
  dendSpikes: Map<string, Float64Array[][]>;
  /** worker time per part, summed over the parsed folders */
  timings: FolderTimings;
}

interface Stream { key: string | string[]; name: string; width?: number; has: (f: RunFolder) => boolean }

function sameGrid(ref: Float64Array, t: Float64Array): number {
  const n = Math.min(ref.length, t.length);
  for (let i = 0; i < n; i++) if (ref[i] !== t[i]) return i;
  return ref.length === t.length ? -1 : n;
}

function checkGrid(block: TraceBlock, ref: Float64Array, refFile: string, folder: RunFolder): void {
  const at = sameGrid(ref, block.time);
  if (at === -1) return;
  const reason = at < Math.min(ref.length, block.time.length)
    ? `run folder ${folder.dir} has a different time grid: time ${pyFloatRepr(block.time[at]!)} where ${refFile} has ${pyFloatRepr(ref[at]!)}`
    : `run folder ${folder.dir} has a different time grid: ${block.time.length} time points where ${refFile} has ${ref.length}`;
  throw new InputProblemError({ file: block.file, reason, line: at + 2 });
}

function streamsOf(job: PartitionJob, synWidth: number, cellWidth: number): Stream[] {
  const streams: Stream[] = [];
  if (job.want.voltageTraces) streams.push({ key: 'voltage_traces', name: 'voltage_traces', has: () => true });
  if (job.want.synapseActivation) {
    streams.push({ key: 'synapse_activation', name: 'synapse_activation', width: synWidth, has: () => true });
    streams.push({ key: 'cell_activation', name: 'cell_activation', width: cellWidth, has: () => true });
  }
  if (job.want.dendriticVoltageTraces) {
    for (const label of job.labels) {
      streams.push({ key: ['dendritic_recordings', label], name: `dendritic_recordings/${label}`, has: (f) => f.dendFiles.some((d) => d.label === label) });
    }
  }
  return streams;
}

export async function writePartitionedKeys(job: PartitionJob): Promise<PartitionOutcome> {
  const { db, folders, newFolders, prev } = job;
  const out: PartitionOutcome = {
    written: [], partitions: {},
    grid: prev && prev.grid.length > 0 ? Float64Array.from(prev.grid) : undefined,
    dendGrids: new Map(Object.entries(prev?.dendGrids ?? {}).map(([l, g]) => [l, { time: Float64Array.from(g), file: 'the earlier run folders' }])),
    spikes: folders.map(() => []),
    dendSpikes: new Map(job.labels.map((l) => [l, folders.map(() => [])])),
    timings: { parseMs: 0, tablesMs: 0, encodeMs: 0, hashMs: 0 },
  };
  let gridFile = out.grid ? 'the earlier run folders' : '';
  const position = new Map(folders.map((f, i) => [f.rel, i]));
  if (prev) await restoreSpikes(db, prev, folders, position, out.spikes, out.dendSpikes, job.want, job.dendThreshold);

  const streams = streamsOf(job, job.parseOpts.synWidth, job.parseOpts.cellWidth);
  const encodeKeys = streams.map((s) => s.name);
  // grids are checked in folder order: folder 0's grid is the reference of the others
  let firstDone: Promise<void> | undefined;
  const start = (i: number): Promise<FolderResult> => {
    const folder = newFolders[i]!;
    const at = position.get(folder.rel)!;
    const spec = { dir: path.join(job.stagingDir, String(i)), keys: encodeKeys };
    const p = job.pool.parse(folder, job.parseOpts, spec).then(async (r) => {
      if (i > 0) await firstDone;
      if (r.vm) {
        if (out.grid === undefined) { out.grid = r.vm.time; gridFile = folder.vmFile; }
        else checkGrid(r.vm, out.grid, gridFile, folder);
      }
      for (const d of r.dend) {
        const ref = out.dendGrids.get(d.label);
        if (ref === undefined) out.dendGrids.set(d.label, { time: d.block.time, file: d.block.file });
        else checkGrid(d.block, ref.time, ref.file, folder);
      }
      if (r.timings) for (const k of ['parseMs', 'tablesMs', 'encodeMs', 'hashMs'] as const) out.timings[k] += r.timings[k];
      if (r.spikes) out.spikes[at] = spikeLists(r.spikes);
      for (const d of r.dend) if (d.spikes) out.dendSpikes.get(d.label)![at] = spikeLists(d.spikes);
      job.onFolderParsed(folder);
      return r;
    });
    if (i === 0) firstDone = p.then(() => undefined, () => undefined);
    return p;
  };
  const feed = new Feed(newFolders.length, start, Math.max(1, streams.length), job.window);

  const createdContainers: string[] = [];
  if (job.want.dendriticVoltageTraces && job.labels.length > 0 && !(await db.has('dendritic_recordings'))) {
    await db.createSubDb('dendritic_recordings');
    createdContainers.push('dendritic_recordings');
  }
  const kept = new Set(prev?.folders ?? []);
  const staged = await stagedDaskLoader();
  try {
    if (streams.length === 0) {
      for (let i = 0; i < newFolders.length; i++) { await feed.get(i); feed.release(i); }
      return out;
    }
    const settled = await Promise.allSettled(streams.map(async (s) => {
      const old = job.oldFrames.get(s.name);
      async function* partitions(): AsyncGenerator<StagedPartition> {
        let i = -1;
        for (const folder of folders) {
          if (kept.has(folder.rel)) {
            // kept from the previous run: its Parquet file is reused, not re-parsed
            const j = old ? old.rels.indexOf(folder.rel) : -1;
            if (j === -1) continue;
            yield await keptPartition(old!, j, s, path.join(job.stagingDir, 'kept', s.name.replace(/\//g, '__'), String(j)));
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
      out.written.push(s.name);
      out.partitions[s.name] = folders.filter((f) => s.has(f)).map((f) => f.rel);
    }));
    const firstInput = settled.find((x) => x.status === 'rejected' && unwrapInputProblem(x.reason) instanceof InputProblemError);
    const first = firstInput ?? settled.find((x) => x.status === 'rejected');
    if (first && first.status === 'rejected') throw toInvalidInput(unwrapInputProblem(first.reason));
    return out;
  } catch (e) {
    // folders still being parsed or encoded write into the staging folder: let them end first
    feed.abort(e);
    await feed.settled();
    for (const k of createdContainers) await db.delete(k).catch(() => undefined);
    throw e;
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
 * A partition of the earlier key, reused as is (copied, with the checksum the earlier key's
 * metadata.json records for it: not read back), or re-encoded when its activation columns must widen.
 */
async function keptPartition(old: PartitionSource, j: number, s: { name: string; width?: number }, dir: string): Promise<StagedPartition> {
  const { frame } = old;
  const numeric = frame.schema.fields.filter((f) => /^\d+$/.test(f.name)).length;
  if (s.width !== undefined && numeric < s.width) {
    const t = widen(await frame.readPartition(j), s.width);
    return stageTable(t, dir, s.name, { index: INDEX });
  }
  const ids = (await frame.readPartition(j, { columns: [] })).getChild(INDEX);
  const rows = ids?.length ?? 0;
  const file = frame.partitionPath(j);
  const p: StagedPartition = { file, objectMeta: old.objectMeta, rows, copy: true };
  const checksum = old.checksums[path.basename(file)];
  if (checksum !== undefined) p.checksum = checksum;
  if (ids && rows > 0) { p.first = String(ids.get(0)); p.last = String(ids.get(rows - 1)); }
  return p;
}
