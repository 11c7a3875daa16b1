/**
 * Overhead of runs (issue 14): a step sleeping 10 ms per record with 4 local worker processes
 * (ideal 400 records/s) and with 3 `isfdb worker` processes on Redis (ideal 300/s); a CPU-bound
 * step on 2 workers against 1. Rounds interleave the variants; medians are printed with the
 * spread. The rate counts the whole run (starting the pool, classifying, committing every key
 * with fsync), and the steady rate from the first to the last finished record.
 *
 * Each local run also prints its CPU per record: the coordinator's, and the worker processes'
 * user and kernel time (read from /proc when they have exited). Databases of finished rounds are
 * removed only at the end: on this disk (ext4 without a journal), files created soon after a large
 * removal cost several times more kernel time, which would slow every round after the first.
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

interface RunFigure {
  rate: number;
  steady: number;
  /** From the start of db.run to the first finished record: mostly the worker processes' start. */
  firstMs: number;
  /** CPU per record in µs: this process, and its exited children's user and system time (Linux only). */
  cpu?: { main: number; user: number; sys: number };
}

/** User and system CPU of this process's exited and reaped children, in ms (Linux /proc), or undefined. */
function childrenCpuMs(): { user: number; sys: number } | undefined {
  try {
    const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    const tick = 10; // USER_HZ is 100 on Linux
    return { user: Number(fields[13]) * tick, sys: Number(fields[14]) * tick };
  } catch {
    return undefined;
  }
}

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
  const kids0 = childrenCpuMs();
  const main0 = process.cpuUsage();
  const started = performance.now();
  const report = await db.run(steps.square, { records: Array.from({ length: records }, (_, i) => i), workers: options.workers, onProgress, ...(options.redis ? { redis: options.redis } : {}) });
  const seconds = (performance.now() - started) / 1000;
  const main = process.cpuUsage(main0);
  const kids1 = childrenCpuMs();
  if (report.done !== records) throw new Error(`bench run ${name}: ${report.done} of ${records} done (${JSON.stringify(report.failures.slice(0, 2))})`);
  const perRecord = (ms: number): number => (ms * 1000) / records;
  return {
    rate: records / seconds,
    steady: (records - firstDone) / Math.max((last - first) / 1000, 1e-3),
    firstMs: first - started,
    ...(kids0 && kids1 && !options.redis ? { cpu: { main: (main.user + main.system) / records, user: perRecord(kids1.user - kids0.user), sys: perRecord(kids1.sys - kids0.sys) } } : {}),
  };
}

function spread(xs: number[]): string {
  return `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;
}

/** Medians of the rounds' CPU per record, as printed. */
function cpuText(figures: RunFigure[]): string {
  const withCpu = figures.filter((f) => f.cpu !== undefined).map((f) => f.cpu!);
  if (withCpu.length === 0) return '';
  const m = (pick: (c: NonNullable<RunFigure['cpu']>) => number): string => fmt(median(withCpu.map(pick)));
  return `CPU per record: coordinator ${m((c) => c.main)} µs, workers ${m((c) => c.user)} µs user + ${m((c) => c.sys)} µs kernel (start-up included)`;
}

/** What creating a file and a folder costs right now (the disk's state: see the header). */
function creationCostUs(root: string): number {
  const dir = fs.mkdtempSync(path.join(root, 'probe-'));
  const t = performance.now();
  for (let i = 0; i < 200; i++) {
    fs.mkdirSync(path.join(dir, `d${i}`));
    fs.writeFileSync(path.join(dir, `d${i}`, 'f'), 'x');
  }
  return ((performance.now() - t) * 1000) / 200;
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
    process.stdout.write(`  load ${os.loadavg().map((l) => fmt(l, 1)).join(' ')}; a folder + a file cost ${fmt(creationCostUs(root))} µs now\n`);
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

    // Interleaved: an empty step (what bookkeeping and commits alone allow with 4 workers, the
    // ceiling) and the 10 ms sleep, 4 local workers.
    const empty: RunFigure[] = [];
    const local: RunFigure[] = [];
    for (let r = 0; r < rounds; r++) {
      delete process.env['RUNS_SLEEP_MS'];
      empty.push(await timedRun(root, `empty-local-${r}`, sleepRecords, { workers: 4 }));
      process.env['RUNS_SLEEP_MS'] = '10';
      local.push(await timedRun(root, `sleep-local-${r}`, sleepRecords, { workers: 4 }));
    }
    const er = median(empty.map((f) => f.steady));
    line('empty step, 4 local workers, steady', `${fmt(er)} rec/s`, `the ceiling: ${fmt(4000 / er, 2)} ms per record per worker (rounds ${spread(empty.map((f) => f.steady))})`);
    line('', '', cpuText(empty));
    const lr = median(local.map((f) => f.rate));
    const ls = median(local.map((f) => f.steady));
    line('sleep 10 ms, 4 local workers, whole run', `${fmt(lr)} rec/s`, `${fmt(lr / 400, 2)}x ideal 400/s (goal >= 0.8x; rounds ${spread(local.map((f) => f.rate))})`);
    line('sleep 10 ms, 4 local workers, steady', `${fmt(ls)} rec/s`, `${fmt(ls / 400, 2)}x ideal; ${fmt(median(local.map((f, i) => f.steady / empty[i]!.steady)), 2)}x the same rounds' empty step (rounds ${spread(local.map((f) => f.steady))})`);
    line('sleep 10 ms, first record done after', `${fmt(median(local.map((f) => f.firstMs)))} ms`, `worker start-up (rounds ${spread(local.map((f) => f.firstMs))})`);
    line('', '', cpuText(local));
    process.stdout.write(`  load ${os.loadavg().map((l) => fmt(l, 1)).join(' ')}; a folder + a file cost ${fmt(creationCostUs(root))} µs now\n`);

    // 10 ms sleep, 3 queue workers: `isfdb worker` with the default --batch auto, with one job held
    // at once and with 16 (one worker group each, on its own queue prefix), rounds interleaved.
    const redis = testRedisUrl();
    if (!redis.ok) {
      line('sleep 10 ms, 3 queue workers', 'skipped', redis.reason);
    } else {
      const batches = ['auto', '1', '16'];
      const groups = new Map<string, { prefix: string; workers: Child[]; figures: RunFigure[] }>();
      try {
        for (const batch of batches) {
          const group = { prefix: `isfdbbench-${process.pid}-b${batch}`, workers: [] as Child[], figures: [] as RunFigure[] };
          groups.set(batch, group);
          for (let i = 0; i < 3; i++) group.workers.push(await spawnCli(['worker', STEPS_FILE, '--redis', redis.value, '--prefix', group.prefix, '--quiet', ...(batch === 'auto' ? [] : ['--batch', batch])], { ISFDB_REGISTRY: registryDir, RUNS_SLEEP_MS: '10' }));
        }
        for (const { workers } of groups.values()) for (const w of workers) await until(() => w.output().includes('worker '), 'a queue worker to start');
        for (let r = 0; r < rounds; r++) {
          for (const [batch, group] of groups) group.figures.push(await timedRun(root, `sleep-queue-b${batch}-${r}`, sleepRecords, { workers: 0, redis: { url: redis.value, prefix: group.prefix } }));
        }
        for (const [batch, { figures }] of groups) {
          const qr = median(figures.map((f) => f.rate));
          const qs = median(figures.map((f) => f.steady));
          line(`sleep 10 ms, queue --batch ${batch}, whole run`, `${fmt(qr)} rec/s`, `${fmt(qr / 300, 2)}x ideal 300/s (goal >= 0.7x; rounds ${spread(figures.map((f) => f.rate))})`);
          line(`sleep 10 ms, queue --batch ${batch}, steady`, `${fmt(qs)} rec/s`, `${fmt(qs / 300, 2)}x ideal (rounds ${spread(figures.map((f) => f.steady))})`);
        }
      } finally {
        const all = [...groups.values()].flatMap((g) => g.workers);
        for (const w of all) w.proc.kill('SIGTERM');
        await Promise.allSettled(all.map((w) => w.exited));
        for (const { prefix } of groups.values()) await dropPrefix(redis.value, prefix);
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
    line('', '', cpuText(two));
    delete process.env['RUNS_SPIN_MS'];
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
