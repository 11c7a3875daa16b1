/**
 * The Apache Parquet project's own test files (../shared/fixtures/parquet-testing), one test
 * per file: every file of data/ reads with the values pyarrow reads, or is refused with an
 * UnsupportedFormatError naming the feature; every file of bad_data/ is refused with a typed
 * error, within the test's time limit. Skips with a message when ../shared is absent.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Table, type DataType, Vector } from 'apache-arrow';
import { isDataBaseError } from '../../src/errors.js';
import { readParquetFile } from '../../loaders/parquet/frame-io.js';
import { REPO_ROOT, pythonWith, skipReason } from '../services.js';

const ROOT = path.resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'parquet-testing');
const present = existsSync(ROOT);
if (!present) console.warn(`parquet-testing fixtures skipped: ${ROOT} is absent`);

function parquetFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...parquetFiles(full));
    else if (/\.parquet(\.encrypted)?$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

const dataFiles = parquetFiles(path.join(ROOT, 'data'));
const badFiles = parquetFiles(path.join(ROOT, 'bad_data'));
const python = pythonWith(['pyarrow']);
const site = (file: string) => ({ key: path.basename(file), loader: 'pandas_to_parquet' });

type Cell = string | boolean | null | { i: string } | { f: string } | { d: string } | { t: string } | Cell[] | { [k: string]: Cell };

const sameNumber = (a: number, b: number): boolean => (Number.isNaN(a) && Number.isNaN(b)) || a === b;

/** Whether our value equals pyarrow's typed cell exactly (decimals: to the nearest double). */
function sameCell(ours: unknown, want: Cell, type?: DataType): boolean {
  if (want === null) return ours === null || ours === undefined;
  if (typeof want === 'boolean' || typeof want === 'string') {
    if (typeof want === 'string' && want.startsWith('hex:')) return ours instanceof Uint8Array && `hex:${Buffer.from(ours).toString('hex')}` === want;
    return ours === want;
  }
  if (Array.isArray(want)) {
    const items = ours instanceof Vector ? [...ours] : Array.isArray(ours) ? ours : undefined;
    const child = (type as unknown as { children?: { type: DataType }[] })?.children?.[0]?.type;
    return items !== undefined && items.length === want.length && items.every((v, k) => sameCell(v, want[k] as Cell, child));
  }
  if ('i' in want) return (typeof ours === 'bigint' || (typeof ours === 'number' && Number.isInteger(ours))) && String(ours) === want.i;
  if ('f' in want) return typeof ours === 'number' && sameNumber(ours, Number(want.f));
  if ('d' in want) return typeof ours === 'number' && Math.abs(ours - Number(want.d)) <= Math.abs(Number(want.d)) * 1e-15;
  if ('t' in want) {
    const ms = ours instanceof Date ? ours.getTime() : typeof ours === 'number' ? ours : typeof ours === 'bigint' ? Number(ours) : NaN;
    return sameNumber(ms, Number(want.t));
  }
  if (ours === null || typeof ours !== 'object') return false;
  const json = typeof (ours as { toJSON?: () => unknown }).toJSON === 'function' ? (ours as { toJSON: () => Record<string, unknown> }).toJSON() : ours as Record<string, unknown>;
  const children = new Map(((type as unknown as { children?: { name: string; type: DataType }[] })?.children ?? []).map((c) => [c.name, c.type]));
  const keys = Object.keys(want);
  return keys.length === Object.keys(json).length && keys.every((k) => sameCell(json[k], want[k] as Cell, children.get(k)));
}

/** The first cells where our table differs from pyarrow's rows (empty when none). */
function differences(table: Table, rows: Cell[][]): string[] {
  const out: string[] = [];
  if (table.numRows !== rows.length) return [`${table.numRows} rows, pyarrow ${rows.length}`];
  table.schema.fields.forEach((field, c) => {
    const vector = table.getChildAt(c);
    for (let r = 0; r < table.numRows && out.length < 5; r++) {
      const ours = vector?.get(r);
      const want = rows[r]?.[c] as Cell;
      if (!sameCell(ours, want, field.type)) out.push(`row ${r} column '${field.name}': ours ${String(ours)}, pyarrow ${JSON.stringify(want)}`);
    }
  });
  return out;
}

/** Files parquet-testing made malformed on purpose that pyarrow tolerates: refusing them is right. */
const MALFORMED_ON_PURPOSE: Record<string, string> = {
  'nation.dict-malformed.parquet': 'its dictionary page header does not match its bytes',
};

interface Expected { columns?: string[]; rows?: Cell[][]; error?: string }
let expected: Record<string, Expected> = {};

beforeAll(() => {
  if (!present || !python.ok) return;
  const r = spawnSync(python.value, [path.join(REPO_ROOT, 'test', 'parquet', 'expected_values.py')], {
    input: JSON.stringify([...dataFiles, ...badFiles]), encoding: 'utf8', maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`expected_values.py failed: ${r.stderr.slice(-2000)}`);
  expected = JSON.parse(r.stdout);
}, 120_000);

describe.skipIf(!present)('parquet-testing data/: same values as pyarrow, or a typed UnsupportedFormatError', () => {
  const reason = skipReason(python, 'comparing with pyarrow');
  for (const file of dataFiles) {
    it.skipIf(reason !== undefined)(path.relative(ROOT, file), async () => {
      let table: Table;
      try {
        ({ table } = await readParquetFile(file, {}, site(file)));
      } catch (err) {
        const tags = MALFORMED_ON_PURPOSE[path.basename(file)] ? ['UnsupportedFormatError', 'CorruptKeyError'] as const : ['UnsupportedFormatError'] as const;
        expect(isDataBaseError(err, ...tags), `${String(err)}`).toBe(true);
        expect((err as Error).message).toContain(file);
        return;
      }
      const want = expected[file];
      if (!want || want.error !== undefined) throw new Error(`we read ${path.basename(file)}, pyarrow refused it: ${want?.error}`);
      expect(table.schema.fields.map((f) => f.name)).toEqual(want.columns);
      expect(differences(table, want.rows ?? [])).toEqual([]);
    }, 30_000);
  }
});

/**
 * bad_data/ holds files that crashed or misled readers. Most are invalid: a typed error. A few
 * are valid once read carefully (ARROW-GH-43605: a one-entry dictionary addressed with bit width
 * 0), and pyarrow, fixed, reads them: then we must read the same values.
 */
describe.skipIf(!present)('parquet-testing bad_data/: a typed error (or pyarrow\'s values), never a hang or a crash', () => {
  for (const file of badFiles) {
    it(path.relative(ROOT, file), async (context) => {
      const result = await readParquetFile(file, {}, site(file)).then((r) => r.table, (err: unknown) => err);
      const want = expected[file];
      // A file we read is right only if pyarrow reads the same values: without pyarrow, nothing to compare with.
      const noOracle = skipReason(python, 'comparing a readable bad_data file with pyarrow');
      if (!(result instanceof Error) && want === undefined && noOracle !== undefined) context.skip(noOracle);
      if (result instanceof Error || !want?.rows) {
        expect(isDataBaseError(result, 'CorruptKeyError', 'UnsupportedFormatError'), String(result)).toBe(true);
        expect((result as Error).message).toContain(file);
        return;
      }
      expect(differences(result as Table, want.rows)).toEqual([]);
    }, 30_000);
  }
});
