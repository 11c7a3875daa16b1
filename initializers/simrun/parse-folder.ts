/**
 * Everything a worker does with one run folder: a cheap check pass (shapes, widths) and the
 * full parse into column buffers ready to become Arrow columns. Pure functions of the files,
 * runnable in a worker thread or in the main thread.
 */
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** Synchronous reads: this runs in a worker thread, where blocking costs nothing and a run
 * folder's ~100 small files are read without the per-file overhead of the promise API. */
const readFile = async (file: string): Promise<Buffer> => readFileSync(file);
import { InputProblemError, fail } from './input-problem.js';
import { type ActivationBlock, type KeyedStrings, type Strings, checkActivationComplete, maxTimesPerLine, parseActivationFiles } from './parse-activations.js';
import { type TraceMatrix, checkFinalNewline, detectSpikes, parseTraceCsv } from './parse-csv.js';
import type { RunFolder } from './scan.js';
import { trialId } from './scan.js';

export interface CheckResult {
  /** voltage columns in the somatic file */
  vmColumns: number;
  maxSynTimes: number;
  maxCellTimes: number;
}

export interface ParseOptions {
  voltageTraces: boolean;
  synapseActivation: boolean;
  spikeTimes: boolean;
  dendriticVoltageTraces: boolean;
  dendriticSpikeTimes: boolean;
  somaThreshold: number;
  dendriticThreshold: number;
  /** activation columns '0'..k-1 of the whole campaign (from the check pass) */
  synWidth: number;
  cellWidth: number;
}

export type { ActivationBlock, KeyedStrings, Strings };

export interface TraceBlock { time: Float64Array; values: Float64Array; nCols: number; file: string }

/** Per-trial spike lists: times[offsets[i]..offsets[i+1]) */
export interface SpikeBlock { times: Float64Array; offsets: Int32Array }

export interface FolderResult {
  /** partitions already encoded by the worker, by key name (see encode.ts) */
  staged?: Record<string, import('./encode.js').StagedPartition>;
  index: Strings;
  vm?: TraceBlock;
  dend: { label: string; block: TraceBlock; spikes?: SpikeBlock }[];
  spikes?: SpikeBlock;
  syn?: ActivationBlock;
  cells?: ActivationBlock;
  bytes: number;
  /** where the worker's time went on this folder */
  timings?: FolderTimings;
}

/** Milliseconds a worker spent per part of one folder (the profile in docs/simrun.md). */
export interface FolderTimings {
  /** reading and parsing the CSV files into column buffers (already column-major: no transpose) */
  parseMs: number;
  /** column buffers -> Arrow tables (views, no copies) */
  tablesMs: number;
  /** Parquet encoding and compression, object_meta.json, writing the staged files */
  encodeMs: number;
  /** the checksums, computed on the bytes as they are written (part of encodeMs) */
  hashMs: number;
}

const enc = new TextEncoder();

/** Strings as Arrow lays them out: UTF-8 bytes end to end, and where each one starts. */
export function stringsOf(values: string[]): Strings {
  const parts = values.map((v) => enc.encode(v));
  const offsets = new Int32Array(values.length + 1);
  let total = 0;
  parts.forEach((p, i) => { total += p.length; offsets[i + 1] = total; });
  const data = new Uint8Array(total);
  parts.forEach((p, i) => data.set(p, offsets[i]!));
  return { data, offsets };
}

/**
 * Column count of a voltage-trace CSV from its first data line, and whether its last row is
 * whole. Reads the file's start in 64 KiB steps until the first data line is complete (not the
 * whole file, nor a fixed megabyte: the check pass runs this for every run folder), and its last byte.
 */
async function csvColumns(file: string): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    let buf = Buffer.alloc(Math.min(size, 1 << 16));
    let have = 0;
    let first: string | undefined;
    for (;;) {
      const { bytesRead } = await fh.read(buf, have, buf.length - have, have);
      have += bytesRead;
      first = firstDataLine(buf.subarray(0, have), have === size);
      if (first !== undefined || have === size || bytesRead === 0) break;
      const bigger = Buffer.alloc(Math.min(size, buf.length * 2));
      buf.copy(bigger, 0, 0, have);
      buf = bigger;
    }
    if (first === undefined) fail(file, size === 0 ? 'the file is empty (0 bytes)' : 'no data rows after the header', 1);
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, size - 1);
    if (last[0] !== 10) checkFinalNewline(await readFile(file), file);
    return first.trim().split(/\s+/).length - 1;
  } finally {
    await fh.close();
  }
}

/** The first non-blank line after the header, once it is complete in `bytes` (or the file ends). */
function firstDataLine(bytes: Buffer, whole: boolean): string | undefined {
  let start = bytes.indexOf(10);
  while (start !== -1) {
    let end = bytes.indexOf(10, start + 1);
    if (end === -1) {
      if (!whole) return undefined;
      end = bytes.length;
    }
    const line = bytes.toString('latin1', start + 1, end);
    if (line.trim() !== '') return line;
    start = end < bytes.length ? end : -1;
  }
  return undefined;
}

interface Npy { shape: number[]; data: Float64Array; fortran: boolean }

export function parseNpy(bytes: Uint8Array, file: string): Npy {
  if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') fail(file, 'not a .npy array (bad magic)');
  const major = bytes[6]!;
  const hlen = major === 1 ? bytes[8]! | (bytes[9]! << 8) : bytes[8]! | (bytes[9]! << 8) | (bytes[10]! << 16) | (bytes[11]! << 24);
  const hstart = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(bytes.subarray(hstart, hstart + hlen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*True/.test(header);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined) fail(file, `unreadable .npy header: ${header.trim()}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const off = hstart + hlen;
  const raw = bytes.subarray(off);
  let data: Float64Array;
  if (descr === '<f8' || descr === '=f8') {
    const copy = raw.slice(0, n * 8);
    data = new Float64Array(copy.buffer, 0, n);
  } else if (descr === '<f4' || descr === '=f4') {
    const copy = raw.slice(0, n * 4);
    data = Float64Array.from(new Float32Array(copy.buffer, 0, n));
  } else fail(file, `unsupported dtype '${descr}' (expected float64 or float32)`);
  return { shape, data, fortran };
}

async function readNpzTraces(bytes: Uint8Array, file: string): Promise<TraceMatrix> {
  // loaded only for .npz campaigns
  const { unzipSync } = await import('fflate');
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    fail(file, `not a readable .npz (zip) file: ${(e as Error).message}`);
  }
  const arr = entries['arr_0.npy'] ?? entries[Object.keys(entries)[0] ?? ''];
  if (arr === undefined) fail(file, 'the .npz holds no array');
  const npy = parseNpy(arr, file);
  if (npy.shape.length !== 2) fail(file, `arr_0 has shape (${npy.shape.join(', ')}); expected (time points, 1 + trials)`);
  const [nT, w] = npy.shape as [number, number];
  const nCols = w - 1;
  const values = new Float64Array(nT * nCols);
  const time = new Float64Array(nT);
  for (let t = 0; t < nT; t++) {
    // ISF replaces the time column by 0.025 * k
    time[t] = 0.025 * t;
    for (let j = 0; j < nCols; j++) {
      values[t * nCols + j] = npy.fortran ? npy.data[(j + 1) * nT + t]! : npy.data[t * w + j + 1]!;
    }
  }
  return { time, values, nTimes: nT, nCols };
}

/**
 * The check pass: shapes and completeness of every file of a run folder (voltage columns match
 * the trials, no file cut off, no empty activation file) and the widest activation row.
 */
export async function checkFolder(folder: RunFolder): Promise<CheckResult> {
  if (folder.problem) throw new InputProblemError(folder.problem);
  let vmColumns: number;
  if (folder.vmFormat === 'csv') vmColumns = await csvColumns(folder.vmFile);
  else vmColumns = (await readNpzTraces(await readFile(folder.vmFile), folder.vmFile)).nCols;
  if (vmColumns !== folder.trials.length) {
    const missing = vmColumns > folder.trials.length ? ` (${vmColumns - folder.trials.length} trial(s) have no activation files)` : '';
    fail(folder.vmFile, `run folder ${folder.dir}: the voltage file has ${vmColumns} voltage columns but the folder has ${folder.trials.length} synapse files (simulation_run*_synapses.csv); they must match${missing}`, folder.vmFormat === 'csv' ? 2 : undefined);
  }
  for (const d of folder.dendFiles) {
    const cols = await csvColumns(d.file);
    if (cols !== folder.trials.length) {
      fail(d.file, `run folder ${folder.dir}: the dendritic voltage file has ${cols} voltage columns but the folder has ${folder.trials.length} synapse files; they must match`, 2);
    }
  }
  let maxSynTimes = 0;
  let maxCellTimes = 0;
  for (const f of folder.synapseFiles) {
    const buf = await readFile(f);
    checkActivationComplete(buf, f);
    maxSynTimes = Math.max(maxSynTimes, maxTimesPerLine(buf));
  }
  for (const f of folder.cellFiles) {
    const buf = await readFile(f);
    checkActivationComplete(buf, f);
    maxCellTimes = Math.max(maxCellTimes, maxTimesPerLine(buf));
  }
  return { vmColumns, maxSynTimes, maxCellTimes };
}

function spikeBlock(tr: TraceMatrix, threshold: number): SpikeBlock {
  const offsets = new Int32Array(tr.nCols + 1);
  const all: number[] = [];
  for (let j = 0; j < tr.nCols; j++) {
    for (const s of detectSpikes(tr.time, tr.values, tr.nCols, j, threshold)) all.push(s);
    offsets[j + 1] = all.length;
  }
  return { times: Float64Array.from(all), offsets };
}

export async function parseFolder(folder: RunFolder, opts: ParseOptions): Promise<FolderResult> {
  const ids = folder.trials.map((t) => trialId(folder.rel, t));
  const result: FolderResult = { index: stringsOf(ids), dend: [], bytes: folder.bytes };
  if (opts.voltageTraces || opts.spikeTimes) {
    const bytes = await readFile(folder.vmFile);
    const tr = folder.vmFormat === 'csv' ? parseTraceCsv(bytes, folder.vmFile) : await readNpzTraces(bytes, folder.vmFile);
    if (tr.nCols !== folder.trials.length) {
      fail(folder.vmFile, `run folder ${folder.dir}: the voltage file has ${tr.nCols} voltage columns but the folder has ${folder.trials.length} synapse files; they must match`, 2);
    }
    if (opts.voltageTraces) result.vm = { time: tr.time, values: tr.values, nCols: tr.nCols, file: folder.vmFile };
    else result.vm = { time: tr.time, values: new Float64Array(0), nCols: tr.nCols, file: folder.vmFile };
    if (opts.spikeTimes) result.spikes = spikeBlock(tr, opts.somaThreshold);
  }
  if (opts.dendriticVoltageTraces || opts.dendriticSpikeTimes) {
    for (const d of folder.dendFiles) {
      const tr = parseTraceCsv(await readFile(d.file), d.file);
      if (tr.nCols !== folder.trials.length) {
        fail(d.file, `run folder ${folder.dir}: the dendritic voltage file has ${tr.nCols} voltage columns but the folder has ${folder.trials.length} synapse files; they must match`, 2);
      }
      const entry: FolderResult['dend'][number] = {
        label: d.label,
        block: { time: tr.time, values: opts.dendriticVoltageTraces ? tr.values : new Float64Array(0), nCols: tr.nCols, file: d.file },
      };
      if (opts.dendriticSpikeTimes) entry.spikes = spikeBlock(tr, opts.dendriticThreshold);
      result.dend.push(entry);
    }
  }
  if (opts.synapseActivation) {
    // trial i of the folder has synapse file i and cell file i (scan.ts pairs them)
    const read = async (files: string[]): Promise<{ buf: Uint8Array; file: string }[]> => Promise.all(files.map(async (file) => ({ buf: await readFile(file), file })));
    result.syn = parseActivationFiles(await read(folder.synapseFiles), 'synapses', result.index, opts.synWidth);
    result.cells = parseActivationFiles(await read(folder.cellFiles), 'cells', result.index, opts.cellWidth);
  }
  return result;
}

/** Every ArrayBuffer in a result, to transfer instead of copying. */
export function transferables(r: FolderResult): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (a: ArrayBufferView | undefined): void => { if (a && a.buffer instanceof ArrayBuffer) out.add(a.buffer); };
  const addS = (s: Strings | undefined): void => { if (s) { add(s.data); add(s.offsets); } };
  const addK = (k: KeyedStrings | undefined): void => { if (k) { add(k.keys); addS(k.values); } };
  addS(r.index);
  if (r.vm) { add(r.vm.time); add(r.vm.values); }
  for (const d of r.dend) { add(d.block.time); add(d.block.values); if (d.spikes) { add(d.spikes.times); add(d.spikes.offsets); } }
  if (r.spikes) { add(r.spikes.times); add(r.spikes.offsets); }
  for (const a of [r.syn, r.cells]) {
    if (!a) continue;
    addK(a.index); addK(a.type); addK(a.dendriteLabel);
    add(a.id); add(a.somaDistance); add(a.sectionId); add(a.sectionPtId); add(a.times);
  }
  return [...out];
}
