/**
 * Viewer benchmark (`npm run bench -- --only=viewer`): the key tree of a 2,000-trial database,
 * a 10,000-point trace slice from the server, and the first plot visible in Chromium after
 * navigation. Baselines measured in the same run: listing the keys and loaders with the public
 * API (what `isfdb ls` does), reading the trace's partition with the library directly, and the
 * page shell's own load (DOMContentLoaded). Medians of interleaved rounds; cold first requests
 * are printed separately, since the server caches what it decoded.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataBase, Registry, generateCampaign, initSimrun } from '../../src/index.js';
import type { PartitionedFrame } from '../../src/frames.js';
import { startServer } from '../../src/server/index.js';
import { chromiumPath } from '../services.js';
import { launchChromium, timeToFirstPlot } from '../viewer/browser.js';
import { fmt, line } from './measure.js';

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const spread = (values: number[]): string => `${fmt(Math.min(...values), 1)}-${fmt(Math.max(...values), 1)}`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

async function buildDb(root: string, name: string, registry: Registry, trials: number, timePoints: number, trialsPerFolder: number): Promise<string> {
  const raw = path.join(root, `${name}-raw`);
  await generateCampaign(raw, { trials, trialsPerFolder, timePoints, synapsesPerTrial: 100, cellsPerTrial: 50, seed: 11 });
  const dir = path.join(root, name);
  await initSimrun(raw, await DataBase.open(dir, { registry }), { quiet: true });
  await fs.rm(raw, { recursive: true, force: true });
  return dir;
}

async function getOk(url: string): Promise<void> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

export async function benchViewer(opts: { quick?: boolean } = {}): Promise<void> {
  const rounds = opts.quick ? 3 : 7;
  const trials = opts.quick ? 500 : 2000;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'isfdb-bench-viewer-'));
  const registry = new Registry(path.join(root, 'registry'));
  try {
    process.stdout.write(`\nviewer: building a ${trials}-trial database (2,001 points) and a 100-trial one (10,001 points)...\n`);
    const big = await buildDb(root, 'trials', registry, trials, 2001, 100);
    const wide = await buildDb(root, 'wide', registry, 100, 10_001, 20);

    // Key tree: the server's /api/tree against listing keys + loaders through the public API.
    const server = await startServer({ db: big, port: 0, warm: false });
    const treeCold = await timed(() => getOk(`${server.url}api/tree`));
    const db = await DataBase.open(big, { readonly: true });
    const tree: number[] = [];
    const listing: number[] = [];
    for (let i = 0; i < rounds; i++) {
      listing.push(await timed(async () => { for (const key of await db.keys({ recurse: true })) await db.loaderOf(key); }));
      tree.push(await timed(() => getOk(`${server.url}api/tree`)));
    }
    process.stdout.write(`\n  key tree of a ${trials}-trial database (loader, size, partitions, rows x columns, time)\n`);
    line('first request, nothing cached (ms)', fmt(treeCold, 1));
    line(`/api/tree, median of ${rounds} (ms)`, fmt(median(tree), 1), `goal < 300 ms: ${median(tree) < 300 ? 'met' : 'NOT met'} (range ${spread(tree)})`);
    line('baseline: keys + loaders via the API (ms)', fmt(median(listing), 1), `ratio ${fmt(median(tree) / median(listing), 1)}x`);

    // A 10,000-point trace slice: one trial, every time point.
    const wideServer = await startServer({ db: wide, port: 0, warm: false });
    const wideDb = await DataBase.open(wide, { readonly: true });
    const frame = (await wideDb.get('voltage_traces')) as PartitionedFrame;
    const traceUrl = (row: number) => `${wideServer.url}api/traces?key=voltage_traces&start=${row}&stop=${row + 1}&bins=4000`;
    const sliceUrl = (row: number) => `${wideServer.url}api/frame?key=voltage_traces&start=${row}&stop=${row + 1}`;
    const sliceCold = await timed(() => getOk(sliceUrl(0)));
    const slices: number[] = [];
    const traces: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const row = (i * 3) % 20;
      direct.push(await timed(async () => { const part = await frame.readPartition(0); part.get(row); }));
      slices.push(await timed(() => getOk(sliceUrl(row))));
      traces.push(await timed(() => getOk(traceUrl(row))));
    }
    process.stdout.write('\n  a 10,000-point trace slice (one trial x 10,001 time points; partitions of 20 trials)\n');
    line('first request, partition not yet decoded (ms)', fmt(sliceCold, 1));
    line(`/api/frame JSON, median of ${rounds} (ms)`, fmt(median(slices), 1), `goal < 50 ms: ${median(slices) < 50 ? 'met' : 'NOT met'} (range ${spread(slices)})`);
    line(`/api/traces, 4,000 bins, median (ms)`, fmt(median(traces), 1), `range ${spread(traces)}`);
    line('baseline: library readPartition + row (ms)', fmt(median(direct), 1), `ratio ${fmt(median(slices) / median(direct), 2)}x`);
    await wideServer.close();

    // First plot visible in Chromium, on the big database.
    const chromium = chromiumPath();
    if (!chromium.ok) {
      process.stdout.write(`\n  first plot in Chromium: skipped (${chromium.reason})\n`);
    } else {
      await server.close();
      const fresh = await startServer({ db: big, port: 0 }); // as a user starts it, then opens the page
      const browser = await launchChromium(chromium.value);
      try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        const url = `${fresh.url}?key=voltage_traces`;
        const first = await timeToFirstPlot(page, url, 5000);
        const plots: number[] = [];
        const shells: number[] = [];
        for (let i = 0; i < rounds; i++) {
          plots.push(await timeToFirstPlot(page, url, 5000));
          shells.push(await timed(() => page.goto(`${fresh.url}`, { waitUntil: 'domcontentloaded' })));
        }
        process.stdout.write(`\n  first plot visible after navigation (Chromium, ${trials}-trial database, 20 traces)\n`);
        line('first navigation after the server started (ms)', fmt(first, 0), `goal < 1,500 ms: ${first < 1500 ? 'met' : 'NOT met'}`);
        line(`later navigations, median of ${rounds} (ms)`, fmt(median(plots), 0), `goal < 1,500 ms: ${median(plots) < 1500 ? 'met' : 'NOT met'} (range ${spread(plots)})`);
        line('baseline: page shell DOMContentLoaded (ms)', fmt(median(shells), 0), `ratio ${fmt(median(plots) / median(shells), 1)}x`);
      } finally {
        await browser.close();
        await fresh.close();
      }
    }
    if (chromium.ok === false) await server.close();
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}
