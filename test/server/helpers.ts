/**
 * The viewer's test database: a small synthetic campaign through initSimrun (voltage traces,
 * spike times, dendritic recordings), plus computed keys with lineage (one of them stale) and a
 * key with two kept values; and a server on a free loopback port.
 */
import path from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { DataBase, generateCampaign, initSimrun } from '../../src/index.js';
import { startServer, type RunningServer, type ServeOptions } from '../../src/server/index.js';
import { makeTemp, sandbox } from '../core/helpers.js';

export interface DemoDb {
  dir: string;
  trialIds: string[];
  /** The git commit recorded in voltage_traces' metadata.json. */
  commit: string;
}

export async function buildDemoDb(trials = 20, timePoints = 401, options: { wideColumns?: number } = {}): Promise<DemoDb> {
  const sb = await sandbox();
  const raw = await makeTemp('isfdb-viewer-raw-');
  const summary = await generateCampaign(raw, { trials, trialsPerFolder: 5, timePoints, synapsesPerTrial: 40, cellsPerTrial: 20, seed: 3 });
  const dir = path.join(sb.root, 'demo-db');
  const db = await DataBase.open(dir, { registry: sb.registry, keepVersions: 3 });
  await initSimrun(raw, db, { quiet: true, workers: 1 });
  await db.set('params', { bin_ms: 1 });
  await db.maybeCalculate('spike_count', () => 42, { inputs: ['spike_times'], code: 'v1' });
  await db.maybeCalculate('rate_summary', () => ({ rate: 3 }), { inputs: ['spike_count', 'params'], code: 'v1' });
  await db.set('params', { bin_ms: 2 }); // rate_summary is now stale; params has a kept version
  if (options.wideColumns) await db.set('wide', wideFrame(30, options.wideColumns));
  const commit = String((await db.metadata('voltage_traces'))['full-revisionid']);
  return { dir, trialIds: summary.trialIds, commit };
}

export async function serve(dir: string, options: Partial<ServeOptions> = {}): Promise<RunningServer> {
  return startServer({ db: dir, port: 0, host: '127.0.0.1', ...options });
}

/** The server's origin (the URL without the path and the token). */
export function originOf(server: RunningServer): string {
  return new URL(server.url).origin;
}

/** rows x columns of float64 (cell value = row + column / 10^5), columns named c0, c1, ... */
function wideFrame(rows: number, columns: number) {
  const data: Record<string, Float64Array> = {};
  for (let c = 0; c < columns; c++) data[`c${c}`] = Float64Array.from({ length: rows }, (_, r) => r + c / 1e5);
  return tableFromArrays(data);
}
