/** isfdb show on the keys initSimrun builds: what a scientist needs, not a loader's internals. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { isfdb, removeTemps, tempDir } from './helpers.js';

let db: string;
beforeAll(async () => {
  db = path.join(await tempDir('show'), 'demo-db');
  const r = isfdb(['demo', db, '--trials', '3', '-q']);
  if (r.code !== 0) throw new Error(`isfdb demo failed: ${r.stderr}`);
}, 120_000);
afterAll(removeTemps);

describe('isfdb show', { timeout: 60_000 }, () => {
  it('voltage_traces: the shape line, index range, grouped dtypes, first rows, size and provenance', () => {
    const r = isfdb(['show', db, 'voltage_traces']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('\nshape:      3 rows x 2001 columns in 1 partition\n');
    expect(r.stdout).toMatch(/\nindex: {6}sim_trial_index, "C2_evoked\/[^"]+\/000000" \.\. "C2_evoked\/[^"]+"\n/);
    expect(r.stdout).toContain('\ndtypes:     float64 x 2001\n');
    expect(r.stdout).toContain('\ncolumns:    100.0, 100.025, 100.05, 100.075, 100.1, 100.125, ..., 149.95, 149.975, 150.0\n');
    expect(r.stdout).toMatch(/\nsize: {7}[0-9.]+ kB on disk in \d+ file\(s\)\n/);
    expect(r.stdout).toMatch(/\nprovenance: written \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, by dask_to_parquet, on /);
    expect(r.stdout).toMatch(/\nfirst rows:\n +sim_trial_index +100\.0 +100\.025 +100\.05 +100\.075\n/);
    expect(r.stdout).toMatch(/\n {2}time: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n/);
    // No internals, no 2,001 column names, no huge metadata line.
    expect(r.stdout).not.toMatch(/objectMeta|"divisions"|"dir"/);
    for (const line of r.stdout.split('\n')) expect(line.length).toBeLessThan(200);
  });

  it('--json keeps the raw time tuple and gives a structured summary', () => {
    const r = isfdb(['show', db, 'synapse_activation', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { time: string; metadata: { time: unknown }; size: { bytes: number }; summary: { shape: string; frame: { rows: number; columns: number; partitions: number; dtypes: Record<string, number> } } };
    expect(Array.isArray(json.metadata.time)).toBe(true);
    expect(json.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(json.size.bytes).toBeGreaterThan(0);
    expect(json.summary.frame).toMatchObject({ columns: 12, partitions: 1 });
    expect(json.summary.frame.rows).toBeGreaterThan(0);
    expect(json.summary.shape).toBe(`${json.summary.frame.rows} rows x 12 columns in 1 partition`);
    expect(Object.values(json.summary.frame.dtypes).reduce((a, b) => a + b, 0)).toBe(12);
  });

  it('a sub-database lists its keys; a managed folder its files', () => {
    const sub = isfdb(['show', db, 'dendritic_spike_times']);
    expect(sub.code, sub.stderr).toBe(0);
    expect(sub.stdout).toContain('shape:      sub-database with 2 key(s)\n');
    expect(sub.stdout).toMatch(/\ncontents:\n {2}apical_\S+ {2}\(pandas_to_parquet\)\n/);
    const folder = isfdb(['show', db, 'parameterfiles_cell_folder']);
    expect(folder.stdout).toContain('shape:      managed folder with 1 file(s)\n');
    expect(folder.stdout).toMatch(/\ncontents:\n {2}\S+\.param\n/);
  });

  it('a sub-database of many keys: its first 12 with their loaders, how many more, and its whole size', async () => {
    const big = path.join(await tempDir('show-many'), 'db');
    const handle = await DataBase.open(big, { fsync: false });
    await handle.setMany(Array.from({ length: 30 }, (_, i) => ({ key: ['trials', `t${String(i).padStart(2, '0')}`], value: i })));
    const r = isfdb(['show', big, 'trials']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('shape:      sub-database with 30 key(s)\n');
    const listed = Array.from({ length: 12 }, (_, i) => `  t${String(i).padStart(2, '0')}  (to_msgpack)`).join('\n');
    expect(r.stdout).toContain(`\ncontents:\n${listed}\n  ... (18 more)\n`);
    // Every key's three files, and the sub-database's own.
    expect(r.stdout).toMatch(/\nsize: {7}[0-9.]+ kB on disk in (9\d|1\d\d) file\(s\)\n/);
    const json = JSON.parse(isfdb(['show', big, 'trials', '--json']).stdout) as { size: { files: number }; summary: { keys: Array<{ key: string }> } };
    expect(json.summary.keys.map((k) => k.key)).toEqual(Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, '0')}`));
    expect(json.size.files).toBeGreaterThanOrEqual(90);
  });

  it('a pandas frame shows its range index', () => {
    const r = isfdb(['show', db, 'metadata']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('\nshape:      3 rows x 6 columns\n');
    expect(r.stdout).toContain('\nindex:      (unnamed), 0 .. 2\n');
  });
});
