/**
 * Steps used by the runs tests, imported by worker processes from dist/test/runs/steps.js.
 * Behaviour comes from the environment, so one module serves every test:
 * (module: import.meta.url, because vitest maps stack frames to the .ts sources.)
 * RUNS_SIDE_FILE (each invocation appends "<record> <pid>"), RUNS_SLEEP_MS, RUNS_FAIL (records
 * that throw, comma-separated), RUNS_SPIN_MS (busy CPU per record), RUNS_UNSTORABLE (records whose
 * value no loader can store: they fail at the commit, not in run).
 */
import fs from 'node:fs';
import { defineStep } from '../../src/runs/index.js';

function invoked(record: string | number): void {
  const file = process.env['RUNS_SIDE_FILE'];
  if (file) fs.appendFileSync(file, `${record} ${process.pid}\n`);
}

async function behave(record: string | number): Promise<void> {
  invoked(record);
  const sleep = Number(process.env['RUNS_SLEEP_MS'] ?? '0');
  if (sleep > 0) await new Promise((resolve) => setTimeout(resolve, sleep));
  const spin = Number(process.env['RUNS_SPIN_MS'] ?? '0');
  if (spin > 0) {
    const until = performance.now() + spin;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    if (x < 0) throw new Error('unreachable');
  }
  if ((process.env['RUNS_FAIL'] ?? '').split(',').includes(String(record))) throw new Error(`record ${record} fails on purpose`);
}

/** squares/<n> = { n, square }: no inputs. */
export const square = defineStep({
  name: 'square',
  module: import.meta.url,
  output: (n: number) => ['squares', String(n)],
  version: '1',
  run: async (n: number) => {
    await behave(n);
    if ((process.env['RUNS_UNSTORABLE'] ?? '').split(',').includes(String(n))) return { n, square: new Map([[n, n * n]]) };
    return { n, square: n * n };
  },
});

/** doubled/<id> = 2 * inputs/<id>. */
export const double = defineStep({
  name: 'double',
  module: import.meta.url,
  inputs: (id: string) => ({ value: ['inputs', id] }),
  output: (id: string) => ['doubled', id],
  run: async (id: string, ctx) => {
    await behave(id);
    const value = await ctx.input<{ v: number }>('value');
    ctx.log(`doubling ${value.v}`);
    return { v: value.v * 2 };
  },
});
