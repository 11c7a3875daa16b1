import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, truncateSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Table, vectorFromArray, Utf8 } from 'apache-arrow';
import { loader as dask } from '../../loaders/dask_to_parquet.js';
import { loader as pandas } from '../../loaders/pandas_to_parquet.js';
import { PartitionedFrame } from '../../loaders/parquet/partitioned-frame.js';
import { withIndex, indexColumnOf } from '../../loaders/parquet/frame.js';
import { isDataBaseError } from '../../src/errors.js';
import { columnsOf, fakeContext, frameOf, tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => { cleanups.splice(0).forEach((c) => c()); });
function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

function partition(times: number[]): Table {
  return withIndex(frameOf({ t: Float64Array.from(times), v: Float64Array.from(times, (x) => x * 2) }), 't');
}

async function* generate(count: number): AsyncGenerator<Table> {
  for (let i = 0; i < count; i++) yield partition([i, i + 0.5]);
}

async function open(d: string, options = {}): Promise<PartitionedFrame> {
  return (await dask.load(d, { Loader: 'dask_to_parquet' }, fakeContext('parts'), options)) as PartitionedFrame;
}

describe('dask_to_parquet', () => {
  it('writes ISF file names, object_meta.json and float divisions that stay floats', async () => {
    const d = dir();
    await dask.dump([partition([0, 1]), partition([2, 3]), partition([4, 5])], d, fakeContext('parts'));
    expect(readdirSync(d).sort()).toEqual(['divisions.json', 'object_meta.json', 'pandas_to_parquet.3.0.parquet', 'pandas_to_parquet.3.1.parquet', 'pandas_to_parquet.3.2.parquet']);
    expect(readFileSync(join(d, 'divisions.json'), 'utf8')).toBe('[0.0, 2.0, 4.0, 5.0]');
    const frame = await open(d);
    expect(frame.numPartitions).toBe(3);
    expect(frame.divisions).toEqual([0, 2, 4, 5]);
    expect(frame.schema.fields.map((f) => f.name)).toEqual(['v', 't']);
    expect(columnsOf(await frame.readPartition(1))).toEqual({ v: [4, 6], t: [2, 3] });
    expect(columnsOf(await frame.read({ columns: ['v'] }))).toEqual({ v: [0, 2, 4, 6, 8, 10], t: [0, 1, 2, 3, 4, 5] });
  });

  it('streams an async iterable, prunes by index range and iterates with for await', async () => {
    const d = dir();
    await dask.dump(generate(5), d, fakeContext('parts'));
    const frame = await open(d);
    expect(frame.divisions).toEqual([0, 1, 2, 3, 4, 4.5]);
    expect(frame.partitionsInRange([1.2, 2.1])).toEqual([1, 2]);
    expect(frame.partitionsInRange([4.5, 9])).toEqual([4]);
    const seen: number[] = [];
    for await (const part of frame) seen.push(part.numRows);
    expect(seen).toEqual([2, 2, 2, 2, 2]);
    const pruned = await open(d, { indexRange: [3, 3.2] });
    expect(columnsOf(await pruned.read()).t).toEqual([3, 3.5]);
  });

  it('opens only what it needs: a missing other partition does not stop reading one', async () => {
    const d = dir();
    await dask.dump(generate(3), d, fakeContext('parts'));
    const frame = await open(d);
    rmSync(join(d, 'pandas_to_parquet.3.2.parquet'));
    expect(columnsOf(await frame.readPartition(0)).t).toEqual([0, 0.5]);
    await expect(frame.readPartition(2)).rejects.toSatisfy((e: unknown) => isDataBaseError(e, 'CorruptKeyError') && e.key === 'parts' && e.file.endsWith('pandas_to_parquet.3.2.parquet'));
    await expect(open(d)).rejects.toSatisfy((e: unknown) => isDataBaseError(e, 'CorruptKeyError') && e.file.endsWith('pandas_to_parquet.3.2.parquet') && /missing/.test(e.message));
  });

  it('keeps range indexes continuous across partitions and string divisions', async () => {
    const d = dir();
    await dask.dump([frameOf({ a: Float64Array.of(1, 2) }), frameOf({ a: Float64Array.of(3) })], d, fakeContext('parts'));
    expect(JSON.parse(readFileSync(join(d, 'divisions.json'), 'utf8'))).toEqual([0, 2, 2]);
    const s = dir();
    const named = (ids: string[]): Table => withIndex(frameOf({ id: vectorFromArray(ids, new Utf8()), x: Float64Array.from(ids, (_, i) => i) }), 'id');
    await dask.dump([named(['a', 'b']), named(['c', 'd'])], s, fakeContext('parts'));
    expect(readFileSync(join(s, 'divisions.json'), 'utf8')).toBe('["a", "c", "d"]');
    expect((await open(s)).partitionsInRange(['c', 'z'])).toEqual([1]);
  });

  it('refuses partitions with other columns, and unsorted partitions', async () => {
    await expect(dask.dump([partition([0]), frameOf({ other: Float64Array.of(1) })], dir(), fakeContext('parts'))).rejects.toSatisfy((e: unknown) => isDataBaseError(e, 'InvalidInputError'));
    await expect(dask.dump([partition([5]), partition([1])], dir(), fakeContext('parts'))).rejects.toSatisfy((e: unknown) => isDataBaseError(e, 'InvalidInputError') && /not sorted/.test(e.message));
  });

  it('can dump its own handle (copy of a key) and tells what it can dump', async () => {
    const d = dir();
    await dask.dump(generate(2), d, fakeContext('parts'));
    const copy = dir();
    await dask.dump(await open(d), copy, fakeContext('copy'));
    expect(columnsOf(await (await open(copy)).read())).toEqual(columnsOf(await (await open(d)).read()));
    expect(dask.canDump([partition([1])])).toBe(true);
    expect(dask.canDump(generate(1))).toBe(true);
    expect(dask.canDump(partition([1]))).toBe(false);
  });
});

describe('bad files give typed errors naming the key and the file', () => {
  async function stored(): Promise<string> {
    const d = dir();
    await pandas.dump(frameOf({ a: Float64Array.of(1, 2, 3), b: Int32Array.of(1, 2, 3) }), d, fakeContext('bad'));
    return d;
  }
  const load = (d: string): Promise<unknown> => pandas.load(d, { Loader: 'pandas_to_parquet' }, fakeContext('bad'));
  const corrupt = (file: string) => (e: unknown): boolean => isDataBaseError(e, 'CorruptKeyError') && e.key === 'bad' && e.file.endsWith(file);

  it('a truncated Parquet file', async () => {
    const d = await stored();
    const path = join(d, 'pandas_to_parquet.parquet');
    truncateSync(path, readFileSync(path).length - 10);
    await expect(load(d)).rejects.toSatisfy(corrupt('pandas_to_parquet.parquet'));
  });

  it('a Parquet file with damaged pages', async () => {
    const d = await stored();
    const path = join(d, 'pandas_to_parquet.parquet');
    const bytes = readFileSync(path);
    bytes.fill(0xff, 4, 40);
    writeFileSync(path, bytes);
    await expect(load(d)).rejects.toSatisfy(corrupt('pandas_to_parquet.parquet'));
  });

  it('an object_meta.json whose column count does not match', async () => {
    const d = await stored();
    const path = join(d, 'object_meta.json');
    const meta = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify({ ...meta, columns: ['a'], column_name_dtypes: ['<U1'], dtypes: ['float64'] }));
    await expect(load(d)).rejects.toSatisfy((e: unknown) => corrupt('object_meta.json')(e) && /1 columns/.test((e as Error).message));
  });

  it('a divisions.json that is not sorted', async () => {
    const d = dir();
    await dask.dump(generate(2), d, fakeContext('bad'));
    writeFileSync(join(d, 'divisions.json'), '[3, 1, 2]');
    await expect(dask.load(d, { Loader: 'dask_to_parquet' }, fakeContext('bad'))).rejects.toSatisfy((e: unknown) => corrupt('divisions.json')(e) && /not sorted/.test((e as Error).message));
  });

  it('other keys stay readable', async () => {
    const good = await stored();
    const bad = await stored();
    truncateSync(join(bad, 'pandas_to_parquet.parquet'), 20);
    await expect(load(bad)).rejects.toThrow();
    expect(indexColumnOf((await load(good)) as Table)).toBeUndefined();
  });
});
