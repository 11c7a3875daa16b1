/** The event log: one file per process, merged by time with the older one-file-per-record layout; torn lines skipped; compaction of ended processes' files. */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { recordEvents } from '../../src/runs/index.js';
import { LOG_HOST, eventLog, runsFolder } from '../../src/runs/events.js';
import { COMPACT_MIN_FILES, compactEvents, compactedName } from '../../src/runs/event-compact.js';
import { readStepEvents } from '../../src/runs/event-read.js';
import { cleanupTemp, sandbox } from '../core/helpers.js';
import { compiledSteps } from './helpers.js';

afterAll(cleanupTemp);

describe('runs event log', () => {
  it('merges per-process files and older per-record files by time, skips torn lines, and sees appends', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    const runs = await runsFolder(db);
    // An older per-record file, and another process's file with a torn last line (killed mid-write).
    const older = path.join(runs, 's', 'records', 'ab');
    fs.mkdirSync(older, { recursive: true });
    fs.writeFileSync(path.join(older, 'r1.jsonl'), `${JSON.stringify({ event: 'start', record: 'r1', time: '2020-01-01T00:00:00.000Z', attempt: 1 })}\n`);
    fs.mkdirSync(path.join(runs, 's', 'events'), { recursive: true });
    fs.writeFileSync(path.join(runs, 's', 'events', 'other.1.x.jsonl'),
      `${JSON.stringify({ event: 'error', record: 'r1', time: '2020-01-01T00:00:01.000Z', attempt: 1, message: 'killed' })}\n{"event":"sta`);
    eventLog(runs, 's').append([{ record: 'r1', event: 'start', attempt: 2 }, { record: 'r2', event: 'start', attempt: 1 }]);
    expect((await recordEvents(db, 's', 'r1')).map((e) => `${e.event}:${e.attempt}`)).toEqual(['start:1', 'error:1', 'start:2']);
    expect((await readStepEvents(runs, 's')).get('r2')!.map((e) => e.event)).toEqual(['start']);
    // An append after a read is seen by the next read (the cache follows each file's size).
    eventLog(runs, 's').append([{ record: 'r1', event: 'done', attempt: 2, computed: true }]);
    expect((await recordEvents(db, 's', 'r1')).map((e) => e.event)).toEqual(['start', 'error', 'start', 'done']);
    // This process wrote one file, named by host and pid.
    expect(fs.readdirSync(path.join(runs, 's', 'events')).filter((n) => n.includes(`.${process.pid}.`))).toHaveLength(1);
  });
});

/** Pids of processes that have ended (short-lived children, reaped). */
function endedPids(n: number): number[] {
  return Array.from({ length: n }, () => spawnSync(process.execPath, ['-e', '0']).pid!);
}

/** Every record's events as comparable text, in reading order. */
async function snapshot(runs: string, step: string): Promise<string[]> {
  const events = await readStepEvents(runs, step);
  return [...events.keys()].sort().flatMap((record) => events.get(record)!.map((e) => `${record} ${e.event}:${e.attempt ?? ''} ${e.time} ${e.pid ?? ''}`));
}

/** A fresh database with the events folder of `step` created. */
async function eventsFolder(step: string): Promise<{ db: DataBase; runs: string; dir: string }> {
  const sb = await sandbox();
  const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
  const runs = await runsFolder(db);
  const dir = path.join(runs, step, 'events');
  fs.mkdirSync(dir, { recursive: true });
  return { db, runs, dir };
}

describe('runs event-log compaction', () => {
  it('merges the files of ended processes of this host into one, keeping every complete event once; live and other hosts\' files stay', async () => {
    const { db, runs, dir } = await eventsFolder('s');
    const line = (record: string, event: string, second: number, pid: number): string =>
      `${JSON.stringify({ event, record, time: `2020-01-01T00:00:${String(second).padStart(2, '0')}.000Z`, attempt: 1, pid })}\n`;
    const ended = endedPids(3);
    ended.forEach((pid, i) => fs.writeFileSync(path.join(dir, `${LOG_HOST}.${pid}.k${i}.jsonl`), line(`r${i}`, 'start', i, pid) + line(`r${i}`, 'done', 10 + i, pid) + (i === 0 ? '{"event":"sta' : '')));
    fs.writeFileSync(path.join(dir, 'elsewhere.7.x.jsonl'), line('r9', 'start', 30, 7));
    eventLog(runs, 's').append([{ record: 'r1', event: 'log', message: 'live' }]);
    // Another process of this host that still runs (it may append at any moment).
    const running = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const runningFile = `${LOG_HOST}.${running.pid}.k9.jsonl`;
    fs.writeFileSync(path.join(dir, runningFile), line('r8', 'start', 40, running.pid!));
    const before = await snapshot(runs, 's');

    // Fewer ended files than the threshold: nothing happens.
    expect(compactEvents(runs, 's', { minFiles: 4 })).toEqual({ merged: 0, lines: 0 });
    const report = compactEvents(runs, 's', { minFiles: 2 });
    running.kill('SIGKILL');
    expect(report).toEqual({ merged: 3, lines: 6 });
    const names = fs.readdirSync(dir).sort();
    expect(names.filter((n) => n.startsWith('+compacted.'))).toHaveLength(1);
    expect(names).toContain('elsewhere.7.x.jsonl');
    expect(names).toContain(runningFile);
    expect(names.filter((n) => n.startsWith(`${LOG_HOST}.${process.pid}.`))).toHaveLength(1);
    expect(names).toHaveLength(4);
    expect(await snapshot(runs, 's')).toEqual(before);
    // This process still appends to its own file.
    eventLog(runs, 's').append([{ record: 'r2', event: 'log', message: 'after' }]);
    expect((await recordEvents(db, 's', 'r2')).map((e) => e.event)).toEqual(['start', 'done', 'log']);
  });

  it('finishes what a killed compactor left, with every event seen once before and after', async () => {
    const { runs, dir } = await eventsFolder('s');
    const [a, b, c, compactor] = endedPids(4);
    const write = (name: string, record: string, pid: number): void => fs.writeFileSync(path.join(dir, name), `${JSON.stringify({ event: 'start', record, time: new Date(pid).toISOString(), attempt: 1, pid })}\n`);
    // Killed after taking a file and before writing its output: the taken file is still read.
    const id1 = `${LOG_HOST}.${compactor}.a1`;
    write(`${LOG_HOST}.${a}.x.jsonl.compacting.${id1}`, 'ra', a!);
    // Killed after writing its output and before removing what it merged: only the output is read.
    const id2 = `${LOG_HOST}.${compactor}.a2`;
    write(`${LOG_HOST}.${b}.x.jsonl.compacting.${id2}`, 'rb', b!);
    write(compactedName(id2), 'rb', b!);
    fs.writeFileSync(path.join(dir, `${compactedName(id2)}.tmp`), 'partial');
    write(`${LOG_HOST}.${c}.x.jsonl`, 'rc', c!);
    // A compactor that still runs, midway: its taken file is read, and left to it.
    const running = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const busy = `${LOG_HOST}.${c}.y.jsonl.compacting.${LOG_HOST}.${running.pid}.b1`;
    write(busy, 'rd', c!);
    const before = await snapshot(runs, 's');
    expect(before.map((l) => l.split(' ')[0])).toEqual(['ra', 'rb', 'rc', 'rd']);

    const report = compactEvents(runs, 's', { minFiles: 2 });
    running.kill('SIGKILL');
    expect(report).toEqual({ merged: 3, lines: 3 });
    expect(fs.readdirSync(dir).sort()).toEqual([busy, expect.stringMatching(/^\+compacted\..*\.jsonl$/)].sort());
    expect(await snapshot(runs, 's')).toEqual(before);
  });

  it('keeps the number of files bounded over many runs, and a run compacts before it starts', async () => {
    const { db, runs, dir } = await eventsFolder('square');
    const [pid] = endedPids(1); // one ended process per file would be as good, and slower to make
    let written = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < COMPACT_MIN_FILES; i++, written++) {
        fs.writeFileSync(path.join(dir, `${LOG_HOST}.${pid}.r${round}i${i}.jsonl`), `${JSON.stringify({ event: 'start', record: `x${written}`, time: new Date(written * 1000).toISOString(), attempt: 1, pid })}\n`);
      }
      // db.run compacts the step's log first (16 ended processes' files), then runs (in this process).
      const steps = await compiledSteps();
      await db.run(steps.square, { records: [round], workers: 0 });
      const names = fs.readdirSync(dir);
      expect(names.filter((n) => n.startsWith('+compacted.')), `round ${round}`).toHaveLength(1);
      expect(names.length, `round ${round}`).toBeLessThanOrEqual(2);
    }
    const events = await readStepEvents(runs, 'square');
    for (let i = 0; i < written; i++) expect(events.get(`x${i}`)?.map((e) => e.event), `x${i}`).toEqual(['start']);
    expect(events.get('2')?.map((e) => e.event)).toEqual(['start', 'done']);
  });
});
