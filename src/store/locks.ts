/**
 * Per-key write locks with proper-lockfile: a `<key>.lock` directory next to the key folder
 * (mkdir is atomic on NFS too), kept fresh by mtime updates so that the lock of a killed
 * process goes stale and is taken over.
 */
import fsSync from 'node:fs';
import lockfile from 'proper-lockfile';
import path from 'node:path';
import { LockTimeoutError, NotADataBaseError } from '../errors.js';

export interface LockOptions {
  /** How long to wait for a busy lock before LockTimeoutError. */
  timeoutMs: number;
  /** A lock whose mtime is older than this is considered left by a dead process. */
  staleMs: number;
  /**
   * One of many locks taken at once (setMany): the file backend then makes its lock folders
   * through the thread pool, so that they overlap, rather than one after another on the main thread.
   */
  many?: boolean;
}

export const DEFAULT_LOCK_OPTIONS: LockOptions = { timeoutMs: 60_000, staleMs: 10_000 };

export interface HeldLock {
  release(): Promise<void>;
  /** Set when proper-lockfile could not keep the lock fresh; the holder must not commit. */
  readonly compromised: Error | undefined;
}

/**
 * How writers of the same key are serialised. The default (`fileLocks`) is proper-lockfile's
 * `<key>.lock` folder; another backend (a Redis lock, say) plugs in through the `locks` open
 * option of DataBase. `keyFolder` is the absolute key folder the lock guards.
 */
export interface KeyLocks {
  acquire(keyFolder: string, keyForMessages: string, options: LockOptions): Promise<HeldLock>;
  /**
   * Whether a writer may hold the key's lock right now. Readers use it as a hint only: a read
   * that failed while a writer may be swapping the folder is retried (see read-retry.ts).
   */
  mayBeHeld(keyFolder: string): boolean;
}

/** Where the file lock of a key folder lives: `<key>.lock` beside it. */
export function lockPathOf(keyFolder: string): string {
  return `${keyFolder}.lock`;
}

/** The default backend: `<key>.lock` folders beside the key folders (safe on NFS). */
export const fileLocks: KeyLocks = {
  acquire: (keyFolder, keyForMessages, options) => acquireLock(keyFolder, lockPathOf(keyFolder), keyForMessages, options, options.many === true ? poolBackedFs : syncBackedFs),
  mayBeHeld: (keyFolder) => fsSync.existsSync(lockPathOf(keyFolder)),
};

/** Take the lock at `lockPath` (a directory created by the lock), waiting up to the timeout. */
export async function acquireLock(target: string, lockPath: string, keyForMessages: string, options: LockOptions, lockFs = syncBackedFs): Promise<HeldLock> {
  const started = Date.now();
  let delay = 2;
  let compromised: Error | undefined;
  for (;;) {
    try {
      const release = await lockfile.lock(target, {
        lockfilePath: lockPath,
        realpath: false,
        stale: Math.max(options.staleMs, 2000),
        retries: 0,
        fs: lockFs,
        onCompromised: (err) => { compromised = err; },
      });
      return {
        release: async () => {
          try { await release(); } catch (err) {
            // A compromised lock may already be gone; nothing is left to release then.
            if ((err as NodeJS.ErrnoException).code !== 'ERELEASED' && compromised === undefined) throw err;
          }
        },
        get compromised() { return compromised; },
      };
    } catch (err) {
      // The folder holding the lock is gone because a concurrent delete removed the sub-database this
      // key lives in. That was an untyped ENOENT.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotADataBaseError(path.dirname(lockPath), `the database folder was removed (its sub-database key was deleted) while key '${keyForMessages}' was to be written`);
      }
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      const waited = Date.now() - started;
      if (waited >= options.timeoutMs) throw new LockTimeoutError(keyForMessages, lockPath, waited);
      await sleep(Math.min(delay, options.timeoutMs - waited));
      delay = Math.min(delay * 2, 100);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type Callback<T> = (err: NodeJS.ErrnoException | null, value?: T) => void;

function viaSync<T>(call: () => T, callback: Callback<T>): void {
  let value: T;
  try {
    value = call();
  } catch (err) {
    process.nextTick(callback, err as NodeJS.ErrnoException);
    return;
  }
  process.nextTick(callback, null, value);
}

/**
 * proper-lockfile's few filesystem calls, done synchronously: each is one metadata operation,
 * and a trip through libuv's thread pool costs several times more than the call itself here.
 */
const syncBackedFs = {
  ...fsSync,
  mkdir: (p: string, cb: Callback<void>) => viaSync(() => { fsSync.mkdirSync(p); }, cb),
  // Through the thread pool: a batch releases its locks at once, and removals overlap there (a
  // removal measured ~2 ms on this busy disk one at a time, ~0.2 ms each when 32 run at once).
  rmdir: (p: string, cb: Callback<void>) => fsSync.rmdir(p, cb),
  stat: (p: string, cb: Callback<fsSync.Stats>) => viaSync(() => fsSync.statSync(p), cb),
  utimes: (p: string, a: Date, m: Date, cb: Callback<void>) => viaSync(() => fsSync.utimesSync(p, a, m), cb),
  realpath: (p: string, cb: Callback<string>) => viaSync(() => fsSync.realpathSync(p), cb),
} as unknown as typeof fsSync;

/** The same calls through the thread pool, for many locks taken at once (each costs ~0.1–0.5 ms of disk time here). */
const poolBackedFs = { ...syncBackedFs, mkdir: fsSync.mkdir, stat: fsSync.stat, utimes: fsSync.utimes } as unknown as typeof fsSync;
