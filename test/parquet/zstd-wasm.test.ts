/**
 * The zstd fallback (@bokuweb/zstd-wasm compresses, fzstd decompresses), forced on a machine
 * where the native zstd-napi builds: what it writes reads back the same through itself, through
 * the native path and through DuckDB, and it reads what the native path writes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Float64, Int64, tableFromArrays, type Table } from 'apache-arrow';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readParquet, writeParquet } from '../../loaders/parquet/codec.js';
import { setZstdImplementation, zstdImplementation } from '../../loaders/parquet/compression.js';
import { REPO_ROOT } from '../services.js';

const ROWS = 60_000;
let dir: string;
let connection: DuckDBConnection;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'isfdb-zstd-wasm-'));
  connection = await (await DuckDBInstance.create(':memory:')).connect();
});
afterAll(() => {
  setZstdImplementation('auto');
  rmSync(dir, { recursive: true, force: true });
});

/** Compressible columns of several pages: a dictionary chunk and PLAIN chunks. */
function frame(): Table {
  return tableFromArrays({
    x: Float64Array.from({ length: ROWS }, (_, i) => Math.round(Math.sin(i / 50) * 1000) / 8),
    k: BigInt64Array.from({ length: ROWS }, (_, i) => BigInt(i % 97)),
    t: Float64Array.from({ length: ROWS }, (_, i) => i * 0.025),
  });
}

async function write(name: string): Promise<string> {
  const file = path.join(dir, name);
  const table = frame();
  await writeParquet(file, table.schema, [table], { compression: 'zstd', rowGroupRows: 25_000 });
  return file;
}

const expected = frame();

/** Bit-for-bit equality of two columns' values. */
function sameBytes(a: ArrayBufferView | undefined, b: ArrayBufferView | undefined): boolean {
  if (!a || !b) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function expectSameValues(table: Table): void {
  expect(table.numRows).toBe(ROWS);
  expect(table.getChild('x')?.type).toBeInstanceOf(Float64);
  expect(table.getChild('k')?.type).toBeInstanceOf(Int64);
  for (const name of ['x', 'k', 't']) expect(sameBytes(table.getChild(name)?.toArray(), expected.getChild(name)?.toArray()), name).toBe(true);
}

async function duckCheck(file: string): Promise<void> {
  const codecs = (await connection.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`)).getRows().map((r) => String(r[0]));
  expect(codecs).toContain('ZSTD');
  const [row] = (await connection.runAndReadAll(`SELECT count(*), sum(x), sum(k), max(t), sum(t) FROM read_parquet('${file}')`)).getRows();
  const sx = (expected.getChild('x')?.toArray() as Float64Array).reduce((a, b) => a + b, 0);
  const st = (expected.getChild('t')?.toArray() as Float64Array).reduce((a, b) => a + b, 0);
  expect(Number(row?.[0])).toBe(ROWS);
  expect(row?.[1] as number).toBeCloseTo(sx, 3);
  expect(Number(row?.[2])).toBe(Array.from({ length: ROWS }, (_, i) => i % 97).reduce((a, b) => a + b, 0));
  expect(row?.[3]).toBe((ROWS - 1) * 0.025);
  expect(row?.[4] as number).toBeCloseTo(st, 3);
}

describe('zstd through the wasm fallback', { timeout: 60_000 }, () => {
  it('writes and reads zstd with the wasm codec; DuckDB and the native path read the same values', async () => {
    setZstdImplementation('wasm');
    expect(zstdImplementation()).toBe('wasm');
    const file = await write('wasm.parquet');
    expectSameValues((await readParquet(file)).table);
    await duckCheck(file);

    setZstdImplementation('native');
    expect(zstdImplementation()).toBe('native');
    expectSameValues((await readParquet(file)).table);
  });

  it('reads with the wasm codec what the native codec wrote', async () => {
    setZstdImplementation('native');
    const file = await write('native.parquet');
    setZstdImplementation('wasm');
    expectSameValues((await readParquet(file)).table);
    await duckCheck(file);
  });

  it('refuses an unknown choice', () => {
    expect(() => setZstdImplementation('lz4' as never)).toThrow(/not auto, native or wasm/);
  });

  it('refuses an unknown $ISFDB_ZSTD at the first zstd use, naming the variable (in a fresh process: the choice is read once)', () => {
    const compression = pathToFileURL(path.join(REPO_ROOT, 'dist', 'loaders', 'parquet', 'compression.js')).href;
    if (!existsSync(fileURLToPath(compression))) {
      console.warn(`skipped: ${fileURLToPath(compression)} is missing (run \`npx tsc -p tsconfig.json\`)`);
      return;
    }
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', `const c = await import(${JSON.stringify(compression)}); await c.compressorFor('zstd');`], {
      env: { ...process.env, ISFDB_ZSTD: 'nativ' }, encoding: 'utf8',
    });
    expect(child.status).not.toBe(0);
    expect(child.stderr).toMatch(/\$ISFDB_ZSTD: zstd implementation 'nativ' is not auto, native or wasm/);
  });
});
