/**
 * Where a run's time goes per record (issue 14): the pieces a worker does for each record, timed
 * alone in this process, wall and CPU. `npm run bench -- --only=runs` prints them first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DataBase } from '../../src/index.js';
import { eventLog, runsFolder } from '../../src/runs/events.js';
import { holdsRecipe, keyExists, recordRecipe } from '../../src/runs/record.js';
import { defineStep } from '../../src/runs/index.js';
import { fmt, line } from './measure.js';

async function timed(label: string, n: number, body: (i: number) => Promise<unknown> | unknown): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await body(i);
  const wall = (performance.now() - t0) / n;
  const cpu = process.cpuUsage(cpu0);
  line(`  ${label}`, `${fmt(wall * 1000)} µs`, `wall per record; CPU ${fmt((cpu.user + cpu.system) / n)} µs`);
}

const probe = defineStep({ name: 'probe', module: import.meta.url, output: (n: number) => ['squares', String(n)], version: '1', run: (n: number) => n });

/** Per-record costs in a fresh database under `root`. */
export async function profileRecordCosts(root: string, n: number): Promise<void> {
  process.stdout.write('  per record, alone in one process:\n');
  const db = await DataBase.open(path.join(root, 'profile-db'));
  const runs = await runsFolder(db);
  await db.createSubDb('squares');
  await timed('keyExists (one stat)', n, (i) => keyExists(db, ['squares', `x${i}`]));
  await timed('recipe + fresh check (absent output)', n, async (i) => holdsRecipe(db, probe.output(i), await recordRecipe(db, probe, i)));
  const log = eventLog(runs, 'probe');
  await timed('event-log line, one append each', n, (i) => log.append([{ record: String(i), event: 'start', attempt: 1 }]));
  await timed('event-log lines, one append per 16', n, (i) => {
    if (i % 16 === 0) log.append(Array.from({ length: 16 }, (_, j) => ({ record: String(i + j), event: 'done' as const, attempt: 1 })));
  });
  const perRecord = path.join(root, 'per-record');
  fs.mkdirSync(perRecord);
  await timed('a file per record (the older layout)', n, (i) => fs.appendFileSync(path.join(perRecord, `${i}.jsonl`), '{}\n'));
  await timed('maybeCalculate, small key with recipe', n, (i) => db.maybeCalculate(['squares', `m${i}`], () => ({ n: i }), { params: { step: 's', record: String(i) }, inputs: [], code: '1' }));
  for (const size of [1, 4, 16, 64]) {
    await timed(`setMany of small keys, groups of ${size}`, n, async (i) => {
      if (i % size !== 0) return;
      await db.setMany(Array.from({ length: size }, (_, j) => ({ key: ['squares', `b${size}-${i + j}`], value: { n: i + j } })));
    });
  }
}
