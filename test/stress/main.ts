/**
 * `npm run stress`: the full reliability run (crash, concurrency, fuzz, locks, scale, runs), printing its
 * figures. Exit code 1 when any failure was found. Sizes can be lowered with STRESS_SCALE=0.1.
 */
import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCrash } from './crash.js';
import { runConcurrency } from './concurrency.js';
import { runFuzz } from './fuzz.js';
import { runLocks } from './locks.js';
import { runScale } from './scale.js';
import { localAcceptance, queueAcceptance } from '../runs/acceptance.js';
import { testRedisUrl } from '../services.js';

const scale = Number(process.env['STRESS_SCALE'] ?? '1');
const only = process.env['STRESS_ONLY']?.split(',');
const root = fsSync.mkdtempSync(path.join(os.tmpdir(), 'isfdb-stress-'));
const registryDir = path.join(root, 'registry');
fsSync.mkdirSync(registryDir);
process.env['ISFDB_REGISTRY'] = registryDir;
const log = (line: string): void => { process.stdout.write(`${line}\n`); };
let failures = 0;
const section = (name: string): boolean => only === undefined || only.includes(name);

if (section('crash')) {
  log(`crash: ${Math.round(200 * scale)} iterations, values up to 100 MB, SIGKILL at a random moment`);
  const f = await runCrash({ root, registryDir, iterations: Math.max(1, Math.round(200 * scale)), maxBytes: 100 << 20, maxDelayMs: 1500, seed: 1, log });
  failures += f.failures.length;
  log(`crash figures: ${JSON.stringify({ ...f, failures: f.failures.length })}`);
}
if (section('concurrency')) {
  log(`concurrency: 8 writer processes x ${Math.round(200 * scale)} conflicting operations, 2 readers`);
  const f = await runConcurrency({ root, registryDir, writers: 8, opsPerWriter: Math.max(10, Math.round(200 * scale)), readers: 2, log });
  failures += f.failures.length;
  log(`concurrency figures: ${JSON.stringify({ ...f, failures: f.failures.length })}`);
}
if (section('fuzz')) {
  log(`fuzz: ${Math.round(1000 * scale)} malformed inputs`);
  const f = await runFuzz({ root: path.join(root, 'fuzz'), registryDir, inputs: Math.max(20, Math.round(1000 * scale)), seed: 3, log });
  failures += f.failures.length;
  log(`fuzz figures: ${JSON.stringify({ ...f, failures: f.failures.length })}`);
}
if (section('locks')) {
  log('locks: stale takeover after SIGKILL, timeout, readonly opens');
  const f = await runLocks({ root: path.join(root, 'locks'), registryDir, log });
  failures += f.failures.length;
  log(`locks figures: ${JSON.stringify({ ...f, failures: f.failures.length })}`);
}
if (section('scale')) {
  const keys = Math.max(1000, Math.round(150_000 * scale));
  log(`scale: one sub-database of ${keys} keys in one setMany batch (fsync off), listed, verified, checked, overwritten`);
  const f = await runScale({ root: path.join(root, 'scale'), registryDir, keys, log });
  failures += f.failures.length;
  log(`scale figures: ${JSON.stringify({ ...f, failures: f.failures.length })}`);
}
if (section('runs')) {
  const records = Math.max(100, Math.round(2000 * scale));
  log(`runs (local): ${records} records, 4 worker processes, 5 workers SIGKILLed at random moments, then the whole run, restarted`);
  const f = await localAcceptance({ root: path.join(root, 'runs'), registryDir, records, workers: 4, kills: 5, sleepMs: 10, seed: 11, log });
  failures += f.failures.length;
  for (const failure of f.failures.slice(0, 10)) log(`  FAIL ${failure}`);
  log(`runs (local) figures: ${JSON.stringify({ ...f, failures: f.failures.length })}`);
  const redis = testRedisUrl();
  if (!redis.ok) {
    log(`runs (queue) skipped: ${redis.reason}`);
    if (process.env['CI'] === 'true') failures++;
  } else {
    log(`runs (queue): ${records} records, 3 isfdb worker processes on one Redis, 1 SIGKILLed inside a record`);
    const q = await queueAcceptance({ root: path.join(root, 'runs'), registryDir, url: redis.value, prefix: `isfdbstress-${process.pid}`, records, workers: 3, sleepMs: 10, log });
    failures += q.failures.length;
    for (const failure of q.failures.slice(0, 10)) log(`  FAIL ${failure}`);
    log(`runs (queue) figures: ${JSON.stringify({ ...q, failures: q.failures.length })}`);
  }
}
log(`TOTAL failures found: ${failures}`);
fsSync.rmSync(root, { recursive: true, force: true });
process.exitCode = failures === 0 ? 0 : 1;
