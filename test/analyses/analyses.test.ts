/**
 * ISF's analyses against expected values computed here with plain loops, on generated campaigns
 * (generateCampaign + initSimrun) and on the real ISF sample; and against a pandas
 * implementation of ISF's functions when a Python with pandas is present.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataBase, Registry, generateCampaign, initSimrun, isDataBaseError, type NdArray } from '../../src/index.js';
import type { PartitionedFrame } from '../../src/frames.js';
import {
  spikeDetection, spikeInInterval, temporalBinning, spatiotemporalBinning, voltageDensity, synapseActivationBinning,
  EXCITATORY, temporalBinningCached, spikeDetectionCached, spikeInIntervalCached, voltageDensityCached, synapseActivationBinningCached, spatiotemporalBinningCached,
} from '../../src/analyses/index.js';
import { FIXTURE, HAVE_FIXTURE, cleanup, copyFixture, tempDir } from '../simrun/helpers.js';
import { REPO_ROOT, pythonWith, skipReason } from '../services.js';

type Row = Record<string, unknown>;

function rowsOfTable(t: Table): Row[] {
  const names = t.schema.fields.map((f) => f.name);
  const cols = names.map((n) => t.getChild(n)!);
  return Array.from({ length: t.numRows }, (_, i) => Object.fromEntries(names.map((n, j) => [n, cols[j]!.get(i) as unknown])));
}

async function partitionRows(frame: PartitionedFrame): Promise<Row[][]> {
  const out: Row[][] = [];
  for (let i = 0; i < frame.numPartitions; i++) out.push(rowsOfTable(await frame.readPartition(i)));
  return out;
}

const timeLabels = (row: Row): string[] => Object.keys(row).filter((k) => /^\d+$/.test(k));

/** np.arange as a plain loop. */
function edges(start: number, stop: number, step: number): number[] {
  const out: number[] = [];
  const n = Math.ceil((stop - start) / step);
  for (let i = 0; i < n; i++) out.push(i === 0 ? start : start + i * ((start + step) - start));
  return out;
}

/** np.histogram's bin of t by scanning the edges, or -1. */
function binByScan(e: number[], t: number): number {
  for (let b = 0; b + 1 < e.length; b++) {
    if (e[b]! <= t && (t < e[b + 1]! || (b + 2 === e.length && t === e[b + 1]!))) return b;
  }
  return -1;
}

function expectSameSpikeFrames(got: Table, want: Table): void {
  expect(got.schema.fields.map((f) => f.name)).toEqual(want.schema.fields.map((f) => f.name));
  const g = rowsOfTable(got);
  const w = rowsOfTable(want);
  expect(g.length).toBe(w.length);
  g.forEach((row, i) => {
    for (const [k, v] of Object.entries(row)) {
      const x = w[i]![k];
      if (typeof v === 'number' && Number.isNaN(v)) expect(Number.isNaN(x as number)).toBe(true);
      else expect(v).toEqual(x);
    }
  });
}

/** Every check, for one initSimrun'd database. */
function analysesSuite(name: string, open: () => Promise<{ db: DataBase; dir: string }>): void {
  describe(name, { timeout: 60_000 }, () => {
    let db: DataBase;
    let dir: string;
    let vtRows: Row[][];
    let stRows: Row[];
    let saParts: Row[][];
    beforeAll(async () => {
      ({ db, dir } = await open());
      vtRows = await partitionRows((await db.get('voltage_traces')) as PartitionedFrame);
      stRows = rowsOfTable((await db.get('spike_times')) as Table);
      saParts = await partitionRows((await db.get('synapse_activation')) as PartitionedFrame);
    }, 120_000);
    afterAll(async () => cleanup(dir));

    it("spikeDetection equals initSimrun's spike_times and a plain loop", async () => {
      const detected = await spikeDetection((await db.get('voltage_traces')) as PartitionedFrame);
      expectSameSpikeFrames(detected, (await db.get('spike_times')) as Table);
      const loops = vtRows.flat().map((row) => {
        const labels = Object.keys(row).filter((k) => k !== 'sim_trial_index');
        const out: number[] = [];
        for (let i = 1; i < labels.length; i++) if ((row[labels[i - 1]!] as number) < 0 && (row[labels[i]!] as number) >= 0) out.push(Number(labels[i]));
        return out;
      });
      const got = rowsOfTable(detected).map((r) => timeLabels(r).map((k) => r[k] as number).filter((v) => !Number.isNaN(v)));
      expect(got).toEqual(loops);
      expect(loops.flat().length).toBeGreaterThan(0);
      const low = await spikeDetection((await db.get('voltage_traces')) as PartitionedFrame, { threshold: -60 });
      expect(low.numRows).toBe(loops.length);
    });

    it('spikeInInterval is [tmin, tmax) per trial', async () => {
      const all = stRows.flatMap((r) => timeLabels(r).map((k) => r[k] as number).filter((v) => !Number.isNaN(v)));
      const mid = all.length > 0 ? all[0]! : 150;
      for (const [lo, hi] of [[0, 1000], [mid, mid + 5], [mid + 1e-9, mid + 5], [mid - 5, mid]]) {
        const got = await spikeInInterval((await db.get('spike_times')) as Table, lo!, hi!);
        const want = stRows.map((r) => timeLabels(r).some((k) => (r[k] as number) >= lo! && (r[k] as number) < hi!));
        expect(Array.from(got.getChild('spike_in_interval')!)).toEqual(want);
        expect(got.getChild('sim_trial_index')!.toArray()).toEqual(stRows.map((r) => r['sim_trial_index']));
      }
    });

    it('temporalBinning is temporal_binning_pd (normalize, rate, default range)', async () => {
      const st = (await db.get('spike_times')) as Table;
      const sa = (await db.get('synapse_activation')) as PartitionedFrame;
      const saTimes = saParts.flat().flatMap((r) => timeLabels(r).map((k) => r[k] as number).filter((v) => !Number.isNaN(v)));
      for (const options of [{ binSize: 1, minTime: 0, maxTime: 400 }, { binSize: 2.5, minTime: 100, maxTime: 120, normalize: false }, { binSize: 0.7, rate: true }]) {
        const got = await temporalBinning(sa, options);
        const min = options.minTime ?? Math.min(...saTimes);
        const max = options.maxTime ?? Math.max(...saTimes);
        const e = edges(min, max + options.binSize, options.binSize);
        const counts = new Array<number>(e.length - 1).fill(0);
        for (const t of saTimes) { const b = binByScan(e, t); if (b >= 0) counts[b]!++; }
        const want = counts.map((c, b) => {
          let v = (options.normalize ?? true) ? c / saParts.flat().length : c;
          if (options.rate) v /= e[b + 1]! - e[b]!;
          return v;
        });
        expect(Array.from(got.borders)).toEqual(e);
        expect(Array.from(got.counts)).toEqual(want);
      }
      const spikes = stRows.flatMap((r) => timeLabels(r).map((k) => r[k] as number).filter((v) => !Number.isNaN(v)));
      const psth = await temporalBinning(st, { binSize: 10, minTime: 0, maxTime: 500 });
      expect(psth.counts.reduce((a, b) => a + b, 0)).toBeCloseTo(spikes.filter((t) => t >= 0 && t <= 500).length / stRows.length, 12);
    });

    it('spatiotemporalBinning counts distance x time bins', async () => {
      const got = await spatiotemporalBinning((await db.get('synapse_activation')) as PartitionedFrame, { spatialBins: 100, timeBins: 5, minTime: 0, maxTime: 400 });
      const rows = saParts.flat();
      const nz = Math.max(...rows.map((r) => Math.floor((r['soma_distance'] as number) / 100))) + 1;
      const e = edges(0, 405, 5);
      const want = Array.from({ length: nz }, () => new Array<number>(e.length - 1).fill(0));
      for (const r of rows) {
        const z = Math.floor((r['soma_distance'] as number) / 100);
        for (const k of timeLabels(r)) { const b = binByScan(e, r[k] as number); if (b >= 0) want[z]![b]!++; }
      }
      expect(got.shape).toEqual([nz, e.length - 1]);
      expect(Array.from(got.data as Float64Array)).toEqual(want.flat());
    });

    it('voltageDensity histograms each time point across trials', async () => {
      const got = await voltageDensity((await db.get('voltage_traces')) as PartitionedFrame, { binSize: 5, ymin: -90, ymax: 40 });
      const rows = vtRows.flat();
      const labels = Object.keys(rows[0]!).filter((k) => k !== 'sim_trial_index');
      const e = edges(-90, 45, 5);
      const want = Array.from({ length: e.length - 1 }, () => new Array<number>(labels.length).fill(0));
      labels.forEach((label, j) => { for (const r of rows) { const b = binByScan(e, r[label] as number); if (b >= 0) want[b]![j]!++; } });
      expect(got.shape).toEqual([e.length - 1, labels.length]);
      expect(Array.from(got.data as Float64Array)).toEqual(want.flat());
    });

    it('synapseActivationBinning follows ISF per partition, under ISF key names', async () => {
      for (const groupby of [['EI'], ['celltype', 'proximal'], ['binned_somadist']]) {
        const result = await synapseActivationBinning(db, { groupby, maxTime: 300 });
        expect(result.key).toEqual(['synapse_activation_binned', 't1', groupby.join('__')]);
        // Plain loops: per partition, sorted trials; per group, bins [b, b+1), the last closed.
        const group = (r: Row): string[] => groupby.map((g) => {
          const type = String(r['synapse_type']);
          const d = r['soma_distance'] as number;
          if (g === 'EI') return (EXCITATORY as readonly string[]).includes(type.split('_')[0]!) ? 'EXC' : 'INH';
          if (g === 'celltype') return type.split('_')[0]!;
          if (g === 'proximal') return d < 500 ? 'prox' : 'dist';
          return `${Math.floor(d / 50) * 50}to${Math.floor(d / 50) * 50 + 50}`;
        });
        const expected = new Map<string, number[][]>();
        const trials: string[] = [];
        const allGroups = new Set(saParts.flat().map((r) => JSON.stringify(group(r))));
        for (const part of saParts) {
          const ids = [...new Set(part.map((r) => String(r['sim_trial_index'])))].sort();
          for (const g of allGroups) {
            const block = ids.map(() => new Array<number>(300).fill(0));
            for (const r of part) {
              if (JSON.stringify(group(r)) !== g) continue;
              for (const k of timeLabels(r)) {
                const t = r[k] as number;
                for (let b = 0; b < 300; b++) if ((b <= t && t < b + 1) || (b === 299 && t === 300)) block[ids.indexOf(String(r['sim_trial_index']))]![b]!++;
              }
            }
            expected.set(g, [...(expected.get(g) ?? []), ...block]);
          }
          trials.push(...ids);
        }
        expect(result.trials).toEqual(trials);
        expect([...result.groups.keys()].sort()).toEqual([...expected.keys()].sort());
        for (const [g, want] of expected) {
          const values = JSON.parse(g) as string[];
          const stored = (await db.get([...result.key, ...values])) as NdArray;
          expect(stored.shape).toEqual([trials.length, 300]);
          expect(Array.from(stored.data as Float64Array)).toEqual(want.flat());
        }
      }
    }, 60_000);

    it('cached variants compute once, record a recipe, and recompute when a parameter changes', { timeout: 60_000 }, async () => {
      const first = await temporalBinningCached(db, { output: 'psth_cached' }, { binSize: 5, minTime: 0, maxTime: 300 });
      const direct = await temporalBinning((await db.get('spike_times')) as Table, { binSize: 5, minTime: 0, maxTime: 300 });
      expect(Array.from(first.counts)).toEqual(Array.from(direct.counts));
      const meta = (await db.metadata('psth_cached')) as Record<string, { params?: unknown; inputs?: Array<{ key: string[] }> }>;
      expect(meta['isfdb_recipe']!.params).toMatchObject({ analysis: 'temporalBinning', binSize: 5 });
      expect(meta['isfdb_recipe']!.inputs!.map((i) => i.key)).toEqual([['spike_times']]);
      const again = await temporalBinningCached(db, { output: 'psth_cached' }, { binSize: 5, minTime: 0, maxTime: 300 });
      expect(Array.from(again.borders)).toEqual(Array.from(direct.borders));
      expect(Array.from(again.counts)).toEqual(Array.from(direct.counts));
      const other = await temporalBinningCached(db, { output: 'psth_cached' }, { binSize: 10, minTime: 0, maxTime: 300 });
      expect(other.counts.length).toBe(30);
      const st = await spikeDetectionCached(db, { output: 'spikes_again' });
      expectSameSpikeFrames((await db.get('spikes_again')) as Table, (await db.get('spike_times')) as Table);
      expectSameSpikeFrames(st, (await db.get('spike_times')) as Table);
      const window = await spikeInIntervalCached(db, { output: 'spiked_early' }, 0, 200);
      expect(Array.from(((await db.get('spiked_early')) as Table).getChild('spike_in_interval')!)).toEqual(Array.from(window.getChild('spike_in_interval')!));
      const vd = await voltageDensityCached(db, { output: 'vdensity' }, { binSize: 10 });
      expect((await db.get('vdensity')) as NdArray).toMatchObject({ shape: vd.shape });
      const stb = await spatiotemporalBinningCached(db, { output: 'stbin' });
      expect(((await db.get('stbin')) as NdArray).shape).toEqual(stb.shape);
      const sab = await synapseActivationBinningCached(db, { groupby: 'EI', maxTime: 100 });
      const sab2 = await synapseActivationBinningCached(db, { groupby: 'EI', maxTime: 100 });
      expect(sab2.trials).toEqual(sab.trials);
      expect([...sab2.groups.keys()]).toEqual([...sab.groups.keys()]);
      for (const [k, g] of sab.groups) expect(Array.from(sab2.groups.get(k)!.array.data as Float64Array)).toEqual(Array.from(g.array.data as Float64Array));
    });

    const python = pythonWith(['pandas', 'numpy']);
    it.skipIf(!python.ok)('matches a pandas implementation of ISF\'s functions', async () => {
      skipReason(python, 'pandas cross-check');
      const sa = (await db.get('synapse_activation')) as PartitionedFrame;
      const files = Array.from({ length: sa.numPartitions }, (_, i) => sa.partitionPath(i));
      const run = (mode: string, args: object): Record<string, unknown> => {
        const out = spawnSync(python.ok ? python.value : 'python3', [path.join(REPO_ROOT, 'test', 'bench', 'isf_analyses.py'), mode, JSON.stringify(args)], { encoding: 'utf8', maxBuffer: 1 << 28 });
        expect(out.status, out.stderr).toBe(0);
        return JSON.parse(out.stdout) as Record<string, unknown>;
      };
      const py = run('synapse', { files, groupby: ['EI', 'proximal'], maxtime: 250 }) as { groups: Record<string, number[][]>; trials: string[] };
      const ours = await synapseActivationBinning(db, { groupby: ['EI', 'proximal'], maxTime: 250 });
      expect(ours.trials).toEqual(py.trials);
      expect(Object.keys(py.groups).sort()).toEqual([...ours.groups.values()].map((g) => g.values.join('__')).sort());
      for (const g of ours.groups.values()) expect(Array.from(g.array.data as Float64Array)).toEqual(py.groups[g.values.join('__')]!.flat());
      const stFile = path.join(await db.folderOf('spike_times'), 'pandas_to_parquet.parquet');
      for (const args of [{ bin_size: 1 }, { bin_size: 3, min_time: 100, max_time: 200, rate: true }, { bin_size: 0.1, normalize: false }]) {
        const p = run('temporal', { files: [stFile], ...args }) as { borders: number[]; counts: number[] };
        const t = await temporalBinning((await db.get('spike_times')) as Table, { binSize: args.bin_size, minTime: args.min_time, maxTime: args.max_time, rate: args.rate, normalize: args.normalize });
        expect(Array.from(t.borders)).toEqual(p.borders);
        expect(Array.from(t.counts)).toEqual(p.counts);
      }
    }, 60_000);
  });
}

async function openGenerated(): Promise<{ db: DataBase; dir: string }> {
  const dir = await tempDir('analyses');
  const raw = path.join(dir, 'raw');
  await generateCampaign(raw, { trials: 12, trialsPerFolder: 4, timePoints: 800, seed: 3, synapsesPerTrial: 30 });
  const db = await DataBase.open(path.join(dir, 'db'), { registry: new Registry(path.join(dir, 'registry')) });
  await initSimrun(raw, db, { quiet: true, workers: 1 });
  return { db, dir };
}

async function openFixture(): Promise<{ db: DataBase; dir: string }> {
  const raw = await copyFixture();
  const dir = await tempDir('analyses-fixture');
  const db = await DataBase.open(path.join(dir, 'db'), { registry: new Registry(path.join(dir, 'registry')) });
  await initSimrun(raw, db, { quiet: true, workers: 1, parameterfiles: false });
  await cleanup(raw);
  return { db, dir };
}

analysesSuite('analyses on a generated campaign', openGenerated);

if (!HAVE_FIXTURE) console.warn(`skipped: the analyses on the real ISF sample need ${FIXTURE} (the shared fixtures are not checked out)`);
if (HAVE_FIXTURE) analysesSuite('analyses on the real ISF sample (../shared/fixtures/isf-simrun-subsampled)', openFixture);

describe('analyses: bad input', () => {
  it('refuses what ISF cannot bin, with typed errors', async () => {
    const { tableFromArrays } = await import('apache-arrow');
    const empty = tableFromArrays({ x: new Float64Array(0) });
    expect(isDataBaseError(await temporalBinning(empty).catch((e: unknown) => e), 'InvalidInputError')).toBe(true);
    const sa = tableFromArrays({ soma_distance: new Float64Array([-1]), '0': new Float64Array([3]) });
    expect(isDataBaseError(await spatiotemporalBinning(sa).catch((e: unknown) => e), 'InvalidInputError')).toBe(true);
    const noDistance = tableFromArrays({ '0': new Float64Array([3]) });
    expect(((await spatiotemporalBinning(noDistance).catch((e: unknown) => e)) as Error).message).toMatch(/has no column 'soma_distance'/);
  });
});
