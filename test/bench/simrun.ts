/**
 * initSimrun against two baselines on the same seeded campaign: a Python script parsing the
 * files the way ISF does (numpy.loadtxt, pandas.read_csv) and DuckDB read_csv -> COPY TO
 * parquet. Each run happens in a fresh process, so its peak RSS is its own. Two shapes: ISF's own
 * example campaign (run folders of 10 trials x 9,802 points) and a wide one (50 trials x 10,001).
 * Goals (issue 10): >= 1.0x DuckDB, >= 5x Python, peak RSS < 512 MB at 1x and 5x.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateCampaign } from '../../initializers/index.js';
import { fmt, line } from './measure.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
/** the compiled child script (dist/test/bench/simrun-child.js) and the python baseline in the sources */
const CHILD = path.join(here, 'simrun-child.js');
const REPO = here.includes(`${path.sep}dist${path.sep}`) ? here.slice(0, here.lastIndexOf(`${path.sep}dist${path.sep}`)) : path.resolve(here, '..', '..');
const PY = path.join(REPO, 'test', 'bench', 'isf_baseline.py');

export interface CampaignShape { trials: number; trialsPerFolder: number; timePoints: number; synapsesPerTrial: number; cellsPerTrial: number; dendriticSites: number; seed: number }

const FULL: CampaignShape = { trials: 2000, trialsPerFolder: 50, timePoints: 10001, synapsesPerTrial: 1500, cellsPerTrial: 800, dendriticSites: 1, seed: 2024 };

/** Generate once, reuse across runs (a marker file says the campaign is complete). */
export async function benchCampaign(shape: CampaignShape): Promise<{ root: string; bytes: number }> {
  const root = path.join(os.tmpdir(), 'isfdb-bench-simrun', `t${shape.trials}-p${shape.trialsPerFolder}-n${shape.timePoints}-s${shape.synapsesPerTrial}-c${shape.cellsPerTrial}-d${shape.dendriticSites}-seed${shape.seed}`);
  const marker = `${root}.complete`;
  if (existsSync(marker)) {
    const { readFile } = await import('node:fs/promises');
    return { root, bytes: Number(await readFile(marker, 'utf8')) };
  }
  await rm(root, { recursive: true, force: true });
  process.stdout.write(`  generating ${shape.trials} trials into ${root} ...\n`);
  const summary = await generateCampaign(root, { ...shape, runningFolder: true });
  await writeFile(marker, String(summary.bytes));
  return { root, bytes: summary.bytes };
}

interface ChildResult {
  seconds: number; maxRssMB: number; cpuSeconds?: number; bytes?: number; trials?: number; parsing?: string; parsingReason?: string;
  profile?: { parseMs: number; tablesMs: number; encodeMs: number; hashMs: number; planMs: number; partitionedMs: number; summaryMs: number; mainBusyMs: number };
}

async function child(args: string[]): Promise<ChildResult> {
  const { stdout } = await run(process.execPath, [CHILD, ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult;
}

async function ours(root: string, workers?: number): Promise<ChildResult> {
  const db = path.join(os.tmpdir(), `isfdb-bench-simrun-db-${process.pid}`);
  await rm(db, { recursive: true, force: true });
  try {
    return await child(['init', root, db, ...(workers === undefined ? [] : [String(workers)])]);
  } finally {
    await rm(db, { recursive: true, force: true });
  }
}

/** $ISFDB_BENCH_PYTHON, else the first python3 with numpy and pandas, else the first with numpy. */
async function pythonInterpreter(): Promise<string | undefined> {
  const candidates = [process.env['ISFDB_BENCH_PYTHON'], process.env['ISFDB_PYTHON'], 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c));
  for (const modules of ['import numpy, pandas', 'import numpy']) {
    for (const candidate of candidates) {
      if (await run(candidate, ['-c', modules]).then(() => true, () => false)) return candidate;
    }
  }
  return undefined;
}

async function python(root: string): Promise<{ seconds: number; parts: string[]; pandas: boolean } | string> {
  const interpreter = await pythonInterpreter();
  if (interpreter === undefined) return 'skipped: no python3 with numpy is available';
  const { stdout } = await run(interpreter, [PY, root], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { seconds: number; parts: string[]; pandas: boolean };
}

async function duck(root: string): Promise<ChildResult | string> {
  const out = path.join(os.tmpdir(), `isfdb-bench-simrun-duck-${process.pid}`);
  await rm(out, { recursive: true, force: true });
  try {
    return await child(['duckdb', root, out]);
  } catch (e) {
    return `skipped: DuckDB run failed (${(e as Error).message.split('\n')[0]})`;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** CPU seconds of each round (process-wide, threads included): steadier than wall time under load. */
const cpuOf = (runs: ChildResult[]): string => runs.map((x) => (x.cpuSeconds === undefined ? '?' : fmt(x.cpuSeconds, 2))).join(', ');
const loadAverage = (): string => os.loadavg().map((l) => fmt(l, 1)).join(' / ');

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };

/** ISF's own example campaign: run folders of 10 trials x 9,802 time points, ~55 MB of CSV. */
const ISF_EXAMPLE: CampaignShape = { trials: 100, trialsPerFolder: 10, timePoints: 9802, synapsesPerTrial: 4400, cellsPerTrial: 1500, dendriticSites: 0, seed: 2024 };

/** One shape: interleaved rounds of ours, python and duckdb; medians and ratios of the same run. */
async function benchShape(name: string, shape: CampaignShape, rounds: number, fiveX: boolean): Promise<void> {
  process.stdout.write(`\nsimrun (${name}): ${shape.trials} trials, ${shape.trialsPerFolder} per run folder, ${shape.timePoints} time points, ${shape.dendriticSites} dendritic site(s), ~${shape.synapsesPerTrial} synapses/trial; ${os.availableParallelism()} cores; median of ${rounds} interleaved round(s)\n`);
  const { root, bytes } = await benchCampaign(shape);
  const mb = bytes / 1e6;
  line('raw CSV size', `${fmt(mb, 1)} MB`);
  await python(root).catch(() => undefined); // warm the page cache for everyone alike
  const a: ChildResult[] = [];
  const py: number[] = [];
  const d: ChildResult[] = [];
  let pyNote = '';
  let duckNote = '';
  for (let round = 0; round < rounds; round++) {
    a.push(await ours(root));
    const rp = await python(root);
    if (typeof rp === 'string') pyNote = rp; else { py.push(rp.seconds); if (!rp.pandas) pyNote = '(pandas absent: python parsed only the voltage traces)'; }
    const rd = await duck(root);
    if (typeof rd === 'string') duckNote = rd; else d.push(rd);
  }
  const ourS = median(a.map((x) => x.seconds));
  line(`initSimrun (${a[0]!.parsing}), zstd`, `${fmt(ourS, 2)} s`, `${fmt(mb / ourS, 0)} MB/s; rounds ${a.map((x) => fmt(x.seconds, 2)).join(', ')}; CPU ${cpuOf(a)} s; load ${loadAverage()}`);
  if (a[0]!.parsingReason) line('  threads', a[0]!.parsingReason);
  const profile = a[0]!.profile;
  if (profile) {
    line('  summed over folders: parse / tables / encode (hash)', `${fmt(profile.parseMs / 1000, 2)} / ${fmt(profile.tablesMs / 1000, 2)} / ${fmt(profile.encodeMs / 1000, 2)} (${fmt(profile.hashMs / 1000, 2)}) s`);
    line('  main: plan / partitioned keys / small keys', `${fmt(profile.planMs / 1000, 2)} / ${fmt(profile.partitionedMs / 1000, 2)} / ${fmt(profile.summaryMs / 1000, 2)} s`, `event loop busy ${fmt(profile.mainBusyMs / 1000, 2)} s`);
  }
  if (py.length === 0) line('python (ISF way)', pyNote);
  else {
    const p = median(py);
    line('python numpy.loadtxt + pandas.read_csv', `${fmt(p, 2)} s`, `rounds ${py.map((x) => fmt(x, 2)).join(', ')} ${pyNote}`);
    line('speed-up over python', `${fmt(p / ourS, 2)}x`, `goal >= 5x: ${p / ourS >= 5 ? 'met' : 'NOT met'}`);
  }
  if (d.length === 0) line('duckdb read_csv -> COPY TO parquet', duckNote);
  else {
    const ds = median(d.map((x) => x.seconds));
    line('duckdb read_csv -> COPY TO parquet', `${fmt(ds, 2)} s`, `rounds ${d.map((x) => fmt(x.seconds, 2)).join(', ')}; CPU ${cpuOf(d)} s; peak RSS ${fmt(Math.max(...d.map((x) => x.maxRssMB)), 0)} MB`);
    line('speed relative to duckdb', `${fmt(ds / ourS, 2)}x`, `goal >= 1.0x: ${ds / ourS >= 1 ? 'met' : 'NOT met'}`);
  }
  const rss1 = Math.max(...a.map((x) => x.maxRssMB));
  line('initSimrun peak RSS at 1x (workers included)', `${fmt(rss1, 0)} MB`, `goal < 512 MB: ${rss1 < 512 ? 'met' : 'NOT met'}`);
  if (!fiveX) return;
  const big = await benchCampaign({ ...shape, trials: shape.trials * 5 });
  const b = await ours(big.root);
  line(`initSimrun on 5x (${shape.trials * 5} trials, ${fmt(big.bytes / 1e6, 0)} MB, ${b.parsing})`, `${fmt(b.seconds, 2)} s`, `${fmt(big.bytes / 1e6 / b.seconds, 0)} MB/s; CPU ${cpuOf([b])} s; load ${loadAverage()}`);
  line('initSimrun peak RSS at 5x', `${fmt(b.maxRssMB, 0)} MB`, `goal < 512 MB: ${b.maxRssMB < 512 ? 'met' : 'NOT met'} (1x: ${fmt(rss1, 0)} MB)`);
}

export async function benchSimrun(opts: { quick?: boolean; shapes?: ('isf' | 'wide')[] } = {}): Promise<void> {
  const quick = opts.quick ?? false;
  const shapes = opts.shapes ?? ['isf', 'wide'];
  if (shapes.includes('isf')) await benchShape('ISF example shape', ISF_EXAMPLE, quick ? 1 : 3, true);
  if (shapes.includes('wide')) await benchShape('wide campaign', quick ? { ...FULL, trials: 200 } : FULL, quick ? 1 : 3, !quick);
}
