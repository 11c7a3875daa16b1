/**
 * The parse pool replaces a worker thread that dies, and runs its job again on the new thread;
 * a job whose thread dies twice fails with a clear error, and the pool goes on serving others.
 * A parse thread (mode 'parse-thread') gives the bytes the main thread alone gives.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCampaign } from '../../initializers/index.js';
import { ParsePool, workerFile } from '../../initializers/simrun/pool.js';
import { scanCampaign, type RunFolder } from '../../initializers/simrun/scan.js';
import type { ParseOptions } from '../../initializers/simrun/parse-folder.js';
import { cleanup, tempDir } from './helpers.js';

const haveWorker = workerFile().file !== undefined;
if (!haveWorker) console.warn(`skipped: ${workerFile().reason}`);

const OPTS: ParseOptions = {
  voltageTraces: true, synapseActivation: true, spikeTimes: true, dendriticVoltageTraces: true, dendriticSpikeTimes: true,
  somaThreshold: 0, dendriticThreshold: -30, synWidth: 8, cellWidth: 8,
};

/** Kill the busy thread once the job has staged its first key (voltage_traces): in the middle of the folder. */
async function killMidFolder(pool: ParsePool, dir: string): Promise<void> {
  const first = path.join(dir, 'voltage_traces');
  const started = Date.now();
  while (!existsSync(first) || pool.busyWorkers().length === 0) {
    if (Date.now() - started > 20_000) throw new Error('the job never started');
    await new Promise((r) => setTimeout(r, 1));
  }
  await pool.busyWorkers()[0]!.terminate();
}

describe.skipIf(!haveWorker)('parse pool: a worker killed in the middle of a folder', () => {
  it('is replaced, the folder is parsed again on the new thread, and the pool goes on', async () => {
    const raw = await tempDir('pool');
    const staging = await tempDir('pool-staging');
    const pool = new ParsePool(1);
    try {
      await generateCampaign(raw, { trials: 24, trialsPerFolder: 12, timePoints: 6000, seed: 4, dendriticSites: 2, runningFolder: false });
      const folders: RunFolder[] = (await scanCampaign(raw)).folders;
      const keys = ['voltage_traces', 'synapse_activation', 'cell_activation', ...folders[0]!.dendFiles.map((d) => `dendritic_recordings/${d.label}`)];
      const spec = { dir: path.join(staging, 'a'), keys };
      const job = pool.parse(folders[0]!, OPTS, spec);
      await killMidFolder(pool, spec.dir);
      const r = await job;
      expect(pool.restarts).toBe(1);
      expect(pool.retried).toBe(1);
      expect(Object.keys(r.staged ?? {}).sort()).toEqual([...keys].sort());
      expect(r.vm?.time.length).toBe(6000);
      expect((await readdir(path.join(spec.dir, 'voltage_traces'))).filter((f) => f.endsWith('.parquet'))).toHaveLength(1);
      // the replacement serves the next folder
      const next = await pool.parse(folders[1]!, OPTS, { dir: path.join(staging, 'b'), keys });
      expect(next.index.offsets.length - 1).toBe(folders[1]!.trials.length);

      // killed on both attempts: the job fails, naming the folder
      const doomed = pool.parse(folders[0]!, OPTS, { dir: path.join(staging, 'c'), keys });
      doomed.catch(() => undefined);
      await killMidFolder(pool, path.join(staging, 'c'));
      while (pool.retried < 2) await new Promise((r) => setTimeout(r, 1));
      await killMidFolder(pool, path.join(staging, 'c'));
      await expect(doomed).rejects.toThrow(/a worker thread died while parsing run folder .*, 2 times/);
      expect(pool.restarts).toBe(3);
      const after = await pool.check(folders[1]!);
      expect(after.vmColumns).toBe(folders[1]!.trials.length);
    } finally {
      await pool.close();
      await cleanup(raw, staging);
    }
  }, 60_000);
});

describe.skipIf(!haveWorker)('parse pool: this thread as one more parser', () => {
  it('shares the jobs between the worker and this thread; both give the same results', async () => {
    const raw = await tempDir('pool-local');
    const staging = await tempDir('pool-local-staging');
    const both = new ParsePool(1, undefined, true);
    const workerOnly = new ParsePool(1);
    try {
      await generateCampaign(raw, { trials: 16, trialsPerFolder: 4, timePoints: 300, seed: 9, dendriticSites: 1, runningFolder: false });
      const folders: RunFolder[] = (await scanCampaign(raw)).folders;
      expect(both.parallelism).toBe(2);
      expect(workerOnly.parallelism).toBe(1);
      // all at once: the worker takes one, this thread the next, and so on
      const shared = await Promise.all(folders.map((f, i) => both.parse(f, OPTS, { dir: path.join(staging, `a${i}`), keys: ['voltage_traces'] })));
      const alone = await Promise.all(folders.map((f, i) => workerOnly.parse(f, OPTS, { dir: path.join(staging, `b${i}`), keys: ['voltage_traces'] })));
      shared.forEach((r, i) => {
        expect(r.staged?.['voltage_traces']?.checksum).toBe(alone[i]!.staged?.['voltage_traces']?.checksum);
        expect(Array.from(r.spikes?.times ?? [])).toEqual(Array.from(alone[i]!.spikes?.times ?? []));
      });
      // a bad folder fails the same way here as in a worker
      const broken = { ...folders[0]!, synapseFiles: [path.join(raw, 'missing.csv')] };
      await expect(both.parse(broken, OPTS)).rejects.toThrow(/missing\.csv/);
    } finally {
      await both.close();
      await workerOnly.close();
      await cleanup(raw, staging);
    }
  }, 60_000);
});

describe.skipIf(!haveWorker)('parse pool: a parse thread beside this thread, which encodes', () => {
  it('gives the bytes this thread alone gives, survives a killed thread, and names bad input', async () => {
    const raw = await tempDir('pool-parse-thread');
    const staging = await tempDir('pool-parse-thread-staging');
    const split = ParsePool.parseThread();
    const alone = new ParsePool(0);
    try {
      await generateCampaign(raw, { trials: 12, trialsPerFolder: 4, timePoints: 2000, seed: 5, dendriticSites: 1, runningFolder: false });
      const folders: RunFolder[] = (await scanCampaign(raw)).folders;
      const keys = ['voltage_traces', 'synapse_activation', 'cell_activation', `dendritic_recordings/${folders[0]!.dendFiles[0]!.label}`];
      expect([split.mode, split.parallelism, alone.mode]).toEqual(['parse-thread', 1, 'in-thread']);
      // the check pass runs on both threads at once, with the same results
      const checks = await Promise.all(folders.map((f) => split.check(f)));
      expect(checks).toEqual(await Promise.all(folders.map((f) => alone.check(f))));
      // the thread is killed while it parses the first folder: it is replaced and the folder parsed again
      const jobs = folders.map((f, i) => split.parse(f, OPTS, { dir: path.join(staging, `a${i}`), keys }));
      while (split.busyWorkers().length === 0) await new Promise((r) => setTimeout(r, 1));
      await split.busyWorkers()[0]!.terminate();
      const got = await Promise.all(jobs);
      expect(split.restarts).toBe(1);
      expect(split.retried).toBe(1);
      for (const [i, r] of got.entries()) {
        const want = await alone.parse(folders[i]!, OPTS, { dir: path.join(staging, `b${i}`), keys });
        for (const key of keys) expect(r.staged?.[key]?.checksum, `${key} of folder ${i}`).toBe(want.staged?.[key]?.checksum);
        expect(Array.from(r.spikes?.times ?? [])).toEqual(Array.from(want.spikes?.times ?? []));
        expect(r.timings?.parseMs).toBeGreaterThan(0);
        // the big buffers stay behind: only grids, spikes and the index come back
        expect(r.vm?.values.length).toBe(0);
      }
      // an incomplete file found by the parse thread is the same typed problem, naming the file
      const broken = { ...folders[0]!, synapseFiles: [path.join(raw, 'missing.csv')] };
      await expect(split.parse(broken, OPTS, { dir: path.join(staging, 'c'), keys })).rejects.toThrow(/missing\.csv/);
    } finally {
      await split.close();
      await alone.close();
      await cleanup(raw, staging);
    }
  }, 60_000);
});
