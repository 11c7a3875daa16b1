/**
 * db.query on stored keys: the same rows as a full read followed by q, while reading only the
 * needed columns, only the partitions an index condition allows, and only the matching row groups'
 * other columns.
 */
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Table, tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataBase, Registry, isDataBaseError } from '../../src/index.js';
import { withIndex, type PartitionedFrame } from '../../src/frames.js';
import { q, queryStored, emptyStats, type Where } from '../../src/query/index.js';
import { writeParquet } from '../../loaders/parquet/codec.js';
import { frameForWriting } from '../../loaders/parquet/frame.js';

let dir: string;
let db: DataBase;
const PARTS = 20;
const ROWS = 500;

function partition(p: number): Table {
  const n = ROWS;
  const ids = Array.from({ length: n }, (_, i) => `run/${String(p * n + i).padStart(6, '0')}`);
  const cols: Record<string, unknown> = {
    sim_trial_index: ids,
    a: Float64Array.from({ length: n }, (_, i) => ((p * n + i) * 7919) % 1000 / 10),
    b: BigInt64Array.from({ length: n }, (_, i) => BigInt((p * n + i) % 13)),
    s: Array.from({ length: n }, (_, i) => `type${(p * n + i) % 5}`),
  };
  for (let c = 0; c < 30; c++) cols[`w${c}`] = Float64Array.from({ length: n }, (_, i) => c + i / n);
  return withIndex(tableFromArrays(cols as never) as unknown as Table, 'sim_trial_index');
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'isfdb-query-'));
  db = await DataBase.open(path.join(dir, 'db'), { registry: new Registry(path.join(dir, 'registry')) });
  const parts = Array.from({ length: PARTS }, (_, p) => partition(p));
  await db.set('frame', parts, 'dask_to_parquet');
  await db.set('single', parts[3]!, 'pandas_to_parquet');
  // A range-indexed partitioned key.
  await db.set('ranged', [0, 1, 2].map((p) => tableFromArrays({ x: Float64Array.from({ length: 10 }, (_, i) => p * 10 + i) })), 'dask_to_parquet');
  // A single-file key with 10 row groups of 50 rows (rewritten in place: the writer's default is one group).
  const multi = parts[5]!;
  await db.set('grouped', multi, 'pandas_to_parquet');
  const file = path.join(await db.folderOf('grouped'), 'pandas_to_parquet.parquet');
  const framed = frameForWriting(multi);
  await writeParquet(file, framed.schema, [framed], { rowGroupRows: 50 });
  // Incompressible columns wider than the reader's 64 KiB read-coalescing gap, for the projection test.
  let seed = 1;
  const random = (): number => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
  await db.set('wide', [0, 1, 2].map((p) => {
    const cols: Record<string, Float64Array> = { a: Float64Array.from({ length: 10_000 }, (_, i) => p * 10_000 + i) };
    for (let c = 0; c < 8; c++) cols[`w${c}`] = Float64Array.from({ length: 10_000 }, random);
    return tableFromArrays(cols) as unknown as Table;
  }), 'dask_to_parquet');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function fullThenQ(key: string, where: Where, columns?: string[]): Promise<Table[]> {
  const value = await db.get(key);
  const tables = value instanceof Table ? [value] : await Promise.all(Array.from({ length: (value as PartitionedFrame).numPartitions }, (_, i) => (value as PartitionedFrame).readPartition(i)));
  return tables.map((table) => {
    const filtered = q(table, where);
    if (!columns) return filtered;
    const keep = new Set([...columns, 'sim_trial_index', '__index_level_0__']);
    return filtered.select(filtered.schema.fields.map((f) => f.name).filter((n) => keep.has(n)));
  });
}

function rows(t: Table | Table[]): unknown[] {
  if (Array.isArray(t)) return t.flatMap(rows);
  return t.toArray().map((r) => JSON.parse(JSON.stringify(r.toJSON(), (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))) as unknown);
}

const WHERES: Where[] = [
  { sim_trial_index: { ge: 'run/001400', lt: 'run/001600' } },
  { sim_trial_index: ['run/000003', 'run/007777', 'run/009999'] },
  { a: { lt: 5 }, s: 'type2' },
  [{ b: 3n, s: { regex: '[01]$' } }, { sim_trial_index: 'run/005000' }],
  { s: { notin: ['type0', 'type1'] }, a: { between: [10, 12] } },
  { sim_trial_index: { gt: 'run/009990' } },
  { sim_trial_index: { le: 'run/000010' }, a: { ge: 0 } },
  { a: { gt: 1000 } },
];

describe('db.query returns what a full read followed by q returns', () => {
  for (const where of WHERES) {
    it(`${JSON.stringify(where, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`, async () => {
      for (const key of ['frame', 'single', 'grouped']) {
        for (const columns of [undefined, ['a', 'w3']]) {
          const got = await db.query(key, where, columns ? { columns } : {});
          const want = await fullThenQ(key, where, columns);
          expect(got.schema.fields.map((f) => f.name)).toEqual(want[0]!.schema.fields.map((f) => f.name));
          expect(rows(got)).toEqual(rows(want));
        }
      }
    });
  }

  it('on a range index: positions are kept across partitions', async () => {
    const got = await db.query('ranged', { index: { between: [8, 21] }, x: { ne: 15 } });
    expect(Array.from(got.getChild('x')!)).toEqual([8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21]);
    expect(Array.from(got.getChild('__index_level_0__')!, Number)).toEqual([8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21]);
  });
});

describe('db.query reads only what it needs', () => {
  it('an index condition opens only the partitions its divisions allow', async () => {
    const stats = emptyStats();
    const got = await queryStored(db, 'frame', { sim_trial_index: { ge: 'run/001400', lt: 'run/001600' } }, { columns: ['a'] }, stats);
    expect(got.numRows).toBe(200);
    expect(stats.filesTotal).toBe(PARTS);
    expect(stats.filesRead).toBe(2); // rows 1000..1499 and 1500..1999
    const eq = emptyStats();
    await queryStored(db, 'frame', [{ sim_trial_index: 'run/000003' }, { sim_trial_index: { isin: ['run/009999'] } }], {}, eq);
    expect(eq.filesRead).toBe(2);
    const open = emptyStats();
    await queryStored(db, 'frame', [{ sim_trial_index: 'run/000003' }, { a: 1 }], {}, open);
    expect(open.filesRead).toBe(PARTS); // the second branch does not restrict the index
  });

  it('only the needed columns are read', async () => {
    const folder = await db.folderOf('wide');
    const keyBytes = readdirSync(folder).filter((f) => f.endsWith('.parquet')).reduce((sum, f) => sum + statSync(path.join(folder, f)).size, 0);
    const narrow = emptyStats();
    const got = await queryStored(db, 'wide', { a: { ge: 0 } }, { columns: ['w1'] }, narrow);
    expect(got.schema.fields.map((f) => f.name)).toEqual(['w1', '__index_level_0__']);
    expect(got.numRows).toBe(30_000);
    const wide = emptyStats();
    await queryStored(db, 'wide', { a: { ge: 0 } }, {}, wide);
    expect(wide.filesRead).toBe(3);
    // a (small: it compresses) and w1 of nine columns: about one eighth of the bytes.
    expect(narrow.bytesRead).toBeLessThan(keyBytes * 0.2);
    expect(wide.bytesRead).toBeGreaterThan(keyBytes * 0.9);
  });

  it('row groups are skipped by min/max statistics, else after reading only their where-columns', async () => {
    const stats = emptyStats();
    const got = await queryStored(db, 'grouped', { sim_trial_index: { between: ['run/002761', 'run/002763'] } }, {}, stats);
    expect(got.getChild('sim_trial_index')!.toArray()).toEqual(['run/002761', 'run/002762', 'run/002763']);
    expect(stats.rowGroupsTotal).toBe(10);
    expect(stats.rowGroupsSkippedByStatistics).toBe(9);
    // A regex says nothing about min/max: each row group's index column is read, the other columns only where it matches.
    const byReading = emptyStats();
    const same = await queryStored(db, 'grouped', { sim_trial_index: { regex: '^run/00276[123]$' } }, {}, byReading);
    expect(same.getChild('sim_trial_index')!.toArray()).toEqual(['run/002761', 'run/002762', 'run/002763']);
    expect(byReading.rowGroupsSkippedByStatistics).toBe(0);
    expect(byReading.rowGroupsSkippedByReading).toBe(9);
    const all = emptyStats();
    await queryStored(db, 'grouped', { a: { ge: 0 } }, {}, all);
    expect(stats.bytesRead).toBeLessThan(byReading.bytesRead);
    expect(byReading.bytesRead).toBeLessThan(all.bytesRead);
    // A numeric condition outside every row group's range reads no row group at all.
    const nothing = emptyStats();
    expect((await queryStored(db, 'grouped', { a: { gt: 1e9 } }, {}, nothing)).numRows).toBe(0);
    expect(nothing.rowGroupsSkippedByStatistics).toBe(10);
  });
});

describe('db.query: bad input', () => {
  it('a missing column fails even when no partition is read', async () => {
    const err = await db.query('frame', { sim_trial_index: 'nothing/here', nope: 1 }).catch((e: unknown) => e);
    expect(isDataBaseError(err, 'QueryError') && err.column).toBe('nope');
  });
  it('a type mismatch names column, operator and value', async () => {
    const err = await db.query('frame', { a: { gt: 'x' } }).catch((e: unknown) => e);
    expect(isDataBaseError(err, 'QueryError') && [err.column, err.operator, err.value]).toEqual(['a', 'gt', 'x']);
  });
  it('an unknown column in the columns option', async () => {
    const err = await db.query('frame', { a: 1 }, { columns: ['zz'] }).catch((e: unknown) => e);
    expect(isDataBaseError(err, 'InvalidInputError') && err.message).toMatch(/key 'frame' has no column 'zz'/);
  });
  it('a key that is not a frame', async () => {
    await db.set('arr', new Float64Array([1, 2]));
    const err = await db.query('arr', { a: 1 }).catch((e: unknown) => e);
    expect(isDataBaseError(err, 'UnsupportedFormatError') && err.message).toMatch(/db.query filters data frame keys/);
  });
});
