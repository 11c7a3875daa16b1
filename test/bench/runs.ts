/**
 * Overhead of runs (issue 14): a step sleeping 10 ms per record with 4 local worker processes
 * (ideal 400 records/s) and with 3 `isfdb worker` processes on Redis (ideal 300/s); a CPU-bound
 * step on 2 workers against 1. Rounds interleave the variants; medians are printed with the
 * spread. The rate counts the whole run (classifying, starting the pool, committing every key
 * with fsync), and the steady rate from the first to the last finished record.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataBase, Registry } from '../../src/index.js';
import type { RunProgress } from '../../src/runs/index.js';
import { STEPS_FILE, compiledSteps, dropPrefix, spawnCli, until, type Child } from '../runs/helpers.js';
import { testRedisUrl } from '../services.js';
import { fmt, line } from './measure.js';
import { profileRecordCosts } from './runs-profile.js';

interface RunFigure { rate: number; steady: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function timedRun(root: string, name: string, records: number, options: { workers: number; redis?: { url: string; prefix: string } }): Promise<RunFigure> {
  const steps = await compiledSteps();
  const db = await DataBase.open(path.join(root, name));
  let first = 0;
  let last = 0;
  let firstDone = 0;
  const onProgress = (p: RunProgress): void => {
    if (p.done > 0 && first === 0) { first = performance.now(); firstDone = p.done; }
    if (p.done > 0) last = performance.now();
  };
  const started = performance.now();
  const report = await db.run(steps.square, { records: Array.from({ length: records }, (_, i) => i), workers: options.workers, onProgress, ...(options.redis ? { redis: options.redis } : {}) });
  const seconds = (performance.now() - started) / 1000;
  if (report.done !== records) throw new Error(`bench run ${name}: ${report.done} of ${records} done (${JSON.stringify(report.failures.slice(0, 2))})`);
  fs.rmSync(path.join(root, name), { recursive: true, force: true });
  return { rate: records / seconds, steady: (records - firstDone) / Math.max((last - first) / 1000, 1e-3) };
}

function spread(xs: number[]): string {
  return `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;
}

export async function benchRuns({ quick }: { quick: boolean }): Promise<void> {
  process.stdout.write(`\nruns: worker processes and queue workers (${os.availableParallelism()} cores)\n`);
  // ISFDB_BENCH_RUNS_DIR=/dev/shm separates the runs' own overhead from the disk's metadata cost.
  const base = process.env['ISFDB_BENCH_RUNS_DIR'] ?? os.tmpdir();
  const root = fs.mkdtempSync(path.join(base, 'isfdb-bench-runs-'));
  process.stdout.write(`  databases in ${base}\n`);
  const registryDir = path.join(root, 'registry');
  fs.mkdirSync(registryDir);
  process.env['ISFDB_REGISTRY'] = registryDir;
  void new Registry(registryDir);
  const rounds = quick ? 1 : 3;
  const sleepRecords = quick ? 400 : 1200;
  try {
    await profileRecordCosts(root, quick ? 64 : 256);
    // No work at all: what bookkeeping and commits alone allow with 4 workers (the ceiling).
    const empty: RunFigure[] = [];
    for (let r = 0; r < rounds; r++) empty.push(await timedRun(root, `empty-local-${r}`, sleepRecords, { workers: 4 }));
    const er = median(empty.map((f) => f.steady));
    line('empty step, 4 local workers, steady', `${fmt(er)} rec/s`, `the ceiling: ${fmt(4000 / er, 2)} ms per record per worker (rounds ${spread(empty.map((f) => f.steady))})`);
    // A second run over the same records: only the bookkeeping (every record found done).
    {
      const steps = await compiledSteps();
      const db = await DataBase.open(path.join(root, 'rerun'));
      const records = Array.from({ length: sleepRecords }, (_, i) => i);
      await db.run(steps.square, { records, workers: 4 });
      const t = performance.now();
      const again = await db.run(steps.square, { records, workers: 4 });
      const seconds = (performance.now() - t) / 1000;
      line('second run, every record done', `${fmt(again.alreadyDone / seconds)} rec/s`, `${fmt((seconds * 1e6) / again.total)} µs per record checked`);
    }

    // 10 ms sleep, 4 local workers.
    process.env['RUNS_SLEEP_MS'] = '10';
    const local: RunFigure[] = [];
    for (let r = 0; r < rounds; r++) local.push(await timedRun(root, `sleep-local-${r}`, sleepRecords, { workers: 4 }));
    const lr = median(local.map((f) => f.rate));
    const ls = median(local.map((f) => f.steady));
    line('sleep 10 ms, 4 local workers, whole run', `${fmt(lr)} rec/s`, `${fmt(lr / 400, 2)}x ideal 400/s (goal >= 0.8x; rounds ${spread(local.map((f) => f.rate))})`);
    line('sleep 10 ms, 4 local workers, steady', `${fmt(ls)} rec/s`, `${fmt(ls / 400, 2)}x ideal (rounds ${spread(local.map((f) => f.steady))})`);

    // 10 ms sleep, 3 queue workers.
    const redis = testRedisUrl();
    if (!redis.ok) {
      line('sleep 10 ms, 3 queue workers', 'skipped', redis.reason);
    } else {
      const prefix = `isfdbbench-${process.pid}`;
      const workers: Child[] = [];
      try {
        for (let i = 0; i < 3; i++) workers.push(await spawnCli(['worker', STEPS_FILE, '--redis', redis.value, '--prefix', prefix, '--quiet', '--batch', '16'], { ISFDB_REGISTRY: registryDir, RUNS_SLEEP_MS: '10' }));
        for (const w of workers) await until(() => w.output().includes('worker '), 'a queue worker to start');
        const queued: RunFigure[] = [];
        for (let r = 0; r < rounds; r++) queued.push(await timedRun(root, `sleep-queue-${r}`, sleepRecords, { workers: 0, redis: { url: redis.value, prefix } }));
        const qr = median(queued.map((f) => f.rate));
        const qs = median(queued.map((f) => f.steady));
        line('sleep 10 ms, 3 queue workers, whole run', `${fmt(qr)} rec/s`, `${fmt(qr / 300, 2)}x ideal 300/s (goal >= 0.7x; rounds ${spread(queued.map((f) => f.rate))})`);
        line('sleep 10 ms, 3 queue workers, steady', `${fmt(qs)} rec/s`, `${fmt(qs / 300, 2)}x ideal (rounds ${spread(queued.map((f) => f.steady))})`);
      } finally {
        for (const w of workers) w.proc.kill('SIGTERM');
        await Promise.allSettled(workers.map((w) => w.exited));
        await dropPrefix(redis.value, prefix);
      }
    }
    delete process.env['RUNS_SLEEP_MS'];

    // CPU-bound: 40 ms of arithmetic per record, 1 worker against 2, interleaved.
    process.env['RUNS_SPIN_MS'] = '40';
    const cpuRecords = quick ? 60 : 150;
    const one: RunFigure[] = [];
    const two: RunFigure[] = [];
    for (let r = 0; r < rounds; r++) {
      one.push(await timedRun(root, `cpu-1-${r}`, cpuRecords, { workers: 1 }));
      two.push(await timedRun(root, `cpu-2-${r}`, cpuRecords, { workers: 2 }));
    }
    const ratios = one.map((o, i) => two[i]!.rate / o.rate);
    const steadyRatios = one.map((o, i) => two[i]!.steady / o.steady);
    line('CPU 40 ms/record, 1 worker', `${fmt(median(one.map((f) => f.rate)), 1)} rec/s`, `ideal 25/s (rounds ${spread(one.map((f) => f.rate))})`);
    line('CPU 40 ms/record, 2 workers, whole run', `${fmt(median(two.map((f) => f.rate)), 1)} rec/s`, `${fmt(median(ratios), 2)}x one worker (goal >= 1.7x; rounds ${ratios.map((x) => fmt(x, 2)).join(', ')})`);
    line('CPU 40 ms/record, 2 workers, steady', `${fmt(median(two.map((f) => f.steady)), 1)} rec/s`, `${fmt(median(steadyRatios), 2)}x one worker's steady rate (rounds ${steadyRatios.map((x) => fmt(x, 2)).join(', ')})`);
    delete process.env['RUNS_SPIN_MS'];
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
