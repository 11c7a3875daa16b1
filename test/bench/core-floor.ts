/**
 * The floor of a durable batch of ISF-format keys on this disk: the file system operations that any
 * implementation of ISF's format must do to replace 100 small keys atomically and durably, done
 * with bare `node:fs` calls and nothing else (no locks, no checks, no checksums, no recovery).
 *
 * Per key: a staged folder (mkdir), three files (data, metadata.json, Loader.json), an fdatasync
 * of each file and of the staged folder, the old value renamed aside and removed (when the key
 * existed), the new one renamed into place. Per batch: one fsync of the database folder. Creations
 * and fsyncs overlap through the thread pool as setMany's do. setMany's figure divided by this
 * one says how much the database itself costs; this one says what the disk allows.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { forEachLimited, syncDirectory, syncFile, writeFileAsync, SYNC_CONCURRENCY } from '../../src/store/durable.js';

const FILES = ['data.msgpack', 'metadata.json', 'Loader.json'] as const;

/** Write `names` as new values of keys in `dbDir` (created when missing), the bare way. */
export async function bareKeyBatch(dbDir: string, names: readonly string[], body: string): Promise<void> {
  const staging = path.join(dbDir, '.staging');
  fsSync.mkdirSync(staging, { recursive: true });
  const staged = names.map((name) => path.join(staging, `${name}#${process.pid}`));
  await forEachLimited(staged, 16, async (dir) => {
    fsSync.mkdirSync(dir);
    await Promise.all(FILES.map((file) => writeFileAsync(path.join(dir, file), body)));
  });
  await forEachLimited([...staged.flatMap((dir) => FILES.map((file) => path.join(dir, file))), ...staged], SYNC_CONCURRENCY, (p) => (p.endsWith('.json') || p.endsWith('.msgpack') ? syncFile(p) : syncDirectory(p)));
  const retired: string[] = [];
  names.forEach((name, i) => {
    const target = path.join(dbDir, name);
    if (fsSync.existsSync(target)) {
      const aside = `${target}.deleting.${process.pid}`;
      fsSync.renameSync(target, aside);
      retired.push(aside);
    }
    fsSync.renameSync(staged[i]!, target);
  });
  await syncDirectory(dbDir);
  // Removed in the background, as setMany does; `settleBareRemovals` waits at the end of a round.
  for (const dir of retired) removals.push(fsSync.promises.rm(dir, { recursive: true, force: true }));
}

const removals: Array<Promise<void>> = [];

export async function settleBareRemovals(): Promise<void> {
  await Promise.all(removals.splice(0));
}
