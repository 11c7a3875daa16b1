/**
 * Where a run's time goes per record, in one process (issue 14): the pieces a worker does for each
 * record, timed alone. `node dist/test/bench/runs-profile.js [dir]`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataBase, Registry } from '../../src/index.js';
import { appendEvent, runsFolder } from '../../src/runs/events.js';
import { keyExists } from '../../src/runs/record.js';

const base = process.argv[2] ?? os.tmpdir();
const root = fs.mkdtempSync(path.join(base, 'isfdb-runs-profile-'));
const registryDir = path.join(root, 'registry');
fs.mkdirSync(registryDir);
process.env['ISFDB_REGISTRY'] = registryDir;
void new Registry(registryDir);

async function timed(label: string, n: number, body: (i: number) => Promise<unknown> | unknown): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await body(i);
  const wall = (performance.now() - t0) / n;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${label.padEnd(48)} ${wall.toFixed(3)} ms wall, ${((cpu.user + cpu.system) / 1000 / n).toFixed(3)} ms CPU per record\n`);
}

try {
  const db = await DataBase.open(path.join(root, 'db'));
  const runs = await runsFolder(db);
  await db.createSubDb('squares');
  const n = 200;
  await timed('keyExists (output, absent)', n, (i) => keyExists(db, ['squares', `x${i}`]));
  await timed('appendEvent, new per-record file', n, (i) => appendEvent(runs, 'p', String(i), { event: 'start', attempt: 1 }));
  await timed('appendEvent, existing per-record file', n, (i) => appendEvent(runs, 'p', String(i), { event: 'done', attempt: 1 }));
  const fd = fs.openSync(path.join(root, 'one.jsonl'), 'a');
  await timed('append a line to an open file', n, (i) => fs.writeSync(fd, `{"record":"${i}","event":"start"}\n`));
  fs.closeSync(fd);
  await timed('maybeCalculate, small key, recipe', n, (i) => db.maybeCalculate(['squares', `m${i}`], () => ({ n: i, square: i * i }), { params: { step: 's', record: String(i) }, inputs: [], code: '1' }));
  await timed('set, small key', n, (i) => db.set(['squares', `s${i}`], { n: i, square: i * i }));
  for (const size of [1, 4, 16, 64]) {
    await timed(`setMany, batches of ${size}`, n, async (i) => {
      if (i % size !== 0) return;
      await db.setMany(Array.from({ length: size }, (_, j) => ({ key: ['squares', `b${size}-${i + j}`], value: { n: i + j, square: (i + j) ** 2 } })));
    });
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
