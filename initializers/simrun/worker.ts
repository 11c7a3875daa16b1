/**
 * Worker-thread entry: parses run folders on request and posts the column buffers back
 * (transferred, not copied). The main thread only writes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputProblemError } from './parse-csv.js';
import { checkFolder, parseFolder, transferables } from './parse-folder.js';
import type { WorkerRequest, WorkerReply } from './pool.js';

/**
 * The encoder (apache-arrow, the Parquet writer, the loaders: ~0.3 s of module loading) is
 * loaded after the first check has been answered, so that the check pass, which the main
 * thread waits for, does not wait for it; it loads while the main thread opens the database.
 */
let encoder: Promise<typeof import('./encode.js')> | undefined;
const loadEncoder = (): Promise<typeof import('./encode.js')> => (encoder ??= import('./encode.js'));

/** A parse thread (pool mode 'parse-thread') parses only: the main thread encodes, so no encoder here. */
const parseOnly = (workerData as { parseOnly?: boolean } | undefined)?.parseOnly === true;

const port = parentPort;
if (port) {
  port.on('message', (msg: WorkerRequest) => {
    void (async () => {
      try {
        if (msg.kind === 'check') {
          const result = await checkFolder(msg.folder);
          port.postMessage({ id: msg.id, ok: true, result } satisfies WorkerReply);
          if (!parseOnly) setImmediate(() => void loadEncoder());
        } else if (msg.encode) {
          const result = await (await loadEncoder()).parseAndEncode(msg.folder, msg.opts, msg.encode);
          port.postMessage({ id: msg.id, ok: true, result } satisfies WorkerReply, transferables(result));
        } else {
          const started = performance.now();
          const result = await parseFolder(msg.folder, msg.opts);
          result.timings = { parseMs: performance.now() - started, tablesMs: 0, encodeMs: 0, hashMs: 0 };
          port.postMessage({ id: msg.id, ok: true, result } satisfies WorkerReply, transferables(result));
        }
      } catch (e) {
        const reply: WorkerReply = e instanceof InputProblemError
          ? { id: msg.id, ok: false, problem: e.problem, message: e.message }
          : { id: msg.id, ok: false, message: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined };
        port.postMessage(reply);
      }
    })();
  });
}
