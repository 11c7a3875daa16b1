/**
 * A one-line progress bar on stderr: folders and trials done, MB/s, ETA. Silent when stderr is
 * not a terminal or when asked to be quiet.
 */
export interface ProgressEvent {
  phase: 'scan' | 'check' | 'parse' | 'write' | 'done';
  folders: number;
  totalFolders: number;
  trials: number;
  totalTrials: number;
  bytes: number;
  totalBytes: number;
  elapsedMs: number;
}

export class ProgressBar {
  private last = 0;
  private readonly enabled: boolean;
  private drawn = false;

  constructor(quiet = false, private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = !quiet && stream.isTTY === true;
  }

  update(e: ProgressEvent, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const frac = e.totalBytes > 0 ? Math.min(1, e.bytes / e.totalBytes) : 0;
    const width = 24;
    const full = Math.round(frac * width);
    const mbs = e.elapsedMs > 0 ? e.bytes / 1e6 / (e.elapsedMs / 1000) : 0;
    const eta = frac > 0 && frac < 1 ? ((e.elapsedMs / frac) * (1 - frac)) / 1000 : 0;
    const line = `${e.phase.padEnd(5)} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${e.folders}/${e.totalFolders} folders ${e.trials}/${e.totalTrials} trials ${mbs.toFixed(1)} MB/s ETA ${fmt(eta)}`;
    this.stream.write(`\r${line.padEnd(100).slice(0, Math.max(40, (this.stream.columns ?? 100) - 1))}`);
    this.drawn = true;
  }

  finish(): void {
    if (this.enabled && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

function fmt(s: number): string {
  const m = Math.floor(s / 60);
  const r = Math.round(s % 60);
  return `${m}:${String(r).padStart(2, '0')}`;
}
