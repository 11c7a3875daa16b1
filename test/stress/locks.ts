/**
 * Lock checks: a writer killed while holding a key's lock blocks others no longer than the
 * stale timeout; a lock wait past its timeout raises LockTimeoutError naming the key; readonly
 * opens read while a lock is held and never create a lock.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { DataBase, Registry, isDataBaseError } from '../../src/index.js';
import { findLocks } from './check.js';
import { startProc } from './proc.js';

export interface LocksOptions { root: string; registryDir: string; log?: (line: string) => void }
export interface LocksFigures {
  staleMs: number;
  takeoverAfterKillMs: number;
  timeoutMs: number;
  timeoutRaisedAfterMs: number;
  readonlyReadWhileLockedMs: number;
  readonlyLocksCreated: number;
  failures: string[];
}

export async function runLocks(options: LocksOptions): Promise<LocksFigures> {
  const log = options.log ?? (() => undefined);
  fsSync.mkdirSync(options.root, { recursive: true });
  const f: LocksFigures = { staleMs: 2000, takeoverAfterKillMs: -1, timeoutMs: 500, timeoutRaisedAfterMs: -1, readonlyReadWhileLockedMs: -1, readonlyLocksCreated: 0, failures: [] };
  const fail = (msg: string): void => { f.failures.push(msg); log(`  FAIL ${msg}`); };
  const registry = new Registry(options.registryDir);
  const dbDir = path.join(options.root, 'locks-db');
  const db = await DataBase.open(dbDir, { registry, lockStaleMs: f.staleMs, lockTimeoutMs: 30_000 });
  await db.set('L', new Uint8Array([1, 2, 3]));
  const env = { ISFDB_REGISTRY: options.registryDir };

  // 1. A holder killed with SIGKILL: the next writer takes over once the lock is stale.
  const holder = startProc('stress-lock-holder', [dbDir, 'L'], env);
  await holder.line('locked');
  holder.kill('SIGKILL');
  await holder.done;
  let t = Date.now();
  await db.set('L', new Uint8Array([4, 5, 6]));
  f.takeoverAfterKillMs = Date.now() - t;
  if (f.takeoverAfterKillMs > f.staleMs + 2000) fail(`writer waited ${f.takeoverAfterKillMs} ms for a dead holder's lock (stale timeout ${f.staleMs} ms)`);

  // 2. A live holder: a writer with a short timeout gets LockTimeoutError naming the key.
  const live = startProc('stress-lock-holder', [dbDir, 'L'], env);
  await live.line('locked');
  try {
    const impatient = await DataBase.open(dbDir, { registry, lockStaleMs: f.staleMs, lockTimeoutMs: f.timeoutMs });
    t = Date.now();
    try {
      await impatient.set('L', new Uint8Array([7]));
      fail('a write went through while another process held the lock');
    } catch (err) {
      f.timeoutRaisedAfterMs = Date.now() - t;
      if (!isDataBaseError(err, 'LockTimeoutError')) fail(`expected LockTimeoutError, got ${String(err)}`);
      else if (err.key !== 'L' || !err.message.includes("'L'")) fail(`LockTimeoutError does not name the key: ${err.message}`);
      if (f.timeoutRaisedAfterMs > f.timeoutMs + 1500) fail(`LockTimeoutError after ${f.timeoutRaisedAfterMs} ms, timeout ${f.timeoutMs} ms`);
    }

    // 3. Readonly opens read while the lock is held, and create no lock.
    const before = findLocks(dbDir).sort();
    const reader = await DataBase.open(dbDir, { registry, readonly: true });
    t = Date.now();
    const value = (await reader.get('L')) as { data: Uint8Array };
    await reader.keys({ recurse: true });
    await reader.has('L');
    await reader.metadata('L');
    await reader.verify();
    await reader.fsck();
    f.readonlyReadWhileLockedMs = Date.now() - t;
    if (Array.from(value.data).join(',') !== '4,5,6') fail(`readonly read returned ${Array.from(value.data).join(',')}`);
    if (f.readonlyReadWhileLockedMs > 1500) fail(`readonly reads took ${f.readonlyReadWhileLockedMs} ms while a lock was held: do they wait for it?`);
    const after = findLocks(dbDir).sort();
    f.readonlyLocksCreated = after.filter((l) => !before.includes(l)).length;
    if (f.readonlyLocksCreated > 0) fail(`readonly operations created locks: ${after.join(', ')}`);
    try {
      await reader.fsck({ repair: true });
      fail('fsck --repair ran on a readonly database');
    } catch (err) {
      if (!isDataBaseError(err, 'ReadonlyError')) fail(`readonly fsck --repair: expected ReadonlyError, got ${String(err)}`);
    }
  } finally {
    live.kill('SIGKILL');
    await live.done;
  }
  return f;
}
