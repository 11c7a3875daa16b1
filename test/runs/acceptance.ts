/**
 * The acceptance runs of issue 14 with real processes, sized by the caller: `npm run stress`
 * runs 2,000 records, the suite a short version.
 *
 * - local: a coordinator process runs 4 worker processes; `kills` workers are SIGKILLed at random
 *   moments, then the coordinator with its whole process group once, and the run is restarted
 *   until it completes.
 * - queue: 3 `isfdb worker` processes on one Redis, key writes locked on Redis too; one worker is
 *   SIGKILLed inside a record.
 *
 * Checks: every record done with the right value; each committed exactly once (the database keeps
 * 3 versions, so a second commit would show in the key's history); invocations counted by the
 * step in a side file; `verify` finds nothing torn.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DataBase, isErrorFinding } from '../../src/index.js';
import { recordEvents } from '../../src/runs/index.js';
import { REPO_ROOT } from '../services.js';
import { STEPS_FILE, dropPrefix, invocations, spawnCli, until, type Child } from './helpers.js';

export interface AcceptanceFigures {
  records: number;
  workerKills: number;
  coordinatorKills: number;
  restarts: number;
  invocations: number;
  recordsInvokedTwiceOrMore: number;
  commits: number;
  doubleCommits: number;
  notDone: number;
  verifyFindings: number;
  elapsedMs: number;
  failures: string[];
}

const COORDINATOR = path.join(REPO_ROOT, 'dist', 'test', 'procs', 'runs-coordinator.js');

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n').map((l) => Number(l.trim())).filter((p) => p > 0);
  } catch {
    return [];
  }
}

interface Coordinator { pid: number; exited: Promise<{ code: number | null; stdout: string }>; alive: () => boolean }

function startCoordinator(args: string[], env: Record<string, string>): Coordinator {
  // Its own process group, so that killing "the run" kills the coordinator and its workers at once.
  const proc = spawn(process.execPath, [COORDINATOR, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  let stdout = '';
  let alive = true;
  proc.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  const exited = new Promise<{ code: number | null; stdout: string }>((resolve) => proc.on('exit', (code) => { alive = false; resolve({ code, stdout }); }));
  return { pid: proc.pid!, exited, alive: () => alive };
}

async function check(dbDir: string, records: number, side: string, f: AcceptanceFigures, started: number): Promise<void> {
  const db = await DataBase.open(dbDir, { nocreate: true });
  const counts = invocations(side);
  f.invocations = [...counts.values()].reduce((a, b) => a + b, 0);
  f.recordsInvokedTwiceOrMore = [...counts.values()].filter((c) => c > 1).length;
  for (let n = 0; n < records; n++) {
    const key = ['squares', String(n)];
    if (!(await db.has(key))) { f.notDone++; f.failures.push(`record ${n} has no result`); continue; }
    f.commits++;
    const value = await db.get(key) as { n: number; square: number };
    if (value.square !== n * n) f.failures.push(`record ${n}: wrong value ${JSON.stringify(value)}`);
    const versions = (await db.history(key)).length;
    if (versions !== 1) { f.doubleCommits++; f.failures.push(`record ${n} committed ${versions} times`); }
    if (!counts.has(String(n))) f.failures.push(`record ${n} has a result but its run was never invoked`);
  }
  const status = (await db.status('square')).toArray();
  const notDone = status.filter((r) => r.status !== 'done');
  if (notDone.length > 0) f.failures.push(`${notDone.length} records not done in db.status: ${notDone.slice(0, 3).map((r) => `${r.record}=${r.status}`).join(', ')}`);
  f.verifyFindings = (await db.verify()).findings.filter(isErrorFinding).length;
  if (f.verifyFindings > 0) f.failures.push(`verify: ${f.verifyFindings} findings`);
  f.elapsedMs = Date.now() - started;
}

function figures(records: number): AcceptanceFigures {
  return { records, workerKills: 0, coordinatorKills: 0, restarts: 0, invocations: 0, recordsInvokedTwiceOrMore: 0, commits: 0, doubleCommits: 0, notDone: 0, verifyFindings: 0, elapsedMs: 0, failures: [] };
}

export async function localAcceptance(o: { root: string; registryDir: string; records: number; workers: number; kills: number; sleepMs: number; seed: number; log?: (l: string) => void }): Promise<AcceptanceFigures> {
  const f = figures(o.records);
  const started = Date.now();
  const rand = prng(o.seed);
  const dbDir = path.join(o.root, 'runs-local-db');
  await DataBase.open(dbDir);
  const side = path.join(o.root, 'runs-local.side');
  const env = { ISFDB_REGISTRY: o.registryDir, RUNS_SIDE_FILE: side, RUNS_SLEEP_MS: String(o.sleepMs) };
  let killedCoordinator = false;
  for (let round = 0; round < 10; round++) {
    const c = startCoordinator([dbDir, STEPS_FILE, 'square', String(o.records), String(o.workers)], env);
    while (c.alive()) {
      await new Promise((resolve) => setTimeout(resolve, 20 + rand() * 200));
      if (!c.alive()) break;
      const done = fs.existsSync(side) ? invocations(side).size : 0;
      // Spread the kills over the run, at moments when records are being computed.
      if (done < ((f.workerKills + f.coordinatorKills + 1) * o.records) / (o.kills + 3)) continue;
      if (f.workerKills < o.kills) {
        const kids = childrenOf(c.pid);
        if (kids.length === 0) continue;
        const victim = kids[Math.floor(rand() * kids.length)]!;
        try { process.kill(victim, 'SIGKILL'); f.workerKills++; o.log?.(`  killed worker ${victim} (${done} records invoked)`); } catch { /* already gone */ }
      } else if (!killedCoordinator && done < o.records * 0.9) {
        killedCoordinator = true;
        try { process.kill(-c.pid, 'SIGKILL'); f.coordinatorKills++; o.log?.(`  killed the coordinator and its workers (${done} records invoked)`); } catch { /* gone */ }
      }
    }
    const { code, stdout } = await c.exited;
    if (code === 0) break;
    f.restarts++;
    o.log?.(`  coordinator exited with ${String(code)} ${stdout.slice(0, 200)}: restarting the run`);
  }
  await check(dbDir, o.records, side, f, started);
  return f;
}

export async function queueAcceptance(o: { root: string; registryDir: string; url: string; prefix: string; records: number; workers: number; sleepMs: number; log?: (l: string) => void }): Promise<AcceptanceFigures> {
  const f = figures(o.records);
  const started = Date.now();
  const dbDir = path.join(o.root, 'runs-queue-db');
  await DataBase.open(dbDir);
  const side = path.join(o.root, 'runs-queue.side');
  const env = { ISFDB_REGISTRY: o.registryDir, RUNS_SIDE_FILE: side, RUNS_SLEEP_MS: String(o.sleepMs) };
  const workers: Child[] = [];
  try {
    // One job held per worker, so that the kill reruns exactly the record inside which it fell (with
    // the default --batch auto a killed worker's held jobs all rerun, still committed once each).
    for (let i = 0; i < o.workers; i++) workers.push(await spawnCli(['worker', STEPS_FILE, '--redis', o.url, '--prefix', o.prefix, '--lease-ms', '2000', '--batch', '1'], env));
    for (const w of workers) await until(() => w.output().includes('worker '), 'a worker to start');
    // Key writes are locked on the same Redis here: the backend for clusters without reliable file locks.
    const c = startCoordinator([dbDir, STEPS_FILE, 'square', String(o.records), '0', o.url, o.prefix], { ...env, RUNS_REDIS_LOCKS: o.url });
    const victim = workers[0]!;
    const startedBy = (): number => (fs.existsSync(side) ? fs.readFileSync(side, 'utf8').split('\n').filter((l) => l.endsWith(` ${victim.proc.pid}`)).length : 0);
    // Read from the event log, not from the worker's stdout: a pipe lags, so a record could look
    // unfinished there after it was committed, and the kill would then miss every record.
    const runsDir = path.join(dbDir, 'isfdb_runs', 'square', 'events');
    const finishedBy = (): number => (fs.existsSync(runsDir) ? fs.readdirSync(runsDir) : [])
      .filter((name) => name.includes(`.${victim.proc.pid}.`))
      .reduce((n, name) => n + fs.readFileSync(path.join(runsDir, name), 'utf8').split('\n').filter((l) => l.includes('"event":"done"')).length, 0);
    await until(() => finishedBy() >= Math.min(20, o.records / 10) && startedBy() > finishedBy(), 'worker 0 inside a record', 120_000);
    victim.proc.kill('SIGKILL');
    f.workerKills++;
    o.log?.(`  killed isfdb worker ${victim.proc.pid} inside a record (${finishedBy()} finished by it)`);
    const { code, stdout } = await c.exited;
    if (code !== 0) f.failures.push(`coordinator exited with ${String(code)}: ${stdout.slice(0, 300)}`);
    await check(dbDir, o.records, side, f, started);
    const db = await DataBase.open(dbDir, { nocreate: true });
    let retried = 0;
    for (let n = 0; n < o.records; n++) {
      const events = await recordEvents(db, 'square', String(n));
      if (events.some((e) => e.event === 'start' && e.pid === victim.proc.pid) && events.filter((e) => e.event === 'done').every((e) => e.pid !== victim.proc.pid)) retried++;
    }
    if (retried !== 1) f.failures.push(`expected the killed worker's record to be retried by another worker once, found ${retried}`);
    if (f.invocations - o.records > 1) f.failures.push(`${f.invocations - o.records} extra invocations (at most the killed one is allowed)`);
  } finally {
    for (const w of workers) w.proc.kill('SIGKILL');
    await dropPrefix(o.url, o.prefix);
  }
  return f;
}
