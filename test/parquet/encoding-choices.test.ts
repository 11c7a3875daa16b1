/**
 * encodingChoices: a column's dictionary-or-PLAIN trial runs on the first file of a frame and is
 * followed by the later ones (initSimrun's partitions, a dask_to_parquet dump). The writer must
 * record what it chose, follow what it is given, and write the same values either way.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Dictionary, Int32, Table, Type, Utf8, Vector, makeData, tableFromArrays, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readParquet, writeParquet } from '../../loaders/parquet/codec.js';
import { readFileMeta } from '../../loaders/parquet/reader.js';
import { Encoding } from '../../loaders/parquet/format.js';
import { withPlainStrings } from '../../loaders/parquet/frame.js';
import type { EncodingChoice } from '../../src/frames.js';
import { DataBase } from '../../src/index.js';
import { partitionFileName } from '../../src/frames.js';

const ROWS = 20_000;
let dir: string;
beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'isfdb-encoding-choices-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A deterministic stream of pseudo-random numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
}

/** few: 40 distinct values (a dictionary wins); spread: all distinct (the dictionary gives up early). */
function frame(seed: number, rows = ROWS): Table {
  const r = random(seed);
  const levels = Array.from({ length: 40 }, () => r() * 1000);
  return tableFromArrays({
    few: Float64Array.from({ length: rows }, () => levels[Math.floor(r() * levels.length)]!),
    spread: Float64Array.from({ length: rows }, () => r()),
  });
}

async function encodings(file: string): Promise<Record<string, boolean>> {
  const meta = await readFileMeta(file);
  const out: Record<string, boolean> = {};
  for (const c of meta.rowGroups[0]!.columns) out[c.path.join('.')] = c.encodings.includes(Encoding.rleDictionary);
  return out;
}

async function sameValues(file: string, table: Table): Promise<void> {
  const { table: back } = await readParquet(file);
  for (const name of ['few', 'spread']) expect(Array.from(back.getChild(name)!.toArray() as Float64Array), name).toEqual(Array.from(table.getChild(name)!.toArray() as Float64Array));
}

describe('encodingChoices', () => {
  it('records the trial of a chunk that built a dictionary, and only of big enough chunks', async () => {
    const choices = new Map<string, EncodingChoice>();
    const table = frame(1);
    const file = path.join(dir, 'first.parquet');
    await writeParquet(file, table.schema, [table], { encodingChoices: choices });
    expect(await encodings(file)).toEqual({ few: true, spread: false });
    // 'spread' gave up early (all distinct): nothing to remember, the next file looks again cheaply
    expect([...choices.keys()]).toEqual(['few']);
    expect(choices.get('few')?.dictionary).toBe(true);
    await sameValues(file, table);

    const small = new Map<string, EncodingChoice>();
    const tiny = frame(2, 1000);
    await writeParquet(path.join(dir, 'tiny.parquet'), tiny.schema, [tiny], { encodingChoices: small });
    expect(small.size).toBe(0);
  });

  it('follows a given choice instead of trying (PLAIN where the trial would take the dictionary)', async () => {
    const table = frame(3);
    const tried = path.join(dir, 'tried.parquet');
    await writeParquet(tried, table.schema, [table], {});
    expect((await encodings(tried)).few).toBe(true);
    const told = path.join(dir, 'told.parquet');
    const choices = new Map<string, EncodingChoice>([['few', { dictionary: false, compressed: true }]]);
    await writeParquet(told, table.schema, [table], { encodingChoices: choices });
    expect((await encodings(told)).few).toBe(false);
    expect(choices.get('few')).toEqual({ dictionary: false, compressed: true });
    await sameValues(told, table);
  });

  it('a dask_to_parquet dump decides each column on its first partition', async () => {
    const db = await DataBase.open(path.join(dir, 'db'));
    const [p0, p1] = [frame(4), frame(5)];
    await db.set('parts', [p0, p1], 'dask_to_parquet');
    const files = [0, 1].map((i) => path.join(dir, 'db', 'parts', partitionFileName(2, i)));
    expect(await encodings(files[0]!)).toEqual({ few: true, spread: false });
    expect(await encodings(files[1]!)).toEqual({ few: true, spread: false });
    // partition 1 followed partition 0's choice: told otherwise up front, both partitions obey
    await db.set('plain', [p0, p1], 'dask_to_parquet', { encodingChoices: new Map([['few', { dictionary: false, compressed: true }]]) });
    for (let i = 0; i < 2; i++) expect((await encodings(path.join(dir, 'db', 'plain', partitionFileName(2, i)))).few).toBe(false);
    await sameValues(files[1]!, p1);
    const filled = new Map<string, EncodingChoice>();
    await db.set('again', [p0, p1], 'dask_to_parquet', { encodingChoices: filled });
    expect(filled.get('few')?.dictionary).toBe(true);
  });
});

describe('dictionary-encoded string columns stored as plain strings (withPlainStrings)', () => {
  const words = ['ApicalDendrite', 'Dendrite', 'Soma', 'ApicalDendrite', 'unused', 'é_unicode'];

  /** The same strings twice: dictionary-encoded (entries 0 and 3 alike, entry 4 unused, nulls) and plain. */
  /**
   * The same strings twice, dictionary-encoded and plain. Null rows (every 7th, `withNulls`) keep
   * an arbitrary key, here -1 or one past the dictionary, as pandas' categorical codes may.
   */
  function both(rows: number, seed: number, withNulls: boolean, dictionaryWords = words, keyOf?: (i: number) => number): { keyed: Table; plain: Table } {
    const r = random(seed);
    const keys = Int32Array.from({ length: rows }, (_, i) => (withNulls && i % 7 === 0 ? (i % 2 ? -1 : dictionaryWords.length) : keyOf ? keyOf(i) : [0, 1, 2, 3, 5][Math.floor(r() * 5)]!));
    const nulls = new Uint8Array(Math.ceil(rows / 8)).fill(255);
    if (withNulls) for (let i = 0; i < rows; i += 7) nulls[i >> 3]! &= ~(1 << (i & 7));
    const nullCount = withNulls ? Math.ceil(rows / 7) : 0;
    const type = new Dictionary(new Utf8(), new Int32());
    const label = new Vector([makeData({ type, length: rows, nullCount, nullBitmap: nulls, data: keys, dictionary: vectorFromArray(dictionaryWords, new Utf8()) })]);
    const values = Array.from({ length: rows }, (_, i) => (withNulls && i % 7 === 0 ? null : dictionaryWords[keys[i]!]!));
    const n = vectorFromArray(Float64Array.from({ length: rows }, (_, i) => i));
    return { keyed: new Table({ label, n }), plain: new Table({ label: vectorFromArray(values, new Utf8()), n }) };
  }

  // 2,000 distinct 77-byte strings in runs of 5: whether a dictionary pays is close, and must be
  // decided on the same byte counts as for the decoded strings
  const long = Array.from({ length: 2000 }, (_, k) => `C2_evoked/sweep (1)/20240211-1001_66865/simulation_run${String(k).padStart(12, '0')}_x`);

  it('writes the same bytes as the decoded strings, with and without a dictionary page', async () => {
    const cases = [[5000, true, true], [5000, true, false], [5000, false, true], [3, true, false], [10_000, true, false, long], [10_000, true, true, long]] as const;
    for (const [rows, dictionary, withNulls, many] of cases) {
      const { keyed, plain } = many ? both(rows, rows, withNulls, many, (i) => Math.floor(i / 5) % many.length) : both(rows, rows, withNulls);
      const asStrings = withPlainStrings(keyed);
      expect(asStrings.schema.fields.map((f) => f.type.typeId)).toEqual(plain.schema.fields.map((f) => f.type.typeId));
      expect(asStrings.getChild('label')!.data[0]!.type.typeId).toBe(Type.Dictionary);
      const name = `${rows}-${dictionary}-${withNulls}-${many ? 'long' : 'short'}`;
      const [a, b] = [path.join(dir, `keyed-${name}.parquet`), path.join(dir, `plain-${name}.parquet`)];
      await writeParquet(a, asStrings.schema, [asStrings], { dictionary });
      await writeParquet(b, plain.schema, [plain], { dictionary });
      expect(readFileSync(a).equals(readFileSync(b)), name).toBe(true);
      const { table: back } = await readParquet(a);
      expect(Array.from(back.getChild('label')!)).toEqual(Array.from(plain.getChild('label')!));
    }
  });
});
