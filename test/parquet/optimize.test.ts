/**
 * `db.optimize` / `isfdb optimize`: frame keys (also ones written by pandas + pyarrow, as Python
 * ISF writes them) rewritten into our encoding with the same values and index, atomically, with
 * their provenance kept and the rewrite recorded. The Python-written keys skip without Python.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Table } from 'apache-arrow';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { DataBase, isDataBaseError, type OptimizeResult } from '../../src/index.js';
import { activations, traces } from './sample-frames.js';
import type { PartitionedFrame } from '../../loaders/parquet/partitioned-frame.js';
import { pythonWith, runPython, skipReason } from '../services.js';
import { runCli } from '../versions/procs.js';

const python = pythonWith(['pandas', 'pyarrow']);
const noPython = skipReason(python, 'keys written by pandas + pyarrow, as Python ISF writes them');
const temp = fs.mkdtempSync(path.join(tmpdir(), 'isfdb-optimize-'));
let duck: DuckDBConnection;
beforeAll(async () => { duck = await (await DuckDBInstance.create(':memory:')).connect(); });
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

/** ISF's metadata.json of a key Python wrote: no checksums, its own provenance. */
const ISF_METADATA = { dumper: 'pandas_to_parquet', time: [2024, 1, 10, 10, 0, 0, 2, 10, 0], hostname: 'isf-host', version: '0.4.0+12.gabc', 'full-revisionid': 'abc123', dirty: false };

const tracesWithNaN = (ids: string[], offset: number): Table => traces(ids, offset, (row) => row % 3 === 1);
const many = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}/${String(i).padStart(6, '0')}`);

/** Field names and values of a table (or of every partition), for exact comparison. */
async function snapshot(value: unknown): Promise<unknown> {
  const tables: Table[] = [];
  if (value instanceof Table) tables.push(value);
  else for await (const part of value as PartitionedFrame) tables.push(part);
  return tables.map((t) => ({
    fields: t.schema.fields.map((f) => f.name),
    columns: t.schema.fields.map((f) => Array.from(t.getChild(f.name)!.toArray() as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v))),
  }));
}

const parquetFiles = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.parquet')).sort().map((f) => path.join(dir, f));

/** Rows as DuckDB reads the files (in file order); a copy of the files keeps the "before" readable. */
async function duckRows(files: string[]): Promise<unknown[]> {
  const list = files.map((f) => `'${f}'`).join(', ');
  const rows = (await duck.runAndReadAll(`SELECT * FROM read_parquet([${list}], union_by_name = true)`)).getRowObjectsJson();
  return rows;
}

function copyFiles(dir: string, to: string): string[] {
  fs.mkdirSync(to, { recursive: true });
  return parquetFiles(dir).map((f) => { const target = path.join(to, path.basename(f)); fs.copyFileSync(f, target); return target; });
}

function folderDigest(dir: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex')]));
}

/** Rewrite a key's Parquet files with pandas + pyarrow (snappy, string labels as ISF writes them) and give it ISF's metadata.json. */
function makePythonWritten(folder: string, dumper: string): void {
  runPython(python.ok ? python.value : 'python3', [
    'import json, sys', 'import pandas as pd',
    'for f in json.loads(sys.argv[1]):',
    '    df = pd.read_parquet(f)',
    '    df.columns = [str(c) for c in df.columns]',
    "    df.to_parquet(f, compression='snappy')",
  ].join('\n'), [JSON.stringify(parquetFiles(folder))]);
  fs.writeFileSync(path.join(folder, 'metadata.json'), JSON.stringify({ ...ISF_METADATA, dumper }));
}

describe.skipIf(noPython !== undefined)('optimize keys written by Python ISF (pandas + pyarrow)', () => {
  it('rewrites them with the same values and index (loader and DuckDB), smaller, provenance kept and the rewrite recorded', async () => {
    const db = await DataBase.open(path.join(temp, 'py'));
    await db.set('vt', tracesWithNaN(many('C2/run', 400), 0));
    const types = ['VPM_C2', 'L4ss', 'L5tt', 'L6cc'];
    await db.set('syn', [0, 1, 2].map((p) => activations(many(`run${p}`, 300), Array.from({ length: 300 }, (_, i) => types[(i * 7 + p) % 4]!))), 'dask_to_parquet');
    makePythonWritten(await db.folderOf('vt'), 'pandas_to_parquet');
    makePythonWritten(await db.folderOf('syn'), 'dask_to_parquet');
    const before = { vt: await snapshot(await db.get('vt')), syn: await snapshot(await db.get('syn')) };
    const duckBefore = {
      vt: await duckRows(copyFiles(await db.folderOf('vt'), path.join(temp, 'before-vt'))),
      syn: await duckRows(copyFiles(await db.folderOf('syn'), path.join(temp, 'before-syn'))),
    };

    const objectMeta = async (key: string): Promise<unknown> => JSON.parse(fs.readFileSync(path.join(await db.folderOf(key), 'object_meta.json'), 'utf8'));
    const metaBefore = { vt: await objectMeta('vt'), syn: await objectMeta('syn') };
    const results: OptimizeResult[] = [await db.optimize('vt'), await db.optimize('syn')];
    expect({ vt: await objectMeta('vt'), syn: await objectMeta('syn') }).toEqual(metaBefore); // labels keep their Python types
    for (const r of results) {
      expect(r.status).toBe('optimized');
      expect(r.compressionBefore).toEqual(['snappy']);
      expect(r.createdByBefore.every((w) => w.startsWith('parquet-cpp-arrow'))).toBe(true);
      expect(r.bytesAfter).toBeGreaterThan(0);
      expect(r.bytesAfter).toBeLessThan(r.bytesBefore);
      console.log(`optimize ${r.key} (${r.loader}, ${r.files} file(s)): pyarrow snappy ${r.bytesBefore} B -> ours zstd ${r.bytesAfter} B (${(r.bytesAfter / r.bytesBefore).toFixed(2)}x)`);
    }
    expect(results[1]!.files).toBe(3);
    expect(await snapshot(await db.get('vt'))).toEqual(before.vt);
    expect(await snapshot(await db.get('syn'))).toEqual(before.syn);
    expect(await duckRows(parquetFiles(await db.folderOf('vt')))).toEqual(duckBefore.vt);
    expect(await duckRows(parquetFiles(await db.folderOf('syn')))).toEqual(duckBefore.syn);

    const meta = await db.metadata('vt');
    for (const [field, value] of Object.entries(ISF_METADATA)) expect(meta[field], field).toEqual(value);
    const records = meta['isfdb_optimized'] as Array<{ time: string; from: Record<string, unknown>; to: Record<string, unknown> }>;
    expect(records).toHaveLength(1);
    expect(records[0]!.from).toMatchObject({ compression: ['snappy'], bytes: results[0]!.bytesBefore, files: 1 });
    expect(records[0]!.to).toMatchObject({ compression: 'zstd' });
    expect(Date.parse(records[0]!.time)).toBeGreaterThan(Date.now() - 60_000);
    const report = await db.verify();
    expect(report.findings.filter((f) => f.kind !== 'unverified'), JSON.stringify(report.findings)).toEqual([]);

    // pandas reads the rewritten key with the index and float labels ISF expects
    const out = JSON.parse(runPython(python.ok ? python.value : 'python3', [
      'import json, sys', 'import pandas as pd',
      'df = pd.read_parquet(sys.argv[1])',
      'print(json.dumps({"index": list(df.index[:2]), "name": df.index.name, "rows": len(df)}))',
    ].join('\n'), [parquetFiles(await db.folderOf('vt'))[0]!])) as { index: string[]; name: string; rows: number };
    expect(out).toEqual({ index: ['C2/run/000000', 'C2/run/000001'], name: 'sim_trial_index', rows: 400 });

    const again = await db.optimize('vt');
    expect(again.status).toBe('skipped');
    expect(again.bytesAfter).toBe(results[0]!.bytesAfter);
    const snappy = await db.optimize('vt', { compression: 'snappy' });
    expect(snappy.status).toBe('optimized');
    expect(snappy.compressionBefore).toEqual(['zstd']);
    expect((await db.metadata('vt'))['isfdb_optimized']).toHaveLength(2);
    expect(await snapshot(await db.get('vt'))).toEqual(before.vt);
  }, 120_000);
});

describe('optimize', () => {
  it('keeps the previous value in the history when keepVersions is on', async () => {
    const db = await DataBase.open(path.join(temp, 'hist'), { keepVersions: 2 });
    await db.set('vt', tracesWithNaN(many('a', 50), 0), 'pandas_to_parquet', { compression: 'snappy' });
    const original = await snapshot(await db.get('vt'));
    const result = await db.optimize('vt');
    expect(result).toMatchObject({ status: 'optimized', compressionBefore: ['snappy'], compression: 'zstd' });
    const history = await db.history('vt');
    expect(history.map((v) => v.version)).toEqual([1, 'current']);
    expect(await snapshot(await db.get('vt', { version: 1 }))).toEqual(original);
    expect(await snapshot(await db.get('vt'))).toEqual(original);
    expect((await db.metadata('vt'))['isfdb_optimized']).toHaveLength(1);
  });

  it('a corrupt partition fails with a typed error naming key and file, and leaves the key as it was', async () => {
    const db = await DataBase.open(path.join(temp, 'corrupt'));
    await db.set('parts', [0, 1, 2].map((p) => tracesWithNaN(many(`r${p}`, 200), p)), 'dask_to_parquet', { compression: 'snappy' });
    const folder = await db.folderOf('parts');
    const bad = parquetFiles(folder)[1]!;
    const bytes = fs.readFileSync(bad);
    bytes.fill(0xa5, 4, Math.floor(bytes.length / 2)); // the pages, not the footer
    fs.writeFileSync(bad, bytes);
    const digest = folderDigest(folder);
    const listing = fs.readdirSync(db.basedir).sort();
    const err = await db.optimize('parts').then(() => undefined, (e: unknown) => e);
    expect(isDataBaseError(err)).toBe(true);
    expect((err as Error).message).toContain("'parts'");
    expect((err as Error).message).toContain(bad);
    expect(folderDigest(folder)).toEqual(digest);
    expect(fs.readdirSync(db.basedir).sort()).toEqual(listing);
    expect((await db.metadata('parts'))['isfdb_optimized']).toBeUndefined();
  });

  it('refuses a readonly database, keys that are not frames and unknown codecs, with typed errors', async () => {
    const dir = path.join(temp, 'refuse');
    const db = await DataBase.open(dir);
    await db.set('vt', tracesWithNaN(many('a', 5), 0));
    await db.set('plain', ['x']);
    const ro = await DataBase.open(dir, { readonly: true });
    const readonly = await ro.optimize('vt').then(() => undefined, (e: unknown) => e);
    expect(isDataBaseError(readonly, 'ReadonlyError')).toBe(true);
    const plain = await db.optimize('plain').then(() => undefined, (e: unknown) => e);
    expect(isDataBaseError(plain, 'KeyTypeConflictError')).toBe(true);
    expect((plain as Error).message).toContain('holds to_msgpack, not a frame');
    const codec = await db.optimize('vt', { compression: 'gzip' as never }).then(() => undefined, (e: unknown) => e);
    expect(isDataBaseError(codec, 'InvalidInputError')).toBe(true);
    const missing = await db.optimize('nope').then(() => undefined, (e: unknown) => e);
    expect(isDataBaseError(missing, 'KeyNotFoundError')).toBe(true);
  });

  it('isfdb optimize: --help, every frame key by default, --json, --compression, bad input exits 2', async () => {
    const help = runCli(['optimize', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('isfdb optimize <db> [key ...] [--compression zstd|snappy]');
    const dir = path.join(temp, 'cli');
    const db = await DataBase.open(dir);
    // (large enough that compression pays: our writer stores small chunks uncompressed)
    await db.set('vt', tracesWithNaN(many('a', 2000), 0), 'pandas_to_parquet', { compression: 'snappy' });
    await db.set(['sub', 'parts'], [tracesWithNaN(many('b', 1000), 0), tracesWithNaN(many('c', 1000), 1)], 'dask_to_parquet', { compression: 'snappy' });
    await db.set('plain', { a: 1 });
    const text = runCli(['optimize', dir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^optimized vt: 1 file\(s\), \d+ -> \d+ bytes .*snappy by isf-data-base.* -> zstd$/m);
    expect(text.stdout).toMatch(/^optimized sub\/parts: 2 file\(s\)/m);
    const json = JSON.parse(runCli(['optimize', dir, 'vt', '--json']).stdout) as { results: OptimizeResult[]; failures: unknown[] };
    expect(json.results.map((r) => [r.key, r.status])).toEqual([['vt', 'skipped']]);
    expect(json.failures).toEqual([]);
    const snappy = runCli(['optimize', dir, 'sub/parts', '--compression', 'snappy']);
    expect(snappy.stdout).toMatch(/^optimized sub\/parts: .* zstd by isf-data-base.* -> snappy$/m);
    const bad = runCli(['optimize', dir, '--compression', 'lz4']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--compression takes zstd or snappy');
    const notFrame = runCli(['optimize', dir, 'plain']);
    expect(notFrame.code).toBe(1);
    expect(notFrame.stderr).toContain('not a frame');
    expect(await db.get('plain')).toEqual({ a: 1 });
  });
});
