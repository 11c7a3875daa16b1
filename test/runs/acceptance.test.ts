/** Short versions of the runs acceptance (test/runs/acceptance.ts); `npm run stress` runs 2,000 records. */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTemp, sandbox } from '../core/helpers.js';
import { skipReason, testRedisUrl } from '../services.js';
import { localAcceptance, queueAcceptance } from './acceptance.js';

afterAll(cleanupTemp);

describe('runs acceptance (short)', () => {
  it('local: workers SIGKILLed at random moments, then the whole run; restarted: every record committed exactly once', async () => {
    const sb = await sandbox();
    const f = await localAcceptance({ root: sb.root, registryDir: sb.registryDir, records: 200, workers: 2, kills: 2, sleepMs: 5, seed: 7 });
    expect(f.failures).toEqual([]);
    expect(f).toMatchObject({ workerKills: 2, coordinatorKills: 1, commits: 200, doubleCommits: 0, notDone: 0, verifyFindings: 0 });
    expect(f.invocations).toBeGreaterThanOrEqual(200);
  }, 120_000);

  const redis = testRedisUrl();
  const skip = skipReason(redis, 'queue acceptance');
  it.skipIf(skip !== undefined)(`queue: 3 isfdb workers, one SIGKILLed inside a record: retried, no duplicates${skip ? ` (${skip})` : ''}`, async () => {
    const sb = await sandbox();
    const url = redis.ok ? redis.value : '';
    const f = await queueAcceptance({ root: sb.root, registryDir: sb.registryDir, url, prefix: `isfdbtest-${randomUUID().slice(0, 8)}`, records: 150, workers: 3, sleepMs: 10 });
    expect(f.failures).toEqual([]);
    expect(f).toMatchObject({ workerKills: 1, commits: 150, doubleCommits: 0, notDone: 0, verifyFindings: 0 });
  }, 120_000);
});
