/**
 * gen-simrun's activation files have the structure of real ISF output (docs/parquet.md,
 * "Activation frames"): a synapse keeps its anatomy in every trial and run folder, its times are
 * spikes of presynaptic cells of the same trial, numbers carry at most 12 significant digits. The
 * 'random' flavour is the worst case without that structure.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCampaign } from '../../initializers/index.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'isfdb-gen-act-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const rows = (file: string): string[][] => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split('\t'));
const times = (field: string): string[] => field.split(',').filter((t) => t !== '');
const significant = (t: string): number => t.replace('-', '').replace('.', '').replace(/^0+/, '').length;

async function trials(activations: 'realistic' | 'random'): Promise<{ synapses: string[][]; cells: string[][] }[]> {
  const dir = path.join(root, activations);
  const summary = await generateCampaign(dir, { trials: 12, trialsPerFolder: 4, timePoints: 20, seed: 7, synapsesPerTrial: 60, cellsPerTrial: 30, activations });
  return summary.trialIds.map((id) => {
    const folder = path.dirname(path.join(dir, id));
    const run = `simulation_run${path.basename(id).slice(-4)}`;
    return { synapses: rows(path.join(folder, `${run}_synapses.csv`)), cells: rows(path.join(folder, `${run}_presynaptic_cells.csv`)) };
  });
}

describe('generated activation files', () => {
  it('realistic (default): one fixed network, times from the presynaptic cells, 12 significant digits', async () => {
    const all = await trials('realistic');
    const anatomy = new Map<string, string>();
    let repeated = 0;
    for (const { synapses, cells } of all) {
      expect(synapses.length).toBeGreaterThan(0);
      const spikes = new Set(cells.flatMap((c) => times(c[2] ?? '')));
      for (const [type, id, distance, section, point, label, acts] of synapses) {
        const key = `${type}/${id}`;
        const anat = [distance, section, point, label].join('\t');
        if (anatomy.has(key)) {
          repeated++;
          expect(anatomy.get(key), key).toBe(anat);
        }
        anatomy.set(key, anat);
        expect(significant(distance ?? '')).toBeLessThanOrEqual(12);
        for (const t of times(acts ?? '')) {
          expect(spikes.has(t), `${key} at ${t}`).toBe(true);
          expect(significant(t)).toBeLessThanOrEqual(12);
        }
      }
      // ISF's order: by type, then numerically by ID
      const order = synapses.map((s) => [s[0] ?? '', Number(s[1])] as const);
      const sorted = [...order].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
      expect(order).toEqual(sorted);
    }
    expect(repeated).toBeGreaterThan(100);
  });

  it("'random': the worst case, distances and times never repeat across trials", async () => {
    const all = await trials('random');
    const distances = all.flatMap((t) => t.synapses.map((s) => s[2]));
    expect(new Set(distances).size).toBe(distances.length);
    const cellTimes = new Set(all.flatMap((t) => t.cells.flatMap((c) => times(c[2] ?? ''))));
    const synapseTimes = all.flatMap((t) => t.synapses.flatMap((s) => times(s[6] ?? '')));
    expect(synapseTimes.filter((t) => cellTimes.has(t)).length).toBe(0);
  });
});
