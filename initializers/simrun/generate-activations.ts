/**
 * The activation files of a generated campaign (`simulation_runNNNN_synapses.csv` and
 * `_presynaptic_cells.csv`), in two flavours:
 * - realistic: one fixed network, as ISF's simrun output shows it (docs/parquet.md, "Activation
 *   frames"): each synapse has the same anatomy in every trial, its activation times are the
 *   released spikes of its presynaptic cell, and numbers carry 12 significant digits (Python 2's
 *   `str(float)`, which simrun uses);
 * - random: the old worst case, every value a fresh random double with 10 decimals.
 */
import { pyFloatRepr } from './pyfloat.js';

export interface ActivationFiles {
  synapses: string;
  cells: string;
}

const SYN_HEADER = '# synapse type\tsynapse ID\tsoma distance\tsection ID\tsection pt ID\tdendrite label\tactivation times';
const CELL_HEADER = '# presynaptic cell type\tcell ID\tspike times';

const CELL_TYPES = ['L4ss_C2', 'L5tt_C2', 'L23_C1', 'L6cc_D2', 'VPM_C2'];
const LABELS = ['ApicalDendrite', 'BasalDendrite', 'Soma', 'Dendrite'];

/** Python 2's `str(float)` (`%.12g`), which simrun writes times and distances with. */
export function str12(x: number): string {
  return pyFloatRepr(Number(x.toPrecision(12)));
}

/** 1 to `most` increasing times with 10 random decimals, each followed by simrun's comma. */
function randomTimes(r: () => number, most: number, first: number, gap: number): string[] {
  const k = 1 + Math.floor(r() * r() * most);
  const ts: string[] = [];
  let at = r() * first;
  for (let i = 0; i < k; i++) { at += r() * gap; ts.push(`${pyFloatRepr(Math.round(at * 1e10) / 1e10)},`); }
  return ts;
}

/** The worst case: no structure at all (the generator's activations before the network). */
export function randomActivations(r: () => number, nSyn: number, nCells: number): ActivationFiles {
  const syn = [SYN_HEADER];
  const ns = Math.max(1, Math.round(nSyn * (0.5 + r())));
  for (let s = 0; s < ns; s++) {
    const ts = randomTimes(r, 6, 40, 60);
    syn.push(`${CELL_TYPES[Math.floor(r() * CELL_TYPES.length)]}\t${s * 3 + Math.floor(r() * 3)}\t${pyFloatRepr(Math.round(r() * 1.5e13) / 1e10)}\t${Math.floor(r() * 120)}\t${Math.floor(r() * 90)}\t${LABELS[Math.floor(r() * LABELS.length)]}\t${ts.join('')}`);
  }
  const cells = [CELL_HEADER];
  const nc = Math.max(1, Math.round(nCells * (0.5 + r())));
  for (let c = 0; c < nc; c++) {
    const ts = randomTimes(r, 5, 30, 70);
    cells.push(`${CELL_TYPES[Math.floor(r() * CELL_TYPES.length)]}\t${c * 2 + Math.floor(r() * 2)}\t${ts.join('')}`);
  }
  return { synapses: syn.join('\n'), cells: cells.join('\n') };
}

/** Presynaptic cell types as ISF names them: `<layer/class>_<barrel column>`. */
const CLASSES = ['L1', 'L23Trans', 'L34', 'L4py', 'L4sp', 'L4ss', 'L5st', 'L5tt', 'L6cc', 'L6ct', 'VPM', 'SymLocal1'];
const COLUMNS = ['B1', 'B2', 'C1', 'C2', 'C3', 'D2'];

interface Synapse {
  id: number;
  somaDistance: string;
  section: number;
  point: number;
  label: string;
}

interface Cell {
  type: string;
  id: number;
  synapses: Synapse[];
}

/** Simulated time span of a trial (ms): real files have spikes from ~0 to ~345 ms. */
const T_STOP = 345;
/** releaseProb of the network parameter files the generator writes. */
const RELEASE_PROB = 0.6;
/**
 * Activations per synapse and trial, at most (real files: 1-3 in 199 synapses). 6, as the
 * random generator, keeps the activation frames' width what the CLI tests expect (6 + 6 columns).
 */
const MAX_RELEASES = 6;

export interface Network {
  trial(r: () => number): ActivationFiles;
}

/**
 * A fixed network whose trials have about `nSyn` active synapses and `nCells` spiking cells.
 * Rows come sorted by type, then ID, as in ISF's files.
 */
export function buildNetwork(r: () => number, nSyn: number, nCells: number): Network {
  const poolSize = Math.max(1, Math.round(nCells * 2.5));
  const spikeProb = Math.min(1, nCells / poolSize);
  // a spiking cell releases at ~70% of its synapses at least once (1.9 spikes, p = 0.6)
  const synPerCell = Math.max(1, nSyn / Math.max(1, nCells) / 0.7);
  // sections: a start distance and a point spacing each, so a synapse's distance follows from
  // where it sits, as on a real morphology
  const sections = Array.from({ length: 120 }, (_, i) => ({
    start: i === 0 ? 0 : 20 + r() * 1300,
    step: 0.5 + r() * 2,
    label: i === 0 ? 'Soma' : i < 40 ? 'Dendrite' : 'ApicalDendrite',
  }));
  const byType = new Map<string, { cells: Cell[]; synapses: number }>();
  for (let c = 0; c < poolSize; c++) {
    const type = `${CLASSES[Math.floor(r() * CLASSES.length)]}_${COLUMNS[Math.floor(r() * COLUMNS.length)]}`;
    const group = byType.get(type) ?? { cells: [], synapses: 0 };
    byType.set(type, group);
    // 1 + a geometric count with the right mean
    let k = 1;
    while (r() < 1 - 1 / synPerCell) k++;
    const synapses: Synapse[] = [];
    for (let s = 0; s < k; s++) {
      const section = Math.floor(r() * sections.length);
      const at = sections[section]!;
      const point = Math.floor(r() * 200);
      synapses.push({ id: 0, somaDistance: str12(at.start + point * at.step + r()), section, point, label: at.label });
    }
    group.cells.push({ type, id: group.cells.length, synapses });
  }
  // synapse IDs number a type's synapses in cell order, as the .con files map them
  for (const group of byType.values()) for (const cell of group.cells) for (const s of cell.synapses) s.id = group.synapses++;
  const types = [...byType.keys()].sort();

  return {
    trial(rt: () => number): ActivationFiles {
      // ISF never writes a header-only activation file for a trial: draw again (rare, tiny nets)
      for (;;) {
        const files = draw(rt);
        if (files !== undefined) return files;
      }
    },
  };

  function draw(rt: () => number): ActivationFiles | undefined {
    const synRows: string[] = [];
    const cellRows: string[] = [];
    for (const type of types) {
      const typeSyn: [number, string][] = [];
      for (const cell of byType.get(type)!.cells) {
        if (rt() >= spikeProb) continue;
        let k = 1;
        // real cells spike 1-9 times per trial; 8 at most keeps every row within the widths the
        // parse tests give (8)
        while (k < 8 && rt() < 0.45) k++;
        const spikes = Array.from({ length: k }, () => rt() * T_STOP).sort((a, b) => a - b).map(str12);
        cellRows.push(`${type}\t${cell.id}\t${spikes.map((t) => `${t},`).join('')}`);
        for (const s of cell.synapses) {
          const released = spikes.filter(() => rt() < RELEASE_PROB).slice(0, MAX_RELEASES);
          if (released.length === 0) continue;
          typeSyn.push([s.id, `${type}\t${s.id}\t${s.somaDistance}\t${s.section}\t${s.point}\t${s.label}\t${released.map((t) => `${t},`).join('')}`]);
        }
      }
      typeSyn.sort((a, b) => a[0] - b[0]);
      for (const [, row] of typeSyn) synRows.push(row);
    }
    if (synRows.length === 0) return undefined;
    return { synapses: [SYN_HEADER, ...synRows].join('\n'), cells: [CELL_HEADER, ...cellRows].join('\n') };
  }
}
