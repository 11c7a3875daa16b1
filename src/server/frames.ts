/**
 * Data frames as the viewer reads them: a uniform handle on a `pandas_to_parquet` Table or a
 * `dask_to_parquet` PartitionedFrame (schema, data columns, partition row counts), and slices of
 * it by row positions, index values (trial ids) or an index range, with chosen columns. Only the
 * partitions a slice touches are read, and only the chosen columns of them.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Type, type Schema, type Table, type Vector } from 'apache-arrow';
import { DataBase, type FrameIndex } from '../index.js';
import { PartitionedFrame, columnLabels, dataColumnsOf, frameIndexOf } from '../frames.js';
import { RefusedError } from './security.js';

export interface FrameShape {
  partitions: number;
  rows: number;
  columns: number;
}

export type RowSelection =
  | { kind: 'positions'; start: number; stop: number }
  | { kind: 'ids'; ids: string[] }
  | { kind: 'range'; lo: string; hi: string };

/** A slice: index values, chosen columns, and each column's values (Float64Array for numbers). */
export interface FrameSlice {
  indexName: string;
  index: Array<string | number>;
  /** Row positions in the whole frame, aligned with `index`. */
  positions: number[];
  columns: string[];
  data: Array<Float64Array | unknown[]>;
}

/** At most this many rows in one slice, and this many cells (rows x columns). */
export const MAX_SLICE_ROWS = 10_000;
export const MAX_SLICE_CELLS = 50_000_000;

const FRAME_LOADERS = new Set(['pandas_to_parquet', 'dask_to_parquet']);

let nextSourceId = 0;

export class FrameSource {
  private rowCounts: Promise<number[]> | undefined;
  private readonly id = nextSourceId++;
  private known: Set<string> | undefined;
  private knownRows: number[] | undefined;

  private constructor(
    readonly db: DataBase,
    readonly key: string[],
    readonly partitioned: PartitionedFrame | undefined,
    readonly schema: Schema,
    /** The stored index: a column, or a range. */
    readonly index: FrameIndex,
    readonly dataColumns: string[],
    /** Data column labels as Python had them (numbers for float labels: time points). */
    readonly labels: Array<string | number>,
  ) {}

  static async open(db: DataBase, key: string[], loader: string): Promise<FrameSource> {
    if (!FRAME_LOADERS.has(loader)) throw new RefusedError(400, `key '${key.join('/')}' is a ${loader}, not a data frame`);
    if (loader === 'dask_to_parquet') {
      const frame = (await db.get(key)) as PartitionedFrame;
      const like = { schema: frame.schema, numRows: 0 };
      return new FrameSource(db, key, frame, frame.schema, frameIndexOf(like), dataColumnsOf(like), columnLabels(like));
    }
    // A whole-file frame: the index alone tells the schema's metadata; the full schema needs no data read.
    const indexOnly = (await db.get(key, { columns: [] })) as Table;
    const full = await fullColumns(db, key, indexOnly);
    return new FrameSource(db, key, undefined, indexOnly.schema, frameIndexOf(indexOnly), full.columns, full.labels);
  }

  get numPartitions(): number {
    return this.partitioned?.numPartitions ?? 1;
  }

  get indexColumn(): string | undefined {
    return this.index.kind === 'columns' ? this.index.columns[0] : undefined;
  }

  /** Rows of each partition (read from the footers once per handle). */
  partitionRows(): Promise<number[]> {
    this.rowCounts ??= (async () => {
        const counts: number[] = [];
      for (let i = 0; i < this.numPartitions; i++) {
        counts.push((await this.readPart(i, [])).numRows);
      }
      this.knownRows = counts;
      return counts;
    })();
    return this.rowCounts;
  }

  /** Partitions and columns at once; rows only when already counted (counting reads every footer). */
  quickShape(): { partitions: number; rows: number | null; columns: number } {
    const rows = this.knownRows === undefined ? null : this.knownRows.reduce((a, b) => a + b, 0);
    return { partitions: this.numPartitions, rows, columns: this.dataColumns.length };
  }

  async shape(): Promise<FrameShape> {
    const rows = (await this.partitionRows()).reduce((a, b) => a + b, 0);
    return { partitions: this.numPartitions, rows, columns: this.dataColumns.length };
  }

  /** Partition `i` with `columns` (and the index), from the decoded-partition cache when there. */
  readPart(i: number, columns: string[]): Promise<Table> {
    const all = columns.length === this.dataColumns.length;
    const whole = PART_CACHE.get(`${this.id}|${i}|all`);
    if (whole) return whole;
    const name = `${this.id}|${i}|${all ? 'all' : createHash('sha1').update(columns.join('\u0001')).digest('hex')}`;
    const cached = PART_CACHE.get(name);
    if (cached) return cached;
    const read = this.partitioned ? this.partitioned.readPartition(i, { columns }) : this.db.get(this.key, { columns }) as Promise<Table>;
    PART_CACHE.set(name, read, Math.max(1, columns.length) * 8 * 1024);
    return read;
  }

  /** Partitions that may hold the selected rows, with the row position each starts at. */
  private async candidatePartitions(rows: RowSelection, columns: string[]): Promise<Array<{ part: number; offset: number }>> {
    if (rows.kind === 'positions' && this.knownRows === undefined) {
      // The first rows need only the first partitions: read them in order (the reads are cached
      // for the slice) instead of every partition's footer first.
      const found: Array<{ part: number; offset: number }> = [];
      let offset = 0;
      for (let part = 0; part < this.numPartitions && offset < rows.stop; part++) {
        const count = (await this.readPart(part, columns)).numRows;
        if (offset + count > rows.start) found.push({ part, offset });
        offset += count;
      }
      return found;
    }
    const counts = await this.partitionRows();
    const offsets: number[] = [];
    counts.reduce((at, count) => { offsets.push(at); return at + count; }, 0);
    let parts = counts.map((_, i) => i);
    if (rows.kind === 'positions') {
      parts = parts.filter((i) => offsets[i]! < rows.stop && offsets[i]! + counts[i]! > rows.start);
    } else if (this.partitioned?.knownDivisions && this.index.kind === 'columns') {
      const wanted = new Set<number>();
      const ranges: Array<[string | number, string | number]> = rows.kind === 'ids'
        ? rows.ids.map((id) => [this.indexValue(id), this.indexValue(id)])
        : [[this.indexValue(rows.lo), this.indexValue(rows.hi)]];
      for (const range of ranges) for (const part of this.partitioned.partitionsInRange(range)) wanted.add(part);
      parts = parts.filter((i) => wanted.has(i));
    }
    return parts.map((part) => ({ part, offset: offsets[part]! }));
  }

  /** Index values are compared with the stored type: numbers for a numeric index. */
  private indexValue(text: string): string | number {
    const first = this.partitioned?.divisions.find((d) => d !== null);
    return typeof first === 'number' ? Number(text) : text;
  }

  /** The selected rows and columns. */
  async slice(rows: RowSelection, columns: string[]): Promise<FrameSlice> {
    this.known ??= new Set(this.dataColumns);
    const known = this.known;
    const unknown = columns.filter((c) => !known.has(c));
    if (unknown.length > 0) throw new RefusedError(400, `key '${this.key.join('/')}' has no column ${unknown.slice(0, 3).map((c) => `'${c}'`).join(', ')}`);
    if (rows.kind === 'positions' && rows.stop - rows.start > MAX_SLICE_ROWS) throw new RefusedError(413, `at most ${MAX_SLICE_ROWS} rows per slice`);
    if (rows.kind === 'ids' && rows.ids.length > MAX_SLICE_ROWS) throw new RefusedError(413, `at most ${MAX_SLICE_ROWS} ids per slice`);
    const idSet = rows.kind === 'ids' ? new Set(rows.ids) : undefined;
    const out: FrameSlice = { indexName: this.indexColumn ?? (this.index.kind === 'range' ? this.index.name : null) ?? 'index', index: [], positions: [], columns, data: [] };
    const parts: Array<{ table: Table; keep: number[]; offset: number }> = [];
    for (const { part, offset } of await this.candidatePartitions(rows, columns)) {
      const table = await this.readPart(part, columns);
      const indexValues = this.indexValuesOf(table, offset);
      const keep: number[] = [];
      for (let r = 0; r < table.numRows; r++) {
        const position = offset + r;
        const value = indexValues[r]!;
        if (rows.kind === 'positions' ? position >= rows.start && position < rows.stop
          : rows.kind === 'ids' ? idSet!.has(String(value))
            : compare(value, this.indexValue(rows.lo)) >= 0 && compare(value, this.indexValue(rows.hi)) <= 0) {
          keep.push(r);
          out.index.push(value);
          out.positions.push(position);
        }
      }
      if (out.index.length > MAX_SLICE_ROWS || out.index.length * columns.length > MAX_SLICE_CELLS) {
        throw new RefusedError(413, `the selection holds more than ${MAX_SLICE_ROWS} rows or ${MAX_SLICE_CELLS} cells: narrow it`);
      }
      parts.push({ table, keep, offset });
    }
    out.data = columns.map((name) => gatherColumn(parts, name, out.index.length));
    return out;
  }

  private indexValuesOf(table: Table, offset: number): Array<string | number> {
    const column = this.indexColumn;
    if (column === undefined) {
      const start = this.index.kind === 'range' ? this.index.start : 0;
      const step = this.index.kind === 'range' ? this.index.step : 1;
      return Array.from({ length: table.numRows }, (_, r) => start + (offset + r) * step);
    }
    const vector = columnOf(table, column);
    return Array.from({ length: table.numRows }, (_, r) => plain(vector?.get(r)) as string | number);
  }
}

function compare(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** JSON-able scalars: BigInt as a number when exact, else its text. */
export function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return value ?? null;
}

/** Column positions by name, once per table (arrow's getChild is a linear search). */
const FIELD_INDEX = new WeakMap<Table, Map<string, number>>();
function columnOf(table: Table, name: string): Vector | null {
  let index = FIELD_INDEX.get(table);
  if (index === undefined) {
    index = new Map(table.schema.fields.map((field, i) => [field.name, i]));
    FIELD_INDEX.set(table, index);
  }
  const at = index.get(name);
  return at === undefined ? null : table.getChildAt(at);
}

function gatherColumn(parts: Array<{ table: Table; keep: number[] }>, name: string, length: number): Float64Array | unknown[] {
  const vectors = parts.map(({ table }) => columnOf(table, name)!);
  if (vectors.every((vector) => vector.type.typeId === Type.Float)) {
    const values = new Float64Array(length);
    let at = 0;
    parts.forEach(({ keep }, p) => {
      const vector = vectors[p]!;
      const dense = vector.data.length === 1 && vector.nullCount === 0 ? (vector.data[0]!.values as Float64Array | Float32Array) : undefined;
      for (const r of keep) values[at++] = dense ? dense[r]! : Number(vector.get(r) ?? Number.NaN);
    });
    return values;
  }
  const values: unknown[] = [];
  parts.forEach(({ keep }, p) => {
    for (const r of keep) values.push(plain(vectors[p]!.get(r)));
  });
  return values;
}

/** A pandas_to_parquet key's data columns from its object_meta.json (the labels in Python's order). */
async function fullColumns(db: DataBase, key: string[], indexOnly: Table): Promise<{ columns: string[]; labels: Array<string | number> }> {
  const file = path.join(await db.folderOf(key), 'object_meta.json');
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  const meta = text === undefined ? undefined : (JSON.parse(text) as { columns?: unknown; column_name_dtypes?: unknown });
  const columns = Array.isArray(meta?.columns) ? meta.columns.map(String) : dataColumnsOf(indexOnly);
  const dtypes = Array.isArray(meta?.column_name_dtypes) ? meta.column_name_dtypes.map(String) : [];
  const labels = columns.map((c, i) => (/^(float|int)/.test(dtypes[i] ?? '') && c.trim() !== '' && Number.isFinite(Number(c)) ? Number(c) : c));
  return { columns, labels };
}

/**
 * Decoded partitions, least recently used dropped first, bounded in bytes: the viewer asks for
 * the same partitions again and again (zoom, pan, next trial), and decoding a wide partition
 * costs far more than slicing it. Sizes are estimates (rows x columns x 8) once the rows are known.
 */
class PartCache {
  private readonly entries = new Map<string, { table: Promise<Table>; bytes: number }>();
  private bytes = 0;

  constructor(private readonly budget: number) {}

  get(name: string): Promise<Table> | undefined {
    const entry = this.entries.get(name);
    if (entry === undefined) return undefined;
    this.entries.delete(name);
    this.entries.set(name, entry);
    return entry.table;
  }

  set(name: string, table: Promise<Table>, bytes: number): void {
    this.entries.set(name, { table, bytes });
    this.bytes += bytes;
    // Index-only reads (row counts, trial ids) are small but not free: count them by their rows.
    table.then((t) => this.resize(name, t.numRows * Math.max(2, t.numCols) * 8), () => this.drop(name));
    this.evict();
  }

  resize(name: string, bytes: number): void {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    this.bytes += bytes - entry.bytes;
    entry.bytes = bytes;
    this.evict();
  }

  private drop(name: string): void {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    this.bytes -= entry.bytes;
    this.entries.delete(name);
  }

  private evict(): void {
    for (const name of this.entries.keys()) {
      if (this.bytes <= this.budget || this.entries.size <= 1) break;
      this.drop(name);
    }
  }
}

const PART_CACHE = new PartCache(Number(process.env['ISFDB_SERVE_CACHE_MB'] ?? 512) * 1024 * 1024);

/**
 * Open frame handles by key, reused while the key's metadata.json is unchanged (a rewrite of the
 * key replaces it), so footers and row counts are read once per value, not once per request.
 */
export class FrameCache {
  private readonly entries = new Map<string, { stamp: string; source: Promise<FrameSource> }>();

  constructor(private readonly db: DataBase, private readonly folderOf: (key: string[]) => Promise<string>) {}

  async forKey(key: string[]): Promise<FrameSource> {
    await this.folderOf(key);
    return this.get(key, await this.db.loaderOf(key));
  }

  async get(key: string[], loader: string): Promise<FrameSource> {
    const folder = await this.folderOf(key);
    const stat = await fs.stat(path.join(folder, 'metadata.json')).catch(() => undefined);
    const stamp = `${stat?.mtimeMs ?? 0}:${stat?.size ?? 0}:${loader}`;
    const name = JSON.stringify(key);
    const cached = this.entries.get(name);
    if (cached?.stamp === stamp) return cached.source;
    const source = FrameSource.open(this.db, key, loader);
    source.catch(() => this.entries.delete(name));
    if (this.entries.size >= 256) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(name, { stamp, source });
    return source;
  }

  /** Partitions and columns of a frame key (rows when known), or null for other loaders. */
  async quickShape(key: string[], loader: string): Promise<{ partitions: number; rows: number | null; columns: number } | null> {
    if (!FRAME_LOADERS.has(loader)) return null;
    return (await this.get(key, loader)).quickShape();
  }

  /** rows x columns of a frame key, or null for other loaders. */
  async shape(key: string[], loader: string): Promise<FrameShape | null> {
    if (!FRAME_LOADERS.has(loader)) return null;
    return (await this.get(key, loader)).shape();
  }
}
