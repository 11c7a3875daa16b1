/**
 * Keys we write, loaded by real pandas, dask and msgpack the way Python ISF loads them
 * (test/parquet/isf_load.py): same index, column labels (with their Python types) and values;
 * dask_to_parquet keys with string columns pass dask's meta check; plain values written with
 * to_msgpack load with msgpack.load. Skips with the reason without Python.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Table } from 'apache-arrow';
import { DataBase } from '../../src/index.js';
import { generateCampaign, initSimrun } from '../../initializers/index.js';
import type { PartitionedFrame } from '../../loaders/parquet/partitioned-frame.js';
import { activations, traces } from './sample-frames.js';
import { REPO_ROOT, pythonWith, skipReason } from '../services.js';

const python = pythonWith(['pandas', 'pyarrow', 'dask', 'msgpack']);
const reason = skipReason(python, 'ISF-style loads with pandas, dask and msgpack');
const temp = mkdtempSync(path.join(tmpdir(), 'isfdb-pyinterop-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe.skipIf(reason !== undefined)('keys written here, loaded by Python the way ISF loads them', () => {
  it('pandas_to_parquet, dask_to_parquet (string columns), legacy keys and plain values', async () => {
    const db = await DataBase.open(path.join(temp, 'db'));
    await db.set('vt', traces(['a/000000', 'a/000001', 'a/000002'], 0));
    await db.set('parts', [activations(['a/0', 'a/1', 'a/2'], ['VPM_C2', 'L4ss', 'VPM_C2']), activations(['b/0', 'b/1'], ['L5tt', 'L5tt'])], 'dask_to_parquet');
    await db.set('traces', [traces(['a/000000', 'a/000001'], 0), traces(['b/000000', 'b/000001'], 10)], 'dask_to_parquet');
    // plain values go to ISF's to_msgpack by default
    await db.set('filelist', ['/raw/a/0_vm.csv', '/raw/b/1_vm.csv']);
    await db.set('state', { folders: 2, done: true, ratio: 0.25, names: ['x', 'ü'], nested: { n: null } });
    expect(await db.loaderOf('state')).toBe('to_msgpack');
    expect(await db.get('filelist')).toEqual(['/raw/a/0_vm.csv', '/raw/b/1_vm.csv']);
    const refused = await db.set('typed', { a: new Float64Array([1, 2]) }, 'to_msgpack').then(() => undefined, (e: unknown) => e);
    expect(String(refused)).toContain('typed arrays, bigints and -0 need value_to_msgpack');

    const folder = async (key: string): Promise<string> => db.folderOf(key);
    const jobs = {
      frames: [['vt', await folder('vt')]],
      dask: [['parts', await folder('parts')], ['traces', await folder('traces')]],
      msgpack: [['filelist', await folder('filelist')], ['state', await folder('state')]],
    };
    const r = spawnSync(python.ok ? python.value : 'python3', [path.join(REPO_ROOT, 'test', 'parquet', 'isf_load.py')], { input: JSON.stringify(jobs), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, any>;

    expect(out['vt'].index).toEqual(['a/000000', 'a/000001', 'a/000002']);
    expect(out['vt'].index_name).toBe('sim_trial_index');
    expect(out['vt'].columns).toEqual([[100, 'float'], [100.025, 'float'], [100.05, 'float']]);
    expect(out['vt'].values['100.025']).toEqual([-65 + 0.100025, 'NaN', -65 + 2 + 0.100025]);

    expect(out['parts'].index).toEqual(['a/0', 'a/1', 'a/2', 'b/0', 'b/1']);
    expect(out['parts'].values['synapse_type']).toEqual(['VPM_C2', 'L4ss', 'VPM_C2', 'L5tt', 'L5tt']);
    // (tableFromArrays puts the integer-like label '0' first; pandas 3 reads strings as its 'str' dtype)
    const stringDtype = Number(String(out['__pandas_version__']).split('.')[0]) >= 3 ? 'str' : 'object';
    expect(out['parts'].dtypes).toEqual(['float64', stringDtype, 'int32']);
    expect(out['parts'].values['0']).toEqual([0, 'NaN', 3, 0, 'NaN']);

    expect(out['traces'].index).toEqual(['a/000000', 'a/000001', 'b/000000', 'b/000001']);
    expect(out['traces'].values['100.0'][2]).toBeCloseTo(-65 + 10 + 0.1, 12);

    expect(out['filelist']).toEqual(['/raw/a/0_vm.csv', '/raw/b/1_vm.csv']);
    expect(out['state']).toEqual({ folders: 2, done: true, ratio: 0.25, names: ['x', 'ü'], nested: { n: null } });
  }, 120_000);

  it('every key of an initSimrun database loads in Python: frames with pandas and dask, plain keys with msgpack', async () => {
    const raw = path.join(temp, 'raw');
    await generateCampaign(raw, { trials: 6, trialsPerFolder: 3, timePoints: 50, seed: 5 });
    const db = await DataBase.open(path.join(temp, 'simdb'));
    await initSimrun(raw, db, { quiet: true, workers: 1 });
    const jobs: Record<'frames' | 'dask' | 'msgpack', Array<[string, string]>> = { frames: [], dask: [], msgpack: [] };
    const byLoader = new Map<string, string[]>();
    const rows = new Map<string, number>();
    const folders: string[][] = [];
    for (const key of await db.keys({ recurse: true })) {
      const name = key.join('/');
      const loader = await db.loaderOf(key);
      byLoader.set(loader, [...(byLoader.get(loader) ?? []), name]);
      if (loader === 'pandas_to_parquet') {
        jobs.frames.push([name, await db.folderOf(key)]);
        rows.set(name, (await db.get(key) as Table).numRows);
      } else if (loader === 'dask_to_parquet') {
        jobs.dask.push([name, await db.folderOf(key)]);
        let n = 0;
        for await (const part of await db.get(key) as PartitionedFrame) n += part.numRows;
        rows.set(name, n);
      } else if (loader === 'to_msgpack') {
        jobs.msgpack.push([name, await db.folderOf(key)]);
      } else if (loader === 'just_create_folder') {
        folders.push(key); // ISF's loader returns the folder's path
      } else {
        throw new Error(`initSimrun wrote ${name} with ${loader}, which Python ISF cannot load`);
      }
    }
    expect(byLoader.get('to_msgpack')?.sort()).toEqual(['filelist', 'sim_trial_index', 'simresult_path', 'simrun_init_state']);
    expect(jobs.dask.map(([name]) => name)).toEqual(expect.arrayContaining(['voltage_traces', 'synapse_activation', 'cell_activation']));
    expect(jobs.frames.map(([name]) => name)).toEqual(expect.arrayContaining(['metadata', 'spike_times', 'parameterfiles']));

    const r = spawnSync(python.ok ? python.value : 'python3', [path.join(REPO_ROOT, 'test', 'parquet', 'isf_load.py')], { input: JSON.stringify(jobs), encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, any>;
    for (const [name] of jobs.msgpack) expect(out[name], name).toEqual(await db.get(name.split('/')));
    for (const [name] of [...jobs.frames, ...jobs.dask]) expect(out[name].index.length, name).toBe(rows.get(name));
    const ids = await db.get('sim_trial_index') as string[];
    expect(ids).toHaveLength(6);
    expect(out['voltage_traces'].index).toEqual(ids);
    expect(out['metadata'].values['sim_trial_index']).toEqual(ids); // a column, as in ISF's metadata
    expect(out['voltage_traces'].index_name).toBe('sim_trial_index');
    for (const key of folders) expect(statSync(await db.get(key) as string).isDirectory()).toBe(true);
  }, 180_000);

  it('older ISF keys: no object_meta.json (or the older dask_meta.json name) load with string labels', async () => {
    const db = await DataBase.open(path.join(temp, 'legacy'));
    await db.set('old', traces(['a/0', 'a/1'], 0));
    await db.set('older', [traces(['a/0', 'a/1'], 0)], 'dask_to_parquet');
    const old = await db.folderOf('old');
    rmSync(path.join(old, 'object_meta.json'));
    renameSync(path.join(await db.folderOf('older'), 'object_meta.json'), path.join(await db.folderOf('older'), 'dask_meta.json'));
    const warnings: string[] = [];
    const onWarning = (w: Error): void => { warnings.push(w.message); };
    process.on('warning', onWarning);
    try {
      const frame = await db.get('old') as Table;
      const { columnLabels } = await import('../../loaders/parquet/frame.js');
      expect(columnLabels(frame)).toEqual(['100.0', '100.025', '100.05']);
      const older = await db.get('older') as { read(): Promise<Table> };
      expect(columnLabels(await older.read())).toEqual([100, 100.025, 100.05]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.some((w) => w.includes('has no object_meta.json'))).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
