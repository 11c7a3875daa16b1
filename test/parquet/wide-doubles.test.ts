/**
 * The wide float64 path (loaders/parquet/wide-doubles.ts) writes exactly the bytes of the
 * general writer for the same frame, so that every reader sees the same file.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Data, Field, Float64, Schema, Struct, Table, Utf8, makeData, RecordBatch } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { readParquet, writeParquet } from '../../loaders/parquet/codec.js';
import type { Compression } from '../../loaders/parquet/compression.js';
import { WideDoubleLayout } from '../../loaders/parquet/wide-doubles.js';
import { readFileMeta } from '../../loaders/parquet/reader.js';
import { Codec } from '../../loaders/parquet/format.js';

const INDEX = 'sim_trial_index';

interface Case { columns: number; rows: number; value: (row: number, col: number) => number; id?: (row: number) => string; name?: (col: number) => string; indexAt?: number }

const labelOf = (c: Case, k: number): string => (c.name ?? ((i: number) => String(100 + i * 0.025)))(k);

function frameOf(c: Case): { schema: Schema; table: Table; index: { data: Uint8Array; offsets: Int32Array }; values: Float64Array } {
  const ids = Array.from({ length: c.rows }, (_, r) => (c.id ?? ((i: number) => `run/${String(i).padStart(6, '0')}`))(r));
  const bytes = ids.map((s) => new TextEncoder().encode(s));
  const offsets = new Int32Array(c.rows + 1);
  bytes.forEach((b, i) => { offsets[i + 1] = offsets[i]! + b.length; });
  const data = new Uint8Array(offsets[c.rows]!);
  bytes.forEach((b, i) => data.set(b, offsets[i]!));
  const values = new Float64Array(c.columns * c.rows);
  for (let col = 0; col < c.columns; col++) for (let r = 0; r < c.rows; r++) values[col * c.rows + r] = c.value(r, col);
  // the index column at `indexAt` (default: last), the data columns in order around it
  const at = c.indexAt ?? c.columns;
  const fields: Field[] = Array.from({ length: c.columns }, (_, k) => new Field(labelOf(c, k), new Float64(), false));
  fields.splice(at, 0, new Field(INDEX, new Utf8(), false));
  const schema = new Schema(fields, new Map([['pandas', '{"index_columns": ["sim_trial_index"]}']]));
  const children: Data[] = Array.from({ length: c.columns }, (_, k): Data => makeData({ type: new Float64(), length: c.rows, nullCount: 0, data: values.subarray(k * c.rows, (k + 1) * c.rows) }));
  children.splice(at, 0, makeData({ type: new Utf8(), length: c.rows, nullCount: 0, valueOffsets: offsets, data }));
  const table = new Table(schema, new RecordBatch(schema, makeData({ type: new Struct(fields), length: c.rows, nullCount: 0, children })));
  return { schema, table, index: { data, offsets }, values };
}

async function both(c: Case, compression: Compression): Promise<{ general: Uint8Array; lean: Uint8Array; dir: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'isfdb-wide-'));
  const { schema, table, index, values } = frameOf(c);
  const generalFile = path.join(dir, 'general.parquet');
  await writeParquet(generalFile, schema, [table], {
    compression, dictionary: false, required: new Set(schema.fields.map((f) => f.name)), alwaysMinMax: new Set([INDEX]),
  });
  const layout = await WideDoubleLayout.of(schema, INDEX, compression);
  if (!layout) throw new Error('no layout');
  const seen: Uint8Array[] = [];
  await layout.write(path.join(dir, 'lean.parquet'), { rows: c.rows, index, values }, (b) => seen.push(b.slice()));
  const lean = await readFile(path.join(dir, 'lean.parquet'));
  expect(Buffer.concat(seen).equals(lean)).toBe(true);
  return { general: await readFile(generalFile), lean, dir };
}

const voltage = (r: number, k: number): number => Math.round((-65 + 10 * Math.sin(r + k / 50)) * 1000) / 1000;

describe('wide float64 frames through the lean path', () => {
  const cases: [string, Case, Compression][] = [
    ['wide, 10 rows: chunks too small to compress', { columns: 1500, rows: 10, value: voltage }, 'zstd'],
    ['wide, 40 rows: chunks compressed one call each (zstd)', { columns: 1200, rows: 40, value: (r, k) => (k % 3 === 0 ? -65 : voltage(r, k)) }, 'zstd'],
    ['wide, 40 rows, snappy', { columns: 1200, rows: 40, value: (r, k) => (k % 2 === 0 ? -65 : voltage(r, k)) }, 'snappy'],
    ['wide, uncompressed, long index strings (no min/max, so no column orders)', { columns: 1100, rows: 3, value: voltage, id: (r) => `${'x'.repeat(70)}${r}` }, 'uncompressed'],
    ['narrow: min/max for every column, NaN and -0 among the values', { columns: 20, rows: 7, value: (r, k) => (k === 3 ? NaN : k === 4 && r === 0 ? -0 : voltage(r, k)) }, 'zstd'],
    ['wide, the index column first (as initSimrun writes its traces)', { columns: 1300, rows: 10, value: voltage, indexAt: 0 }, 'zstd'],
    ['wide, the index column in the middle, 40 rows: compressed, then plain on both sides', { columns: 1200, rows: 40, value: (r, k) => (k < 100 ? Math.sin(k * 977 + r * 131) * 1e5 : voltage(r, k)), indexAt: 500 }, 'zstd'],
    ['narrow, the index column second', { columns: 12, rows: 5, value: voltage, indexAt: 1 }, 'snappy'],
    ['column names beyond ASCII and longer than 127 bytes (their paths in the footer)', { columns: 1010, rows: 3, value: voltage, name: (k) => (k % 3 === 0 ? `é${k}` : k % 3 === 1 ? `${'x'.repeat(130 + (k % 50))}${k}` : `${'€'.repeat(60)}${k}`) }, 'zstd'],
  ];
  for (const [name, c, compression] of cases) {
    it(name, async () => {
      const { general, lean, dir } = await both(c, compression);
      try {
        expect(lean.length).toBe(general.length);
        expect(Buffer.from(lean).equals(Buffer.from(general))).toBe(true);
        const { table } = await readParquet(path.join(dir, 'lean.parquet'));
        expect(table.numRows).toBe(c.rows);
        expect(table.getChild(labelOf(c, 1))?.get(c.rows - 1)).toBe(c.value(c.rows - 1, 1));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 30_000);
  }

  it('wide, 40 rows: after 64 float chunks that do not compress, the rest are not tried (both writers)', async () => {
    // random doubles first (incompressible), constant columns later (they would compress)
    const next = (k: number, r: number): number => (k < 100 ? Math.sin(k * 977 + r * 131) * 1e5 + Math.cos(r * k) : -65);
    const { general, lean, dir } = await both({ columns: 1200, rows: 40, value: (r, k) => next(k, r) }, 'zstd');
    try {
      expect(Buffer.from(lean).equals(Buffer.from(general))).toBe(true);
      const codecs = (await readFileMeta(path.join(dir, 'lean.parquet'))).rowGroups[0]!.columns.map((c) => c.codec);
      expect(codecs.slice(0, 100).every((c) => c === Codec.uncompressed)).toBe(true);
      expect(codecs[1000]).toBe(Codec.uncompressed);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('other shapes are left to the general writer', async () => {
    const f64 = new Field('a', new Float64(), false);
    expect(await WideDoubleLayout.of(new Schema([f64, new Field('b', new Utf8(), false)]), INDEX)).toBeUndefined();
    expect(await WideDoubleLayout.of(new Schema([f64, new Field(INDEX, new Float64(), false)]), INDEX)).toBeUndefined();
    const layout = await WideDoubleLayout.of(new Schema([f64, new Field(INDEX, new Utf8(), false)]), INDEX);
    expect(layout?.fits(0)).toBe(false);
    expect(layout?.fits(10)).toBe(true);
    expect(layout?.fits(1 << 20)).toBe(false);
  });
});
