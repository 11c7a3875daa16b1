/**
 * initSimrun(raw, db, { redis }): run folders parsed and encoded by `isfdb worker --simrun`
 * processes, keys written by this process alone; the result equals a local run key for key and
 * byte for byte (every data file; metadata.json holds write times and is compared without them;
 * the state key records its write time and is compared as a value without it).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Packr } from 'msgpackr';
import { afterAll, describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { generateCampaign, initSimrun } from '../../src/simrun.js';
import { QueueParsePool } from '../../initializers/simrun/distributed.js';
import { type CheckResult, checkFolder } from '../../initializers/simrun/parse-folder.js';
import { type RunFolder, scanCampaign } from '../../initializers/simrun/scan.js';
import { cleanupTemp, sandbox } from '../core/helpers.js';
import { skipReason, testRedisUrl } from '../services.js';
import { dropPrefix, spawnCli, until, type Child } from './helpers.js';

afterAll(cleanupTemp);

const redis = testRedisUrl();
const skip = skipReason(redis, 'distributed initSimrun');

/** Every file below `dir` with its bytes (metadata.json without its time-dependent fields). */
function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) { visit(child); continue; }
      if (entry.name === 'db_state.json') continue;
      let bytes = fs.readFileSync(path.join(dir, child));
      if (entry.name === 'metadata.json') {
        const { time: _t, hostname: _h, ...rest } = JSON.parse(bytes.toString()) as Record<string, unknown>;
        void _t; void _h;
        bytes = Buffer.from(JSON.stringify(rest));
      }
      out.set(child, bytes.toString('base64'));
    }
  };
  visit('');
  return out;
}

/** `count` `isfdb worker --simrun` processes on the queues under `prefix`, once each is listening. */
async function startWorkers(count: number, url: string, prefix: string, registryDir: string, workers: Child[]): Promise<void> {
  for (let i = 0; i < count; i++) workers.push(await spawnCli(['worker', '--simrun', '--redis', url, '--prefix', prefix], { ISFDB_REGISTRY: registryDir }));
  for (const w of workers) await until(() => w.output().includes('initSimrun run folders'), 'a simrun worker to start', 20_000);
}

/** A sandbox, a fresh queue prefix, and the one run folder of a small generated campaign. */
async function oneRunFolder(trials: number, seed: number): Promise<{ registryDir: string; url: string; prefix: string; folder: RunFolder }> {
  const sb = await sandbox();
  const raw = path.join(sb.root, 'raw');
  await generateCampaign(raw, { trials, trialsPerFolder: trials, timePoints: 20, seed });
  const folder = (await scanCampaign(raw)).folders[0]!;
  return { registryDir: sb.registryDir, url: redis.ok ? redis.value : '', prefix: `isfdbtest-${randomUUID().slice(0, 8)}`, folder };
}

/** A failure may have happened in a worker process: print what each one said. */
function showWorkerOutput(workers: Child[]): void {
  for (const [i, w] of workers.entries()) console.error(`isfdb worker ${i} (pid ${w.proc.pid}) printed:\n${w.output()}`);
}

describe.skipIf(skip !== undefined)(`distributed initSimrun${skip ? ` (${skip})` : ''}`, () => {
  it('2 queue workers parse and encode; the coordinator commits; identical to a local run', async () => {
    const sb = await sandbox();
    const url = redis.ok ? redis.value : '';
    const prefix = `isfdbtest-${randomUUID().slice(0, 8)}`;
    const raw = path.join(sb.root, 'raw');
    await generateCampaign(raw, { trials: 24, trialsPerFolder: 4, timePoints: 200, seed: 14, dendriticSites: 2 });
    const workers: Child[] = [];
    try {
      await startWorkers(2, url, prefix, sb.registryDir, workers);
      const local = await DataBase.open(path.join(sb.root, 'local'));
      const distributed = await DataBase.open(path.join(sb.root, 'distributed'));
      const a = await initSimrun(raw, local, { quiet: true, workers: 2 });
      const b = await initSimrun(raw, distributed, { quiet: true, redis: { url, prefix } });
      expect([...b.keys].sort()).toEqual([...a.keys].sort());
      expect(b).toMatchObject({ folders: 6, trials: 24, parsing: 'workers' });
      expect(await distributed.keys({ recurse: true })).toEqual(await local.keys({ recurse: true }));
      const want = files(local.basedir);
      const got = files(distributed.basedir);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      // Byte for byte, except the state key: it records when it was written.
      const differing = [...want].filter(([file, bytes]) => got.get(file) !== bytes).map(([file]) => file);
      expect(differing).toEqual(['simrun_init_state/metadata.json', 'simrun_init_state/to_pickle_dump']);
      const state = async (db: DataBase) => ({ ...(await db.get('simrun_init_state') as Record<string, unknown>), writtenAt: null });
      expect(await state(distributed)).toEqual(await state(local));
      // The workers did the parsing: they logged nothing, but the queue saw every folder's two requests.
      expect(want.size).toBeGreaterThan(20);
    } catch (e) {
      showWorkerOutput(workers);
      throw e;
    } finally {
      for (const w of workers) w.proc.kill('SIGKILL');
      await dropPrefix(url, prefix);
    }
  }, 120_000);

  it('no reply is lost when a worker finishes a job before its adder looks (16 lanes, this thread kept busy)', async () => {
    // BullMQ's job.waitUntilFinished lost these: the job, removed on completion, was gone when it
    // looked (tens of the 400 here, "Missing key for job"). Replies now come from the event stream.
    const { registryDir, url, prefix, folder } = await oneRunFolder(4, 3);
    const workers: Child[] = [];
    let pool: QueueParsePool | undefined;
    // Busy slices on this thread let fast workers finish jobs whose add has not been seen yet.
    const busy = setInterval(() => { const until = Date.now() + 20; while (Date.now() < until); }, 1);
    try {
      await startWorkers(2, url, prefix, registryDir, workers);
      pool = await QueueParsePool.open({ url, prefix });
      const open = pool;
      const lanes = await Promise.all(Array.from({ length: 16 }, async () => {
        const replies: CheckResult[] = [];
        for (let i = 0; i < 25; i++) replies.push(await open.check(folder));
        return replies;
      }));
      const want = await checkFolder(folder);
      expect(lanes.flat()).toEqual(Array.from({ length: 400 }, () => want));
    } catch (e) {
      showWorkerOutput(workers);
      throw e;
    } finally {
      clearInterval(busy);
      await pool?.close();
      for (const w of workers) w.proc.kill('SIGKILL');
      await dropPrefix(url, prefix);
    }
  }, 120_000);

  it('a worker holding a long request is not an idle queue: no warning', async () => {
    const { url, prefix, folder } = await oneRunFolder(2, 5);
    const warnings: string[] = [];
    const pool = await QueueParsePool.open({ url, prefix, idleWarningMs: 300, onIdle: (message) => warnings.push(message) });
    // A stand-in worker on the same queue that holds each request for 1.5 s, then answers.
    const connection = new Redis(url, { maxRetriesPerRequest: null });
    const answer: CheckResult = { vmColumns: 7, maxSynTimes: 1, maxCellTimes: 2 };
    const worker = new Worker('isfdb-simrun', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return Buffer.from(new Packr({ moreTypes: true, structuredClone: true }).pack({ ok: true, result: answer })).toString('base64');
    }, { connection, prefix });
    try {
      expect(await pool.check(folder)).toEqual(answer);
      expect(warnings).toEqual([]);
    } finally {
      await pool.close();
      await worker.close();
      connection.disconnect();
      await dropPrefix(url, prefix);
    }
  });

  it('without workers: a warning naming the queue and the command to start, and closing rejects the requests still waiting', async () => {
    const { url, prefix, folder } = await oneRunFolder(2, 4);
    const warnings: string[] = [];
    const pool = await QueueParsePool.open({ url, prefix, idleWarningMs: 300, onIdle: (message) => warnings.push(message) });
    try {
      // No worker listens, so the request waits until the pool is closed.
      const waiting = pool.check(folder);
      const outcome = waiting.then(() => 'answered', (e: unknown) => (e as Error).message);
      await until(() => warnings.length > 0, 'the idle warning', 10_000);
      expect(warnings[0]).toBe(`initSimrun: 1 request(s) wait on the Redis queue '${prefix}:isfdb-simrun' at ${url}, and no worker has taken one for 300 ms: `
        + `start \`isfdb worker --simrun --redis ${url} --prefix ${prefix}\` where the campaign and the database are at the same paths`);
      await pool.close();
      expect(await outcome).toMatch(/^simrun queue job \S+-0: the pool was closed before its reply$/);
      // Nothing waits any more: no further warning.
      const count = warnings.length;
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(warnings.length).toBe(count);
    } finally {
      await pool.close();
      await dropPrefix(url, prefix);
    }
  });
});
