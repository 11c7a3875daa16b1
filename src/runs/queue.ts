/**
 * Runs on a BullMQ queue on Redis: the coordinator (`db.run(step, { redis })`, `isfdb run
 * --redis`) enqueues one job per record that is not done and waits; `isfdb worker` processes
 * (on any machine sharing the database folder) take jobs and commit the results themselves.
 *
 * - A job id is derived from database id, step and record: enqueuing a record whose job is still
 *   waiting or active adds nothing, so a restarted coordinator does not duplicate work.
 * - BullMQ moves a job to active atomically (one Lua script) under a lock that the worker renews:
 *   no two live workers hold the same job. A killed worker's lock expires after `leaseMs`, the
 *   stalled-job check puts the job back, and another worker retries it.
 * - A job whose run throws is retried with exponential backoff, `attempts` times in all, then
 *   fails: its record's status is error (the worker logged the message and stack).
 * - Each key's write re-checks the stored recipe under the output key's lock (execute.ts): a
 *   worker whose lease expired while it was still computing, and the one that took over, still
 *   commit once.
 * - With `batch` > 1 a worker holds that many jobs: it computes `concurrency` at a time and
 *   commits the finished ones together; each job completes only when its key is durable, and a
 *   killed worker's held jobs are all retried. `batch: 'auto'` (the default) holds about half a
 *   second of computing per compute slot, from the compute times seen so far (one job per slot
 *   until the first is known, at most 16): short records then commit in groups while the next
 *   compute, and long ones are not kept waiting in one worker while another is idle.
 * - The coordinator adds jobs in bulk and hears of their end on the queue's event stream; every
 *   few seconds one pipelined round trip checks that no job ended unheard.
 */
import { createHash } from 'node:crypto';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { InvalidInputError, type DataBase } from '../index.js';
import { appendEvent, runsFolder } from './events.js';
import { readStepEvents } from './event-read.js';
import { executorOf, type ExecuteResult } from './execute.js';
import { keyState } from './record.js';
import { openCached, type WorkerOpenOptions } from './open.js';
import { recordId, type RecordValue, type Step } from './step.js';

export interface QueueOptions {
  /** redis://host:port[/db] */
  url: string;
  /** Prefix of every Redis key of the queues (default 'isfdb'); separate prefixes never meet. */
  prefix?: string;
  /** Tries per record before it fails (default 3). */
  attempts?: number;
  /** First retry delay, doubled per retry (default 1000 ms). */
  backoffMs?: number;
}

export interface WorkerOptions {
  url: string;
  prefix?: string;
  /** Records one worker process computes at once (default 1). */
  concurrency?: number;
  /**
   * Jobs one worker process holds at once: the finished ones are committed together while the
   * next compute. More is faster on slow disks; a killed worker's held jobs all rerun. 'auto'
   * (the default) holds about AUTO_HOLD_MS of computing per compute slot (see AutoHold).
   */
  batch?: number | 'auto';
  /** How long a job stays reserved without its worker renewing it (default 30 s): a killed worker's job is retried after this. */
  leaseMs?: number;
  /** Called after each job, for logs. */
  onJob?: (line: string) => void;
}

export interface JobData {
  db: string;
  open: WorkerOpenOptions;
  record: RecordValue;
  force: boolean;
}

export function queueName(step: string): string {
  return `isfdb-run-${step}`;
}

function jobId(db: DataBase, step: string, record: string): string {
  return createHash('sha1').update(`${db.id}\0${step}\0${record}`).digest('hex');
}

export function connect(url: string): Redis {
  if (!/^rediss?:\/\//.test(url)) throw InvalidInputError.value('redis', `'${url}' is not a redis:// URL`);
  // BullMQ needs maxRetriesPerRequest: null for its blocking commands.
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

interface QueueOutcome {
  computed: number;
  failures: Array<{ record: string; message: string; attempts: number }>;
}

/** Enqueue `todo` and wait until every job completed or failed. */
export async function runOnQueue<R extends RecordValue>(
  db: DataBase, step: Step<R, unknown>, todo: readonly R[],
  options: { redis: string | QueueOptions; force?: boolean; attempts?: number },
  open: WorkerOpenOptions,
  onDelta: (delta: { done: number; errors: number }) => void,
): Promise<QueueOutcome> {
  const q: QueueOptions = typeof options.redis === 'string' ? { url: options.redis } : options.redis;
  const prefix = q.prefix ?? 'isfdb';
  const name = queueName(step.name);
  const runs = await runsFolder(db);
  const queueConnection = connect(q.url);
  const eventsConnection = connect(q.url);
  const queue = new Queue<JobData>(name, { connection: queueConnection, prefix });
  // Events from the stream's end as it is before any job is added: QueueEvents' own start ('$')
  // is fixed at its first read, which may come after the first jobs finished.
  const newest = await queueConnection.xrevrange(queue.keys.events!, '+', '-', 'COUNT', 1);
  const events = new QueueEvents(name, { connection: eventsConnection, prefix, lastEventId: newest[0]?.[0] ?? '0-0' });
  const pending = new Map<string, R>();
  const outcome: QueueOutcome = { computed: 0, failures: [] };
  let wake: () => void = () => undefined;
  const failing = new Set<string>();
  const recordFailure = async (record: R, failed: string): Promise<void> => {
    const rid = recordId(record);
    const events = (await readStepEvents(runs, step.name)).get(rid) ?? [];
    const attempts = events.filter((e) => e.event === 'start').length;
    if (events.at(-1)?.event !== 'error') {
      // Failed without its worker logging it: stalled too often (killed workers).
      appendEvent(runs, step.name, rid, { event: 'error', attempt: attempts, message: failed, stack: '' });
    }
    outcome.failures.push({ record: rid, message: failed, attempts });
  };
  const finish = (id: string, failed: string | undefined, result: ExecuteResult | undefined): void => {
    const record = pending.get(id);
    if (record === undefined || failing.has(id)) return;
    if (failed === undefined) {
      pending.delete(id);
      if (result?.status === 'done' && result.computed) outcome.computed++;
      onDelta({ done: 1, errors: 0 });
      if (pending.size === 0) wake();
      return;
    }
    failing.add(id);
    void recordFailure(record, failed).catch(() => undefined).then(() => {
      failing.delete(id);
      pending.delete(id);
      onDelta({ done: 0, errors: 1 });
      if (pending.size === 0) wake();
    });
  };
  try {
    events.on('completed', ({ jobId: id, returnvalue }) => finish(id, undefined, parseReturn(returnvalue)));
    events.on('failed', ({ jobId: id, failedReason }) => finish(id, failedReason || 'failed', undefined));
    await events.waitUntilReady();
    const attempts = Math.max(1, q.attempts ?? options.attempts ?? 3);
    // A small first chunk, so that workers start while the rest is added.
    for (let i = 0, size = 100; i < todo.length; i += size, size = 1000) {
      const chunk = todo.slice(i, i + size).map((record) => {
        const id = jobId(db, step.name, recordId(record));
        pending.set(id, record);
        return {
          name: step.name,
          data: { db: db.basedir, open, record, force: options.force === true },
          opts: { jobId: id, attempts, backoff: { type: 'exponential', delay: q.backoffMs ?? 1000 }, removeOnComplete: true, removeOnFail: true },
        };
      });
      await queue.addBulk(chunk);
    }
    // Events are the fast path; a slow check catches any missed while the connection was down.
    while (pending.size > 0) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 5000);
      });
      if (pending.size > 0) await reconcile(queue, queueConnection, db, step, runs, pending, finish);
    }
  } finally {
    await Promise.allSettled([events.close(), queue.close()]);
    queueConnection.disconnect();
    eventsConnection.disconnect();
  }
  return outcome;
}

/** Jobs that are gone without us hearing of it: done if the output is fresh, failed if the log ends in an error. */
async function reconcile<R extends RecordValue>(
  queue: Queue<JobData>, client: Redis, db: DataBase, step: Step<R, unknown>, runs: string,
  pending: Map<string, R>, finish: (id: string, failed: string | undefined, result: ExecuteResult | undefined) => void,
): Promise<void> {
  const ids = [...pending.keys()];
  // One round trip for all: does each job's hash still exist?
  const pipeline = client.pipeline();
  for (const id of ids) pipeline.exists(queue.toKey(id));
  const exists = (await pipeline.exec()) ?? [];
  const gone = ids.filter((_, i) => exists[i]?.[1] === 0);
  if (gone.length === 0) return;
  const events = await readStepEvents(runs, step.name);
  for (const id of gone) {
    const record = pending.get(id);
    if (record === undefined) continue; // its event arrived meanwhile
    if ((await keyState(db, step, record)).state === 'done') finish(id, undefined, undefined);
    else {
      const last = events.get(recordId(record))?.at(-1);
      if (last?.event === 'error') finish(id, last.message ?? 'failed', undefined);
    }
  }
}

function parseReturn(value: unknown): ExecuteResult | undefined {
  if (typeof value === 'string') {
    try { return JSON.parse(value) as ExecuteResult; } catch { return undefined; }
  }
  return value as ExecuteResult | undefined;
}

/** A worker with batch 'auto' holds jobs worth about this much computing per compute slot. */
export const AUTO_HOLD_MS = 500;
/** The most jobs a worker with batch 'auto' holds per compute slot. */
export const AUTO_MAX_HELD = 16;

/**
 * How many jobs a worker holds with batch 'auto': about AUTO_HOLD_MS of computing per slot, from
 * a running mean of the compute times of its records; one per slot until the first is known.
 */
export class AutoHold {
  private meanMs: number | undefined;

  constructor(private readonly slots: number) {}

  /** Take one record's compute time into account; returns the new number of jobs to hold. */
  observe(computeMs: number): number {
    this.meanMs = this.meanMs === undefined ? computeMs : 0.8 * this.meanMs + 0.2 * computeMs;
    return this.held();
  }

  held(): number {
    if (this.meanMs === undefined) return this.slots;
    const perSlot = Math.min(AUTO_MAX_HELD, Math.max(1, Math.round(AUTO_HOLD_MS / Math.max(this.meanMs, 1))));
    return this.slots * perSlot;
  }
}

/** Process the queues of `steps` until `close()` is called. */
export function startWorkers(steps: readonly Step[], options: WorkerOptions): { close(): Promise<void>; ready(): Promise<void> } {
  const prefix = options.prefix ?? 'isfdb';
  const leaseMs = options.leaseMs ?? 30_000;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const auto = options.batch === undefined || options.batch === 'auto';
  const batch = auto ? concurrency * AUTO_MAX_HELD : Math.max(1, options.batch as number);
  const workers = steps.map((step) => {
    const connection = connect(options.url);
    const hold = auto ? new AutoHold(concurrency) : undefined;
    const worker: Worker<JobData, ExecuteResult> = new Worker<JobData, ExecuteResult>(queueName(step.name), async (job: Job<JobData>) => {
      const db = await openCached(job.data.db, job.data.open);
      const executor = executorOf(db, { concurrency, maxBatch: batch });
      const result = await executor.execute(step, job.data.record, { attempt: job.attemptsMade + 1, force: job.data.force });
      // BullMQ's fetch loop reads the concurrency before each fetch: the next fetches follow it.
      if (hold !== undefined && result.status === 'done' && result.computed) worker.concurrency = hold.observe(result.computeMs);
      options.onJob?.(`${step.name} ${recordId(job.data.record)} ${result.status}${result.status === 'done' && result.computed ? ' (computed)' : ''}`);
      return result;
    }, {
      connection, prefix,
      concurrency: hold?.held() ?? Math.max(concurrency, batch),
      lockDuration: leaseMs,
      stalledInterval: Math.max(1000, Math.round(leaseMs / 2)),
      maxStalledCount: 3,
    });
    // Errors of jobs are logged by the executor and retried by BullMQ; connection errors retry by themselves.
    worker.on('error', () => undefined);
    return { worker, connection };
  });
  return {
    ready: async () => { await Promise.all(workers.map((w) => w.worker.waitUntilReady())); },
    close: async () => {
      await Promise.allSettled(workers.map((w) => w.worker.close()));
      for (const w of workers) w.connection.disconnect();
    },
  };
}
