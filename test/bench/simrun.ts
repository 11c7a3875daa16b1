/**
 * initSimrun against two baselines on the same seeded campaign: a Python script parsing the
 * files the way ISF does (numpy.loadtxt, pandas.read_csv) and DuckDB read_csv -> COPY TO
 * parquet. Each run happens in a fresh process, so its peak RSS is its own. Goals (issue 4):
 * >= 2.5x Python, >= 0.8x DuckDB, peak RSS < 512 MB, and the same peak RSS (within 20%) on a
 * campaign 5x larger.
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

interface ChildResult { seconds: number; maxRssMB: number; bytes?: number; trials?: number; parsing?: string }

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
  const candidates = [process.env['ISFDB_BENCH_PYTHON'], 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c));
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

export async function benchSimrun(opts: { quick?: boolean } = {}): Promise<void> {
  const quick = opts.quick ?? false;
  const shape: CampaignShape = quick ? { ...FULL, trials: 200 } : FULL;
  process.stdout.write(`\nsimrun: initSimrun on a seeded ${shape.trials}-trial campaign (${shape.timePoints} time points, ${shape.dendriticSites} dendritic site, ~${shape.synapsesPerTrial} synapses/trial), ${os.availableParallelism()} cores\n`);
  const { root, bytes } = await benchCampaign(shape);
  const mb = bytes / 1e6;
  line('raw CSV size', `${fmt(mb, 0)} MB`);
  // warm the page cache for everyone alike
  await python(root).catch(() => undefined);

  // the machine is shared: runs are interleaved, and the best of `rounds` counts for each
  const rounds = quick ? 1 : 2;
  let a: ChildResult | undefined;
  let parse: ChildResult | undefined;
  let py: Awaited<ReturnType<typeof python>> | undefined;
  let d: ChildResult | string | undefined;
  const best = <T extends { seconds: number }>(x: T | undefined, y: T): T => (x === undefined || y.seconds < x.seconds ? y : x);
  for (let round = 0; round < rounds; round++) {
    const ra = await ours(root);
    a = a === undefined ? ra : { ...best(a, ra), maxRssMB: Math.max(a.maxRssMB, ra.maxRssMB) };
    parse = best(parse, await child(['parse', root, '-']));
    const rp = await python(root);
    py = typeof rp === 'string' || py === undefined || typeof py === 'string' ? rp : best(py, rp);
    const rd = await duck(root);
    d = typeof rd === 'string' || d === undefined || typeof d === 'string' ? rd : best(d, rd);
  }
  a = a!;
  line(`initSimrun (${a.parsing}), best of ${rounds}`, `${fmt(a.seconds, 2)} s`, `${fmt(mb / a.seconds, 0)} MB/s`);
  line('initSimrun peak RSS (process, workers included)', `${fmt(a.maxRssMB, 0)} MB`, `goal < 512 MB: ${a.maxRssMB < 512 ? 'met' : 'NOT met'}`);
  line('  of which: parsing alone (2 workers, no Parquet)', `${fmt(parse!.seconds, 2)} s`, `${fmt(mb / parse!.seconds, 0)} MB/s`);
  if (typeof py === 'string' || py === undefined) line('python (ISF way)', String(py));
  else {
    line(`python (${py.parts.join(' + ')})`, `${fmt(py.seconds, 2)} s`, `${fmt(mb / py.seconds, 0)} MB/s`);
    const ratio = py.seconds / a.seconds;
    line('speed-up over python', `${fmt(ratio, 2)}x`, `goal >= 2.5x: ${ratio >= 2.5 ? 'met' : 'NOT met'}${py.pandas ? '' : ' (pandas absent: python parsed only the voltage traces, so this ratio understates ours)'}`);
  }
  if (typeof d === 'string' || d === undefined) line('duckdb read_csv -> COPY TO parquet', String(d));
  else {
    line('duckdb read_csv -> COPY TO parquet', `${fmt(d.seconds, 2)} s`, `${fmt(mb / d.seconds, 0)} MB/s, peak RSS ${fmt(d.maxRssMB, 0)} MB`);
    const ratio = d.seconds / a.seconds;
    line('speed relative to duckdb', `${fmt(ratio, 2)}x`, `goal >= 0.8x: ${ratio >= 0.8 ? 'met' : 'NOT met'}`);
  }

  const big = await benchCampaign({ ...shape, trials: shape.trials * 5 });
  const b = await ours(big.root);
  line(`initSimrun on 5x (${shape.trials * 5} trials, ${fmt(big.bytes / 1e6, 0)} MB)`, `${fmt(b.seconds, 2)} s`, `${fmt(big.bytes / 1e6 / b.seconds, 0)} MB/s`);
  const growth = b.maxRssMB / a.maxRssMB;
  line('peak RSS 5x / 1x', `${fmt(b.maxRssMB, 0)} / ${fmt(a.maxRssMB, 0)} MB`, `goal within 20%: ${growth <= 1.2 ? 'met' : 'NOT met'} (${fmt((growth - 1) * 100, 0)}%)`);
}
