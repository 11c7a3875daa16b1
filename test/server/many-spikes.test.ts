/** The spikes route over more spike times than a function call takes arguments (~125,000). */
import path from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { cleanupTemp, sandbox } from '../core/helpers.js';
import { originOf, serve } from './helpers.js';

afterAll(cleanupTemp);

it('200,000 spike times: every trial and a PSTH over their whole span', async () => {
  const sb = await sandbox();
  const dir = path.join(sb.root, 'db');
  const db = await DataBase.open(dir, { registry: sb.registry });
  const trials = 2000;
  const columns: Record<string, Float64Array | string[]> = { sim_trial_index: Array.from({ length: trials }, (_, r) => `trial_${r}`) };
  // Spike c of trial r at 10 c + r / 1000 ms: 0 ms to 990 + 1.999 ms.
  for (let c = 0; c < 100; c++) columns[String(c)] = Float64Array.from({ length: trials }, (_, r) => 10 * c + r / 1000);
  await db.set('many_spikes', tableFromArrays(columns), 'pandas_to_parquet', { index: 'sim_trial_index', columnLabelType: 'int' });
  const server = await serve(dir);
  try {
    const response = await fetch(`${originOf(server)}/api/spikes?key=many_spikes&bin=10`);
    expect(response.status).toBe(200);
    const view = await response.json() as { trials: Array<{ id: string; times: number[] }>; psth: { borders: number[]; counts: number[] } };
    expect(view.trials.length).toBe(trials);
    expect(view.trials[1999]!.times.at(-1)).toBeCloseTo(991.999, 9);
    expect(view.psth.borders[0]).toBe(0);
    expect(view.psth.borders.at(-1)).toBeGreaterThanOrEqual(991.999);
    // 200,000 spikes over 2,000 trials: 100 per trial in all the bins together.
    expect(view.psth.counts.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 9);
  } finally {
    await server.close();
  }
});
