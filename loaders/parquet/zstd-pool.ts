/**
 * zstd pages decompressed on several cores. zstd-napi has no asynchronous API (nothing runs on
 * libuv's pool), so large reads hand part of their pages to worker threads: the pages' bytes and
 * the column arrays they decompress into live in SharedArrayBuffers, so nothing is copied or
 * transferred, and each worker calls the same native ZSTD_decompressDCtx into its share of the
 * arrays while this thread does its own share. A worker that fails (not a page) leaves its pages
 * to this thread.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { zstdBindingPath } from './compression.js';

/** One page: its compressed bytes and the view of the column's array it fills. */
export interface ZstdTask {
  src: Uint8Array;
  dst: Uint8Array;
}

type Wire = [ArrayBufferLike, number, number, ArrayBufferLike, number, number];

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DCtx } = require(workerData.binding);
const dctx = new DCtx();
parentPort.on('message', ({ id, tasks }) => {
  try {
    for (const [sb, so, sl, db, dof, dl] of tasks) {
      const n = dctx.decompress(new Uint8Array(db, dof, dl), new Uint8Array(sb, so, sl));
      if (n !== dl) throw new RangeError('zstd page holds ' + n + ' bytes, its header says ' + dl);
    }
    parentPort.postMessage({ id, ok: true });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, message: String(err && err.message) });
  }
});
`;

class PageError extends RangeError {}

interface Pending { resolve: () => void; reject: (err: Error) => void }

class ZstdWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  dead = false;

  constructor(binding: string) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { binding } });
    this.worker.unref();
    this.worker.on('message', ({ id, ok, message }: { id: number; ok: boolean; message?: string }) => {
      const job = this.pending.get(id);
      this.pending.delete(id);
      if (ok) job?.resolve();
      else job?.reject(new PageError(`zstd: ${message ?? 'failed'}`));
    });
    const fail = (err: unknown): void => {
      this.dead = true;
      for (const job of this.pending.values()) job.reject(err instanceof Error ? err : new Error(String(err)));
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`zstd worker exited with code ${code}`)));
  }

  run(tasks: ZstdTask[]): Promise<void> {
    const id = this.nextId++;
    const wire: Wire[] = tasks.map(({ src, dst }) => [src.buffer, src.byteOffset, src.length, dst.buffer, dst.byteOffset, dst.length]);
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, tasks: wire });
    }).finally(() => {
      if (this.pending.size === 0) this.worker.unref();
    });
  }
}

let workers: ZstdWorker[] | undefined;

/**
 * Threads that decompress, this one included: $ISFDB_ZSTD_THREADS when set (1 turns the workers
 * off), else the cores, at most 4.
 */
function threads(): number {
  const set = Number(process.env['ISFDB_ZSTD_THREADS']);
  return Number.isInteger(set) && set >= 1 ? set : Math.min(4, availableParallelism());
}

/** Worker threads beside this one. */
function pool(): ZstdWorker[] {
  const binding = zstdBindingPath();
  if (binding === undefined) return [];
  workers = (workers ?? []).filter((w) => !w.dead);
  const wanted = threads() - 1;
  while (workers.length < wanted) workers.push(new ZstdWorker(binding));
  return workers;
}

/** Reads with fewer bytes of zstd chunks than this decompress on this thread alone. */
const DEFAULT_PARALLEL_BYTES = 32 << 20;
let parallelBytes = DEFAULT_PARALLEL_BYTES;

/** For tests: the smallest read that goes parallel (undefined: the default, 32 MiB). */
export function setParallelZstdBytes(bytes: number | undefined): void {
  parallelBytes = bytes ?? DEFAULT_PARALLEL_BYTES;
}

/** Whether a read with `zstdBytes` of zstd chunks decompresses on several threads. */
export function parallelZstdFor(zstdBytes: number): boolean {
  return zstdBytes > 0 && zstdBytes >= parallelBytes && threads() > 1 && zstdBindingPath() !== undefined;
}

/**
 * Decompresses every task (each `dst` must be exactly its page's size), spread by bytes over the
 * workers and this thread (`local` decompresses one page here). A corrupt page rejects with a
 * RangeError naming it as decompressInto does.
 */
export async function decompressAll(tasks: ZstdTask[], local: (task: ZstdTask) => void): Promise<void> {
  const helpers = tasks.length > 1 ? pool() : [];
  const shares: ZstdTask[][] = Array.from({ length: helpers.length + 1 }, () => []);
  const bytes = new Array<number>(shares.length).fill(0);
  // Largest first, each to the share with the fewest bytes so far.
  for (const task of [...tasks].sort((a, b) => b.src.length - a.src.length)) {
    let least = 0;
    for (let s = 1; s < shares.length; s++) if ((bytes[s] as number) < (bytes[least] as number)) least = s;
    (shares[least] as ZstdTask[]).push(task);
    bytes[least] = (bytes[least] as number) + task.src.length;
  }
  const running = helpers.map((worker, w) => {
    const share = shares[w + 1] as ZstdTask[];
    if (share.length === 0) return Promise.resolve();
    return worker.run(share).catch((err: unknown) => {
      if (err instanceof PageError) throw new RangeError(err.message);
      // The worker died: its pages are done here.
      for (const task of share) local(task);
    });
  });
  let localError: unknown;
  try {
    for (const task of shares[0] as ZstdTask[]) local(task);
  } catch (err) {
    localError = err;
  }
  const results = await Promise.allSettled(running);
  if (localError !== undefined) throw localError;
  for (const result of results) if (result.status === 'rejected') throw result.reason;
}
