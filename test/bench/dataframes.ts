/**
 * Data frame benchmark: our Parquet set/get against DuckDB (COPY ... TO parquet, and
 * read_parquet streamed into JS arrays) on the same table, and a raw fs write/read of as many
 * bytes. Each measurement runs in its own child process so its peak RSS (maxRSS from
 * process.resourceUsage) is its own. Prints every figure and the ratios; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pythonWith } from '../services.js';
import { benchDisk } from './dataframes-disk.js';

export interface ChildResult {
  ms: number;
  maxRssMB: number;
  bytes?: number;
  bytesRead?: number;
  fileBytes?: number;
  extra?: Record<string, number>;
}

/** Best of 2 timings of pandas.read_parquet (pyarrow) in the venv, or why it was skipped. */
function pandasRead(file: string): number | string {
  const python = pythonWith(['pandas', 'pyarrow']);
  if (!python.ok) return python.reason;
  spawnSync('sync');
  const script = 'import sys, time, pandas as pd\nbest = 1e9\nfor _ in range(2):\n    t = time.perf_counter(); pd.read_parquet(sys.argv[1]); best = min(best, time.perf_counter() - t)\nprint(best * 1000)';
  const r = spawnSync(python.value, ['-c', script, file], { encoding: 'utf8' });
  if (r.status !== 0) return `pandas failed: ${r.stderr.slice(-500)}`;
  return Number(r.stdout.trim());
}

const RUNNER = fileURLToPath(new URL('./dataframes-run.js', import.meta.url));

function runChild(op: string, dir: string, rows: number): ChildResult {
  // Start every measurement with no dirty pages pending, so one write's writeback does not
  // throttle the next measurement.
  spawnSync('sync');
  const result = spawnSync(process.execPath, ['--expose-gc', RUNNER, '--child', op, dir, String(rows)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = result.stdout.trim().split('\n').pop() ?? '';
  if (result.status !== 0 || !line.startsWith('{')) {
    throw new Error(`bench child '${op}' failed (${result.status}): ${result.stderr.slice(-2000)}`);
  }
  return JSON.parse(line) as ChildResult;
}

const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);
const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);

export async function benchDataFrames(opts: { quick?: boolean } = {}): Promise<void> {
  const rows = opts.quick ? 1_000_000 : 10_000_000;
  const frameBytes = rows * (4 * 8 + 4);
  const dir = mkdtempSync(join(tmpdir(), 'isfdb-bench-df-'));
  try {
    console.log(`\n== data frames: ${rows.toLocaleString('en')} rows x (4 float64 + int32) = ${f1(frameBytes / 1e6)} MB in memory ==`);
    const rounds = opts.quick ? 1 : 2;
    const best = (op: string): ChildResult => {
      let chosen: ChildResult | undefined;
      for (let r = 0; r < rounds; r++) {
        const res = runChild(op, dir, rows);
        if (!chosen || res.ms < chosen.ms) chosen = res;
      }
      return chosen as ChildResult;
    };
    // Ours first: DuckDB's baseline reads our file to get the very same table.
    const oursSet = best('ours-set');
    const duckSet = best('duck-set');
    const oursGet = best('ours-get');
    const duckGet = best('duck-get');
    const projection = runChild('ours-get-column', dir, rows);
    const raw = best('raw');
    const oursFile = statSync(join(dir, 'frame', 'pandas_to_parquet.parquet')).size;
    const duckFile = statSync(join(dir, 'duck.parquet')).size;

    const row = (name: string, r: ChildResult, bytes: number): void => {
      console.log(`${name.padEnd(44)} ${f1(r.ms).padStart(8)} ms ${f1(mbps(bytes, r.ms)).padStart(8)} MB/s   peak RSS ${f1(r.maxRssMB).padStart(7)} MB (${f2(r.maxRssMB * 1e6 / frameBytes)}x frame)`);
    };
    row('set, ours (pandas_to_parquet, zstd default)', oursSet, frameBytes);
    row('set, DuckDB COPY TO parquet (snappy)', duckSet, frameBytes);
    row('get, ours (into Arrow Table; warm, as pandas)', oursGet, frameBytes);
    row('get, DuckDB read_parquet into JS arrays', duckGet, frameBytes);
    row('raw fs write of the file\'s bytes', { ms: raw.extra?.writeMs ?? 0, maxRssMB: raw.maxRssMB }, oursFile);
    row('raw fs read of the file\'s bytes', { ms: raw.extra?.readMs ?? 0, maxRssMB: raw.maxRssMB }, oursFile);
    console.log(`file sizes: ours ${f1(oursFile / 1e6)} MB, DuckDB ${f1(duckFile / 1e6)} MB`);
    console.log(`ratio set  ours/DuckDB write speed: ${f2(duckSet.ms / oursSet.ms)}x  (goal >= 1.0)`);
    console.log(`ratio get  ours/DuckDB read speed:  ${f2(duckGet.ms / oursGet.ms)}x  (goal >= 1.0)`);
    console.log(`ratio set  ours/raw fs write speed: ${f2((raw.extra?.writeMs ?? 0) / oursSet.ms * frameBytes / oursFile)}x`);
    console.log(`ratio get  ours/raw fs read speed:  ${f2((raw.extra?.readMs ?? 0) / oursGet.ms * frameBytes / oursFile)}x`);
    console.log(`peak RSS / frame size: set ${f2(oursSet.maxRssMB * 1e6 / frameBytes)}x, get ${f2(oursGet.maxRssMB * 1e6 / frameBytes)}x  (goal <= 2; includes node's own ~45 MB)`);
    const pandas = pandasRead(join(dir, 'frame', 'pandas_to_parquet.parquet'));
    if (typeof pandas === 'string') console.log(`moonshot (pandas read_parquet) skipped: ${pandas}`);
    else console.log(`moonshot: pandas/pyarrow read_parquet of our file ${f1(pandas)} ms (${f1(mbps(frameBytes, pandas))} MB/s); ratio get ours/pandas: ${f2(pandas / oursGet.ms)}x  (goal >= 0.8)`);
    const readShare = (projection.bytesRead ?? 0) / (projection.fileBytes ?? 1);
    console.log(`projection: 1 of 5 columns read ${f1((projection.bytesRead ?? 0) / 1e6)} MB of ${f1((projection.fileBytes ?? 0) / 1e6)} MB = ${f2(readShare)} of the file in ${f1(projection.ms)} ms (goal <= ~0.25)`);

    const parts = runChild('partitions', dir, opts.quick ? 500 : 2000);
    await benchDisk();
    const e = parts.extra ?? {};
    console.log(`partitioned: ${e.partitions} partitions of ${e.rowsPerPartition} rows written in ${f1(e.writeMs ?? 0)} ms; handle opened in ${f1(e.openMs ?? 0)} ms (goal < 1000); one partition read in ${f1(e.readOneMs ?? 0)} ms touching ${e.filesTouched} file(s); ${e.prunedPartitions} partition(s) selected by an index range`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
