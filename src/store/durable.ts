/** Durable small-file writes: data reaches the disk before a rename makes it visible. */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Write a file and fsync it. The file must not be visible to readers yet (it lives in a temp folder). */
export async function writeFileSynced(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** fsync a directory so that renames and creations inside it survive a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some filesystems refuse fsync on directories (EINVAL/EISDIR); the rename is still atomic there.
    // ENOENT: a concurrent delete removed the (sub-)database folder; what was to be
    // made durable in it went with it, so there is nothing left to sync.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'ENOENT') throw err;
  } finally {
    await handle?.close();
  }
}

/**
 * fdatasync one file (opened read-only: enough for fsync on Linux and macOS). Callbacks rather
 * than fs.promises: a FileHandle costs several times more main-thread time per file, and a batch
 * fsyncs hundreds of small files.
 */
export function syncFile(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fsSync.open(file, 'r', (openErr, fd) => {
      if (openErr) { reject(openErr); return; }
      fsSync.fdatasync(fd, (syncErr) => {
        fsSync.close(fd, (closeErr) => {
          if (syncErr ?? closeErr) reject(syncErr ?? closeErr);
          else resolve();
        });
      });
    });
  });
}

/** Write a whole file through the thread pool (callbacks, no FileHandle: see syncFile). */
export function writeFileAsync(file: string, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    fsSync.writeFile(file, data, (err) => (err ? reject(err) : resolve()));
  });
}

/** How many files and folders are fsynced at once: enough to keep the disk busy, far below any fd limit. */
export const SYNC_CONCURRENCY = 32;

/**
 * fsync files and folders, at most `concurrency` open at once. Opening them all at once failed
 * with EMFILE for keys of a few thousand files (a 1,100-partition frame).
 */
export async function syncPaths(files: readonly string[], dirs: readonly string[], concurrency = SYNC_CONCURRENCY): Promise<void> {
  const work: Array<() => Promise<void>> = [
    ...files.map((file) => () => syncFile(file)),
    ...dirs.map((dir) => () => syncDirectory(dir)),
  ];
  await forEachLimited(work, concurrency, (job) => job());
}

/** Run `fn` over `items` with at most `limit` calls in flight; the first failure is thrown after the running calls end. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== undefined) throw failure.err;
}

/**
 * fsyncs of one folder shared among concurrent callers (group commit): a caller that arrives
 * while a sync runs waits for the next one, which starts when the running one ends and serves
 * everyone who arrived meanwhile. Each caller's changes are on disk when its promise resolves.
 */
class SharedDirectorySync {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly dir: string, private readonly onIdle: () => void) {}

  sync(): Promise<void> {
    if (this.running === undefined && this.queued === undefined) {
      this.running = this.start(Promise.resolve());
      return this.running;
    }
    this.queued ??= this.start(this.running ?? Promise.resolve());
    return this.queued;
  }

  private start(after: Promise<void>): Promise<void> {
    const run: Promise<void> = after.catch(() => undefined).then(async () => {
      if (this.queued === run) this.queued = undefined;
      this.running = run;
      try {
        await syncDirectory(this.dir);
      } finally {
        if (this.running === run) this.running = undefined;
        if (this.running === undefined && this.queued === undefined) this.onIdle();
      }
    });
    return run;
  }
}

const sharedSyncs = new Map<string, SharedDirectorySync>();

export function syncDirectoryShared(dir: string): Promise<void> {
  let shared = sharedSyncs.get(dir);
  if (shared === undefined) {
    shared = new SharedDirectorySync(dir, () => sharedSyncs.delete(dir));
    sharedSyncs.set(dir, shared);
  }
  return shared.sync();
}

/** Replace a file atomically: write a sibling temp file, fsync, rename over the target. */
export async function replaceFileAtomically(file: string, data: string | Uint8Array): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFileSynced(temp, data);
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(path.dirname(file));
}

export function randomToken(length: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

/** Synchronous inside: a metadata call is ~10x cheaper than a trip through the thread pool. */
export async function pathExists(p: string): Promise<boolean> {
  try {
    fsSync.lstatSync(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
