import { cp, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Table } from 'apache-arrow';
import { DataBase, isErrorFinding, verifyDataBase } from '../../src/index.js';
import { generateCampaign, initSimrun } from '../../initializers/index.js';
import { cleanup, rowsOf, tempDir } from './helpers.js';

describe('re-running initSimrun on a campaign that gained run folders', () => {
  it('adds the new folders without re-parsing the old ones; the keys are replaced whole', async () => {
    const raw = await tempDir('inc');
    const more = await tempDir('inc-more');
    const dbDir = await tempDir('inc-db');
    try {
      const first = await generateCampaign(raw, { trials: 10, trialsPerFolder: 5, timePoints: 80, seed: 21, dendriticSites: 1 });
      const db = await DataBase.open(dbDir);
      const r1 = await initSimrun(raw, db, { quiet: true, workers: 2 });
      expect(r1.trials).toBe(10);
      const before = await rowsOf(await db.get('voltage_traces'));
      const sumsBefore = (await db.metadata('voltage_traces')).isfdb_checksums ?? {};
      const spikesBefore = await rowsOf(await db.get('spike_times'));

      // the old folders' CSV files become unreadable: re-parsing them would fail
      for (const rel of first.runFolders) {
        const dir = path.join(raw, rel);
        for (const f of (await readdir(dir)).filter((x) => x.endsWith('.csv'))) {
          const file = path.join(dir, f);
          await writeFile(file, 'this file must not be parsed again\n');
        }
      }
      // new run folders (same time grid, more synapse times possibly) under a new sub-folder
      const second = await generateCampaign(more, { trials: 8, trialsPerFolder: 4, timePoints: 80, seed: 22, dendriticSites: 1, synapsesPerTrial: 60 });
      const added = second.runFolders.filter((f) => f !== '');
      for (const rel of added) await cp(path.join(more, rel), path.join(raw, 'added', rel), { recursive: true });

      const sumsBeforeValues = Object.entries(sumsBefore).filter(([f]) => f.endsWith('.parquet'));
      expect(sumsBeforeValues.length).toBe(2);
      const r2 = await initSimrun(raw, db, { quiet: true, workers: 2 });
      expect(r2.newFolders).toBe(added.length);
      const verified = await verifyDataBase(db);
      expect(verified.findings.filter(isErrorFinding)).toEqual([]);
      // the kept (copied) partitions keep the checksums recorded when they were written
      const sumsAfter = Object.values((await db.metadata('voltage_traces')).isfdb_checksums ?? {});
      for (const [, sum] of sumsBeforeValues) expect(sumsAfter).toContain(sum);
      const ids = (await db.get('sim_trial_index')) as string[];
      expect(ids).toHaveLength(10 + second.trialIds.filter((id) => id.includes('/')).length);
      expect([...ids].sort()).toEqual(ids);
      const after = await rowsOf(await db.get('voltage_traces'));
      expect(after.map((r) => r['sim_trial_index'])).toEqual(ids);
      // the old trials' values are untouched
      for (const row of before) expect(after.find((r) => r['sim_trial_index'] === row['sim_trial_index'])).toEqual(row);
      const spikesAfter = await rowsOf(await db.get('spike_times'));
      for (const row of spikesBefore) {
        const got = spikesAfter.find((r) => r['sim_trial_index'] === row['sim_trial_index'])!;
        const vals = (o: Record<string, unknown>): number[] => Object.entries(o).filter(([k]) => k !== 'sim_trial_index').map(([, v]) => v as number).filter((v) => !Number.isNaN(v));
        expect(vals(got)).toEqual(vals(row));
      }
      // every synapse partition has the same columns
      const frame = (await db.get('synapse_activation')) as AsyncIterable<Table>;
      const widths = new Set<number>();
      for await (const t of frame) widths.add(t.numCols);
      expect(widths.size).toBe(1);
      const pf = await rowsOf(await db.get('parameterfiles'));
      expect(pf.map((r) => r['sim_trial_index'])).toEqual(ids);

      // nothing new: nothing written
      const r3 = await initSimrun(raw, db, { quiet: true, workers: 2 });
      expect(r3.keys).toEqual([]);
    } finally {
      await cleanup(raw, more, dbDir);
    }
  }, 60_000);
});

describe('an interrupted run', () => {
  it('leaves the keys as they were (interrupted while parsing) or resumable (interrupted between keys)', async () => {
    const raw = await tempDir('intr');
    const more = await tempDir('intr-more');
    const dbDir = await tempDir('intr-db');
    try {
      await generateCampaign(raw, { trials: 6, trialsPerFolder: 3, timePoints: 50, seed: 31, dendriticSites: 1 });
      const db = await DataBase.open(dbDir);
      await initSimrun(raw, db, { quiet: true, workers: 2 });
      const ids1 = (await db.get('sim_trial_index')) as string[];
      const vt1 = await rowsOf(await db.get('voltage_traces'));
      const second = await generateCampaign(more, { trials: 6, trialsPerFolder: 3, timePoints: 50, seed: 32, dendriticSites: 1 });
      for (const rel of second.runFolders.filter((f) => f !== '')) await cp(path.join(more, rel), path.join(raw, 'added', rel), { recursive: true });

      // 1. interrupted while parsing: every key is still the old one
      await expect(initSimrun(raw, db, {
        quiet: true, workers: 2,
        onProgress: (e) => { if (e.phase === 'parse' && e.folders >= 1) throw new Error('interrupted'); },
      })).rejects.toThrow(/interrupted/);
      expect(await db.get('sim_trial_index')).toEqual(ids1);
      expect(await rowsOf(await db.get('voltage_traces'))).toEqual(vt1);

      // 2. interrupted after the partitioned keys, before the small keys and the state
      await expect(initSimrun(raw, db, {
        quiet: true, workers: 2,
        onProgress: (e) => { if (e.phase === 'write') throw new Error('interrupted later'); },
      })).rejects.toThrow(/interrupted later/);
      expect(await db.get('sim_trial_index')).toEqual(ids1);

      // 3. the next run completes it, without duplicating the folders already added
      const r = await initSimrun(raw, db, { quiet: true, workers: 2 });
      const ids = (await db.get('sim_trial_index')) as string[];
      const addedIds = second.trialIds.filter((id) => id.includes('/'));
      expect(ids.length).toBe(ids1.length + addedIds.length);
      expect(new Set(ids).size).toBe(ids.length);
      expect(r.newFolders).toBe(second.runFolders.filter((f) => f !== '').length);
      const vt = await rowsOf(await db.get('voltage_traces'));
      expect(vt.map((x) => x['sim_trial_index'])).toEqual(ids);
    } finally {
      await cleanup(raw, more, dbDir);
    }
  }, 60_000);
});
