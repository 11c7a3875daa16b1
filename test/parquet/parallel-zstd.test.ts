/**
 * Large reads decompress zstd pages on worker threads, straight into the columns' arrays
 * (SharedArrayBuffers). The threshold is lowered here so a small file takes that path; the
 * values must be bit-equal to what was written, and a corrupt page is a typed error, not a hang.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromArrays, type Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readParquet, writeParquet } from '../../loaders/parquet/codec.js';
import { readFileMeta } from '../../loaders/parquet/reader.js';
import { ParquetFormatError } from '../../loaders/parquet/errors.js';
import { zstdImplementation } from '../../loaders/parquet/compression.js';
import { setParallelZstdBytes } from '../../loaders/parquet/zstd-pool.js';

const ROWS = 200_000;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'isfdb-parallel-zstd-'));
  setParallelZstdBytes(1);
});
afterAll(() => {
  setParallelZstdBytes(undefined);
  rmSync(dir, { recursive: true, force: true });
});

function frame(): Table {
  return tableFromArrays({
    x: Float64Array.from({ length: ROWS }, (_, i) => Math.round(Math.sin(i / 40) * 1e4) / 16),
    k: BigInt64Array.from({ length: ROWS }, (_, i) => BigInt((i * 7919) % 100_003)),
    f: Float32Array.from({ length: ROWS }, (_, i) => (i % 1000) / 4),
  });
}

const bytesOf = (v: ArrayBufferView | undefined): Buffer => (v ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.alloc(0));

describe.skipIf(zstdImplementation() !== 'native' || os.availableParallelism() < 2)('zstd pages decompressed on worker threads', () => {
  it('reads bit-equal values into shared arrays, over several row groups and pages', async () => {
    const file = path.join(dir, 'frame.parquet');
    const table = frame();
    await writeParquet(file, table.schema, [table], { compression: 'zstd', rowGroupRows: 70_000, dictionary: false });
    const meta = await readFileMeta(file);
    expect(meta.rowGroups.length).toBe(3);
    expect(meta.rowGroups.every((g) => g.columns.every((c) => c.codec === 6))).toBe(true);
    const { table: back } = await readParquet(file);
    for (const name of ['x', 'k', 'f']) {
      const column = back.getChild(name);
      expect(bytesOf(column?.toArray()).equals(bytesOf(table.getChild(name)?.toArray())), name).toBe(true);
      expect(column?.data[0]?.values.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
  });

  it('a corrupt zstd page is a typed error', async () => {
    const file = path.join(dir, 'corrupt.parquet');
    const table = frame();
    await writeParquet(file, table.schema, [table], { compression: 'zstd', dictionary: false });
    const meta = await readFileMeta(file);
    const column = meta.rowGroups[0]!.columns[0]!;
    const bytes = readFileSync(file);
    // Break the first page's zstd frame header (its magic number): zstd pages carry no checksum,
    // so flipped literal bytes would read as other values, as with any Parquet reader.
    const at = bytes.indexOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), column.dataPageOffset);
    expect(at).toBeGreaterThan(0);
    bytes[at] = 0;
    writeFileSync(file, bytes);
    const err = await readParquet(file).catch((e: unknown) => e);
    expect(err instanceof ParquetFormatError || err instanceof RangeError, String(err)).toBe(true);
  });
});
