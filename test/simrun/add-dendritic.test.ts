/** addDendriticVoltageTraces / addDendriticSpikeTimes on a database initialised without them. */
import { describe, expect, it } from 'vitest';
import { DataBase, isDataBaseError } from '../../src/index.js';
import { addDendriticSpikeTimes, addDendriticVoltageTraces, generateCampaign, initSimrun } from '../../initializers/index.js';
import { cleanup, rowsOf, tempDir } from './helpers.js';

const dendKeys = async (db: DataBase, sub: string): Promise<string[]> => (await db.keys({ recurse: true })).filter((k) => k[0] === sub).map((k) => k.join('/')).sort();

describe('adding the dendritic keys later', () => {
  it('gives the same keys as a full init; the state key and the other keys stay as they were', async () => {
    const raw = await tempDir('add-dend');
    const fullDir = await tempDir('add-dend-full');
    const laterDir = await tempDir('add-dend-later');
    try {
      await generateCampaign(raw, { trials: 9, trialsPerFolder: 3, timePoints: 120, seed: 31, dendriticSites: 2 });
      const full = await DataBase.open(fullDir);
      await initSimrun(raw, full, { quiet: true, workers: 2 });
      const later = await DataBase.open(laterDir);
      await initSimrun(raw, later, { quiet: true, workers: 2, dendriticVoltageTraces: false, dendriticSpikeTimes: false });
      expect(await later.has('dendritic_recordings')).toBe(false);
      const err = await addDendriticSpikeTimes(later).catch((e: unknown) => e);
      expect(isDataBaseError(err, 'InvalidInputError')).toBe(true);
      expect((err as Error).message).toMatch(/no 'dendritic_recordings' key/);

      const state = await later.get('simrun_init_state');
      const vtBefore = await rowsOf(await later.get('voltage_traces'));
      const report = await addDendriticVoltageTraces(later, undefined, { quiet: true, workers: 2, dendriticSpikeTimes: false });
      expect(report.keys.every((k) => k.startsWith('dendritic_recordings/'))).toBe(true);
      expect(await dendKeys(later, 'dendritic_recordings')).toEqual(await dendKeys(full, 'dendritic_recordings'));
      for (const key of await dendKeys(full, 'dendritic_recordings')) {
        const k = key.split('/');
        expect(await rowsOf(await later.get(k))).toEqual(await rowsOf(await full.get(k)));
      }
      expect(await later.has('dendritic_spike_times')).toBe(false);
      expect(await later.get('simrun_init_state')).toEqual(state);
      expect(await rowsOf(await later.get('voltage_traces'))).toEqual(vtBefore);

      const written = await addDendriticSpikeTimes(later, { threshold: -30 });
      expect(written).toEqual(await dendKeys(full, 'dendritic_spike_times'));
      for (const key of written) {
        const k = key.split('/');
        const got = await rowsOf(await later.get(k));
        const want = await rowsOf(await full.get(k));
        expect(got).toEqual(want);
        expect(got.length).toBe(9);
      }
      // another threshold: another key beside it
      const other = await addDendriticSpikeTimes(later, { threshold: -50 });
      expect(other.every((k) => k.endsWith('_-50.0'))).toBe(true);
      expect((await dendKeys(later, 'dendritic_spike_times')).length).toBe(4);
    } finally {
      await cleanup(raw, fullDir, laterDir);
    }
  }, 60_000);
});
