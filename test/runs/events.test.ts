/** The event log: one file per process, merged by time with the older one-file-per-record layout; torn lines skipped. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { recordEvents } from '../../src/runs/index.js';
import { eventLog, runsFolder } from '../../src/runs/events.js';
import { readStepEvents } from '../../src/runs/event-read.js';
import { cleanupTemp, sandbox } from '../core/helpers.js';

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
