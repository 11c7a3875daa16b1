/**
 * maybeCalculate returns what get returns, for the frame loaders too (the conformance suite covers
 * the others), and every error we throw is tagged with honest fields.
 */
import path from 'node:path';
import { tableFromArrays, type Table } from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import { DataBase, FrameError, InvalidInputError, ParquetFormatError, UsageError, isDataBaseError } from '../../src/index.js';
import { PartitionedFrame } from '../../src/frames.js';
import { settleBackgroundRemovals } from '../../src/store/keyfolder.js';
import { caught, cleanupTemp, sandbox } from './helpers.js';

afterEach(async () => {
  await settleBackgroundRemovals();
  await cleanupTemp();
});

const rows = (table: Table) => table.toArray().map((row) => JSON.stringify(row));

describe('maybeCalculate returns what get returns', () => {
  it('pandas_to_parquet: a Table read back on the first call as on the cached one', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    const computed = tableFromArrays({ a: new Float64Array([1, 2, 3]), b: ['x', 'y', 'z'] });
    const first = (await db.maybeCalculate('t', () => computed)) as Table;
    const stored = (await db.get('t')) as Table;
    expect(first).not.toBe(computed);
    expect(first.schema.fields.map((f) => f.name)).toEqual(stored.schema.fields.map((f) => f.name));
    expect(rows(first)).toEqual(rows(stored));
    const cached = (await db.maybeCalculate('t', () => { throw new Error('recomputed'); })) as Table;
    expect(rows(cached)).toEqual(rows(stored));
  });

  it('dask_to_parquet: a PartitionedFrame on the first call as on the cached one, not the array of Tables fn returned', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    const parts = [tableFromArrays({ a: new Float64Array([1, 2]) }), tableFromArrays({ a: new Float64Array([3]) })];
    const first = await db.maybeCalculate('p', () => parts, { dumper: 'dask_to_parquet' });
    expect(first).toBeInstanceOf(PartitionedFrame);
    const cached = await db.maybeCalculate('p', () => { throw new Error('recomputed'); }, { dumper: 'dask_to_parquet' });
    expect(cached).toBeInstanceOf(PartitionedFrame);
    const stored = (await db.get('p')) as PartitionedFrame;
    for (const frame of [first, cached] as PartitionedFrame[]) {
      expect(frame.numPartitions).toBe(stored.numPartitions);
      expect(rows(await frame.read())).toEqual(rows(await stored.read()));
    }
  });

  it('numpy_to_npy: a Float64Array comes back as { dtype, shape, data } on both calls', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    const first = await db.maybeCalculate('n', () => new Float64Array([1, 2]));
    const cached = await db.maybeCalculate('n', () => new Float64Array([9]));
    expect(first).toEqual({ dtype: 'float64', shape: [2], data: new Float64Array([1, 2]) });
    expect(cached).toEqual(first);
  });
});

describe('errors are tagged, with honest fields', () => {
  it('InvalidInputError.file holds a file only: a bad version or columns option names the input, not a file', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    await db.set('t', tableFromArrays({ a: new Float64Array([1]) }));
    const badVersion = await caught(() => db.get('t', { version: 'seven' }));
    expect(badVersion).toBeInstanceOf(InvalidInputError);
    expect((badVersion as InvalidInputError).file).toBeUndefined();
    expect((badVersion as InvalidInputError).input).toBe('version');
    const badColumns = await caught(() => db.get('t', { columns: ['nope'] }));
    expect(isDataBaseError(badColumns, 'InvalidInputError')).toBe(true);
    expect((badColumns as InvalidInputError).file).toBeUndefined();
    expect((badColumns as InvalidInputError).input).toBe('columns option');
  });

  it('ParquetFormatError, FrameError and UsageError are DataBaseErrors with their tag', () => {
    for (const err of [new ParquetFormatError('bad magic', '/x.parquet'), new FrameError('no index'), new UsageError('--depth takes a number')]) {
      expect(isDataBaseError(err, err._tag)).toBe(true);
      expect(err._tag).toBe(err.constructor.name);
    }
    expect(new ParquetFormatError('bad magic', '/x.parquet').message).toBe('/x.parquet: bad magic');
  });
});
