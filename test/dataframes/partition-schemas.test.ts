/**
 * PartitionedFrame.read() joins partitions whose Arrow schemas differ where pandas sees one
 * frame (q13's "Table and inner RecordBatch schemas must be equivalent"): categorical columns
 * (each file's ARROW:schema gives its own Dictionary id), a column with no value in one
 * partition (pyarrow's null type), int in one partition and float (after NaN) in another,
 * categorical and plain strings. Reproduced with partitions written by pandas + pyarrow, as
 * Python ISF writes them, and with Arrow tables directly.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Dictionary, Float64, Int32, Int64, Null, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { DataBase, Registry, isDataBaseError } from '../../src/index.js';
import type { PartitionedFrame } from '../../src/frames.js';
import { unifyPartitions } from '../../loaders/parquet/unify-partitions.js';
import { FrameError } from '../../loaders/parquet/frame.js';
import { pythonWith, runPython, skipReason } from '../services.js';

const python = pythonWith(['pandas', 'pyarrow']);
const noPython = skipReason(python, 'partitions written by pandas + pyarrow');
const root = mkdtempSync(path.join(os.tmpdir(), 'isfdb-part-schemas-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const values = (t: Table, name: string): unknown[] => Array.from({ length: t.numRows }, (_, i) => t.getChild(name)?.get(i) ?? null);

describe('partitions with different Arrow schemas', () => {
  it('unifies dictionary ids, null-typed columns, int with float, categorical with plain strings', () => {
    const dict = (xs: string[]) => vectorFromArray(xs, new Dictionary(new Utf8(), new Int32()));
    const a = new Table({
      cat: dict(['x', 'y']),
      n: vectorFromArray([1n, 2n], new Int64()),
      s: vectorFromArray(['p', 'q'], new Utf8()),
      m: dict(['u', 'v']),
    });
    const b = new Table({
      cat: dict(['z', 'x']),
      n: vectorFromArray([3.5, NaN], new Float64()),
      s: vectorFromArray([null, null], new Null()),
      m: vectorFromArray(['w', null], new Utf8()),
    });
    expect(() => new Table(a.schema, [...a.batches, ...b.batches] as never)).toThrow(/schemas must be equivalent/);
    const parts = unifyPartitions([a, b]);
    const whole = new Table(parts[0]!.schema, parts.flatMap((p) => p.batches));
    expect(String(whole.getChild('cat')?.type)).toBe(String(a.getChild('cat')?.type));
    expect(values(whole, 'cat')).toEqual(['x', 'y', 'z', 'x']);
    expect(whole.getChild('n')?.type).toBeInstanceOf(Float64);
    expect(values(whole, 'n')).toEqual([1, 2, 3.5, NaN]);
    expect(whole.getChild('s')?.type).toBeInstanceOf(Utf8);
    expect(values(whole, 's')).toEqual(['p', 'q', null, null]);
    expect(whole.getChild('m')?.type).toBeInstanceOf(Utf8);
    expect(values(whole, 'm')).toEqual(['u', 'v', 'w', null]);
  });

  it('refuses, typed, columns that do not combine', () => {
    const a = new Table({ v: vectorFromArray(['1'], new Utf8()) });
    const b = new Table({ v: vectorFromArray([1], new Float64()) });
    expect(() => unifyPartitions([a, b])).toThrow(FrameError);
    expect(() => unifyPartitions([a, b])).toThrow(/column 'v' has types Utf8, Float64/);
  });

  it.skipIf(noPython !== undefined)('reads a key whose partitions pandas + pyarrow wrote with categoricals, an all-None column and int/float', async () => {
    const db = await DataBase.open(path.join(root, 'db'), { registry: new Registry(path.join(root, 'registry')) });
    // The key's layout (divisions.json, object_meta.json) from our writer; its files from pyarrow.
    const part = (ids: string[]) => new Table({
      sim_trial_index: vectorFromArray(ids, new Utf8()),
      cat: vectorFromArray(ids.map(() => 'a'), new Utf8()),
      n: vectorFromArray(ids.map(() => 1n), new Int64()),
      s: vectorFromArray(ids.map(() => 'p'), new Utf8()),
    });
    await db.set('mixed', [part(['t0', 't1']), part(['t2', 't3'])], 'dask_to_parquet', { index: 'sim_trial_index' });
    const folder = await db.folderOf(['mixed']);
    const files = readdirSync(folder).filter((f) => f.endsWith('.parquet')).sort().map((f) => path.join(folder, f));
    expect(files).toHaveLength(2);
    runPython(python.ok ? python.value : '', `
import sys, pandas as pd, numpy as np
a = pd.DataFrame({'cat': pd.Categorical(['x', 'y']), 'n': np.array([1, 2], dtype='int64'), 's': ['p', 'q']}, index=pd.Index(['t0', 't1'], name='sim_trial_index'))
b = pd.DataFrame({'cat': pd.Categorical(['z', 'x']), 'n': [3.5, np.nan], 's': [None, None]}, index=pd.Index(['t2', 't3'], name='sim_trial_index'))
a.to_parquet(sys.argv[1]); b.to_parquet(sys.argv[2])
`, files);
    const handle = (await db.get('mixed')) as PartitionedFrame;
    const whole = await handle.read();
    expect(whole.numRows).toBe(4);
    expect(values(whole, 'cat')).toEqual(['x', 'y', 'z', 'x']);
    expect(values(whole, 'n')).toEqual([1, 2, 3.5, null]);
    expect(values(whole, 's')).toEqual(['p', 'q', null, null]);
    expect(values(whole, 'sim_trial_index')).toEqual(['t0', 't1', 't2', 't3']);
  });

  it.skipIf(noPython !== undefined)('a key whose partitions do not combine is a typed error naming the key', async () => {
    const db = await DataBase.open(path.join(root, 'db2'), { registry: new Registry(path.join(root, 'registry')) });
    const part = (ids: string[]) => new Table({ sim_trial_index: vectorFromArray(ids, new Utf8()), v: vectorFromArray(ids.map(() => 1), new Float64()) });
    await db.set('bad', [part(['t0']), part(['t1'])], 'dask_to_parquet', { index: 'sim_trial_index' });
    const folder = await db.folderOf(['bad']);
    const file = readdirSync(folder).filter((f) => f.endsWith('.parquet')).sort().map((f) => path.join(folder, f))[1]!;
    runPython(python.ok ? python.value : '', `
import sys, pandas as pd
pd.DataFrame({'v': ['text']}, index=pd.Index(['t1'], name='sim_trial_index')).to_parquet(sys.argv[1])
`, [file]);
    const handle = (await db.get('bad')) as PartitionedFrame;
    const err = await handle.read().catch((e: unknown) => e);
    expect(isDataBaseError(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(/'bad'|bad/);
    expect(String((err as Error).message)).toMatch(/column 'v'/);
  });
});
