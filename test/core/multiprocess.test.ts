/**
 * Concurrency with real child processes (compiled scripts in dist/test/procs; `npm test` builds first).
 */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataBase, LockTimeoutError, type NdArray } from '../../src/index.js';
import { STAGING_FOLDER, settleBackgroundRemovals } from '../../src/store/keyfolder.js';
import { caught, cleanupTemp, eventually, procScript, runProc, sandbox, spawnProc, type RunningProc, type Sandbox } from './helpers.js';

let sb: Sandbox;
const running: RunningProc[] = [];
beforeEach(async () => { sb = await sandbox(); });
afterEach(async () => {
  for (const child of running.splice(0)) child.kill('SIGKILL');
  await settleBackgroundRemovals();
  await cleanupTemp();
});

function start(name: string, args: string[]): RunningProc {
  const child = spawnProc(name, args, { ISFDB_REGISTRY: sb.registryDir });
  running.push(child);
  return child;
}

/** Anything in the database folder that is not a key folder or db_state.json: retired values, locks, staged writes. */
function debris(dbDir: string): string[] {
  const out: string[] = [];
  for (const entry of fsSync.readdirSync(dbDir)) {
    if (entry === STAGING_FOLDER) {
      for (const staged of fsSync.readdirSync(path.join(dbDir, entry))) out.push(`${entry}/${staged}`);
    } else if (entry.includes('.deleting.') || entry.endsWith('.lock') || entry.startsWith('.')) {
      out.push(entry);
    }
  }
  return out;
}

describe('multi-process', () => {
  it('the compiled child scripts exist (run `npm run build` otherwise)', () => {
    for (const name of ['writer', 'big-writer', 'lock-holder', 'reader']) expect(fsSync.existsSync(procScript(name))).toBe(true);
  });

  it('4 processes setting the same key 50 times each end with one complete value, matching metadata, and no debris', async () => {
    const dir = path.join(sb.root, 'db');
    const db = await DataBase.open(dir);
    const children = ['1', '2', '3', '4'].map((id) => start('writer', [dir, 'shared', id, '50']));
    const results = await Promise.allSettled(children.map((c) => c.done));
    for (const [i, r] of results.entries()) {
      expect(r.status).toBe('fulfilled');
      const res = (r as PromiseFulfilledResult<Awaited<RunningProc['done']>>).value;
      expect(res.stderr, `writer ${i + 1}`).toBe('');
      expect(res.code, `writer ${i + 1}: ${res.stderr}`).toBe(0);
      expect(res.stdout.trim().split('\n').at(-1)).toBe('done 50');
    }
    const value = (await db.get('shared')) as { writer: string; i: number; pid: number; data: Float64Array };
    expect(['1', '2', '3', '4']).toContain(value.writer);
    expect(value.i).toBeGreaterThanOrEqual(0);
    expect(value.i).toBeLessThan(50);
    expect(value.data).toBeInstanceOf(Float64Array);
    expect(value.data.length).toBe(2048);
    const stamp = Number(value.writer) * 1000 + value.i;
    expect(value.data.every((x) => x === stamp)).toBe(true);
    // The metadata belongs to the same write: its history is the command line of the writing process.
    const meta = await db.metadata('shared');
    expect(meta.dumper).toBe('value_to_msgpack');
    expect(String(meta.history)).toContain(`shared ${value.writer} 50`);
    expect(fsSync.readdirSync(dir).filter((e) => e !== STAGING_FOLDER).sort()).toEqual(['db_state.json', 'shared']);
    expect(debris(dir)).toEqual([]);
    expect(fsSync.readdirSync(path.join(dir, 'shared')).filter((f) => f !== 'metadata.json' && f !== 'Loader.json')).toEqual(['value.msgpack']);
  }, 60_000);

  it('a process killed with SIGKILL in the middle of set leaves the previous value readable (repeated with random delays)', async () => {
    const dir = path.join(sb.root, 'db');
    const db = await DataBase.open(dir, { lockStaleMs: 2000 });
    const keys = ['k0', 'k1', 'k2', 'k3'];
    for (const key of keys) await db.set(key, new Float64Array(1000).fill(-1));
    const children = keys.map((key, i) => start('big-writer', [dir, key, String(i + 1), String(1_000_000), '2000']));
    const kills = await Promise.allSettled(children.map(async (child, i) => {
      await child.waitForLine('ready');
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.floor(Math.random() * 60) + i * 40));
      child.kill('SIGKILL');
    }));
    expect(kills.filter((k) => k.status === 'rejected')).toEqual([]);
    const outcomes = await Promise.allSettled(children.map((c) => c.done));
    const killed = outcomes.filter((o) => o.status === 'fulfilled' && o.value.signal === 'SIGKILL').length;
    expect(killed).toBeGreaterThan(0);
    // Evidence that kills landed inside set: a dead writer's lock or staged write is left behind.
    expect(debris(dir).length, 'no kill landed inside set; raise the value size').toBeGreaterThan(0);
    // Readers (taking no locks) see a complete value: the previous one, or the new one when the write finished.
    const reader = await DataBase.open(dir, { readonly: true });
    for (const [i, key] of keys.entries()) {
      const a = (await reader.get(key)) as NdArray;
      const data = a.data as Float64Array;
      const fill = data[0];
      expect([-1, i + 1]).toContain(fill);
      expect(data.length).toBe(fill === -1 ? 1000 : 1_000_000);
      expect(data.every((x) => x === fill)).toBe(true);
    }
    // The next writer takes over the dead writers' locks (stale after 2 s) and cleans their staged writes.
    const started = Date.now();
    for (const key of keys) await db.set(key, new Float64Array([42]));
    expect(Date.now() - started).toBeLessThan(15_000);
    for (const key of keys) expect([...((await db.get(key)) as NdArray).data]).toEqual([42]);
    await settleBackgroundRemovals();
    // Locks and staged writes of the dead writers are gone. A retired old value whose background
    // removal was killed may stay (as in ISF; fsck removes it), but is never listed as a key.
    expect(debris(dir).filter((e) => !/^k\d\.deleting\.[A-Z0-9]{5}$/.test(e))).toEqual([]);
    expect(await db.keys()).toEqual(keys);
  }, 60_000);

  it('a live lock holder makes a second writer time out with LockTimeoutError naming the key; once killed, its stale lock is taken over', async () => {
    const dir = path.join(sb.root, 'db');
    const db = await DataBase.open(dir, { lockStaleMs: 2000, lockTimeoutMs: 2600 });
    await db.set('locked', 'before');
    const holder = start('lock-holder', [dir, 'locked', '2000']);
    await holder.waitForLine('holding');
    const lockPath = path.join(dir, 'locked.lock');
    expect(fsSync.existsSync(lockPath)).toBe(true);
    // 2.6 s > the 2 s stale time: a live holder keeps its lock fresh, so it is not taken over.
    const err = await caught(() => db.set('locked', 'second writer'));
    expect(err).toBeInstanceOf(LockTimeoutError);
    const lockErr = err as LockTimeoutError;
    expect(lockErr.key).toBe('locked');
    expect(lockErr.lockPath).toBe(lockPath);
    expect(lockErr.waitedMs).toBeGreaterThanOrEqual(2600);
    expect(err.message).toBe(`timed out after ${lockErr.waitedMs} ms waiting for the lock of key 'locked' (${lockPath}); another process is writing it, or raise lockTimeoutMs`);
    expect(await db.get('locked')).toBe('before');
    // Short timeouts are honoured too, and other keys are not blocked.
    const quick = await DataBase.open(dir, { lockTimeoutMs: 300 });
    const t0 = Date.now();
    await expect(quick.set('locked', 'x')).rejects.toBeInstanceOf(LockTimeoutError);
    expect(Date.now() - t0).toBeLessThan(2000);
    await quick.set('other', 'free');

    holder.kill('SIGKILL');
    const exit = await holder.done;
    expect(exit.signal).toBe('SIGKILL');
    expect(fsSync.existsSync(lockPath)).toBe(true);
    const next = await DataBase.open(dir, { lockStaleMs: 2000, lockTimeoutMs: 10_000 });
    const t1 = Date.now();
    await next.set('locked', 'after');
    const waited = Date.now() - t1;
    // The dead holder last refreshed its lock at most 1 s before the kill; stale 2 s after that.
    expect(waited).toBeLessThan(5000);
    expect(await db.get('locked')).toBe('after');
    expect(fsSync.existsSync(lockPath)).toBe(false);
    await settleBackgroundRemovals();
    expect(debris(dir)).toEqual([]);
  }, 30_000);

  it('readonly opens take no locks: they read while a writer holds the key, and create nothing', async () => {
    const dir = path.join(sb.root, 'db');
    const db = await DataBase.open(dir, { lockStaleMs: 2000 });
    await db.set('held', { v: 'old' });
    await db.set(['sub', 'x'], 7);
    await settleBackgroundRemovals();
    const holder = start('lock-holder', [dir, 'held', '2000']);
    await holder.waitForLine('holding');
    const before = fsSync.readdirSync(dir).sort();
    const created: string[] = [];
    // 'rename' events are creations and removals; the holder refreshing its own lock's mtime is a 'change'.
    const watchers = [dir, path.join(dir, 'sub', 'db')].map((d) => fsSync.watch(d, (event, name) => {
      if (event === 'rename' && name !== null) created.push(String(name));
    }));
    try {
      const reader = start('reader', [dir, '20', 'held', 'sub']);
      const res = await reader.done;
      expect(res.code, res.stderr).toBe(0);
      const out = JSON.parse(res.stdout.trim()) as { ms: number; seen: unknown[] };
      expect(out.seen[0]).toEqual({ v: 'old' });
      // In-process readonly reads do not wait for the lock either.
      const ro = await DataBase.open(dir, { readonly: true, lockTimeoutMs: 100 });
      expect(await ro.get('held')).toEqual({ v: 'old' });
      expect(await ro.get(['sub', 'x'])).toBe(7);
      expect(await ro.keys({ recurse: true })).toEqual([['held'], ['sub', 'x']]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      for (const w of watchers) w.close();
    }
    expect(created).toEqual([]);
    expect(fsSync.readdirSync(dir).sort()).toEqual(before);
    holder.kill('SIGKILL');
    await holder.done;
  }, 30_000);

  it('concurrent creation of the same database by several processes yields one id', async () => {
    const dir = path.join(sb.root, 'fresh');
    const children = ['1', '2', '3'].map((id) => start('writer', [dir, `k${id}`, id, '1']));
    const results = await Promise.allSettled(children.map((c) => c.done));
    for (const r of results) {
      expect(r.status).toBe('fulfilled');
      const res = (r as PromiseFulfilledResult<Awaited<RunningProc['done']>>).value;
      expect(res.code, res.stderr).toBe(0);
    }
    const db = await DataBase.open(dir, { readonly: true });
    expect(await db.keys()).toEqual(['k1', 'k2', 'k3']);
    const state = JSON.parse(await fs.readFile(path.join(dir, 'db_state.json'), 'utf8')) as { _unique_id: string };
    expect(db.id).toBe(state._unique_id);
    expect(await sb.registry.lookup(db.id)).toBe(dir);
    expect(fsSync.readdirSync(sb.registryDir)).toEqual([`${db.id}.json`]);
    await eventually(() => debris(dir).length === 0, 'no debris');
  }, 30_000);

  it('a child exiting early reports why (helper sanity)', async () => {
    const res = await runProc('writer', []);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('usage: writer.js');
  });
});
