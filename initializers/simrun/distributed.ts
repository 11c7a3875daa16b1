/**
 * initSimrun across machines: the run folders' check and parse-and-encode requests (the same
 * requests ParsePool sends its threads) go on a BullMQ queue on Redis, and `isfdb worker
 * --simrun` processes on any machine that sees the campaign and the database folder at the same
 * paths run them with the same functions (parse-folder.ts, encode.ts). Encoded partitions are
 * written by the workers into the database's staging folder; the coordinator, which alone writes
 * keys, moves them into place exactly as in a local run, so the keys are identical.
 *
 * Replies cross Redis as msgpack (typed arrays kept) in base64. An input problem is a reply, not
 * a failure (retrying cannot fix a broken file); a crash or a killed worker is retried by BullMQ.
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { Packr } from 'msgpackr';
import { InputProblemError } from './parse-csv.js';
import { type CheckResult, type FolderResult, type ParseOptions, checkFolder, parseFolder } from './parse-folder.js';
import type { RunFolder } from './scan.js';
import { type EncodeSpec, parseAndEncode } from './encode.js';
import type { WorkerReply, WorkerRequest } from './pool.js';

export interface SimrunQueueOptions {
  /** redis://host:port */
  url: string;
  /** Prefix of the queue's Redis keys (default 'isfdb'). */
  prefix?: string;
  /** Lease of a request: a killed worker's request is retried after this (default 30 s). */
  leaseMs?: number;
  /** Warn when requests wait, none is being worked on, and no worker has taken one for this long (default 60 s). */
  idleWarningMs?: number;
  /** Where that warning goes (default: a line on stderr). */
  onIdle?: (message: string) => void;
}

const QUEUE = 'isfdb-simrun';
const packr = new Packr({ moreTypes: true, structuredClone: true });

function connect(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

/** A request or reply without the thread pool's id (a job has its own). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Request = WithoutId<WorkerRequest>;
type Reply = WithoutId<WorkerReply>;

interface Waiter { resolve(packed: string): void; reject(error: Error): void }

/**
 * The ParsePool surface (check, parse, close, mode), served by queue workers.
 *
 * Replies come from the queue's event stream, to waiters registered before each job is added,
 * and the stream is read from its end as it was before the first job. Not job.waitUntilFinished:
 * it looks for the job after adding it, and a job removed on completion before that look (a
 * fast worker while this process's thread is busy) was reported "Missing key for job".
 */
export class QueueParsePool {
  readonly mode = 'workers' as const;
  readonly reason: string | undefined = undefined;
  restarts = 0;
  retried = 0;
  private readonly waiting = new Map<string, Waiter>();
  private readonly runId = randomUUID();
  private submitted = 0;
  /** Jobs of ours a worker holds now (a long folder is not an idle queue). */
  private readonly running = new Set<string>();
  /** When a worker last took or finished a job of ours (or the pool opened). */
  private lastActivity = Date.now();
  private readonly idleTimer: NodeJS.Timeout;
  private constructor(private readonly queue: Queue, private readonly events: QueueEvents, private readonly connections: Redis[], options: SimrunQueueOptions) {
    events.on('active', ({ jobId }) => {
      if (!this.waiting.has(jobId)) return;
      this.running.add(jobId);
      this.lastActivity = Date.now();
    });
    // back in the queue: a killed worker's job (stalled), or one retried after a failure
    for (const back of ['stalled', 'waiting', 'delayed'] as const) events.on(back, ({ jobId }: { jobId: string }) => { this.running.delete(jobId); });
    events.on('completed', ({ jobId, returnvalue }) => this.take(jobId)?.resolve(returnvalue as unknown as string));
    events.on('failed', ({ jobId, failedReason }) => this.take(jobId)?.reject(new Error(`simrun queue job ${jobId} failed after its retries: ${failedReason}`)));
    // Without workers a request waits as long as it takes (they may be started later): say so.
    const idleMs = options.idleWarningMs ?? 60_000;
    const warn = options.onIdle ?? ((message: string) => { process.stderr.write(`${message}\n`); });
    this.idleTimer = setInterval(() => {
      if (this.waiting.size === 0 || this.running.size > 0 || Date.now() - this.lastActivity < idleMs) return;
      this.lastActivity = Date.now();
      warn(`initSimrun: ${this.waiting.size} request(s) wait on the Redis queue '${queue.qualifiedName}' at ${options.url}, and no worker has taken one for ${idleMs >= 1000 ? `${Math.round(idleMs / 1000)} s` : `${idleMs} ms`}: `
        + `start \`isfdb worker --simrun --redis ${options.url} --prefix ${options.prefix ?? 'isfdb'}\` where the campaign and the database are at the same paths`);
    }, Math.min(idleMs, 5000));
    this.idleTimer.unref();
  }

  static async open(options: SimrunQueueOptions): Promise<QueueParsePool> {
    const prefix = options.prefix ?? 'isfdb';
    const connections = [connect(options.url), connect(options.url)];
    const queue = new Queue(QUEUE, { connection: connections[0]!, prefix });
    // QueueEvents' default start ('$') is fixed only at its first read, which may come after a job
    // has finished; the stream's last id now is before any job of ours.
    const newest = await connections[0]!.xrevrange(queue.keys.events!, '+', '-', 'COUNT', 1);
    const events = new QueueEvents(QUEUE, { connection: connections[1]!, prefix, lastEventId: newest[0]?.[0] ?? '0-0' });
    await events.waitUntilReady();
    return new QueueParsePool(queue, events, connections, options);
  }

  check(folder: RunFolder): Promise<CheckResult> {
    return this.submit({ kind: 'check', folder }) as Promise<CheckResult>;
  }

  parse(folder: RunFolder, opts: ParseOptions, encode?: EncodeSpec): Promise<FolderResult> {
    return this.submit(encode ? { kind: 'parse', folder, opts, encode } : { kind: 'parse', folder, opts }) as Promise<FolderResult>;
  }

  private take(jobId: string): Waiter | undefined {
    const waiter = this.waiting.get(jobId);
    if (waiter !== undefined) this.lastActivity = Date.now();
    this.waiting.delete(jobId);
    this.running.delete(jobId);
    return waiter;
  }

  private async submit(request: Request): Promise<unknown> {
    const jobId = `${this.runId}-${this.submitted++}`;
    const packed = new Promise<string>((resolve, reject) => this.waiting.set(jobId, { resolve, reject }));
    try {
      await this.queue.add(request.kind, request, { jobId, attempts: 3, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: true, removeOnFail: true });
    } catch (e) {
      this.waiting.delete(jobId);
      throw e;
    }
    const reply = packr.unpack(Buffer.from(await packed, 'base64')) as Reply;
    if (reply.ok) return reply.result;
    if (reply.problem) throw new InputProblemError(reply.problem);
    const err = new Error(reply.message);
    if (reply.stack !== undefined) err.stack = reply.stack;
    throw err;
  }

  async close(): Promise<void> {
    clearInterval(this.idleTimer);
    for (const [jobId, waiter] of this.waiting) waiter.reject(new Error(`simrun queue job ${jobId}: the pool was closed before its reply`));
    this.waiting.clear();
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    for (const c of this.connections) c.disconnect();
  }
}

/** Run check and parse requests from the queue until `close()`. */
export function startSimrunWorker(options: SimrunQueueOptions & { concurrency?: number }): { ready(): Promise<void>; close(): Promise<void> } {
  const connection = connect(options.url);
  const leaseMs = options.leaseMs ?? 30_000;
  const worker = new Worker(QUEUE, async (job: Job<Request>) => {
    const request = job.data;
    let reply: Reply;
    try {
      const result = request.kind === 'check'
        ? await checkFolder(request.folder)
        : request.encode ? await parseAndEncode(request.folder, request.opts, request.encode) : await parseFolder(request.folder, request.opts);
      reply = { ok: true, result };
    } catch (e) {
      // Bad input is the answer; anything else fails the job, for BullMQ to retry.
      if (!(e instanceof InputProblemError)) throw e;
      reply = { ok: false, problem: e.problem, message: e.message };
    }
    return Buffer.from(packr.pack(reply)).toString('base64');
  }, {
    connection, prefix: options.prefix ?? 'isfdb', concurrency: options.concurrency ?? 1,
    lockDuration: leaseMs, stalledInterval: Math.max(1000, Math.round(leaseMs / 2)), maxStalledCount: 3,
  });
  worker.on('error', () => undefined);
  return {
    ready: async () => { await worker.waitUntilReady(); },
    close: async () => {
      await worker.close();
      connection.disconnect();
    },
  };
}
