/** db.run on one machine: in-process and in worker processes, status, events, resuming, errors. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataBase, clearProvenanceCache, isDataBaseError, isErrorFinding } from '../../src/index.js';
import { recordEvents, type RunProgress } from '../../src/runs/index.js';
import { caught, cleanupTemp, sandbox, type Sandbox } from '../core/helpers.js';
import { compiledSteps, invocations } from './helpers.js';

let sb: Sandbox;
let steps: Awaited<ReturnType<typeof compiledSteps>>;
const ENV = ['RUNS_SIDE_FILE', 'RUNS_SLEEP_MS', 'RUNS_FAIL', 'RUNS_SPIN_MS', 'RUNS_UNSTORABLE'];

beforeAll(async () => { steps = await compiledSteps(); });
afterEach(() => { for (const name of ENV) delete process.env[name]; });
afterAll(cleanupTemp);

async function fresh(name: string, options = {}): Promise<{ db: DataBase; side: string }> {
  sb ??= await sandbox();
  const db = await DataBase.open(path.join(sb.root, name), { lockStaleMs: 2000, ...options });
  const side = path.join(sb.root, `${name}.side`);
  process.env['RUNS_SIDE_FILE'] = side;
  return { db, side };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('db.run on one machine', () => {
  it('runs every record once in worker processes, commits each as its key with a recipe, and a second run does nothing', async () => {
    const { db, side } = await fresh('pool');
    const seen: RunProgress[] = [];
    const report = await db.run(steps.square, { records: range(30), workers: 2, onProgress: (p) => seen.push(p) });
    expect(report).toMatchObject({ total: 30, done: 30, computed: 30, errors: 0, remaining: 0, mode: 'processes', workers: 2 });
    expect(seen.at(-1)).toMatchObject({ done: 30, remaining: 0 });
    expect(await db.get(['squares', '7'])).toEqual({ n: 7, square: 49 });
    expect((await db.metadata(['squares', '7']))['isfdb_recipe']).toMatchObject({ params: { step: 'square', record: '7' }, code: '1' });
    expect([...invocations(side).values()]).toEqual(Array(30).fill(1));
    const pids = new Set(fs.readFileSync(side, 'utf8').trim().split('\n').map((l) => l.split(' ')[1]));
    expect(pids.has(String(process.pid))).toBe(false);

    const again = await db.run(steps.square, { records: range(30), workers: 2 });
    expect(again).toMatchObject({ total: 30, alreadyDone: 30, done: 0, computed: 0 });
    expect(invocations(side).size).toBe(30);
    const status = await db.status('square');
    expect(status.numRows).toBe(30);
    expect(new Set(status.getChild('status')!.toArray())).toEqual(new Set(['done']));
    expect((await recordEvents(db, 'square', '3')).map((e) => e.event)).toEqual(['start', 'done']);
    expect((await db.verify()).findings.filter(isErrorFinding)).toEqual([]); // the runs' event log folder is reported as unverified (informational)
  }, 60_000);

  it('in-process (workers: 0): inputs, missing inputs, stale records and the event log', async () => {
    const { db, side } = await fresh('inputs');
    for (const id of ['a', 'b', 'c']) await db.set(['inputs', id], { v: id.charCodeAt(0) });
    const err = await caught(() => db.run(steps.double, { records: ['a', 'b', 'c', 'd'], workers: 0 }));
    expect(isDataBaseError(err, 'InvalidInputError')).toBe(true);
    expect(err.message).toBe("step 'double': 1 record(s) lack inputs, e.g. d (('inputs', 'd')): create them, or pass ignoreMissing to run the others");
    expect(await db.has(['doubled', 'a'])).toBe(false);

    const report = await db.run(steps.double, { records: ['a', 'b', 'c', 'd'], workers: 0, ignoreMissing: true });
    expect(report).toMatchObject({ done: 3, computed: 3, missingInput: 1, mode: 'in-process' });
    expect(await db.get(['doubled', 'b'])).toEqual({ v: 196 });
    const byRecord = (table: Awaited<ReturnType<DataBase['status']>>) => Object.fromEntries(
      table.toArray().map((row) => [row.record as string, row.status as string]));
    expect(byRecord(await db.status('double'))).toEqual({ a: 'done', b: 'done', c: 'done', d: 'missing-input' });

    await db.set(['inputs', 'b'], { v: 1 });
    await db.set(['inputs', 'd'], { v: 2 });
    expect(byRecord(await db.status('double'))).toEqual({ a: 'done', b: 'stale', c: 'done', d: 'ready' });
    const second = await db.run(steps.double, { records: ['a', 'b', 'c', 'd'], workers: 0 });
    expect(second).toMatchObject({ alreadyDone: 2, done: 2, computed: 2 });
    expect(await db.get(['doubled', 'b'])).toEqual({ v: 2 });
    expect(invocations(side)).toEqual(new Map([['a', 1], ['b', 2], ['c', 1], ['d', 1]]));
    expect((await recordEvents(db, 'double', 'b')).map((e) => e.event)).toEqual(['start', 'log', 'done', 'start', 'log', 'done']);
    expect((await recordEvents(db, 'double', 'd')).map((e) => e.event)).toEqual(['missing-input', 'start', 'log', 'done']);
  });

  it('retries a failing record, then marks it error with message, stack and attempts; the others complete', async () => {
    const { db, side } = await fresh('errors');
    process.env['RUNS_FAIL'] = '2';
    const report = await db.run(steps.square, { records: range(5), workers: 2, attempts: 2, backoffMs: 10 });
    expect(report).toMatchObject({ done: 4, errors: 1 });
    expect(report.failures).toEqual([{ record: '2', message: 'record 2 fails on purpose', attempts: 2 }]);
    expect(invocations(side).get('2')).toBe(2);
    const row = (await db.status('square')).toArray().find((r) => r.record === '2');
    expect(row).toMatchObject({ status: 'error', attempts: 2, message: 'record 2 fails on purpose', output: "('squares', '2')" });
    expect(String(row.stack)).toContain('behave');
    delete process.env['RUNS_FAIL'];
    const again = await db.run(steps.square, { records: range(5), workers: 0 });
    expect(again).toMatchObject({ alreadyDone: 4, done: 1, computed: 1, errors: 0 });
    expect((await db.status('square')).toArray().find((r) => r.record === '2')).toMatchObject({ status: 'done', attempts: 0 });
  }, 60_000);

  it('a value that cannot be stored fails only its own record: its group is committed record by record', async () => {
    const { db } = await fresh('unstorable');
    process.env['RUNS_UNSTORABLE'] = '5';
    const report = await db.run(steps.square, { records: range(12), workers: 0, batch: 12, attempts: 2, backoffMs: 10 });
    expect(report).toMatchObject({ done: 11, errors: 1 });
    expect(report.failures).toEqual([{ record: '5', message: expect.stringContaining("no loader for key '('squares', '5')'"), attempts: 2 }]);
    for (const n of range(12)) expect(await db.has(['squares', String(n)])).toBe(n !== 5);
    const rows = (await db.status('square')).toArray();
    expect(rows.find((r) => r.record === '5')).toMatchObject({ status: 'error', attempts: 2 });
    expect(rows.filter((r) => r.status === 'done').length).toBe(11);
    // Without the bad value, the 'done' events of a group are one append: fewer distinct times than records.
    delete process.env['RUNS_UNSTORABLE'];
    const more = range(24).slice(12);
    expect(await db.run(steps.square, { records: more, workers: 0, batch: 12 })).toMatchObject({ done: 12, errors: 0 });
    const doneTimes = new Set<string>();
    for (const n of more) for (const e of await recordEvents(db, 'square', String(n))) if (e.event === 'done') doneTimes.add(e.time);
    expect(doneTimes.size).toBeLessThan(12);
  });

  it('worker processes record the coordinator\'s provenance (handed on once; they run no git of their own)', async () => {
    sb ??= await sandbox();
    const repo = path.join(sb.root, 'code');
    fs.mkdirSync(repo);
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' }).trim();
    git('init', '-q');
    fs.writeFileSync(path.join(repo, 'analysis.py'), 'print(1)\n');
    git('add', 'analysis.py');
    git('commit', '-q', '-m', 'first');
    clearProvenanceCache();
    const { db } = await fresh('provenance', { gitDir: repo });
    const facts = (await db.prepareWrites())!;
    expect(facts.git.dirty).toBe(false);
    // After the coordinator read its facts the checkout changes: a worker asking git would record dirty.
    fs.appendFileSync(path.join(repo, 'analysis.py'), 'print(2)\n');
    await db.run(steps.square, { records: range(6), workers: 2 });
    for (const n of range(6)) {
      const meta = await db.metadata(['squares', String(n)]);
      expect(meta['dirty'], `record ${n}`).toBe(false);
      expect(meta['full-revisionid']).toBe(facts.git['full-revisionid']);
    }
    clearProvenanceCache();
  }, 60_000);

  it('takes the records from a key, and refuses duplicates and a readonly database', async () => {
    const { db } = await fresh('from-key');
    await db.set('trials', [3, 4, 5], 'value_to_msgpack');
    expect(await db.run(steps.square, { records: 'trials', workers: 0 })).toMatchObject({ total: 3, done: 3 });
    expect((await db.status('square')).toArray().map((r) => r.record)).toEqual(['3', '4', '5']);
    const dup = await caught(() => db.run(steps.square, { records: [1, 1], workers: 0 }));
    expect(dup.message).toBe('records: lists the record 1 twice: records name their outputs and must be unique');
    const ro = await DataBase.open(db.basedir, { readonly: true });
    expect((await caught(() => ro.run(steps.square, { records: [1], workers: 0 }))).message).toContain('is open readonly');
  });

  it('survives worker processes SIGKILLed mid-record: each record committed exactly once, nothing torn', async () => {
    const { db, side } = await fresh('killed', { keepVersions: 3 });
    process.env['RUNS_SLEEP_MS'] = '20';
    const records = range(120);
    let kills = 0;
    const killer = setInterval(() => {
      if (kills >= 2) return;
      const kids = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
        .split('\n').filter((l) => l.includes('tinypool')).map((l) => Number(l.trim().split(/\s+/)[0]));
      if (kids.length > 0) { process.kill(kids[0]!, 'SIGKILL'); kills++; }
    }, 600);
    const report = await db.run(steps.square, { records, workers: 2, attempts: 3, backoffMs: 10 }).finally(() => clearInterval(killer));
    expect(kills).toBe(2);
    expect(report.errors).toBe(0);
    for (const n of records) expect(await db.get(['squares', String(n)])).toEqual({ n, square: n * n });
    for (const n of records) expect((await db.history(['squares', String(n)])).length, `record ${n}`).toBe(1);
    expect([...invocations(side).values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(120);
    expect((await db.verify()).findings.filter(isErrorFinding)).toEqual([]); // the runs' event log folder is reported as unverified (informational)
  }, 60_000);
});
