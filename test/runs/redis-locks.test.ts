/** The Redis lock backend for key writes: DataBase.open(dir, { locks: { redis: URL } }). */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { DataBase, isDataBaseError } from '../../src/index.js';
import { redisLocks } from '../../src/store/redis-locks.js';
import { caught, cleanupTemp, sandbox } from '../core/helpers.js';
import { REPO_ROOT, skipReason, testRedisUrl } from '../services.js';
import { dropPrefix, until } from './helpers.js';

const redis = testRedisUrl();
const skip = skipReason(redis, 'Redis lock tests');
const url = redis.ok ? redis.value : '';

afterAll(cleanupTemp);

describe.skipIf(skip !== undefined)(`Redis key locks${skip ? ` (${skip})` : ''}`, () => {
  it('serialises writers of a key through Redis, with no lock folder on disk, and times out with LockTimeoutError', async () => {
    const sb = await sandbox();
    const prefix = `isfdbtest-${randomUUID().slice(0, 8)}`;
    const locks = { redis: url, prefix };
    const dir = path.join(sb.root, 'db');
    const a = await DataBase.open(dir, { locks, lockTimeoutMs: 400 });
    const b = await DataBase.open(dir, { locks, lockTimeoutMs: 400 });
    const client = new Redis(url);
    try {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => { entered = resolve; });
      const first = a.maybeCalculate('k', async () => { entered(); await gate; return 1; });
      await inside;
      expect(await client.keys(`mutex:${prefix}:*`)).toHaveLength(1);
      expect(fs.readdirSync(dir).filter((n) => n.endsWith('.lock'))).toEqual([]);
      const err = await caught(() => b.set('k', 2));
      expect(isDataBaseError(err, 'LockTimeoutError')).toBe(true);
      expect(err.message).toContain("'k'");
      release();
      expect(await first).toBe(1);
      await b.set('k', 3);
      expect(await a.get('k')).toBe(3);
      expect(await client.keys(`mutex:${prefix}:*`)).toEqual([]);
      // Five writers in parallel, each a read-modify-write under maybeCalculate's lock: computed once.
      let computed = 0;
      const many = await Promise.all(Array.from({ length: 5 }, async () => {
        const db = await DataBase.open(dir, { locks });
        return db.maybeCalculate('once', async () => { computed++; await new Promise((r) => setTimeout(r, 50)); return 'v'; });
      }));
      expect(many).toEqual(Array(5).fill('v'));
      expect(computed).toBe(1);
    } finally {
      client.disconnect();
      await dropPrefix(url, prefix);
    }
  }, 30_000);

  it('a batch takes free keys in one attempt each and waits in order for a busy one (try-once locks)', async () => {
    const sb = await sandbox();
    const prefix = `isfdbtest-${randomUUID().slice(0, 8)}`;
    const backend = redisLocks({ redis: url, prefix });
    const dir = path.join(sb.root, 'db');
    try {
      const once = { timeoutMs: 0, staleMs: 10_000 };
      const free = await backend.acquire(path.join(dir, 'a'), 'a', once);
      const started = Date.now();
      expect(isDataBaseError(await caught(() => backend.acquire(path.join(dir, 'a'), 'a', once)), 'LockTimeoutError')).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
      const db = await DataBase.open(dir, { locks: { redis: url, prefix } });
      const batch = db.setMany([{ key: 'a', value: 1 }, { key: 'b', value: 2 }]);
      await new Promise((r) => setTimeout(r, 100));
      await free.release();
      await batch;
      expect([await db.get('a'), await db.get('b')]).toEqual([1, 2]);
    } finally {
      await dropPrefix(url, prefix);
    }
  }, 30_000);

  it('a writer killed while holding the lock blocks others only until the lock expires', async () => {
    const sb = await sandbox();
    const prefix = `isfdbtest-${randomUUID().slice(0, 8)}`;
    const dir = path.join(sb.root, 'db');
    await DataBase.open(dir);
    const script = `
      const { DataBase } = await import(${JSON.stringify(path.join(REPO_ROOT, 'dist', 'src', 'index.js'))});
      const db = await DataBase.open(${JSON.stringify(dir)}, { locks: { redis: ${JSON.stringify(url)}, prefix: ${JSON.stringify(prefix)} }, lockStaleMs: 2000 });
      await db.maybeCalculate('k', async () => { console.log('holding'); await new Promise(() => {}); });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ISFDB_REGISTRY: sb.registryDir }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      await until(() => out.includes('holding'), 'the child to hold the lock', 20_000);
      child.kill('SIGKILL');
      const db = await DataBase.open(dir, { locks: { redis: url, prefix }, lockStaleMs: 2000, lockTimeoutMs: 20_000 });
      const started = Date.now();
      await db.set('k', 'taken over');
      const waited = Date.now() - started;
      expect(await db.get('k')).toBe('taken over');
      expect(waited).toBeLessThan(10_000);
    } finally {
      child.kill('SIGKILL');
      await dropPrefix(url, prefix);
    }
  }, 40_000);
});
