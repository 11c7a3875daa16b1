/** Runs on a BullMQ queue with real `isfdb worker` processes and a real Redis (test/services.ts). */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataBase, isErrorFinding } from '../../src/index.js';
import { recordEvents } from '../../src/runs/index.js';
import { cleanupTemp, sandbox, type Sandbox } from '../core/helpers.js';
import { skipReason, testRedisUrl } from '../services.js';
import { STEPS_FILE, compiledSteps, dropPrefix, invocations, spawnCli, until, type Child } from './helpers.js';

const redis = testRedisUrl();
const skip = skipReason(redis, 'BullMQ queue tests');
const url = redis.ok ? redis.value : '';

describe.skipIf(skip !== undefined)(`runs on a BullMQ queue${skip ? ` (${skip})` : ''}`, () => {
  let sb: Sandbox;
  let steps: Awaited<ReturnType<typeof compiledSteps>>;
  const children: Child[] = [];
  const prefixes: string[] = [];
  beforeAll(async () => { sb = await sandbox(); steps = await compiledSteps(); });
  afterEach(async () => {
    for (const c of children.splice(0)) c.proc.kill('SIGKILL');
    await Promise.allSettled(prefixes.splice(0).map((p) => dropPrefix(url, p)));
  });
  afterAll(cleanupTemp);

  async function workers(n: number, prefix: string, env: Record<string, string>, extra: string[] = []): Promise<Child[]> {
    const started = await Promise.all(Array.from({ length: n }, () =>
      spawnCli(['worker', STEPS_FILE, '--redis', url, '--prefix', prefix, '--lease-ms', '2000', ...extra], { ISFDB_REGISTRY: sb.registryDir, ...env })));
    children.push(...started);
    for (const w of started) await until(() => w.output().includes('worker '), 'a worker to start');
    return started;
  }

  it('3 worker processes, one SIGKILLed mid-record: its record is retried after the lease, every record committed once', async () => {
    const prefix = `isfdbtest-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const db = await DataBase.open(path.join(sb.root, 'queue-kill'), { keepVersions: 3, lockStaleMs: 2000 });
    const side = path.join(sb.root, 'queue-kill.side');
    // One job held per worker (the default 'auto' would hold ~0.5 s of 150 ms records): exactly one rerun.
    const ws = await workers(3, prefix, { RUNS_SIDE_FILE: side, RUNS_SLEEP_MS: '150' }, ['--batch', '1']);
    const records = Array.from({ length: 40 }, (_, i) => i);
    const run = db.run(steps.square, { records, redis: { url, prefix, backoffMs: 100 } });
    // Kill the first worker while it is inside a record (after it logged at least one job).
    const victim = ws[0]!;
    const startedBy = (pid: number | undefined): number => (fs.existsSync(side) ? fs.readFileSync(side, 'utf8').split('\n').filter((l) => l.endsWith(` ${pid}`)).length : 0);
    const finishedBy = (): number => victim.output().split('\n').filter((l) => l.startsWith('square ')).length;
    // Kill it inside a record: after it finished two, while it has started one more than it finished.
    await until(() => finishedBy() >= 2 && startedBy(victim.proc.pid) > finishedBy(), 'worker 0 to be inside a record');
    const busy = invocations(side);
    victim.proc.kill('SIGKILL');
    const report = await run;
    expect(report).toMatchObject({ mode: 'queue', total: 40, done: 40, errors: 0 });
    await expectSquaresCommittedOnce(db, records);
    const counts = invocations(side);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    // At most the record the killed worker was running is invoked twice.
    expect(total - records.length).toBeLessThanOrEqual(1);
    expect(busy.size).toBeGreaterThan(0);
    expect((await db.verify()).findings.filter(isErrorFinding)).toEqual([]); // the runs' event log folder is reported as unverified (informational)
    const status = (await db.status('square')).toArray();
    expect(status.every((r) => r.status === 'done')).toBe(true);
    // The record the killed worker had started was finished by another worker after the lease.
    const killedPid = ws[0]!.proc.pid;
    let retried = 0;
    for (const n of records) {
      const events = await recordEvents(db, 'square', String(n));
      const startedByKilled = events.some((e) => e.event === 'start' && e.pid === killedPid);
      const done = events.filter((e) => e.event === 'done');
      if (startedByKilled && done.length === 1 && done[0]!.pid !== killedPid) retried++;
    }
    expect(retried, `killed ${killedPid}: ${JSON.stringify(await Promise.all(records.map((n) => recordEvents(db, "square", String(n)).then((es) => es.map((e) => `${e.event}:${e.pid}`).join(" ")))))}`).toBe(1);
  }, 90_000);

  it('--batch 8: a worker SIGKILLed with jobs waiting for their group commit; they all rerun elsewhere, each key committed once', async () => {
    const prefix = `isfdbtest-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const db = await DataBase.open(path.join(sb.root, 'queue-batch-kill'), { keepVersions: 3, lockStaleMs: 2000 });
    const side = path.join(sb.root, 'queue-batch-kill.side');
    const ws = await workers(3, prefix, { RUNS_SIDE_FILE: side, RUNS_SLEEP_MS: '20' }, ['--batch', '8']);
    const records = Array.from({ length: 120 }, (_, i) => i);
    const run = db.run(steps.square, { records, redis: { url, prefix, backoffMs: 100 } });
    const victim = ws[0]!;
    const invokedBy = (): string[] => (fs.existsSync(side) ? fs.readFileSync(side, 'utf8').split('\n').filter((l) => l.endsWith(` ${victim.proc.pid}`)).map((l) => l.split(' ')[0]!) : []);
    await until(() => invokedBy().length >= 20, 'worker 0 to run 20 records');
    const atKill = invokedBy();
    victim.proc.kill('SIGKILL');
    const report = await run;
    expect(report).toMatchObject({ mode: 'queue', total: 120, done: 120, errors: 0 });
    await expectSquaresCommittedOnce(db, records);
    // Reruns: only records the killed worker had invoked and not yet committed (at most its batch).
    const counts = invocations(side);
    const twice = [...counts].filter(([, c]) => c > 1).map(([r]) => r);
    expect(twice.length).toBeLessThanOrEqual(8);
    for (const r of twice) expect(atKill.includes(r) || invokedBy().includes(r)).toBe(true);
    expect(counts.size).toBe(120);
    expect((await db.verify()).findings.filter(isErrorFinding)).toEqual([]);
    expect((await db.status('square')).toArray().every((r) => r.status === 'done')).toBe(true);
  }, 90_000);

  /** The most jobs active (reserved by workers) at once on the step's queue while `body` runs. */
  async function mostActiveDuring(prefix: string, body: () => Promise<unknown>): Promise<number> {
    const { Queue } = await import('bullmq');
    const { connect, queueName } = await import('../../src/runs/queue.js');
    const connection = connect(url);
    const queue = new Queue(queueName('square'), { connection, prefix });
    let most = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        most = Math.max(most, await queue.getActiveCount());
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      await body();
    } finally {
      polling = false;
      await poll;
      await queue.close();
      connection.disconnect();
    }
    return most;
  }

  it('--batch auto (the default): one long record held at a time per worker (no job waits in a busy worker), many short ones', async () => {
    const prefix = `isfdbtest-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const side = path.join(sb.root, 'queue-auto.side');
    // 600 ms per record, about AUTO_HOLD_MS: each of 3 workers holds one (with --batch 16 all 9 are taken at the start).
    const long = await workers(3, prefix, { RUNS_SIDE_FILE: side, RUNS_SLEEP_MS: '600' });
    const db = await DataBase.open(path.join(sb.root, 'queue-auto'));
    const records = Array.from({ length: 9 }, (_, i) => i);
    const mostLong = await mostActiveDuring(prefix, async () => expect(await db.run(steps.square, { records, redis: { url, prefix } })).toMatchObject({ done: 9, errors: 0 }));
    expect(mostLong).toBeGreaterThan(0);
    expect(mostLong).toBeLessThanOrEqual(3);
    expect(new Set(fs.readFileSync(side, 'utf8').trim().split('\n').map((l) => l.split(' ')[1])).size).toBe(3);
    for (const w of long) w.proc.kill('SIGTERM');
    await Promise.all(long.map((w) => w.exited));

    // 10 ms per record: each worker holds up to 16 (with --batch 1, at most one each).
    const shortPrefix = `${prefix}-short`;
    prefixes.push(shortPrefix);
    await workers(2, shortPrefix, { RUNS_SLEEP_MS: '10' });
    const many = Array.from({ length: 200 }, (_, i) => i);
    const mostShort = await mostActiveDuring(shortPrefix, async () => expect(await db.run(steps.square, { records: many, force: true, redis: { url, prefix: shortPrefix } })).toMatchObject({ done: 200, errors: 0 }));
    expect(mostShort).toBeGreaterThan(2);
  }, 60_000);

  it('retries a failing record with backoff, then marks it error with its attempts', async () => {
    const prefix = `isfdbtest-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const db = await DataBase.open(path.join(sb.root, 'queue-fail'));
    const side = path.join(sb.root, 'queue-fail.side');
    await workers(2, prefix, { RUNS_SIDE_FILE: side, RUNS_FAIL: '3' });
    const report = await db.run(steps.square, { records: [1, 2, 3, 4], redis: { url, prefix, attempts: 2, backoffMs: 50 } });
    expect(report).toMatchObject({ done: 3, errors: 1 });
    expect(report.failures).toEqual([{ record: '3', message: 'record 3 fails on purpose', attempts: 2 }]);
    expect(invocations(side).get('3')).toBe(2);
    const row = (await db.status('square')).toArray().find((r) => r.record === '3');
    expect(row).toMatchObject({ status: 'error', attempts: 2, message: 'record 3 fails on purpose' });
    expect((await recordEvents(db, 'square', '3')).map((e) => e.event)).toEqual(['start', 'error', 'start', 'error']);
  }, 60_000);
});

/** Every record's square is stored with the right value, committed once (the database keeps versions). */
async function expectSquaresCommittedOnce(db: DataBase, records: readonly number[]): Promise<void> {
  for (const n of records) {
    expect(await db.get(['squares', String(n)])).toEqual({ n, square: n * n });
    expect((await db.history(['squares', String(n)])).length, `record ${n} committed once`).toBe(1);
  }
}
