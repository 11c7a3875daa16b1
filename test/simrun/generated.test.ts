import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Table } from 'apache-arrow';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DataBase, isErrorFinding, resolvePath } from '../../src/index.js';
import { generateCampaign, initSimrun, type CampaignSummary, type InitSimrunReport } from '../../initializers/index.js';
import { cleanup, columnNames, readTraceFile, rowsOf, tempDir } from './helpers.js';

function spikesOf(rows: number[][], col: number, thr: number): number[] {
  const out: number[] = [];
  for (let i = 1; i < rows.length; i++) if (rows[i - 1]![col]! < thr && rows[i]![col]! >= thr) out.push(rows[i]![0]!);
  return out;
}

describe('initSimrun on a generated campaign', () => {
  let raw: string;
  let dbDir: string;
  let db: DataBase;
  let summary: CampaignSummary;
  let report: InitSimrunReport;

  beforeAll(async () => {
    raw = await tempDir('gen');
    dbDir = await tempDir('gen-db');
    summary = await generateCampaign(raw, { trials: 17, trialsPerFolder: 4, timePoints: 300, seed: 11 });
    db = await DataBase.open(dbDir);
    report = await initSimrun(raw, db, { quiet: true, workers: 2 });
  }, 30_000);
  afterAll(async () => cleanup(raw, dbDir));

  it('finds every run folder (root, nested, old and new names), skips _running', async () => {
    expect(report.parsing).toBe('workers');
    expect(report.folders).toBe(5);
    expect(summary.runFolders).toContain('');
    expect(summary.runFolders.some((f) => /\/\d{8}-\d{4}_\d+$/.test(f))).toBe(true);
    const filelist = (await db.get('filelist')) as string[];
    expect(filelist).toHaveLength(5);
    expect(filelist.some((f) => f.includes('_running'))).toBe(false);
  });

  it('trial ids, in order, with non-consecutive trial numbers', async () => {
    const ids = (await db.get('sim_trial_index')) as string[];
    expect(ids).toEqual(summary.trialIds);
    expect(ids).toHaveLength(17);
    const vt = await rowsOf(await db.get('voltage_traces'));
    expect(vt.map((r) => r['sim_trial_index'])).toEqual(ids);
    const meta = await rowsOf(await db.get('metadata'));
    expect(meta.map((r) => r['sim_trial_index'])).toEqual(ids);
  });

  it('one voltage partition per run folder; row counts of the activation keys', async () => {
    const frame = (await db.get('voltage_traces')) as { numPartitions: number };
    expect(frame.numPartitions).toBe(5);
    const syn = await rowsOf(await db.get('synapse_activation'));
    let expected = 0;
    for (const id of summary.trialIds) {
      const rel = id.includes('/') ? id.slice(0, id.lastIndexOf('/')) : '';
      const n = Number(id.slice(-6));
      const text = await readFile(path.join(raw, rel, `simulation_run${String(n).padStart(4, '0')}_synapses.csv`), 'utf8');
      const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
      expect(syn.filter((r) => r['sim_trial_index'] === id)).toHaveLength(lines);
      expected += lines;
    }
    expect(syn).toHaveLength(expected);
  });

  it('spike times equal an independent computation (0 mV soma, -30 mV dendrites)', async () => {
    const st = await rowsOf(await db.get('spike_times'));
    const sub = (await db.get('dendritic_spike_times')) as DataBase;
    const dkeys = await sub.keys();
    let total = 0;
    for (const rel of summary.runFolders) {
      const dir = path.join(raw, rel);
      const files = await readdir(dir);
      const vm = await readTraceFile(path.join(dir, files.find((f) => f.endsWith('_vm_all_traces.csv'))!));
      const ids = summary.trialIds.filter((id) => (rel === '' ? !id.includes('/') : id.startsWith(`${rel}/`)));
      ids.forEach((id, j) => {
        const want = spikesOf(vm, j + 1, 0);
        total += want.length;
        const row = st.find((r) => r['sim_trial_index'] === id)!;
        const got = Object.keys(row).filter((k) => k !== 'sim_trial_index').map((k) => row[k] as number).filter((v) => !Number.isNaN(v));
        expect(got).toEqual(want);
      });
      const dfile = files.find((f) => f.endsWith('_vm_dend_traces.csv'))!;
      const label = dfile.slice(dfile.indexOf('_apical') + 1, -'_vm_dend_traces.csv'.length);
      const dvm = await readTraceFile(path.join(dir, dfile));
      const drows = await rowsOf(await sub.get(`${label}_-30.0`));
      ids.forEach((id, j) => {
        const row = drows.find((r) => r['sim_trial_index'] === id)!;
        const got = Object.keys(row).filter((k) => k !== 'sim_trial_index').map((k) => row[k] as number).filter((v) => !Number.isNaN(v));
        expect(got).toEqual(spikesOf(dvm, j + 1, -30));
      });
    }
    expect(total).toBeGreaterThan(0);
    expect(report.spikes).toBe(total);
    expect(dkeys).toHaveLength(2);
  });

  it('parameter files: md5 hashes, copies with reldb:// paths that resolve inside the database', async () => {
    const pf = await rowsOf(await db.get('parameterfiles'));
    expect(pf).toHaveLength(17);
    for (const row of pf) {
      const bytes = await readFile(row['path_neuron'] as string);
      expect(row['hash_neuron']).toBe(createHash('md5').update(bytes).digest('hex'));
      const nbytes = await readFile(row['path_network'] as string);
      expect(row['hash_network']).toBe(createHash('md5').update(nbytes).digest('hex'));
      expect(existsSync(path.join(dbDir, 'parameterfiles_cell_folder', `${row['hash_neuron']}.param`))).toBe(true);
      expect(existsSync(path.join(dbDir, 'parameterfiles_network_folder', `${row['hash_network']}.param`))).toBe(true);
    }
    const cellFolder = (await db.get('parameterfiles_cell_folder')) as string;
    const netFolder = (await db.get('parameterfiles_network_folder')) as string;
    const texts = [
      ...await Promise.all((await readdir(cellFolder)).filter((f) => f.endsWith('.param')).map((f) => readFile(path.join(cellFolder, f), 'utf8'))),
      ...await Promise.all((await readdir(netFolder)).filter((f) => f.endsWith('.param')).map((f) => readFile(path.join(netFolder, f), 'utf8'))),
    ];
    expect(texts.length).toBe(4);
    const refs = texts.flatMap((t) => [...t.matchAll(/'(reldb:\/\/[^']+)'/g)].map((m) => m[1]!));
    expect(refs.length).toBeGreaterThan(4);
    expect(texts.join('').includes(raw)).toBe(false);
    for (const ref of [...new Set(refs)]) {
      const abs = resolvePath(ref, { from: cellFolder }) as unknown as string;
      const resolved = typeof abs === 'string' ? abs : await abs;
      expect(resolved.startsWith(dbDir)).toBe(true);
      expect(existsSync(resolved)).toBe(true);
      if (resolved.endsWith('.con') || resolved.endsWith('.syn')) {
        const second = (await readFile(resolved, 'utf8')).split('\n')[1]!;
        expect(second).toMatch(/reldb:\/\//);
      }
    }
  });

  it('every key verifies: the partition checksums the workers computed while writing match the files', async () => {
    const report = await db.verify();
    expect(report.findings.filter((f) => isErrorFinding(f))).toEqual([]);
    expect(report.keysVerified).toBeGreaterThan(10);
    const meta = await db.metadata('voltage_traces') as unknown as { isfdb_checksums: Record<string, string> };
    const files = Object.keys(meta.isfdb_checksums);
    expect(files.filter((f) => f.endsWith('.parquet'))).toHaveLength(5);
    expect(files).toContain('object_meta.json');
    expect(files).toContain('divisions.json');
  });

  it('keys are readable by an independent Parquet reader (hyparquet)', async () => {
    const dir = path.join(dbDir, 'voltage_traces');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.parquet')).sort();
    expect(files).toHaveLength(5);
    const buf = await readFile(path.join(dir, files[0]!));
    const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const rows = await parquetReadObjects({ file, compressors });
    const ours = (await rowsOf(await db.get('voltage_traces'))).filter((r) => rows.some((x) => x['sim_trial_index'] === r['sim_trial_index']));
    expect(rows.length).toBe(ours.length);
    expect(rows[0]!['100.0']).toBe(ours[0]!['100.0']);
    const sbuf = await readFile(path.join(dbDir, 'spike_times', 'pandas_to_parquet.parquet'));
    const srows = await parquetReadObjects({ file: sbuf.buffer.slice(sbuf.byteOffset, sbuf.byteOffset + sbuf.byteLength), compressors });
    expect(srows).toHaveLength(17);
  });
});

describe('initSimrun on the NPZ variant', () => {
  it('reads *_vm_all_traces.npz when no CSV exists, time labels 0.025*k', async () => {
    const raw = await tempDir('npz');
    const dbDir = await tempDir('npz-db');
    try {
      const summary = await generateCampaign(raw, { trials: 6, trialsPerFolder: 3, timePoints: 50, seed: 5, format: 'npz' });
      const db = await DataBase.open(dbDir);
      const report = await initSimrun(raw, db, { quiet: true, workers: 1 });
      expect(report.format).toBe('npz');
      expect(await db.get('sim_trial_index')).toEqual(summary.trialIds);
      const tables: Table[] = [];
      for await (const t of (await db.get('voltage_traces')) as AsyncIterable<Table>) tables.push(t);
      const names = columnNames(tables[0]!).filter((n) => n !== 'sim_trial_index');
      expect(names).toHaveLength(50);
      expect(names.slice(0, 4)).toEqual(['0.0', '0.025', '0.05', '0.07500000000000001']);
      expect(((await db.get('filelist')) as string[]).every((f) => f.endsWith('.npz'))).toBe(true);
    } finally {
      await cleanup(raw, dbDir);
    }
  }, 30_000);
});
