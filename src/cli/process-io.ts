/** What the isfdb process needs from its surroundings: quiet ends of closed pipes, its own version. */
import fsSync from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `isfdb registry list | head -1`: once the reader closed the pipe, further writes fail with EPIPE.
 * The reader has what it wanted, so end quietly (as `ls | head` does) instead of with a stack trace.
 */
export function exitQuietlyOnClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

/** The version in the package.json above this file (src/cli in the checkout, dist/src/cli when built). */
export function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fsSync.existsSync(file)) {
      const pkg = JSON.parse(fsSync.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'isf-data-base' && pkg.version !== undefined) return pkg.version;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}
