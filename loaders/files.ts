/** Reading and writing a loader's data files. */
import fsSync from 'node:fs';
import { CorruptKeyError } from '../src/errors.js';

/**
 * Synchronous on purpose: most keys are small, and a trip through libuv's thread pool costs more
 * than the write itself; for large files one blocking write is as fast as chunked async ones.
 */
export function writeDataFile(file: string, data: Uint8Array | string, ctx?: { writeFile?(file: string, data: string | Uint8Array): void }): void {
  // Through the commit's writer when dumping into a staged key: checksummed while written.
  if (ctx?.writeFile !== undefined) ctx.writeFile(file, data);
  else fsSync.writeFileSync(file, data);
}

/** Read a loader's data file; a missing one is a corrupt key, not a crash. */
export function readDataFile(file: string, key: string): Buffer {
  try {
    return fsSync.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptKeyError(file, 'data file is missing', key, { cause: err });
    throw err;
  }
}
