/**
 * Find the run folders of a campaign and the files of each. No file content is read here.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { type InputProblem, InputProblemError } from './parse-csv.js';

export interface RunFolder {
  /** absolute path */
  dir: string;
  /** relative to the campaign root, '/'-separated; '' for the root itself */
  rel: string;
  uid: string;
  /** `<uid>_vm_all_traces.csv` or `.npz`, absolute */
  vmFile: string;
  vmFormat: 'csv' | 'npz';
  /** trial numbers, sorted ascending, and their files (absolute) */
  trials: number[];
  synapseFiles: string[];
  cellFiles: string[];
  /** recording-site label -> file */
  dendFiles: { label: string; file: string }[];
  neuronParam?: string;
  networkParam?: string;
  /** bytes of the files init parses (for progress) */
  bytes: number;
  /** why this folder cannot be imported (found by the scan: missing activation files, no trials) */
  problem?: InputProblem;
}

export interface Campaign {
  root: string;
  format: 'csv' | 'npz';
  folders: RunFolder[];
  /** relative paths of every vm_all_traces file, sorted (the `filelist` key) */
  filelist: string[];
  totalBytes: number;
  totalTrials: number;
}

const SYN_RE = /^simulation_run(\d+)_synapses\.csv$/;
const CELLS_RE = /^simulation_run(\d+)_presynaptic_cells\.csv$/;
/** `<YYYYMMDD-HHMM>_seed<S>_pid<P>` or the older `<YYYYMMDD-HHMM>_<pid>` */
const RUN_FOLDER_NAME = /^\d{8}-\d{4}_(?:seed\d+_pid\d+|\d+)$/;
/** files only simrun writes into a run folder: a folder holding any of them is a run folder */
const RUN_FILE = /^(?:simulation_run\d+_(?:synapses|presynaptic_cells)\.csv|.+_(?:neuron|network)_model\.param|.+_vm_dend_traces\.csv|hostname_.+)$/;

/** Folders listed at once: a cluster file system answers each after a round trip, so they overlap. */
const LIST_CONCURRENCY = 32;
/** Files stat'ed at once, for the sizes. */
const STAT_CONCURRENCY = 64;

/**
 * Every folder below `root` (relative, '/'-separated; '' for the root) -> its file names, level
 * by level with a bounded number of listings in flight: not one after another (a round trip each
 * on a cluster file system), and not all at once (tens of thousands of run folders).
 */
async function walk(root: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  let level = [''];
  while (level.length > 0) {
    const below: string[] = [];
    for (let i = 0; i < level.length; i += LIST_CONCURRENCY) {
      const batch = level.slice(i, i + LIST_CONCURRENCY);
      const listed = await Promise.all(batch.map((rel) => readdir(rel === '' ? root : path.join(root, rel), { withFileTypes: true })));
      batch.forEach((rel, j) => {
        const files: string[] = [];
        for (const e of listed[j]!) {
          if (e.isDirectory()) {
            const sub = rel === '' ? e.name : `${rel}/${e.name}`;
            if (!sub.includes('_running')) below.push(sub);
          } else if (e.isFile() || e.isSymbolicLink()) files.push(e.name);
        }
        out.set(rel, files);
      });
    }
    level = below;
  }
  return out;
}

/**
 * The sort key of a run folder: its trial ids are `<rel>/<nnnnnn>`, so folders sort by
 * `rel + '/'` (the root, with bare ids, first): then the trial ids come out globally sorted.
 */
export function folderSortKey(rel: string): string {
  return rel === '' ? '' : `${rel}/`;
}

export async function scanCampaign(root: string): Promise<Campaign> {
  const abs = path.resolve(root);
  const st = await stat(abs).catch(() => undefined);
  if (!st?.isDirectory()) throw new InputProblemError({ file: abs, reason: 'the simulation campaign folder does not exist or is not a folder' });
  const byDir = await walk(abs);
  let anyCsv = false;
  for (const files of byDir.values()) if (files.some((f) => f.endsWith('_vm_all_traces.csv'))) { anyCsv = true; break; }
  const format: 'csv' | 'npz' = anyCsv ? 'csv' : 'npz';
  const suffix = format === 'csv' ? '_vm_all_traces.csv' : '_vm_all_traces.npz';
  const folders: RunFolder[] = [];
  const filelist: string[] = [];
  for (const [rel, files] of byDir) {
    const vms = files.filter((f) => f.endsWith(suffix)).sort();
    const dir = rel === '' ? abs : path.join(abs, rel);
    if (vms.length === 0) {
      // a run folder that never got its voltage file: a crashed or never-started worker
      const looksLikeRun = (rel !== '' && RUN_FOLDER_NAME.test(path.basename(rel))) || files.some((f) => RUN_FILE.test(f));
      if (looksLikeRun) folders.push(emptyFolder(dir, rel, `run folder ${dir} holds no trials: no *${suffix} (an empty, crashed or unfinished run folder)`));
      continue;
    }
    if (vms.length > 1) {
      throw new InputProblemError({ file: dir, reason: `run folder holds ${vms.length} *${suffix} files (${vms.join(', ')}); expected one` });
    }
    const vm = vms[0]!;
    filelist.push(rel === '' ? vm : `${rel}/${vm}`);
    const uid = vm.slice(0, -suffix.length);
    const trials: number[] = [];
    const cellTrials = new Set<number>();
    for (const f of files) {
      const m = SYN_RE.exec(f);
      if (m) trials.push(Number(m[1]));
      const c = CELLS_RE.exec(f);
      if (c) cellTrials.add(Number(c[1]));
    }
    trials.sort((a, b) => a - b);
    const pad = (n: number): string => String(n).padStart(4, '0');
    const synapseFiles = trials.map((t) => path.join(dir, `simulation_run${pad(t)}_synapses.csv`));
    const cellFiles = trials.map((t) => path.join(dir, `simulation_run${pad(t)}_presynaptic_cells.csv`));
    let problem: InputProblem | undefined;
    const noCells = trials.find((t) => !cellTrials.has(t));
    const noSyn = [...cellTrials].sort((a, b) => a - b).find((t) => !trials.includes(t));
    if (noCells !== undefined) {
      problem = { file: path.join(dir, `simulation_run${pad(noCells)}_presynaptic_cells.csv`), reason: `run folder ${dir}: trial ${noCells} has a synapse file but no presynaptic-cell file (its activation files are incomplete)` };
    } else if (noSyn !== undefined) {
      problem = { file: path.join(dir, `simulation_run${pad(noSyn)}_synapses.csv`), reason: `run folder ${dir}: trial ${noSyn} has a presynaptic-cell file but no synapse file (its activation files are incomplete)` };
    } else if (trials.length === 0) {
      problem = { file: path.join(dir, vm), reason: `run folder ${dir} holds no trials: no simulation_run*_synapses.csv beside its voltage file` };
    }
    const dendFiles: { label: string; file: string }[] = [];
    const dendSuffix = '_vm_dend_traces.csv';
    for (const f of files) {
      if (f.startsWith(`${uid}_`) && f.endsWith(dendSuffix)) {
        dendFiles.push({ label: f.slice(uid.length + 1, -dendSuffix.length), file: path.join(dir, f) });
      }
    }
    dendFiles.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
    const fileSet = new Set(files);
    const neuron = `${uid}_neuron_model.param`;
    const network = `${uid}_network_model.param`;
    const folder: RunFolder = {
      dir, rel, uid,
      vmFile: path.join(dir, vm),
      vmFormat: format,
      trials, synapseFiles, cellFiles, dendFiles,
      bytes: 0,
    };
    if (problem) folder.problem = problem;
    if (fileSet.has(neuron)) folder.neuronParam = path.join(dir, neuron);
    if (fileSet.has(network)) folder.networkParam = path.join(dir, network);
    folders.push(folder);
  }
  // sizes, for the progress bar
  const sized = folders.filter((f) => !f.problem).flatMap((f) => [f.vmFile, ...f.synapseFiles, ...f.cellFiles, ...f.dendFiles.map((d) => d.file)].map((file) => ({ f, file })));
  for (let i = 0; i < sized.length; i += STAT_CONCURRENCY) {
    const batch = sized.slice(i, i + STAT_CONCURRENCY);
    const stats = await Promise.all(batch.map(({ file }) => stat(file)));
    batch.forEach(({ f }, j) => { f.bytes += stats[j]!.size; });
  }
  folders.sort((a, b) => {
    const ka = folderSortKey(a.rel);
    const kb = folderSortKey(b.rel);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  filelist.sort();
  return {
    root: abs,
    format,
    folders,
    filelist,
    totalBytes: folders.reduce((s, f) => s + f.bytes, 0),
    totalTrials: folders.reduce((s, f) => s + f.trials.length, 0),
  };
}

function emptyFolder(dir: string, rel: string, reason: string): RunFolder {
  return { dir, rel, uid: '', vmFile: '', vmFormat: 'csv', trials: [], synapseFiles: [], cellFiles: [], dendFiles: [], bytes: 0, problem: { file: dir, reason } };
}

export function trialId(rel: string, trial: number): string {
  const t = String(trial).padStart(6, '0');
  return rel === '' ? t : `${rel}/${t}`;
}
