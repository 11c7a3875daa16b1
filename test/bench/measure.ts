/** Small helpers the benchmarks share: timing, rates and peak memory. */

export interface Rate { ops: number; seconds: number; perSecond: number }

/** Run `op` `count` times in sequence (or `concurrency` at a time) and report the rate. */
export async function measureRate(count: number, op: (i: number) => Promise<unknown>, concurrency = 1): Promise<Rate> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { ops: count, seconds, perSecond: count / seconds };
}

/** Samples RSS every few milliseconds while `work` runs; returns the peak. */
export async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; peakBytes: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 5);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, peakBytes: peak };
  } finally {
    clearInterval(timer);
  }
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function line(label: string, value: string, goal?: string): void {
  process.stdout.write(`  ${label.padEnd(46)} ${value.padStart(14)}${goal ? `   ${goal}` : ''}\n`);
}
