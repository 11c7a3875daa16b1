/**
 * One measured run in a fresh process (so peak RSS belongs to it alone):
 *   node dist/test/bench/simrun-child.js init <raw> <db> [workers]
 *   node dist/test/bench/simrun-child.js duckdb <raw> <out>
 * Prints one JSON line with seconds, CPU seconds and peak RSS (process-wide, worker threads
 * included). CPU seconds are the steadier figure on a loaded machine.
 */
import { readdir, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DataBase } from '../../src/index.js';
import { initSimrun } from '../../initializers/index.js';

const [mode, raw, out, workersText] = process.argv.slice(2);

async function files(root: string): Promise<string[][]> {
  const folders: string[][] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    const here = entries.filter((e) => e.isFile()).map((e) => path.join(dir, e.name));
    if (here.some((f) => f.endsWith('_vm_all_traces.csv'))) folders.push(here);
    for (const e of entries) if (e.isDirectory() && !e.name.includes('_running')) await walk(path.join(dir, e.name));
  };
  await walk(root);
  return folders;
}

const sq = (s: string): string => `'${s.replace(/'/g, "''")}'`;

async function duckdb(root: string, outDir: string): Promise<{ bytes: number }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await mkdir(outDir, { recursive: true });
  let n = 0;
  for (const folder of await files(root)) {
    for (const f of folder.filter((x) => x.endsWith('_vm_all_traces.csv') || x.endsWith('_vm_dend_traces.csv'))) {
      await con.run(`COPY (SELECT * FROM read_csv(${sq(f)}, delim='\t', header=true)) TO ${sq(path.join(outDir, `${n++}.parquet`))} (FORMAT parquet)`);
    }
    const syn = folder.filter((x) => x.endsWith('_synapses.csv'));
    if (syn.length > 0) {
      await con.run(`COPY (SELECT * FROM read_csv([${syn.map(sq).join(',')}], delim='\t', header=false, skip=1, filename=true, columns={'synapse_type':'VARCHAR','synapse_ID':'BIGINT','soma_distance':'DOUBLE','section_ID':'BIGINT','section_pt_ID':'BIGINT','dendrite_label':'VARCHAR','times':'VARCHAR'})) TO ${sq(path.join(outDir, `${n++}.parquet`))} (FORMAT parquet)`);
    }
    const cells = folder.filter((x) => x.endsWith('_presynaptic_cells.csv'));
    if (cells.length > 0) {
      await con.run(`COPY (SELECT * FROM read_csv([${cells.map(sq).join(',')}], delim='\t', header=false, skip=1, filename=true, columns={'presynaptic_cell_type':'VARCHAR','cell_ID':'BIGINT','times':'VARCHAR'})) TO ${sq(path.join(outDir, `${n++}.parquet`))} (FORMAT parquet)`);
    }
  }
  con.closeSync?.();
  return { bytes: 0 };
}

const started = performance.now();
/** user + system time of the whole process, its threads included */
const cpuSeconds = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
if (mode === 'init') {
  // ISFDB_BENCH_FSYNC=0: the same run without fsync (what the disk's flushes cost)
  const db = await DataBase.open(out!, process.env['ISFDB_BENCH_FSYNC'] === '0' ? { fsync: false } : {});
  const report = await initSimrun(raw!, db, { quiet: true, ...(workersText === undefined ? {} : { workers: Number(workersText) }) });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ seconds, bytes: report.bytes, trials: report.trials, parsing: report.parsing, parsingReason: report.parsingReason, profile: report.profile, maxRssMB: process.resourceUsage().maxRSS / 1024, cpuSeconds: cpuSeconds() })}\n`);
} else if (mode === 'parse') {
  // parsing alone (worker threads, no Parquet, nothing written): where the time goes
  const { scanCampaign } = await import('../../initializers/simrun/scan.js');
  const { ParsePool } = await import('../../initializers/simrun/pool.js');
  const campaign = await scanCampaign(raw!);
  const pool = new ParsePool(2);
  const checks = await Promise.all(campaign.folders.map((f) => pool.check(f)));
  const opts = {
    voltageTraces: true, synapseActivation: true, spikeTimes: true, dendriticVoltageTraces: true, dendriticSpikeTimes: true,
    somaThreshold: 0, dendriticThreshold: -30,
    synWidth: Math.max(...checks.map((c) => c.maxSynTimes)), cellWidth: Math.max(...checks.map((c) => c.maxCellTimes)),
  };
  let next = 0;
  await Promise.all(Array.from({ length: pool.size }, async () => {
    while (next < campaign.folders.length) await pool.parse(campaign.folders[next++]!, opts);
  }));
  await pool.close();
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ seconds, bytes: campaign.totalBytes, maxRssMB: process.resourceUsage().maxRSS / 1024, cpuSeconds: cpuSeconds() })}\n`);
} else if (mode === 'duckdb') {
  await duckdb(raw!, out!);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ seconds, maxRssMB: process.resourceUsage().maxRSS / 1024, cpuSeconds: cpuSeconds() })}\n`);
} else {
  process.stderr.write('usage: simrun-child.js init|duckdb <raw> <out> [workers]\n');
  process.exit(2);
}
