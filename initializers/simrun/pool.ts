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
import { type EncodeSpec, parseAndEncode } from './encode.js';

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

interface Slot { worker: Worker; busy: boolean }
interface Job { req: WorkerRequest; resolve: (v: unknown) => void; reject: (e: unknown) => void }

export class ParsePool {
  readonly mode: 'workers' | 'in-thread';
  readonly reason: string | undefined;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly pending = new Map<number, Job>();
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number, heapMb?: number) {
    const { file, reason } = size > 0 ? workerFile() : { reason: 'workers: 0 requested' };
    if (file === undefined) {
      this.mode = 'in-thread';
      this.reason = reason;
      return;
    }
    this.mode = 'workers';
    this.reason = undefined;
    for (let i = 0; i < size; i++) {
      // A heap limit (workerHeapMb) makes V8 collect sooner: lower peak RSS, ~15% slower here.
      const worker = heapMb === undefined ? new Worker(file) : new Worker(file, { resourceLimits: { maxOldGenerationSizeMb: heapMb } });
      const slot: Slot = { worker, busy: false };
      worker.on('message', (reply: WorkerReply) => this.onReply(slot, reply));
      worker.on('error', (err) => this.onCrash(err));
      this.slots.push(slot);
    }
  }

  check(folder: RunFolder): Promise<CheckResult> {
    if (this.mode === 'in-thread') return checkFolder(folder);
    return this.submit({ id: this.nextId++, kind: 'check', folder }) as Promise<CheckResult>;
  }

  /** Parse a run folder and, with `encode`, write its partitions as Parquet (in the worker). */
  parse(folder: RunFolder, opts: ParseOptions, encode?: EncodeSpec): Promise<FolderResult> {
    if (this.mode === 'in-thread') return encode ? parseAndEncode(folder, opts, encode) : parseFolder(folder, opts);
    const req: WorkerRequest = { id: this.nextId++, kind: 'parse', folder, opts };
    if (encode) req.encode = encode;
    return this.submit(req) as Promise<FolderResult>;
  }

  private submit(req: WorkerRequest): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('parse pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const job = this.queue.shift();
      if (!job) return;
      slot.busy = true;
      this.pending.set(job.req.id, job);
      slot.worker.postMessage(job.req);
    }
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    slot.busy = false;
    const job = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (job) {
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

  private onCrash(err: unknown): void {
    for (const job of this.pending.values()) job.reject(err);
    this.pending.clear();
    for (const job of this.queue) job.reject(err);
    this.queue.length = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue) job.reject(new Error('parse pool closed'));
    this.queue.length = 0;
    await Promise.allSettled(this.slots.map((s) => s.worker.terminate()));
  }
}
