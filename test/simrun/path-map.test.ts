/**
 * A campaign copied from a cluster: its parameter files name the morphology, landmarks, .syn and
 * .con files by absolute /gpfs/... paths, as ISF's example campaign does. pathMap rewrites the
 * prefix before the files are resolved and copied; what is still missing is reported by folder.
 */
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataBase, isDataBaseError, resolvePath } from '../../src/index.js';
import { generateCampaign, initSimrun } from '../../initializers/index.js';
import { cleanup, tempDir } from './helpers.js';

const GPFS = '/gpfs/scratch/u1234/project_src/in_silico_framework';
const EXAMPLE = `${GPFS}/getting_started/example_data`;

async function campaign(): Promise<{ raw: string; dbDir: string }> {
  const raw = await tempDir('gpfs');
  const dbDir = await tempDir('gpfs-db');
  await generateCampaign(raw, { trials: 6, trialsPerFolder: 2, timePoints: 30, seed: 11, dendriticSites: 1, referencePrefix: GPFS });
  return { raw, dbDir };
}

async function paramTexts(dbDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const k of ['parameterfiles_cell_folder', 'parameterfiles_network_folder']) {
    const dir = path.join(dbDir, k);
    for (const f of (await readdir(dir)).filter((x) => x.endsWith('.param'))) out.push(await readFile(path.join(dir, f), 'utf8'));
  }
  return out;
}

describe('pathMap: absolute cluster paths in parameter files', () => {
  it('the fixture names /gpfs/... paths, and without a map the error lists every missing file by folder', async () => {
    const { raw, dbDir } = await campaign();
    try {
      const neuronParam = (await readdir(raw)).find((f) => f.endsWith('_neuron_model.param'))!;
      expect(await readFile(path.join(raw, neuronParam), 'utf8')).toContain(`'${EXAMPLE}/anatomical_constraints/86_C2_center.hoc'`);
      const db = await DataBase.open(dbDir);
      let err: unknown;
      try { await initSimrun(raw, db, { quiet: true, workers: 1 }); } catch (e) { err = e; }
      expect(isDataBaseError(err, 'InvalidInputError'), String(err)).toBe(true);
      const message = (err as Error).message;
      expect(message).toMatch(/_neuron_model\.param:\d+: run folder .* references \/gpfs\/scratch\/.*86_C2_center\.hoc and 1 more, which does not exist/);
      expect(message).toContain(`6 referenced files missing, by folder: ${EXAMPLE}/anatomical_constraints/ (2 files: 86_C2_center.hoc, rec_sites.landmarkAscii); ${EXAMPLE}/network_embedding/ (4 files: embedding_a.con, embedding_a.syn, embedding_b.con, embedding_b.syn)`);
      expect(message).toMatch(/--path-map OLD=NEW/);
      expect(await db.keys()).toEqual([]);
    } finally {
      await cleanup(raw, dbDir);
    }
  }, 30_000);

  it('remaps, copies and rewrites them to reldb://; a partial map reports what is left by prefix', async () => {
    const { raw, dbDir } = await campaign();
    try {
      // a partial map: only the anatomy folder; the network embedding stays missing
      const partial = await initSimrun(raw, dbDir, { quiet: true, workers: 1, recordFailedRuns: true, pathMap: { [`${EXAMPLE}/anatomical_constraints`]: path.join(raw, 'example_data', 'anatomical_constraints') } })
        .catch((e: unknown) => e);
      expect(isDataBaseError(partial, 'InvalidInputError'), String(partial)).toBe(true);
      expect((partial as Error).message).toMatch(/every run folder failed \(3\).*network_model\.param.*embedding_(a|b)\.(syn|con)/);
      expect(existsSync(dbDir) && (await readdir(dbDir)).length > 0).toBe(false);

      const report = await initSimrun(raw, dbDir, { quiet: true, workers: 1, pathMap: [[`${EXAMPLE}/`, path.join(raw, 'example_data')]] });
      expect(report.failedRuns).toBe(0);
      expect(report.missingFiles).toEqual([]);
      const texts = await paramTexts(dbDir);
      expect(texts.length).toBe(4);
      const all = texts.join('\n');
      expect(all).not.toContain('/gpfs/');
      expect(all).toContain(`'reldb://morphology/86_C2_center.hoc'`);
      const db = await DataBase.open(dbDir, { readonly: true });
      const refs = [...new Set([...all.matchAll(/'(reldb:\/\/[^']+)'/g)].map((m) => m[1]!))];
      expect(refs.length).toBeGreaterThanOrEqual(4);
      for (const ref of refs) {
        const resolved = await resolvePath(ref, { from: path.join(dbDir, 'parameterfiles_cell_folder') });
        expect(resolved.startsWith(dbDir)).toBe(true);
        const text = await readFile(resolved, 'utf8');
        // the second line of a .syn/.con names its .hoc/.syn: remapped and rewritten too
        if (resolved.endsWith('.syn') || resolved.endsWith('.con')) expect(text.split('\n')[1]).toMatch(/reldb:\/\/(morphology|syn_folder)\//);
      }
      // the original paths are what ISF records in `parameterfiles`, unchanged
      expect(await db.keys()).toContain('parameterfiles');
    } finally {
      await cleanup(raw, dbDir);
    }
  }, 30_000);

  it('recordFailedRuns with missing files: the report groups them by prefix', async () => {
    const { raw, dbDir } = await campaign();
    try {
      // map everything, then hide one .con: the folders naming it fail, the others import
      const { rm } = await import('node:fs/promises');
      await rm(path.join(raw, 'example_data', 'network_embedding', 'embedding_b.con'));
      const report = await initSimrun(raw, dbDir, { quiet: true, workers: 1, recordFailedRuns: true, pathMap: { [EXAMPLE]: path.join(raw, 'example_data') } });
      expect(report.failedRuns).toBeGreaterThan(0);
      expect(report.missingFiles).toEqual([{ prefix: path.join(raw, 'example_data', 'network_embedding'), files: ['embedding_b.con'] }]);
      const db = await DataBase.open(dbDir, { readonly: true });
      const failed = (await db.get('failed_runs')) as { reason: string }[];
      for (const f of failed) expect(f.reason).toMatch(/references .*embedding_b\.con \(looked for at .*example_data\/network_embedding\/embedding_b\.con\), which does not exist/);
    } finally {
      await cleanup(raw, dbDir);
    }
  }, 30_000);
});
