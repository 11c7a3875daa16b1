/** One progress line on stderr for runs: redrawn in place on a terminal, a line every few seconds otherwise. */
import type { RunProgress } from '../runs/index.js';

type RunCounts = Omit<RunProgress, 'elapsedMs'>;

export function progressLine(quiet: boolean): { update(p: RunCounts): void; end(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let drawn = false;
  const render = (p: RunCounts): string => {
    const finished = p.alreadyDone + p.done + p.errors + p.missingInput;
    const width = 30;
    const filled = p.total === 0 ? width : Math.round((finished / p.total) * width);
    const eta = p.rate > 0 ? ` eta ${Math.ceil(p.remaining / p.rate)}s` : '';
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${finished}/${p.total} done ${p.alreadyDone + p.done}, error ${p.errors}, `
      + `missing ${p.missingInput}, remaining ${p.remaining}, ${p.rate.toFixed(1)}/s${eta}`;
  };
  return {
    update(p) {
      if (quiet) return;
      const now = Date.now();
      if (now - last < (tty ? 100 : 5000) && p.remaining > 0) return;
      last = now;
      process.stderr.write(tty ? `\r${render(p)}\x1b[K` : `${render(p)}\n`);
      drawn = true;
    },
    end() {
      if (!quiet && tty && drawn) process.stderr.write('\n');
    },
  };
}
