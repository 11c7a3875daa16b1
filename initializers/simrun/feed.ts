/**
 * Parse results shared by several key writers (one per partitioned key): a run folder is parsed
 * once, each writer takes its partition from the result, and the result is dropped when every
 * writer took it. At most `window` folders are in flight, so memory stays bounded however large
 * the campaign.
 */
import type { FolderResult } from './parse-folder.js';

export class Feed {
  private readonly results: (Promise<FolderResult> | undefined)[] = [];
  private readonly consumed: number[];
  private started = 0;
  private low = 0;
  private failure: unknown;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly count: number,
    private readonly start: (i: number) => Promise<FolderResult>,
    private readonly consumers: number,
    private readonly window: number,
  ) {
    this.consumed = Array.from({ length: count }, () => 0);
  }

  async get(i: number): Promise<FolderResult> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      this.fill();
      const r = this.results[i];
      if (r !== undefined) return r;
      if (i < this.started) throw new Error(`internal: result ${i} was already released`);
      // a faster writer is ahead of the window: wait until the slower ones catch up
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  release(i: number): void {
    this.consumed[i] = (this.consumed[i] ?? 0) + 1;
    if (this.consumed[i] === this.consumers) {
      this.results[i] = undefined;
      while (this.low < this.count && this.consumed[this.low] === this.consumers) this.low++;
      this.fill();
      this.wake();
    }
  }

  abort(err: unknown): void {
    if (this.failure === undefined) this.failure = err;
    this.wake();
  }

  /** Once every folder started has finished (after a failure: before its staged files are removed). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.results.filter((r): r is Promise<FolderResult> => r !== undefined));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  private fill(): void {
    while (this.failure === undefined && this.started < this.count && this.started < this.low + this.window) {
      const p = this.start(this.started);
      p.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
      this.results[this.started] = p;
      this.started++;
    }
  }
}
