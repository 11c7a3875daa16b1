/**
 * Parquet encoding off the main thread. A worker turns each parsed run folder into one
 * single-partition `dask_to_parquet` dataset per key, written by the database's own
 * `dask_to_parquet` loader (public API: getLoader) into a staging folder. The main thread then
 * only moves those files into the key, through `stagedDaskLoader`, a `dask_to_parquet` dumper
 * that assembles already-encoded partitions: same files, same object_meta.json, same
 * divisions.json as the loader writes when given the tables one by one.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Table } from 'apache-arrow';
import { InvalidInputError } from '../../src/errors.js';
import { getLoader } from '../../loaders/index.js';
import type { Loader, LoaderContext } from '../../loaders/types.js';
import { type EncodingChoice, WideDoublePartitions, daskLayoutFiles, partitionFileName } from '../../src/frames.js';
import { type FolderResult, type FolderTimings, type ParseOptions, type Strings, type TraceBlock, parseFolder } from './parse-folder.js';
import type { RunFolder } from './scan.js';
import { INDEX, activationTable, gridLabels, traceTable } from './tables.js';

export const OBJECT_META = 'object_meta.json';

/** One partition already written as Parquet, waiting to be moved into its key. */
export interface StagedPartition {
  /** the .parquet file */
  file: string;
  /** the text of its object_meta.json (what the key's object_meta.json is when this is partition 0) */
  objectMeta: string;
  rows: number;
  /** first and last index value (trial ids), undefined when the partition is empty */
  first?: string;
  last?: string;
  /** copy instead of move (a partition kept from an earlier version of the key) */
  copy?: boolean;
  /** the file's checksum, computed by the worker while it wrote the file (see fileChecksum) */
  checksum?: string;
}

/**
 * A running checksum of bytes as they are written, in the spelling metadata.json records
 * (`sha256:<hex>`, as src/store/checksum.ts writes and verify recomputes).
 */
function fileChecksum(): { update: (chunk: Uint8Array) => void; digest: () => string } {
  const hash = createHash('sha256');
  return {
    update: (chunk) => { const t = performance.now(); hash.update(chunk); hashMs += performance.now() - t; },
    digest: () => `sha256:${hash.digest('hex')}`,
  };
}

/** Time spent hashing in this thread since the last parseAndEncode began (see FolderTimings). */
let hashMs = 0;

export interface EncodeSpec {
  /** staging folder for this run folder's partitions */
  dir: string;
  /** stream key name ('voltage_traces', 'dendritic_recordings/<label>', ...) -> what to encode */
  keys: string[];
}

const context = (key: string, basedir: string): LoaderContext => ({
  key,
  basedir,
  readonly: false,
  createDatabase: () => Promise.reject(new Error('not available while staging partitions')),
  openDatabase: () => Promise.reject(new Error('not available while staging partitions')),
});

/**
 * Dump options of the trace keys: labels are floats (time points). No dictionary: the values of a
 * voltage column rarely repeat, and trying costs per column (~10% of a wide partition).
 */
export const TRACE_DUMP_OPTIONS = { index: INDEX, dictionary: false, columnLabelType: 'float' } as const;

const traceWriters = new WeakMap<string[], Promise<WideDoublePartitions>>();

/**
 * One voltage partition (index + one float64 column per time point), its time labels marked as
 * Python floats, written straight from the parsed values by the Parquet writer's lean path for
 * wide float64 frames. What all partitions of a time grid share (pandas metadata,
 * object_meta.json, the footer's constant parts) is built once per grid, on its first partition.
 */
export async function stageTrace(index: Strings, block: TraceBlock, dir: string, key: string, labels: string[]): Promise<StagedPartition> {
  const rows = block.nCols;
  let writer = traceWriters.get(labels);
  if (!writer) {
    writer = WideDoublePartitions.of(traceTable(index, block, labels), TRACE_DUMP_OPTIONS, key);
    traceWriters.set(labels, writer);
  }
  const partitions = await writer;
  await mkdir(dir, { recursive: true });
  const sum = fileChecksum();
  const file = path.join(dir, partitionFileName(1, 0));
  await partitions.write(file, { rows, index, values: block.values }, () => traceTable(index, block, labels), sum.update);
  const staged: StagedPartition = { file, objectMeta: partitions.objectMeta, rows, checksum: sum.digest() };
  if (rows > 0) {
    staged.first = utf8.decode(index.data.subarray(index.offsets[0], index.offsets[1]));
    staged.last = utf8.decode(index.data.subarray(index.offsets[rows - 1], index.offsets[rows]));
  }
  return staged;
}

const utf8 = new TextDecoder();

/**
 * Dump options of an activation key's partitions in this thread and run: one map of encoding
 * choices per key, so each column's dictionary-or-PLAIN trial runs on this thread's first
 * partition of the key only (the trials were ~100 ms of 1.4 s on ISF's example shape,
 * docs/simrun.md). A run is known by its staging folder (each run folder's partitions are staged
 * in a folder of its own below it); a new run starts with no choices.
 */
const activationOptions = { run: '', byKey: new Map<string, { index: string; encodingChoices: Map<string, EncodingChoice> }>() };

function activationDumpOptions(spec: EncodeSpec, key: string): { index: string; encodingChoices: Map<string, EncodingChoice> } {
  const run = path.dirname(spec.dir);
  if (activationOptions.run !== run) activationOptions.byKey.clear();
  activationOptions.run = run;
  let options = activationOptions.byKey.get(key);
  if (!options) activationOptions.byKey.set(key, options = { index: INDEX, encodingChoices: new Map() });
  return options;
}

/** Write one table as a one-partition dask_to_parquet dataset in `dir`; return it as staged. */
export async function stageTable(table: Table, dir: string, key: string, options: Record<string, unknown>): Promise<StagedPartition> {
  await mkdir(dir, { recursive: true });
  const loader = (await getLoader('dask_to_parquet')) as Loader<Table[]>;
  const sum = fileChecksum();
  await loader.dump([table], dir, context(key, dir), { ...options, onBytes: sum.update });
  const files = (await readdir(dir)).filter((f) => f.endsWith('.parquet'));
  if (files.length !== 1) throw new Error(`internal: staging ${key} wrote ${files.length} parquet files in ${dir}`);
  const index = table.getChild(INDEX);
  const objectMeta = await readFile(path.join(dir, OBJECT_META), 'utf8');
  const staged: StagedPartition = { file: path.join(dir, files[0]!), objectMeta, rows: table.numRows, checksum: sum.digest() };
  if (index && table.numRows > 0) {
    staged.first = String(index.get(0));
    staged.last = String(index.get(table.numRows - 1));
  }
  return staged;
}

/**
 * Encode every requested key of a parsed folder, then drop the big buffers from the result
 * (only time grids, spikes and the index go back to the main thread).
 */
export async function encodeFolder(r: FolderResult, spec: EncodeSpec, timings?: FolderTimings): Promise<FolderResult> {
  const staged: Record<string, StagedPartition> = {};
  let tablesMs = 0;
  const t0 = performance.now();
  const timed = <T>(build: () => T): T => { const t = performance.now(); const out = build(); tablesMs += performance.now() - t; return out; };
  for (const key of spec.keys) {
    const dir = path.join(spec.dir, key.replace(/\//g, '__'));
    if (key === 'voltage_traces' && r.vm) {
      const labels = gridLabels(r.vm.time);
      staged[key] = await stageTrace(r.index, r.vm, dir, key, labels);
    } else if (key === 'synapse_activation' && r.syn) {
      staged[key] = await stageTable(timed(() => activationTable(r.syn!, 'synapses')), dir, key, activationDumpOptions(spec, key));
    } else if (key === 'cell_activation' && r.cells) {
      staged[key] = await stageTable(timed(() => activationTable(r.cells!, 'cells')), dir, key, activationDumpOptions(spec, key));
    } else if (key.startsWith('dendritic_recordings/')) {
      const label = key.slice('dendritic_recordings/'.length);
      const d = r.dend.find((x) => x.label === label);
      if (d) {
        const labels = gridLabels(d.block.time);
        staged[key] = await stageTrace(r.index, d.block, dir, key, labels);
      }
    }
  }
  if (timings) {
    timings.tablesMs += tablesMs;
    timings.encodeMs += performance.now() - t0 - tablesMs;
  }
  const slim: FolderResult = { index: r.index, dend: r.dend.map((d) => ({ ...d, block: { ...d.block, values: new Float64Array(0) } })), bytes: r.bytes, staged };
  if (r.vm) slim.vm = { ...r.vm, values: new Float64Array(0) };
  if (r.spikes) slim.spikes = r.spikes;
  return slim;
}

async function move(from: string, to: string, copy: boolean): Promise<void> {
  if (copy) { await copyFile(from, to); return; }
  try {
    await rename(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    await copyFile(from, to);
    await unlink(from);
  }
}

/** Through the commit's writer when there is one: hashed as written. */
function writeKeyFile(ctx: LoaderContext, file: string, text: string): void {
  if (ctx.writeFile) ctx.writeFile(file, text);
  else writeFileSync(file, text);
}

/**
 * A `dask_to_parquet` dumper whose value is an (async) iterable of staged partitions: it moves
 * them into the key folder as `pandas_to_parquet.<N>.<i>.parquet`, takes object_meta.json from
 * partition 0 (checking every partition has the same one) and writes divisions.json.
 */
export async function stagedDaskLoader(): Promise<Loader<AsyncIterable<StagedPartition>>> {
  const real = await getLoader('dask_to_parquet');
  return {
    name: 'dask_to_parquet',
    kind: 'data',
    canDump: (v: unknown) => typeof v === 'object' && v !== null && Symbol.asyncIterator in v,
    async dump(parts, dir, ctx) {
      const partial: string[] = [];
      const checksums: (string | undefined)[] = [];
      const firsts: (string | null)[] = [];
      let last: string | null = null;
      let known = true;
      let meta: string | undefined;
      for await (const p of parts) {
        const i = partial.length;
        if (meta === undefined) meta = p.objectMeta;
        else if (p.objectMeta !== meta) {
          throw new InvalidInputError(`partition ${i} of key '${ctx.key}'`, 'its columns or dtypes differ from partition 0');
        }
        const target = path.join(dir, `pandas_to_parquet.partial.${i}.parquet`);
        await move(p.file, target, p.copy === true);
        partial.push(target);
        checksums.push(p.checksum);
        if (p.first === undefined || p.last === undefined) known = false;
        firsts.push(p.first ?? null);
        last = p.last ?? null;
      }
      const n = partial.length;
      if (n === 0 || meta === undefined) throw new InvalidInputError(`value for key '${ctx.key}'`, 'a partitioned frame needs at least one partition');
      await Promise.all(partial.map((f, i) => rename(f, path.join(dir, partitionFileName(n, i)))));
      // checksums from the workers, computed while they wrote: the commit does not read these files back
      checksums.forEach((sum, i) => { if (sum !== undefined) ctx.recordChecksum?.(path.join(dir, partitionFileName(n, i)), sum); });
      const values = [...firsts, last];
      const sorted = known && values.every((v, i) => i === 0 || (values[i - 1]! <= v!));
      for (const [name, text] of daskLayoutFiles(meta, sorted ? values : undefined, n, false)) writeKeyFile(ctx, path.join(dir, name), text);
    },
    load: real.load.bind(real) as Loader<AsyncIterable<StagedPartition>>['load'],
  };
}

/**
 * A run folder's partitions staged from an empty staging folder (a retry after a worker died
 * starts afresh), with the folder's timings: `parseMs` as measured where it was parsed, the
 * rest added by `encode`, the hashing as this thread measured it.
 */
async function stagedAfresh(spec: EncodeSpec, parseMs: number, encode: (timings: FolderTimings) => Promise<FolderResult>): Promise<FolderResult> {
  await rm(spec.dir, { recursive: true, force: true });
  const timings: FolderTimings = { parseMs, tablesMs: 0, encodeMs: 0, hashMs: 0 };
  hashMs = 0;
  const out = await encode(timings);
  timings.hashMs = hashMs;
  out.timings = timings;
  return out;
}

/**
 * Encode a folder parsed elsewhere (pool mode 'parse-thread': a thread parses, this thread
 * encodes), its parse time as the parsing thread measured it.
 */
export function encodeParsed(r: FolderResult, spec: EncodeSpec): Promise<FolderResult> {
  return stagedAfresh(spec, r.timings?.parseMs ?? 0, (timings) => encodeFolder(r, spec, timings));
}

/**
 * Parse and encode a run folder one part at a time (somatic traces, dendritic traces,
 * activations), so that only one part's buffers are alive at once in the worker.
 */
export function parseAndEncode(folder: RunFolder, opts: ParseOptions, spec: EncodeSpec): Promise<FolderResult> {
  const none: ParseOptions = { ...opts, voltageTraces: false, spikeTimes: false, dendriticVoltageTraces: false, dendriticSpikeTimes: false, synapseActivation: false };
  return stagedAfresh(spec, 0, async (timings) => {
    const parse = async (o: ParseOptions): Promise<FolderResult> => {
      const t = performance.now();
      const r = await parseFolder(folder, o);
      timings.parseMs += performance.now() - t;
      return r;
    };
    const soma = await encodeFolder(await parse({ ...none, voltageTraces: opts.voltageTraces, spikeTimes: opts.spikeTimes }), spec, timings);
    const dend = await encodeFolder(await parse({ ...none, dendriticVoltageTraces: opts.dendriticVoltageTraces, dendriticSpikeTimes: opts.dendriticSpikeTimes }), spec, timings);
    const act = await encodeFolder(await parse({ ...none, synapseActivation: opts.synapseActivation }), spec, timings);
    const out: FolderResult = { index: soma.index, dend: dend.dend, bytes: soma.bytes, staged: { ...soma.staged, ...dend.staged, ...act.staged } };
    if (soma.vm) out.vm = soma.vm;
    if (soma.spikes) out.spikes = soma.spikes;
    return out;
  });
}
