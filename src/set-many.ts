/**
 * `db.setMany`: many keys in one batch. Every key is locked as by `set` (the batch's locks are
 * tried at once and waited for only in one fixed order, so overlapping batches and single writers
 * cannot deadlock: see `lockAll`), a killed
 * writer's leftovers are finished with one staging listing per database folder, metadata.json's
 * provenance is built once, and store/commit.ts's `commitKeys` writes all keys with shared fsyncs.
 * Each key is atomic (its rename into place is its commit point); the batch as a whole is not.
 */
import path from 'node:path';
import { isDataBaseError, KeyTypeConflictError } from './errors.js';
import { checkKeyFolderLength, formatKey, keyParts } from './keys.js';
import type { SetManyEntry, WriteOptions } from './options.js';
import { commitKeys, type KeyCommit } from './store/commit.js';
import type { HeldLock } from './store/locks.js';
import { chooseDumper, MetadataTexts } from './key-io.js';
import type { DbFolder } from './db-folder.js';
import type { Loader } from '../loaders/types.js';

interface Planned {
  parent: DbFolder;
  name: string;
  shown: string;
  /** The key folder's absolute path: the batch's lock order. */
  folder: string;
  loader: Loader<never>;
  entry: SetManyEntry;
}

/** Store every entry under its key (see the file comment); `top` is the database the keys are relative to. */
export async function setManyIn(top: DbFolder, entries: readonly SetManyEntry[], writeOptions: WriteOptions = {}): Promise<void> {
  const planned = await plan(top, entries);
  planned.sort((a, b) => (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0));
  const locks: HeldLock[] = [];
  try {
    for (const lock of await lockAll(planned)) locks.push(lock); // not push(...): a batch may hold more keys than a call takes arguments
    const byParent = new Map<DbFolder, string[]>();
    for (const p of planned) {
      const names = byParent.get(p.parent);
      if (names === undefined) byParent.set(p.parent, [p.name]);
      else names.push(p.name);
    }
    for (const [parent, names] of byParent) await parent.recoverLocked(names);
    const texts = new MetadataTexts(top.options.gitDir);
    const commits: KeyCommit[] = [];
    for (let i = 0; i < planned.length; i++) {
      const { parent, name, shown, loader, entry } = planned[i]!;
      await parent.refuseSubDbOverwrite(name, shown);
      if (entry.skipIf !== undefined && (await entry.skipIf())) continue;
      const extras = {
        keepVersions: entry.keepVersions ?? writeOptions.keepVersions,
        ...(entry.extraMetadata === undefined ? {} : { extraMetadata: entry.extraMetadata }),
      };
      commits.push(parent.valueWrite(name, shown, loader, entry.value, entry.dumpOptions, locks[i], extras, texts).commit);
    }
    await commitKeys(commits, { durable: top.durable });
  } finally {
    await Promise.all(locks.map((lock) => lock.release()));
  }
}

/**
 * The batch's locks, in the batch's order. All are tried at once (their folders are made in
 * parallel); when one is busy, the locks before it are kept, the ones after it given back, and the
 * rest taken one by one in order, waiting. A writer only ever waits while holding a prefix of the
 * one order, so overlapping batches and single writers cannot deadlock.
 */
async function lockAll(planned: readonly Planned[]): Promise<HeldLock[]> {
  const tried = await Promise.allSettled(planned.map(async (p) => p.parent.lockForBatch(p.name, p.shown, { tryOnly: true })));
  const taken = tried.flatMap((t) => (t.status === 'fulfilled' ? [t.value] : []));
  const failure = tried.find((t): t is PromiseRejectedResult => t.status === 'rejected' && !isDataBaseError(t.reason, 'LockTimeoutError'));
  if (failure !== undefined) {
    await Promise.all(taken.map((lock) => lock.release()));
    throw failure.reason;
  }
  const firstBusy = tried.findIndex((t) => t.status === 'rejected');
  if (firstBusy < 0) return taken;
  const held = tried.slice(0, firstBusy).map((t) => (t as PromiseFulfilledResult<HeldLock>).value);
  await Promise.all(tried.slice(firstBusy).flatMap((t) => (t.status === 'fulfilled' ? [t.value.release()] : [])));
  try {
    for (const p of planned.slice(firstBusy)) held.push(await p.parent.lockForBatch(p.name, p.shown));
  } catch (err) {
    await Promise.all(held.map((lock) => lock.release()));
    throw err;
  }
  return held;
}

/** Check every entry and find its folder (sub-databases on the way are created, once per batch) before anything is locked. */
async function plan(top: DbFolder, entries: readonly SetManyEntry[]): Promise<Planned[]> {
  const planned: Planned[] = [];
  const seen = new Set<string>();
  const parents = new Map<string, DbFolder>();
  for (const entry of entries) {
    const parts = keyParts(entry.key);
    const shown = formatKey(parts);
    top.assertWritable('set', shown);
    const loader = await chooseDumper(entry.value, entry.dumper, shown);
    if (loader.kind === 'database') throw new KeyTypeConflictError(shown, top.basedir, 'setMany does not create sub-databases; use createSubDb');
    checkKeyFolderLength(top.basedir, parts);
    const parentId = JSON.stringify(parts.slice(0, -1));
    let parent = parents.get(parentId);
    if (parent === undefined) {
      parent = (await top.parentOf(parts, { create: true }))!;
      parents.set(parentId, parent);
    }
    const name = parts[parts.length - 1]!;
    const folder = path.join(parent.basedir, name);
    if (seen.has(folder)) throw new KeyTypeConflictError(shown, top.basedir, 'appears twice in one setMany batch');
    seen.add(folder);
    planned.push({ parent, name, shown, folder, loader, entry });
  }
  return planned;
}
