/**
 * How initSimrun splits its work by default. Full worker threads (each parsing and encoding whole
 * run folders) where two or more pay for themselves; else, on 2+ cores, one parse thread beside
 * the main thread, which encodes and commits (`parseThreadChoice`); else the main thread alone.
 *
 * Full workers: one per core idle now (by the 1-minute
 * load average), the main thread being one of the parsers, and no more than the campaign's size
 * pays for. A worker thread costs ~0.9 CPU s of its own (module loading, its first folders run
 * before the JIT warmed up), while it saves at most half the parse-and-encode work of the
 * campaign (~25 ms per MB of CSV in one thread). Measured (docs/simrun.md, "The worker pool"):
 * on ISF's example shape one worker beside the main thread lost at 21 and 52 MB and won at 104
 * and 261 MB. Going from k to k + 1 parsers saves 1/(k(k+1)) of the work, so the k-th worker
 * needs `BYTES_PER_WORKER * k(k+1)/2` bytes: 80 MB for one, 240 MB for two, 480 MB for three.
 */

/** CSV bytes from which one worker thread beside the main thread pays for its start-up. */
export const BYTES_PER_WORKER = 80e6;

/** At most this many parsing threads, whatever the cores. */
const MAX_PARSERS = 8;

export interface ThreadChoice {
  /** worker threads; the main thread parses too when there are any */
  workers: number;
  /** why fewer workers than cores, when so */
  reason?: string;
  /** what limited them (the load or the campaign's size), as the reason says it */
  cause?: string;
}

/** Most workers `bytes` of CSV pay for: the largest k with bytes >= BYTES_PER_WORKER * k(k+1)/2. */
export function workersPaidBySize(bytes: number): number {
  let k = 0;
  while (k < MAX_PARSERS - 1 && bytes >= (BYTES_PER_WORKER * (k + 1) * (k + 2)) / 2) k++;
  return k;
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;

/** The default choice for `cores` cores at 1-minute load `load`, with `bytes` of CSV to parse. */
export function defaultThreads(cores: number, load: number, bytes: number): ThreadChoice {
  const usable = Math.max(1, Math.min(MAX_PARSERS, cores));
  const idle = Math.max(1, Math.min(usable, Math.round(usable - load)));
  const bySize = workersPaidBySize(bytes);
  const workers = Math.min(idle - 1, bySize);
  if (workers === usable - 1) return { workers };
  const why = idle - 1 <= bySize
    ? `load average ${load.toFixed(1)} on ${usable} cores`
    : `${mb(bytes)} of CSV (a worker thread pays from ${mb(BYTES_PER_WORKER)}, the k-th from ${mb(BYTES_PER_WORKER)} x k(k+1)/2)`;
  return { workers, reason: `${workers === 0 ? 'one parsing thread' : `${workers + 1} parsing threads`}: ${why} (set workers to override)`, cause: why };
}

/**
 * Whether a parse thread serves instead of `choice`'s full workers: when they are fewer than two.
 * The parse thread loads only the parsers (tens of ms, not a full worker's ~0.9 CPU s) and costs
 * no CPU beyond the main thread alone, so it is taken whatever the load. Measured on 2 cores
 * (docs/simrun.md, "The worker pool"): it beat the main thread alone on 52, 88 and 260 MB and one
 * full worker beside the main thread on 88 and 260 MB.
 */
export function parseThreadChoice(cores: number, choice: ThreadChoice): ThreadChoice | undefined {
  if (cores < 2 || choice.workers >= 2) return undefined;
  const why = choice.workers === 1 ? 'one full worker thread would pay for its start-up, a parse thread pays more' : `${choice.cause ?? ''} (set workers to override)`;
  return { workers: 0, reason: `a parse thread beside the main thread, which encodes: ${why}` };
}

/** CSV bytes of the run folders a parse thread may have parsed ahead of the main thread's commits. */
export const PARSE_AHEAD_BYTES = 96e6;

/**
 * How many run folders a parse thread may have in flight (parsed or being parsed, not yet
 * written): as many as fit PARSE_AHEAD_BYTES of CSV (a parsed folder takes about its CSV's size
 * in memory), at least 3, at most 6. While the main thread encodes its first folders cold (~0.3 s
 * on ISF's example shape), a window of 3 stopped the parse thread, which sets the pace from then
 * on. Measured against 3 (docs/simrun.md, "Round 4"): 2-5% faster on ISF's example shape (52 MB,
 * a window of 6), 7% at 5x (261 MB), 2% on the wide shape (88 MB, a window of 4), at 11-20 MB
 * more peak RSS.
 */
export function parseThreadWindow(folderBytes: readonly number[]): number {
  // reduce, not Math.max(...): a campaign may have more run folders than a call takes arguments
  const largest = folderBytes.reduce((max, bytes) => Math.max(max, bytes), 1);
  return Math.min(6, Math.max(3, Math.floor(PARSE_AHEAD_BYTES / largest)));
}
