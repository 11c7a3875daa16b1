/**
 * Key-write locks on Redis (redis-semaphore's Mutex: SET NX PX with a token, refreshed while
 * held, released by a compare-and-delete script). For clusters whose shared filesystem (GPFS,
 * some NFS setups) does not make mkdir/mtime locks reliable across nodes: every node sees the
 * same Redis. The lock of a killed process expires after `staleMs` (it is refreshed while held),
 * like the file lock's stale takeover. ioredis and redis-semaphore load with the first lock.
 *
 * A reader hint (`mayBeHeld`) only knows this process's locks; a reader elsewhere that fails
 * in the instant between a writer's two renames gets KeyNotFoundError instead of a retry.
 */
import { createHash } from 'node:crypto';
import { LockTimeoutError } from '../errors.js';
import type { HeldLock, KeyLocks, LockOptions } from './locks.js';

export interface RedisLockOptions {
  /** redis://host:port[/db] */
  redis: string;
  /** Prefix of the lock keys (default 'isfdb:lock'; redis-semaphore stores them as `mutex:<prefix>:<sha1 of the key folder>`). */
  prefix?: string;
}

type RedisClient = import('ioredis').Redis;

interface Connection { client: Promise<RedisClient>; held: number; idle: NodeJS.Timeout | undefined }

const connections = new Map<string, Connection>();

/** One client per URL; closed when no lock has been held for a moment, so processes can exit. */
function connect(url: string): Connection {
  let c = connections.get(url);
  if (c === undefined) {
    const client = import('ioredis').then(({ Redis }) => new Redis(url, { maxRetriesPerRequest: 3, enableOfflineQueue: true }));
    c = { client, held: 0, idle: undefined };
    connections.set(url, c);
  }
  if (c.idle !== undefined) clearTimeout(c.idle);
  c.idle = undefined;
  return c;
}

function releaseConnection(url: string, c: Connection): void {
  c.held--;
  if (c.held > 0) return;
  c.idle = setTimeout(() => {
    if (c.held > 0 || connections.get(url) !== c) return;
    connections.delete(url);
    void c.client.then((client) => client.quit()).catch(() => undefined);
  }, 200);
}

/** A KeyLocks backend on the Redis at `options.redis`. */
export function redisLocks(options: RedisLockOptions): KeyLocks {
  const prefix = options.prefix ?? 'isfdb:lock';
  const heldHere = new Map<string, number>();
  return {
    async acquire(keyFolder: string, keyForMessages: string, lockOptions: LockOptions): Promise<HeldLock> {
      const connection = connect(options.redis);
      connection.held++;
      const [{ Mutex, TimeoutError }, client] = await Promise.all([import('redis-semaphore'), connection.client]);
      const name = `${prefix}:${createHash('sha1').update(keyFolder).digest('hex')}`;
      let compromised: Error | undefined;
      const lockTimeout = Math.max(lockOptions.staleMs, 2000);
      const mutex = new Mutex(client, name, {
        lockTimeout,
        // timeoutMs 0 (a batch trying all its locks at once) means one attempt; redis-semaphore
        // would make none with an acquire timeout of 0.
        ...(lockOptions.timeoutMs <= 0 ? { acquireTimeout: 60_000, acquireAttemptsLimit: 1 } : { acquireTimeout: lockOptions.timeoutMs }),
        retryInterval: 5,
        refreshInterval: Math.round(lockTimeout / 3),
        onLockLost: (err) => { compromised = err; },
      });
      const started = Date.now();
      try {
        await mutex.acquire();
      } catch (err) {
        releaseConnection(options.redis, connection);
        if (err instanceof TimeoutError) throw new LockTimeoutError(keyForMessages, `redis ${name}`, Date.now() - started);
        throw err;
      }
      heldHere.set(keyFolder, (heldHere.get(keyFolder) ?? 0) + 1);
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          const n = (heldHere.get(keyFolder) ?? 1) - 1;
          if (n > 0) heldHere.set(keyFolder, n);
          else heldHere.delete(keyFolder);
          try {
            await mutex.release();
          } finally {
            releaseConnection(options.redis, connection);
          }
        },
        get compromised() { return compromised; },
      };
    },
    mayBeHeld: (keyFolder: string) => heldHere.has(keyFolder),
  };
}
