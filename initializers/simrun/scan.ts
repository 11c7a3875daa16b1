/**
 * Find the run folders of a campaign and the files of each. No file content is read here.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputProblemError } from './parse-csv.js';

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

async function walk(root: string, rel: string, out: Map<string, string[]>): Promise<void> {
  const dir = rel === '' ? root : path.join(root, rel);
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries) {
    if (e.isDirectory()) {
      const sub = rel === '' ? e.name : `${rel}/${e.name}`;
      if (sub.includes('_running')) continue;
      await walk(root, sub, out);
    } else if (e.isFile() || e.isSymbolicLink()) files.push(e.name);
  }
  out.set(rel, files);
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
  const byDir = new Map<string, string[]>();
  await walk(abs, '', byDir);
  let anyCsv = false;
  for (const files of byDir.values()) if (files.some((f) => f.endsWith('_vm_all_traces.csv'))) { anyCsv = true; break; }
  const format: 'csv' | 'npz' = anyCsv ? 'csv' : 'npz';
  const suffix = format === 'csv' ? '_vm_all_traces.csv' : '_vm_all_traces.npz';
  const folders: RunFolder[] = [];
  const filelist: string[] = [];
  for (const [rel, files] of byDir) {
    const vms = files.filter((f) => f.endsWith(suffix)).sort();
    if (vms.length === 0) continue;
    const dir = rel === '' ? abs : path.join(abs, rel);
    if (vms.length > 1) {
      throw new InputProblemError({ file: dir, reason: `run folder holds ${vms.length} *${suffix} files (${vms.join(', ')}); expected one` });
    }
    const vm = vms[0]!;
    filelist.push(rel === '' ? vm : `${rel}/${vm}`);
    const uid = vm.slice(0, -suffix.length);
    const trials: number[] = [];
    for (const f of files) {
      const m = SYN_RE.exec(f);
      if (m) trials.push(Number(m[1]));
    }
    trials.sort((a, b) => a - b);
    const fileSet = new Set(files);
    const pad = (n: number): string => String(n).padStart(4, '0');
    const synapseFiles = trials.map((t) => path.join(dir, `simulation_run${pad(t)}_synapses.csv`));
    const cellFiles = trials.map((t) => {
      const name = `simulation_run${pad(t)}_presynaptic_cells.csv`;
      if (!fileSet.has(name)) {
        throw new InputProblemError({ file: path.join(dir, name), reason: `run folder ${dir}: trial ${t} has a synapse file but no presynaptic-cell file` });
      }
      return path.join(dir, name);
    });
    const dendFiles: { label: string; file: string }[] = [];
    const dendSuffix = '_vm_dend_traces.csv';
    for (const f of files) {
      if (f.startsWith(`${uid}_`) && f.endsWith(dendSuffix)) {
        dendFiles.push({ label: f.slice(uid.length + 1, -dendSuffix.length), file: path.join(dir, f) });
      }
    }
    dendFiles.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
    const neuron = `${uid}_neuron_model.param`;
    const network = `${uid}_network_model.param`;
    const folder: RunFolder = {
      dir, rel, uid,
      vmFile: path.join(dir, vm),
      vmFormat: format,
      trials, synapseFiles, cellFiles, dendFiles,
      bytes: 0,
    };
    if (fileSet.has(neuron)) folder.neuronParam = path.join(dir, neuron);
    if (fileSet.has(network)) folder.networkParam = path.join(dir, network);
    folders.push(folder);
  }
  // sizes, for the progress bar
  await Promise.all(folders.map(async (f) => {
    const all = [f.vmFile, ...f.synapseFiles, ...f.cellFiles, ...f.dendFiles.map((d) => d.file)];
    let bytes = 0;
    for (const file of all) bytes += (await stat(file)).size;
    f.bytes = bytes;
  }));
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

export function trialId(rel: string, trial: number): string {
  const t = String(trial).padStart(6, '0');
  return rel === '' ? t : `${rel}/${t}`;
}
