/**
 * A small pool of worker threads that parse run folders. When the compiled worker file cannot
 * be found (running from .ts sources without a build), parsing falls back to the main thread
 * and `pool.mode` says why.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type InputProblem, InputProblemError } from './parse-csv.js';
import { type CheckResult, type FolderResult, type ParseOptions, checkFolder, parseFolder } from './parse-folder.js';
import type { RunFolder } from './scan.js';
import { type EncodeSpec, encodeParsed, parseAndEncode } from './encode.js';

export type WorkerRequest =
  | { id: number; kind: 'check'; folder: RunFolder }
  | { id: number; kind: 'parse'; folder: RunFolder; opts: ParseOptions; encode?: EncodeSpec };

export type WorkerReply =
  | { id: number; ok: true; result: CheckResult | FolderResult }
  | { id: number; ok: false; problem?: InputProblem; message: string; stack?: string | undefined };

/** Where the compiled worker lives: beside this file when compiled, else under dist/. */
export function workerFile(): { file?: string; reason?: string } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) {
    const file = fileURLToPath(new URL('./worker.js', import.meta.url));
    return existsSync(file) ? { file } : { reason: `${file} is missing` };
  }
  // running from the .ts sources (vitest, tsx): use the build in dist/
  const marker = `${'/'}initializers${'/'}simrun${'/'}`;
  const at = here.lastIndexOf(marker);
  if (at === -1) return { reason: `cannot locate the compiled worker from ${here}` };
  const file = `${here.slice(0, at)}/dist/initializers/simrun/worker.js`;
  return existsSync(file) ? { file } : { reason: `running from sources and ${file} is missing (run \`npx tsc -p tsconfig.json\`)` };
}

interface Job { req: WorkerRequest; attempts: number; resolve: (v: unknown) => void; reject: (e: unknown) => void }
interface Slot { worker: Worker; job: Job | undefined; lastError: unknown }

/** A job whose worker died is run once more on a fresh worker; dying twice is the job's error. */
const MAX_ATTEMPTS = 2;

/**
 * Why not piscina or tinypool: tinypool 2.2 listens for a thread's 'error' but not its 'exit',
 * so a thread that exits (process.exit, terminate) leaves its task pending forever, the very bug
 * this pool had; piscina 5 brings an optional native dependency (@napi-rs/nice) with one package
 * per platform. What we need is small: one job per thread, results transferred, and a dead thread
 * replaced with its job retried once.
 */
/** What initSimrun needs of a pool: this one, or distributed.ts's queue of remote workers. */
export type FolderParser = Pick<ParsePool, 'check' | 'parse' | 'close' | 'mode' | 'reason'>;

/**
 * How a pool splits the work: 'workers' threads parse and encode whole folders (the main thread
 * too, between its commits, when asked); 'parse-thread': one thread parses, the main thread
 * encodes and commits; 'in-thread': the main thread does everything.
 */
export type PoolMode = 'workers' | 'parse-thread' | 'in-thread';

export class ParsePool {
  readonly mode: PoolMode;
  readonly reason: string | undefined;
  /** threads started to replace dead ones, and jobs re-run because their thread died */
  restarts = 0;
  retried = 0;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly file: string | undefined;
  private nextId = 1;
  /** the in-thread checks, chained */
  private localChecks: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Whether this thread takes jobs too (besides `size` workers), and is working on one now. */
  private readonly local: { enabled: boolean; busy: boolean } = { enabled: false, busy: false };

  /**
   * One thread that only parses (mode 'parse-thread'): the main thread encodes each folder it
   * gets back (the buffers are transferred, not copied) and commits. On 2 cores this beat the
   * main thread alone at every size measured (52-261 MB): the thread loads only the parsers (tens
   * of ms, not the encoder's ~0.3 s) and takes the parsing, about half the work once warm
   * (docs/simrun.md, "The worker pool").
   */
  static parseThread(heapMb?: number): ParsePool {
    return new ParsePool(1, heapMb, false, true);
  }

  /**
   * `size` worker threads; with `alsoThisThread`, this thread parses and encodes folders too
   * between its commits. On 2 cores that beats 2 workers: each worker thread pays ~0.3 s of module
   * loading and its own JIT warm-up (docs/simrun.md), which this thread has already paid.
   */
  constructor(readonly size: number, private readonly heapMb?: number, alsoThisThread = false, private readonly parseOnly = false) {
    const { file, reason } = size > 0 ? workerFile() : { reason: 'workers: 0 requested' };
    this.file = file;
    if (file === undefined) {
      this.mode = 'in-thread';
      this.reason = reason;
      return;
    }
    this.mode = parseOnly ? 'parse-thread' : 'workers';
    this.reason = undefined;
    this.local.enabled = alsoThisThread;
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** How many folders can be parsed at once. */
  get parallelism(): number {
    return this.mode === 'workers' ? this.slots.length + (this.local.enabled ? 1 : 0) : 1;
  }

  /** The threads working on a job right now (for supervision and tests). */
  busyWorkers(): Worker[] {
    return this.slots.filter((s) => s.job !== undefined).map((s) => s.worker);
  }

  private spawn(): Slot {
    // A heap limit (workerHeapMb) makes V8 collect sooner: lower peak RSS, ~15% slower here.
    const workerData = { parseOnly: this.parseOnly };
    const worker = this.heapMb === undefined ? new Worker(this.file!, { workerData }) : new Worker(this.file!, { workerData, resourceLimits: { maxOldGenerationSizeMb: this.heapMb } });
    const slot: Slot = { worker, job: undefined, lastError: undefined };
    worker.on('message', (reply: WorkerReply) => this.onReply(slot, reply));
    worker.on('error', (err) => { slot.lastError = err; });
    worker.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  check(folder: RunFolder): Promise<CheckResult> {
    if (this.mode === 'in-thread') {
      // one folder at a time, as the workers take them: checking every folder at once held every
      // folder's buffers at once (peak RSS 563 MB on a 4.4 GB campaign; docs/simrun.md)
      const run = this.localChecks.then(() => checkFolder(folder));
      this.localChecks = run.catch(() => undefined);
      return run;
    }
    return this.submit({ id: this.nextId++, kind: 'check', folder }) as Promise<CheckResult>;
  }

  /** Parse a run folder and, with `encode`, write its partitions as Parquet (in the worker). */
  parse(folder: RunFolder, opts: ParseOptions, encode?: EncodeSpec): Promise<FolderResult> {
    if (this.mode === 'in-thread') return encode ? parseAndEncode(folder, opts, encode) : parseFolder(folder, opts);
    if (this.mode === 'parse-thread') {
      const parsed = this.submit({ id: this.nextId++, kind: 'parse', folder, opts }) as Promise<FolderResult>;
      return encode ? parsed.then((r) => encodeParsed(r, encode)) : parsed;
    }
    const req: WorkerRequest = { id: this.nextId++, kind: 'parse', folder, opts };
    if (encode) req.encode = encode;
    return this.submit(req) as Promise<FolderResult>;
  }

  private submit(req: WorkerRequest): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('parse pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ req, attempts: 0, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job !== undefined) continue;
      const job = this.queue.shift();
      if (!job) return;
      slot.job = job;
      job.attempts++;
      slot.worker.postMessage(job.req);
    }
    if (this.local.enabled && !this.local.busy && this.queue.length > 0) this.runHere(this.queue.shift()!);
    // a parse thread's pool checks folders here too: the check pass is what everything waits for
    else if (this.parseOnly && !this.local.busy && this.queue[0]?.req.kind === 'check') this.runHere(this.queue.shift()!);
  }

  /** A job on this thread: the same functions the worker runs, without a copy of the result. */
  private runHere(job: Job): void {
    this.local.busy = true;
    job.attempts++;
    const { req } = job;
    const run = req.kind === 'check' ? checkFolder(req.folder) : req.encode ? parseAndEncode(req.folder, req.opts, req.encode) : parseFolder(req.folder, req.opts);
    void run.then(job.resolve, job.reject).finally(() => {
      this.local.busy = false;
      if (!this.closed) this.pump();
    });
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    const job = slot.job;
    slot.job = undefined;
    if (job && job.req.id === reply.id) {
      if (reply.ok) job.resolve(reply.result);
      else if (reply.problem) job.reject(new InputProblemError(reply.problem));
      else {
        const err = new Error(reply.message);
        if (reply.stack !== undefined) err.stack = reply.stack;
        job.reject(err);
      }
    }
    this.pump();
  }

  /** A thread ended: unless the pool is closing, replace it and run its job again (once). */
  private onExit(slot: Slot, code: number): void {
    if (this.closed) return;
    const at = this.slots.indexOf(slot);
    if (at === -1) return;
    const job = slot.job;
    slot.job = undefined;
    this.slots[at] = this.spawn();
    this.restarts++;
    if (job) {
      if (job.attempts < MAX_ATTEMPTS) {
        this.retried++;
        this.queue.unshift(job);
      } else {
        const what = job.req.kind === 'check' ? 'checking' : 'parsing';
        const cause = slot.lastError instanceof Error ? slot.lastError.message : `exit code ${code}`;
        job.reject(new Error(`a worker thread died while ${what} run folder ${job.req.folder.dir}, ${job.attempts} times (${cause}); try --worker-heap-mb or --workers 0`, { cause: slot.lastError }));
      }
    }
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue) job.reject(new Error('parse pool closed'));
    this.queue.length = 0;
    for (const slot of this.slots) slot.job?.reject(new Error('parse pool closed'));
    await Promise.allSettled(this.slots.map((s) => s.worker.terminate()));
  }
}
