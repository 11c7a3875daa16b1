/** isfdb run / status as real processes. */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { cleanupTemp, sandbox } from '../core/helpers.js';
import { STEPS_FILE, spawnCli } from './helpers.js';

afterAll(cleanupTemp);

async function isfdb(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = await spawnCli(args, env);
  const { code } = await child.exited;
  return { code, out: child.output() };
}

describe('isfdb run and status', () => {
  it('runs the records given, reports, then status lists them; a second run does nothing; bad input exits 2', async () => {
    const sb = await sandbox();
    const dir = path.join(sb.root, 'db');
    const db = await DataBase.open(dir);
    for (const id of ['a', 'b']) await db.set(['inputs', id], { v: 3 });
    const env = { ISFDB_REGISTRY: sb.registryDir };
    const first = await isfdb(['run', dir, STEPS_FILE, 'double', '--records', 'a,b,c', '--workers', '1', '--ignore-missing'], env);
    expect(first.out).toContain('double: 3 records, 0 already done, 2 done now (2 computed), 0 error, 1 missing input');
    expect(first.code).toBe(0);
    expect(await db.get(['doubled', 'a'])).toEqual({ v: 6 });

    const again = await isfdb(['run', dir, STEPS_FILE, 'double', '--workers', '0', '--ignore-missing', '--json'], env);
    expect(JSON.parse(again.out)).toMatchObject({ total: 3, alreadyDone: 2, done: 0, missingInput: 1 });

    const status = await isfdb(['status', dir, '--json'], env);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.out) as Array<{ record: string; status: string }>).map((r) => [r.record, r.status]))
      .toEqual([['a', 'done'], ['b', 'done'], ['c', 'missing-input']]);
    const text = await isfdb(['status', dir, 'double'], env);
    expect(text.out).toBe("double: 3 records: 2 done, 1 missing-input\n  c  missing-input: missing input: ('inputs', 'c')\n");

    const unknown = await isfdb(['run', dir, STEPS_FILE, 'nope', '--records', 'a'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toContain("has no step 'nope' (it has double, square)");
    const badFlag = await isfdb(['run', dir, STEPS_FILE, '--workers', 'x'], env);
    expect(badFlag.code).toBe(2);
    expect(badFlag.out).toContain("--workers takes a whole number >= 0, got 'x'");
  }, 60_000);
});
