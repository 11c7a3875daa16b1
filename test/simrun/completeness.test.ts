/**
 * Incomplete campaigns (what a crashed or still-running simulation leaves): each is a clear
 * error naming run folder, file and line with nothing written, or, with recordFailedRuns, a
 * failed_runs entry while the rest is imported. And a wrong raw path creates no database.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataBase, isDataBaseError } from '../../src/index.js';
import { generateCampaign, initSimrun } from '../../initializers/index.js';
import { cleanup, expectRefused, tempDir, vmFile } from './helpers.js';

const lines = async (file: string): Promise<number> => (await readFile(file, 'utf8')).split('\n').length;
const filesOf = async (folder: string, suffix: string): Promise<string[]> => (await readdir(folder)).filter((f) => f.endsWith(suffix)).sort().map((f) => path.join(folder, f));
const cut = async (file: string, bytes: number): Promise<void> => truncate(file, (await readFile(file)).length - bytes);

describe('completeness: a cut-off or missing file is an error naming run folder, file and line; nothing written', () => {
  it('a voltage file that ends mid-row, without its final newline', async () => {
    let file = '';
    const err = await expectRefused(async (_raw, folder) => {
      file = await vmFile(folder);
      await cut(file, 4);
    }, /_vm_all_traces\.csv:61: the file ends without its final newline: the last row is cut off/);
    expect(err.file).toBe(file);
    expect(err.line).toBe(61);
  }, 30_000);

  it('a dendritic voltage file cut off', async () => {
    await expectRefused(async (_raw, folder) => {
      await cut((await filesOf(folder, '_vm_dend_traces.csv'))[0]!, 7);
    }, /_vm_dend_traces\.csv:61: the file ends without its final newline/);
  }, 30_000);

  it('a synapse file that ends mid-row', async () => {
    let file = '';
    let n = 0;
    const err = await expectRefused(async (_raw, folder) => {
      file = (await filesOf(folder, '_synapses.csv'))[2]!;
      await cut(file, 3);
      n = await lines(file);
    }, /_synapses\.csv:\d+: the last row is cut off/);
    expect(err.file).toBe(file);
    expect(err.line).toBe(n);
  }, 30_000);

  it('a 0-byte synapse file and a header-only presynaptic-cell file', async () => {
    await expectRefused(async (_raw, folder) => {
      await writeFile((await filesOf(folder, '_synapses.csv'))[1]!, '');
    }, /simulation_run\d{4}_synapses\.csv: the file is empty \(0 bytes\), but its trial has a voltage trace/);
    await expectRefused(async (_raw, folder) => {
      await writeFile((await filesOf(folder, '_presynaptic_cells.csv'))[0]!, '# presynaptic cell type\tcell ID\tspike times\n');
    }, /_presynaptic_cells\.csv:1: the file holds only its header, no rows/);
  }, 60_000);

  it('a trial whose activation files are missing', async () => {
    await expectRefused(async (_raw, folder) => {
      await rm((await filesOf(folder, '_synapses.csv'))[3]!);
      await rm((await filesOf(folder, '_presynaptic_cells.csv'))[3]!);
    }, /run folder .*: the voltage file has 4 voltage columns but the folder has 3 synapse files .*\(1 trial\(s\) have no activation files\)/);
    await expectRefused(async (_raw, folder) => {
      await rm((await filesOf(folder, '_synapses.csv'))[0]!);
    }, /simulation_run\d{4}_synapses\.csv: run folder .*: trial \d+ has a presynaptic-cell file but no synapse file/);
  }, 60_000);

  it('a run folder with no trials', async () => {
    let empty = '';
    const err = await expectRefused(async (_raw, folder) => {
      empty = path.join(path.dirname(folder), '20240301-1200_seed77_pid31337');
      await mkdir(empty);
      await writeFile(path.join(empty, 'hostname_node9'), '');
    }, /run folder .*20240301-1200_seed77_pid31337 holds no trials: no \*_vm_all_traces\.csv/);
    expect(err.file).toBe(empty);
    await expectRefused(async (_raw, folder) => {
      for (const f of [...await filesOf(folder, '_synapses.csv'), ...await filesOf(folder, '_presynaptic_cells.csv')]) await rm(f);
    }, /_vm_all_traces\.csv: run folder .* holds no trials: no simulation_run\*_synapses\.csv/);
  }, 60_000);
});

describe('completeness with recordFailedRuns: the incomplete folders go to failed_runs, the rest is imported', () => {
  it('records folder, file, line and reason', async () => {
    const raw = await tempDir('incomplete');
    const dbDir = await tempDir('incomplete-db');
    try {
      const summary = await generateCampaign(raw, { trials: 16, trialsPerFolder: 4, timePoints: 50, seed: 5, dendriticSites: 1 });
      const nested = summary.runFolders.filter((f) => f !== '');
      const cutRel = nested[0]!;
      const synFile = (await filesOf(path.join(raw, cutRel), '_synapses.csv'))[1]!;
      await cut(synFile, 2);
      const emptyRel = `${path.dirname(nested[1]!)}/20240301-1200_seed77_pid31337`;
      await mkdir(path.join(raw, emptyRel));
      const db = await DataBase.open(dbDir);
      const report = await initSimrun(raw, db, { quiet: true, workers: 2, recordFailedRuns: true });
      expect(report.failedRuns).toBe(2);
      const failed = (await db.get('failed_runs')) as { folder: string; file: string; line?: number; reason: string }[];
      const byFolder = new Map(failed.map((f) => [f.folder, f]));
      expect(byFolder.get(cutRel)).toEqual({ folder: cutRel, file: synFile, line: await lines(synFile), reason: expect.stringMatching(/the last row is cut off/) });
      expect(byFolder.get(emptyRel)?.reason).toMatch(/holds no trials/);
      const ids = (await db.get('sim_trial_index')) as string[];
      expect(ids).toHaveLength(16 - 4);
      expect(ids.some((id) => id.startsWith(`${cutRel}/`))).toBe(false);
      const vt = (await db.get('voltage_traces')) as { numPartitions: number };
      expect(vt.numPartitions).toBe(summary.runFolders.length - 1);
    } finally {
      await cleanup(raw, dbDir);
    }
  }, 60_000);
});

describe('a wrong raw path creates and registers nothing', () => {
  let registry = '';
  let saved: string | undefined;
  beforeEach(async () => {
    saved = process.env['ISFDB_REGISTRY'];
    registry = await tempDir('registry');
    process.env['ISFDB_REGISTRY'] = registry;
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env['ISFDB_REGISTRY'];
    else process.env['ISFDB_REGISTRY'] = saved;
    await cleanup(registry);
  });

  it('for a path that does not exist and for a folder without a campaign', async () => {
    const parent = await tempDir('nocreate');
    try {
      const notACampaign = path.join(parent, 'photos');
      await mkdir(notACampaign);
      await writeFile(path.join(notACampaign, 'cat.jpg'), 'meow');
      for (const [raw, message] of [[path.join(parent, 'nope'), /does not exist/], [notACampaign, /no run folder found.*not a simulation campaign/]] as const) {
        const dbDir = path.join(parent, 'db');
        let err: unknown;
        try { await initSimrun(raw, dbDir, { quiet: true }); } catch (e) { err = e; }
        expect(isDataBaseError(err, 'InvalidInputError'), String(err)).toBe(true);
        expect((err as Error).message).toMatch(message);
        expect(existsSync(dbDir)).toBe(false);
        expect(await readdir(registry)).toEqual([]);
      }
    } finally {
      await cleanup(parent);
    }
  }, 30_000);

  it('a database given by path is created once the campaign checks out', async () => {
    const raw = await tempDir('bypath');
    const parent = await tempDir('bypath-db');
    try {
      await generateCampaign(raw, { trials: 4, trialsPerFolder: 2, timePoints: 30, seed: 8, dendriticSites: 0 });
      const dbDir = path.join(parent, 'db');
      const report = await initSimrun(raw, dbDir, { quiet: true, workers: 1 });
      expect(report.trials).toBe(4);
      const db = await DataBase.open(dbDir, { readonly: true });
      expect(await db.get('sim_trial_index')).toHaveLength(4);
    } finally {
      await cleanup(raw, parent);
    }
  }, 30_000);
});
