/**
 * Reading a key while writers commit it. A commit swaps key folders with two renames (retire the
 * old, publish the new), so a lock-free reader may see no folder for a moment, or read Loader.json
 * of one value and data files of the next. `readRetryingSwaps` remembers which folder (device and
 * inode) it started on and retries when the folder changed under it, or when the read failed
 * because the folder vanished while a writer may hold the key's lock.
 */
import fsSync from 'node:fs';
import { LoaderError, isDataBaseError } from '../errors.js';
import { sleep } from './locks.js';

/** How often a reader waits out a writer's swap of a key folder before giving up. */
export const READ_RACE_RETRIES = 20;

/**
 * Which folder is at `dir` now, or '' when none is. Device and inode alone are not enough: a
 * retired folder is removed at once and its inode may be reused by the next staged folder, which
 * then looks like the folder the reader started on. The change time (set by every rename and
 * every file added) tells them apart.
 */
export function folderIdentity(dir: string): string {
  const stat = fsSync.lstatSync(dir, { throwIfNoEntry: false, bigint: true });
  return stat === undefined ? '' : `${stat.dev}:${stat.ino}:${stat.ctimeNs}`;
}

/** A failure that a folder vanishing mid-read explains: missing key, missing JSON file, missing data file. */
export function isVanishedError(err: unknown): boolean {
  return isDataBaseError(err, 'KeyNotFoundError', 'CorruptKeyError')
    || (err instanceof LoaderError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT');
}

/**
 * Run `read` of the key folder `keyFolder`, retrying reads that raced a commit. `writerMayHold`
 * says whether a writer may hold the key's lock (KeyLocks.mayBeHeld).
 */
export async function readRetryingSwaps<T>(keyFolder: string, read: () => Promise<T>, writerMayHold: () => boolean): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const before = folderIdentity(keyFolder);
    try {
      const value = await read();
      if (attempt < READ_RACE_RETRIES && folderIdentity(keyFolder) !== before) continue;
      return value;
    } catch (err) {
      const swapped = folderIdentity(keyFolder) !== before;
      if (attempt >= READ_RACE_RETRIES || !(swapped || (isVanishedError(err) && writerMayHold()))) throw err;
      await sleep(5 + attempt * 5);
    }
  }
}
