import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Table } from 'apache-arrow';
import { DataBase } from '../../src/index.js';
import { initSimrun, type InitSimrunReport } from '../../initializers/index.js';
import { HAVE_FIXTURE, cleanup, columnNames, copyFixture, readTraceFile, rowsOf, tempDir } from './helpers.js';

if (!HAVE_FIXTURE) console.warn('skipped: ../shared/fixtures/isf-simrun-subsampled is absent (the shared fixtures are not checked out)');

describe.skipIf(!HAVE_FIXTURE)('initSimrun on the real ISF sample (../shared/fixtures/isf-simrun-subsampled)', () => {
  let raw: string;
  let dbDir: string;
  let db: DataBase;
  let report: InitSimrunReport;
  const tables = async (key: string | string[]): Promise<Table[]> => {
    const out: Table[] = [];
    for await (const t of (await db.get(key)) as AsyncIterable<Table>) out.push(t);
    return out;
  };

  beforeAll(async () => {
    raw = await copyFixture();
    dbDir = await tempDir('fixture-db');
    db = await DataBase.open(dbDir);
    // the sample ships its parameter files as templates only, so parameterfiles is off here
    report = await initSimrun(raw, db, { parameterfiles: false, quiet: true, workers: 2 });
  }, 30_000);
  afterAll(async () => cleanup(raw, dbDir));

  it('builds the keys', async () => {
    expect(report.trials).toBe(2);
    expect(await db.get('sim_trial_index')).toEqual(['000000', '000001']);
    expect(await db.get('filelist')).toEqual(['20240_vm_all_traces.csv']);
    expect(await db.get('simresult_path')).toBe(raw);
    const keys = await db.keys();
    for (const k of ['metadata', 'voltage_traces', 'synapse_activation', 'cell_activation', 'spike_times', 'dendritic_recordings', 'dendritic_spike_times']) expect(keys).toContain(k);
  });

  it('voltage_traces: 200 time points from 100.0 to 104.975, values equal to the CSV', async () => {
    const [t, ...rest] = await tables('voltage_traces');
    expect(rest).toHaveLength(0);
    const names = columnNames(t!).filter((n) => n !== 'sim_trial_index');
    expect(names).toHaveLength(200);
    expect(names[0]).toBe('100.0');
    expect(names[1]).toBe('100.025');
    expect(names[199]).toBe('104.975');
    const meta = JSON.parse(await readFile(path.join(dbDir, 'voltage_traces', 'object_meta.json'), 'utf8')) as { column_name_dtypes: string[] };
    expect(new Set(meta.column_name_dtypes)).toEqual(new Set(['float64']));
    // first and last rows of the CSV, parsed here independently
    const text = (await readFile(path.join(raw, '20240_vm_all_traces.csv'), 'utf8')).trimEnd().split('\n');
    const first = text[1]!.split('\t').map(Number);
    const last = text[text.length - 1]!.split('\t').map(Number);
    expect(t!.getChild('100.0')!.toArray()).toEqual(new Float64Array(first.slice(1)));
    expect(t!.getChild('104.975')!.toArray()).toEqual(new Float64Array(last.slice(1)));
    expect(last[0]).toBe(104.975);
    // every value
    const all = await readTraceFile(path.join(raw, '20240_vm_all_traces.csv'));
    all.forEach((row, k) => {
      const col = t!.getChild(names[k]!)!;
      expect([col.get(0), col.get(1)]).toEqual([row[1], row[2]]);
    });
    expect([...t!.getChild('sim_trial_index')!]).toEqual(['000000', '000001']);
  });

  it('synapse_activation and cell_activation: 199 rows per trial, first and last rows equal to the CSV', async () => {
    const syn = await rowsOf(await db.get('synapse_activation'));
    const cells = await rowsOf(await db.get('cell_activation'));
    for (const trial of ['000000', '000001']) {
      expect(syn.filter((r) => r['sim_trial_index'] === trial)).toHaveLength(199);
      expect(cells.filter((r) => r['sim_trial_index'] === trial)).toHaveLength(199);
    }
    for (const [n, trial] of [[0, '000000'], [1, '000001']] as const) {
      const lines = (await readFile(path.join(raw, `simulation_run000${n}_synapses.csv`), 'utf8')).trimEnd().split('\n').slice(1);
      const rows = syn.filter((r) => r['sim_trial_index'] === trial);
      for (const [line, row] of [[lines[0]!, rows[0]!], [lines[lines.length - 1]!, rows[rows.length - 1]!]] as const) {
        const f = line.split('\t');
        expect(row['synapse_type']).toBe(f[0]);
        expect(row['synapse_ID']).toBe(BigInt(f[1]!));
        expect(row['soma_distance']).toBe(Number(f[2]));
        expect(row['section_ID']).toBe(BigInt(f[3]!));
        expect(row['section_pt_ID']).toBe(BigInt(f[4]!));
        expect(row['dendrite_label']).toBe(f[5]);
        const times = f[6]!.split(',').filter((x) => x !== '').map(Number);
        times.forEach((v, k) => expect(row[String(k)]).toBe(v));
        expect(Number.isNaN(row[String(times.length)] ?? NaN)).toBe(true);
      }
      const cl = (await readFile(path.join(raw, `simulation_run000${n}_presynaptic_cells.csv`), 'utf8')).trimEnd().split('\n').slice(1);
      const crows = cells.filter((r) => r['sim_trial_index'] === trial);
      const f = cl[cl.length - 1]!.split('\t');
      expect(crows[crows.length - 1]!['presynaptic_cell_type']).toBe(f[0]);
      expect(crows[crows.length - 1]!['cell_ID']).toBe(BigInt(f[1]!));
      f[2]!.split(',').filter((x) => x !== '').map(Number).forEach((v, k) => expect(crows[crows.length - 1]![String(k)]).toBe(v));
    }
  });

  it('dendritic recordings: both sites, each on its own time grid (ID_001 has 199 points)', async () => {
    const sub = (await db.get('dendritic_recordings')) as DataBase;
    const labels = await sub.keys();
    expect(labels).toEqual([
      'apical_proximal_distal_rec_sites_ID_000_sec_038_seg_032_x_0.929_somaDist_920.7',
      'apical_proximal_distal_rec_sites_ID_001_sec_025_seg_001_x_0.500_somaDist_198.1',
    ]);
    const [a] = await tables(['dendritic_recordings', labels[0]!]);
    const [b] = await tables(['dendritic_recordings', labels[1]!]);
    expect(columnNames(a!).length - 1).toBe(200);
    const bn = columnNames(b!).filter((n) => n !== 'sim_trial_index');
    expect(bn).toHaveLength(199);
    expect(bn[198]).toBe('104.95');
    const rows = await readTraceFile(path.join(raw, `20240_${labels[1]}_vm_dend_traces.csv`));
    expect(b!.getChild('104.95')!.toArray()).toEqual(new Float64Array(rows[198]!.slice(1)));
    const spikes = (await (await db.get('dendritic_spike_times') as DataBase).keys());
    expect(spikes).toEqual(labels.map((l) => `${l}_-30.0`));
  });

  it('metadata', async () => {
    const rows = await rowsOf(await db.get('metadata'));
    expect(rows.map((r) => [r['sim_trial_index'], r['path'], r['trialnr'], r['voltage_traces_file_name'], r['synapses_file_name'], r['cells_file_name']])).toEqual([
      ['000000', '', '000000', '20240_vm_all_traces.csv', 'simulation_run0000_synapses.csv', 'simulation_run0000_presynaptic_cells.csv'],
      ['000001', '', '000001', '20240_vm_all_traces.csv', 'simulation_run0001_synapses.csv', 'simulation_run0001_presynaptic_cells.csv'],
    ]);
  });
});

describe.skipIf(!HAVE_FIXTURE)('the real ISF parameter files (templates of the sample, paths filled in)', () => {
  it('parses them, copies them and their referenced files, rewrites the paths to reldb://', async () => {
    const { mkdir, readdir, writeFile } = await import('node:fs/promises');
    const raw = await copyFixture();
    const isf = await tempDir('isf-dir');
    const dbDir = await tempDir('fixture-params-db');
    try {
      for (const which of ['neuron', 'network']) {
        const text = await readFile(path.join(raw, `20240_${which}_model.param.TEMPLATE`), 'utf8');
        const filled = text.split('[IN_SILICO_FRAMEWORK_DIR]').join(isf);
        await writeFile(path.join(raw, `20240_${which}_model.param`), filled);
        for (const m of filled.matchAll(/"([^"]+\.(?:hoc|landmarkAscii|syn|con))"/g)) {
          const file = m[1]!;
          await mkdir(path.dirname(file), { recursive: true });
          const second = file.endsWith('.con') ? `# ${file.replace(/\.con$/, '.syn')}` : file.endsWith('.syn') ? `# corresponding to cell: ${isf}/x.hoc` : '';
          await writeFile(file, `# header\n${second}\ncontent of ${path.basename(file)}\n`);
        }
      }
      const db = await DataBase.open(dbDir);
      await initSimrun(raw, db, { quiet: true, workers: 1, voltageTraces: false, synapseActivation: false, dendriticVoltageTraces: false, dendriticSpikeTimes: false });
      const keys = await db.keys();
      for (const off of ['voltage_traces', 'synapse_activation', 'cell_activation', 'dendritic_recordings', 'dendritic_spike_times']) expect(keys).not.toContain(off);
      expect(keys).toContain('spike_times');
      const rows = await rowsOf(await db.get('parameterfiles'));
      expect(rows).toHaveLength(2);
      const net = (await db.get('parameterfiles_network_folder')) as string;
      const files = (await readdir(net)).filter((f) => f.endsWith('.param'));
      expect(files).toEqual([`${rows[0]!['hash_network']}.param`]);
      const copied = await readFile(path.join(net, files[0]!), 'utf8');
      expect(copied).not.toContain(isf);
      expect(copied).toMatch(/"distributionFile": 'reldb:\/\/syn_folder\/[0-9a-f]{32}\/example_embedding_86_C2_center\.syn'/);
      // everything but the paths is kept as written (Python floats stay floats)
      expect(copied).toContain('"intervals": [(0.0, 1.0), (2.0, 3.0)');
      const original = (await readFile(path.join(raw, '20240_network_model.param'), 'utf8')).split('\n');
      const rewritten = copied.split('\n');
      expect(rewritten).toHaveLength(original.length);
      original.forEach((line, k) => { if (!line.includes(isf)) expect(rewritten[k]).toBe(line); });
      const cell = (await db.get('parameterfiles_cell_folder')) as string;
      const neuron = await readFile(path.join(cell, (await readdir(cell)).find((f) => f.endsWith('.param'))!), 'utf8');
      expect(neuron).toContain(`"filename": 'reldb://morphology/86_C2_center.hoc'`);
      expect(neuron).toContain(`"recordingSites": ['reldb://recsites_folder/apical_proximal_distal_rec_sites.landmarkAscii']`);
    } finally {
      await cleanup(raw, isf, dbDir);
    }
  }, 30_000);
});
