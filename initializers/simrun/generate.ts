/**
 * A seeded, deterministic synthetic simulation campaign in exactly ISF's raw simrun layout
 * (see docs/simrun-raw-format.md): run folders nested at several depths and one at the root,
 * new (`<date>_seed<S>_pid<P>`) and old (`<date>_<pid>`) folder names, non-consecutive trial
 * numbers, parameter files with their referenced .hoc/.landmarkAscii/.syn/.con files,
 * dendritic traces, somatic spikes crossing 0 mV, a `_running` folder to skip, and an NPZ
 * variant. Used by the tests, the benchmark and the demo.
 */
import { mkdir, statfs, writeFile } from 'node:fs/promises';
import { InvalidInputError } from '../../src/errors.js';
import path from 'node:path';
import { pyFloatRepr } from './pyfloat.js';
import { buildNetwork, randomActivations } from './generate-activations.js';

export interface GenerateCampaignOptions {
  /** total number of trials (default 20) */
  trials?: number;
  /** PRNG seed (default 1) */
  seed?: number;
  /** trials per run folder (default 5) */
  trialsPerFolder?: number;
  /** time points per trace (default 400) */
  timePoints?: number;
  /** first time point in ms (default 100.0); the step is 0.025 ms */
  tStart?: number;
  /** active synapses per trial, on average (default 40) */
  synapsesPerTrial?: number;
  /** spiking presynaptic cells per trial, on average (default 20) */
  cellsPerTrial?: number;
  /** dendritic recording sites (default 2) */
  dendriticSites?: number;
  /** 'csv' (default) or 'npz': somatic traces as `<uid>_vm_all_traces.npz` instead of CSV */
  format?: 'csv' | 'npz';
  /** also write a `_running` folder that must be skipped (default true) */
  runningFolder?: boolean;
  /**
   * Name the referenced files (morphology, landmarks, .syn, .con) by absolute paths under this
   * prefix, as a campaign copied from a cluster does (`/gpfs/scratch/<user>/project_src/
   * in_silico_framework`): the files themselves are written under `<root>/example_data/`, so
   * init needs the path map `<prefix>/getting_started/example_data=<root>/example_data`.
   */
  referencePrefix?: string;
  /**
   * 'realistic' (default): the activation files of one fixed network, as ISF's simrun writes
   * them (see docs/parquet.md, "Activation frames"): every synapse keeps its anatomy (soma
   * distance, section, point, label) in every trial and run folder, a synapse's activation times
   * are spikes of its presynaptic cell (so they repeat across that cell's synapses and in
   * presynaptic_cells.csv), and times and distances are written with 12 significant digits.
   * 'random': the worst case for compression, every time and distance a fresh random double
   * with 10 decimals, no structure across rows or trials.
   */
  activations?: 'realistic' | 'random';
}

export interface CampaignSummary {
  root: string;
  /** run folders relative to the root ('' for the root itself), sorted */
  runFolders: string[];
  /** sim_trial_index values, in the order init writes them */
  trialIds: string[];
  trials: number;
  /** bytes of raw trace and activation files written */
  bytes: number;
  timePoints: number;
}

/** mulberry32: a small, fast, deterministic PRNG (also seeds the tests' values). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CELL_TYPES = ['L4ss_C2', 'L5tt_C2', 'L23_C1', 'L6cc_D2', 'VPM_C2'];

function siteLabel(i: number): string {
  const dist = (198.1 + i * 361.3).toFixed(1);
  const x = ((i * 0.37) % 1).toFixed(3);
  return `apical_proximal_distal_rec_sites_ID_${String(i).padStart(3, '0')}_sec_${String(20 + i * 9).padStart(3, '0')}_seg_${String(1 + i * 7).padStart(3, '0')}_x_${x}_somaDist_${dist}`;
}

/** A value the way ISF writes voltages: rounded to 10 decimals, sometimes with float noise. */
function vrepr(v: number, r: () => number): string {
  const a = Math.round(v * 1e10) / 1e10;
  if (r() < 0.15) return pyFloatRepr(a + Math.round(r() * 1e6) / 1e10 - 5e-5 + 5e-5);
  return pyFloatRepr(a);
}

/** One trace of n points, with action potentials that peak above `peak`. */
function trace(n: number, r: () => number, rest: number, spikes: number, peak: number): Float64Array {
  const v = new Float64Array(n);
  let x = rest + (r() - 0.5) * 4;
  for (let i = 0; i < n; i++) {
    x += (rest - x) * 0.02 + (r() - 0.5) * 0.6;
    v[i] = x;
  }
  for (let s = 0; s < spikes; s++) {
    const at = 5 + Math.floor(r() * Math.max(1, n - 30));
    const shape = [-50, -20, peak - 10, peak, peak - 15, -30, -60, -72];
    for (let k = 0; k < shape.length && at + k < n; k++) v[at + k] = shape[k]! + r() * 2;
  }
  return v;
}

function npy(data: Float64Array, shape: number[]): Uint8Array {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Bytes a campaign of this shape writes, about (values as ~14-character Python reprs). */
export function estimateCampaignBytes(o: Required<Pick<GenerateCampaignOptions, 'trials' | 'timePoints' | 'synapsesPerTrial' | 'cellsPerTrial' | 'dendriticSites'>>): number {
  return o.trials * (o.timePoints * 14 * (1 + o.dendriticSites) + o.synapsesPerTrial * 75 + o.cellsPerTrial * 40);
}

/** The generator keeps every trial id, and one run folder's trace file as one string. */
const MAX_TRIALS = 10_000_000;
const MAX_FILE_CHARS = 2 ** 29 - 24;

const size = (bytes: number): string => (bytes >= 1e12 ? `${(bytes / 1e12).toFixed(1)} TB` : bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${(bytes / 1e6).toFixed(1)} MB`);

/** Refuse, before writing anything, a campaign that cannot fit the disk or the generator's memory. */
async function checkCampaignSize(root: string, o: Parameters<typeof estimateCampaignBytes>[0] & { trialsPerFolder: number }): Promise<void> {
  const bytes = estimateCampaignBytes(o);
  if (o.trials > MAX_TRIALS) {
    throw InvalidInputError.value('trials', `${o.trials.toLocaleString('en-US')} trials would write about ${size(bytes)}; the generator handles at most ${MAX_TRIALS.toLocaleString('en-US')} trials (it keeps every trial id in memory)`);
  }
  const fileChars = o.timePoints * 14 * (1 + Math.min(o.trials, o.trialsPerFolder));
  if (fileChars > MAX_FILE_CHARS) {
    throw new InvalidInputError('trialsPerFolder', `a run folder's voltage file would be about ${size(fileChars)}, more than one string can hold: use fewer trials per folder or time points`);
  }
  let parent = path.resolve(root);
  for (;;) {
    const fs = await statfs(parent).catch(() => undefined);
    if (fs) {
      const free = fs.bavail * fs.bsize;
      if (bytes > free) throw new InvalidInputError(root, `${o.trials.toLocaleString('en-US')} trials would write about ${size(bytes)}, but the disk has ${size(free)} free`);
      return;
    }
    const up = path.dirname(parent);
    if (up === parent) return;
    parent = up;
  }
}

export async function generateCampaign(root: string, options: GenerateCampaignOptions = {}): Promise<CampaignSummary> {
  const trials = options.trials ?? 20;
  const seed = options.seed ?? 1;
  const perFolder = Math.max(1, options.trialsPerFolder ?? 5);
  const nT = options.timePoints ?? 400;
  const tStart = options.tStart ?? 100.0;
  const nSyn = options.synapsesPerTrial ?? 40;
  const nCells = options.cellsPerTrial ?? 20;
  const nSites = options.dendriticSites ?? 2;
  const format = options.format ?? 'csv';
  await checkCampaignSize(root, { trials, timePoints: nT, synapsesPerTrial: nSyn, cellsPerTrial: nCells, dendriticSites: nSites, trialsPerFolder: perFolder });
  const r = seededRandom(seed);
  await mkdir(root, { recursive: true });
  let bytes = 0;

  // shared anatomy: one morphology, one landmark file, two .syn/.con pairs
  const prefix = options.referencePrefix;
  const anat = prefix === undefined ? path.join(root, 'anatomy (shared)') : path.join(root, 'example_data', 'anatomical_constraints');
  const net = prefix === undefined ? anat : path.join(root, 'example_data', 'network_embedding');
  /** the path the parameter files use for a file written at `file` */
  const named = (file: string): string => (prefix === undefined ? file : `${prefix}/getting_started/example_data/${path.relative(path.join(root, 'example_data'), file)}`);
  await mkdir(anat, { recursive: true });
  await mkdir(net, { recursive: true });
  const hoc = path.join(anat, '86_C2_center.hoc');
  await writeFile(hoc, '/* synthetic morphology */\n{create soma}\n{access soma}\n');
  const landmarks = path.join(anat, 'rec_sites.landmarkAscii');
  await writeFile(landmarks, '# Avizo 3D ASCII 2.0\n\ndefine Markers 2\n@1\n0 0 0\n0 0 100\n');
  const synFiles: string[] = [];
  const conFiles: string[] = [];
  for (const variant of ['a', 'b']) {
    const syn = path.join(net, `embedding_${variant}.syn`);
    await writeFile(syn, `# Synapse distribution file\n# corresponding to cell: ${named(hoc)}\n# type - section - section.x\n\nL4ss_C2\t3\t0.5\n`);
    const con = path.join(net, `embedding_${variant}.con`);
    await writeFile(con, `# Anatomical connectivity realization file; only valid with synapse realization:\n# ${named(syn)}\n# type - cell ID - synapse ID\n\nL4ss_C2\t0\t0\n`);
    synFiles.push(named(syn));
    conFiles.push(named(con));
  }
  const sites = Array.from({ length: nSites }, (_, i) => siteLabel(i));
  // Realistic activations draw from their own stream, so the network does not depend on the
  // traces' draws (and the random mode's stream is the one it always was).
  const ra = seededRandom((seed * 2654435761 + 0x5eed) >>> 0);
  const network = (options.activations ?? 'realistic') === 'realistic' ? buildNetwork(ra, nSyn, nCells) : undefined;

  // run folder places: a few sub-trees, one at the root, old and new naming
  const nFolders = Math.ceil(trials / perFolder);
  const places = ['C2_evoked', 'C2_evoked/sweep (1)', 'D2_spont', ''];
  const folders: string[] = [];
  for (let f = 0; f < nFolders; f++) {
    const place = f === nFolders - 1 && nFolders > 1 ? '' : places[f % (places.length - 1)]!;
    const pid = 10000 + Math.floor(r() * 80000);
    const stamp = `2024${String(1 + (f % 12)).padStart(2, '0')}${String(10 + (f % 18)).padStart(2, '0')}-${String(1000 + f).slice(-4)}`;
    const name = f % 3 === 1 ? `${stamp}_${pid}` : `${stamp}_seed${1000 + f}_pid${pid}`;
    folders.push(place === '' ? '' : `${place}/${name}`);
  }
  // a single run folder at the root must not also be the only folder when others exist
  const trialIds: string[] = [];
  let made = 0;
  for (let f = 0; f < nFolders; f++) {
    const rel = folders[f]!;
    const dir = rel === '' ? root : path.join(root, rel);
    await mkdir(dir, { recursive: true });
    const base = rel === '' ? '' : path.basename(rel);
    const m = /_seed(\d+)_pid(\d+)$/.exec(base) ?? /_(\d+)$/.exec(base);
    const uid = rel === '' ? 'seed7_pid4242' : m && m.length === 3 ? `seed${m[1]}_pid${m[2]}` : (m?.[1] ?? 'x');
    const n = Math.min(perFolder, trials - made);
    made += n;
    // non-consecutive, increasing trial numbers
    const nums: number[] = [];
    let t = Math.floor(r() * 3);
    for (let i = 0; i < n; i++) { nums.push(t); t += 1 + Math.floor(r() * 3); }
    for (const num of nums) trialIds.push(rel === '' ? String(num).padStart(6, '0') : `${rel}/${String(num).padStart(6, '0')}`);

    const times: number[] = [];
    for (let k = 0; k < nT; k++) times.push(Math.round((tStart + k * 0.025) * 1000) / 1000);
    const soma = nums.map(() => trace(nT, r, -65, Math.floor(r() * 4), 30));
    if (format === 'csv') {
      const lines = [`t\t${nums.map((_, i) => `Vm run ${String(i).padStart(2, '0')}`).join('\t')}`];
      for (let k = 0; k < nT; k++) {
        let line = pyFloatRepr(times[k]!);
        for (const tr of soma) line += `\t${vrepr(tr[k]!, r)}`;
        lines.push(line);
      }
      const text = `${lines.join('\n')}\n`;
      bytes += text.length;
      await writeFile(path.join(dir, `${uid}_vm_all_traces.csv`), text);
    } else {
      const arr = new Float64Array(nT * (1 + nums.length));
      for (let k = 0; k < nT; k++) {
        arr[k * (1 + nums.length)] = times[k]!;
        soma.forEach((tr, j) => { arr[k * (1 + nums.length) + 1 + j] = Math.round(tr[k]! * 1e10) / 1e10; });
      }
      // fflate is loaded only for .npz campaigns: initSimrun's module graph does not need it
      const { zipSync } = await import('fflate');
      const zip = zipSync({ 'arr_0.npy': npy(arr, [nT, 1 + nums.length]) }, { level: 0 });
      bytes += zip.length;
      await writeFile(path.join(dir, `${uid}_vm_all_traces.npz`), zip);
    }
    for (const site of sites) {
      const dend = nums.map(() => trace(nT, r, -60, Math.floor(r() * 3), -5));
      const lines = [`t\t${nums.map((_, i) => `Vm run ${String(i).padStart(2, '0')}`).join('\t')}`];
      for (let k = 0; k < nT; k++) {
        let line = pyFloatRepr(times[k]!);
        for (const tr of dend) line += `\t${vrepr(tr[k]!, r)}`;
        lines.push(line);
      }
      const text = `${lines.join('\n')}\n`;
      bytes += text.length;
      await writeFile(path.join(dir, `${uid}_${site}_vm_dend_traces.csv`), text);
    }
    for (const num of nums) {
      const files = network === undefined ? randomActivations(r, nSyn, nCells) : network.trial(ra);
      bytes += files.synapses.length + files.cells.length;
      await writeFile(path.join(dir, `simulation_run${String(num).padStart(4, '0')}_synapses.csv`), files.synapses);
      await writeFile(path.join(dir, `simulation_run${String(num).padStart(4, '0')}_presynaptic_cells.csv`), files.cells);
    }
    const variant = f % 2;
    await writeFile(path.join(dir, `${uid}_neuron_model.param`), neuronParam(named(hoc), named(landmarks), variant));
    await writeFile(path.join(dir, `${uid}_network_model.param`), networkParam(synFiles[variant]!, conFiles[variant]!, f));
    await writeFile(path.join(dir, `hostname_node${f % 4}`), '');
  }
  if (options.runningFolder ?? true) {
    const running = path.join(root, 'C2_evoked', '20241231-2359_seed99_pid99999_running');
    await mkdir(running, { recursive: true });
    await writeFile(path.join(running, `seed99_pid99999_vm_all_traces.${format === 'npz' ? 'npz' : 'csv'}`), 't\tVm run 00\n100.0\t-65.');
    await writeFile(path.join(running, 'simulation_run0000_synapses.csv'), '# synapse type\n');
  }
  const order = trialIds.map((id) => id);
  return {
    root,
    runFolders: [...new Set(folders)].sort(),
    trialIds: sortTrialIds(order),
    trials: made,
    bytes,
    timePoints: nT,
  };
}

/** The order init writes trials in: by run folder (as a path prefix), then by trial number. */
export function sortTrialIds(ids: string[]): string[] {
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function neuronParam(hoc: string, landmarks: string, variant: number): string {
  return `{
    'info': {
        'name': 'synthetic (cell) "model" #${variant}',
        'author': 'isfdb gen-simrun',
        'note': "paths like 'x(1).hoc' and commas, (parens), [brackets] stay as written",
    },
    'NMODL_mechanisms': {'channels': '/'},
    'neuron': {
        'filename': '${hoc.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}',
        'Soma': {
            'properties': {'Ra': 100.0, 'cm': 1.0, 'ions': {'ek': -85.0, 'ena': 50.0,},},
            'mechanisms': {'global': {}, 'range': {'pas': {'spatial': 'uniform', 'g': 3.26e-05, 'e': -90,},},},
        },
    },
    'sim': {
        'Vinit': -75.0, 'tStart': 0.0, 'tStop': 250.0, 'dt': 0.025, 'T': 34.0,
        'recordingSites': ['${landmarks.replace(/'/g, "\\'")}'],
        'flags': (True, False, None),
        'variant': ${variant},
    },
}
`;
}

function networkParam(syn: string, con: string, f: number): string {
  const types = CELL_TYPES.slice(0, 3);
  return `{
    "info": {"date": "11Feb2015", "name": "network_${f % 2}", "author": "isfdb",},
    "network": {
${types.map((t) => `        "${t}": {
            "synapses": {
                "releaseProb": 0.6,
                "distributionFile": "${syn}",
                "receptors": {"glutamate_syn": {"threshold": 0.0, "delay": 0.0, "weight": [1.68, 1.68],},},
                "connectionFile": "${con}",
            },
            "cellNr": 7,
            "celltype": {"pointcell": {"distribution": "PSTH", "intervals": [(0.0, 1.0), (2.0, 3.0)], "offset": 245.0,},},
        },
`).join('')}    },
    "NMODL_mechanisms": {"synapses": "/", "VecStim": "/",},
}
`;
}
