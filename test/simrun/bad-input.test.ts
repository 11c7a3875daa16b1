import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { generateCampaign, initSimrun } from '../../initializers/index.js';
import { cleanup, editLine, expectRefused, tempDir, vmFile } from './helpers.js';

describe('bad input: a clear error naming run folder, file and line; nothing written', () => {
  it('voltage columns != synapse files', async () => {
    const err = await expectRefused(async (_raw, folder) => {
      const syn = (await readdir(folder)).filter((f) => f.endsWith('_synapses.csv')).sort();
      await rm(path.join(folder, syn[0]!));
      await rm(path.join(folder, syn[0]!.replace('_synapses', '_presynaptic_cells')));
    }, /has 4 voltage columns but the folder has 3 synapse files/);
    expect(err.file).toMatch(/_vm_all_traces\.csv$/);
  }, 30_000);

  it('a non-numeric value', async () => {
    let file = '';
    const err = await expectRefused(async (_raw, folder) => {
      file = await vmFile(folder);
      await editLine(file, 30, (l) => l.replace(/\t[^\t]+$/, '\t-6x.5'));
    }, /:30: non-numeric value '-6x\.5' in column 5/);
    expect(err.file).toBe(file);
    expect(err.line).toBe(30);
  }, 30_000);

  it('a ragged row', async () => {
    await expectRefused(async (_raw, folder) => {
      const syn = (await readdir(folder)).filter((f) => f.endsWith('_synapses.csv')).sort();
      await editLine(path.join(folder, syn[1]!), 3, (l) => l.split('\t').slice(0, 4).join('\t'));
    }, /_synapses\.csv:3: ragged row/);
  }, 30_000);

  it('a run folder with a different time grid', async () => {
    const err = await expectRefused(async (_raw, folder) => {
      await editLine(await vmFile(folder), 11, (l) => l.replace(/^[^\t]+/, '999.5'));
    }, /has a different time grid: time 999\.5 where .* has /);
    expect(err.line).toBe(11);
    expect(err.message).toMatch(/run folder \//);
  }, 30_000);

  it('a parameter file that references a missing file', async () => {
    const err = await expectRefused(async (_raw, folder) => {
      const f = path.join(folder, (await readdir(folder)).find((x) => x.endsWith('_neuron_model.param'))!);
      await writeFile(f, (await readFile(f, 'utf8')).replace('86_C2_center.hoc', 'missing.hoc'));
    }, /_neuron_model\.param:\d+: run folder .* references .*missing\.hoc, which does not exist/);
    expect(err.line).toBeGreaterThan(1);
  }, 30_000);

  it('recordFailedRuns: the folder goes to failed_runs and the rest is built', async () => {
    const raw = await tempDir('failed');
    const dbDir = await tempDir('failed-db');
    try {
      const summary = await generateCampaign(raw, { trials: 8, trialsPerFolder: 4, timePoints: 40, seed: 3, dendriticSites: 1 });
      const rel = summary.runFolders.find((f) => f !== '')!;
      const folder = path.join(raw, rel);
      const f = path.join(folder, (await readdir(folder)).find((x) => x.endsWith('_network_model.param'))!);
      await writeFile(f, (await readFile(f, 'utf8')).replace(/embedding_(a|b)\.con/, 'gone.con'));
      const db = await DataBase.open(dbDir);
      const report = await initSimrun(raw, db, { quiet: true, workers: 1, recordFailedRuns: true });
      expect(report.failedRuns).toBe(1);
      const failed = (await db.get('failed_runs')) as { folder: string; file: string; line: number; reason: string }[];
      expect(failed).toHaveLength(1);
      expect(failed[0]!.folder).toBe(rel);
      expect(failed[0]!.reason).toMatch(/gone\.con/);
      const ids = (await db.get('sim_trial_index')) as string[];
      expect(ids).toHaveLength(4);
      expect(ids.some((id) => id.startsWith(`${rel}/`))).toBe(false);
    } finally {
      await cleanup(raw, dbDir);
    }
  }, 30_000);
});
