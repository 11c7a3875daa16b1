/**
 * Reads a Parquet file into an Arrow Table: the footer first, then only the byte ranges of the
 * selected columns (and row groups), one column chunk at a time, so memory stays near the size
 * of the result. Counts the bytes it reads so projection can be verified.
 */
import { promises as fs } from 'node:fs';
import {
  type DataType, type Field, Schema, Table, type RecordBatch, Struct, makeData, Field as ArrowField, Type, type Data,
} from 'apache-arrow';
import { Codec, EncryptedError, decodeFileMeta, type FileMeta, type RowGroupMeta, type SchemaElement } from './format.js';
import { arrowTypeOf, deserializeArrowSchema, UnsupportedTypeError } from './arrow-types.js';
import { decodeColumnChunk, UnsupportedFeatureError, type ParallelPages } from './page-decoder.js';
import { decompressAll, parallelZstdFor, type ZstdTask } from './zstd-pool.js';
import { recordBatchOf } from './record-batch.js';
import { decompressInto, prepareDecompression } from './compression.js';

export interface ParquetReadOptions {
  /** Column names to read (default: all), in file order. */
  columns?: readonly string[];
  /** Row group indexes to read (default: all). */
  rowGroups?: readonly number[];
}

import { ParquetFormatError } from './errors.js';

export { ParquetFormatError };

const MAGIC = 'PAR1';
const SPAN_GAP = 64 << 10;
const SPAN_BYTES = 16 << 20;

function decompressTask({ src, dst }: ZstdTask): void {
  decompressInto(src, dst, Codec.zstd);
}

export class ParquetFileReader {
  /** Bytes read from the file so far (footer included). */
  bytesRead = 0;
  private readonly scratch: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];

  private constructor(
    private readonly handle: fs.FileHandle,
    readonly path: string,
    readonly fileSize: number,
    readonly meta: FileMeta,
    readonly schema: Schema,
    private readonly leaves: SchemaElement[],
    footerBytes: number,
  ) {
    this.bytesRead = footerBytes;
  }

  static async open(path: string): Promise<ParquetFileReader> {
    const handle = await fs.open(path, 'r');
    try {
      const { meta, size, footerBytes } = await readFooter(handle);
      await prepareDecompression(new Set(meta.rowGroups.flatMap((g) => g.columns.map((c) => c.codec))));
      const leaves = flatLeaves(meta);
      const schema = arrowSchemaOf(meta, leaves);
      return new ParquetFileReader(handle, path, size, meta, schema, leaves, footerBytes);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  get numRows(): number {
    return this.meta.numRows;
  }

  async read(options: ParquetReadOptions = {}): Promise<Table> {
    const wanted = options.columns ? new Set(options.columns) : undefined;
    const columnIndexes = this.leaves.map((_, i) => i).filter((i) => !wanted || wanted.has(this.leaves[i]?.name ?? ''));
    const fields = columnIndexes.map((i) => this.schema.fields[i] as Field);
    const schema = new Schema(fields, this.schema.metadata);
    const groups = options.rowGroups ?? this.meta.rowGroups.map((_, i) => i);
    const reads: { nth: number; start: number; end: number; columns: number[] }[] = [];
    groups.forEach((g, nth) => {
      const group = this.meta.rowGroups[g];
      if (!group) throw new RangeError(`row group ${g} does not exist (the file has ${this.meta.rowGroups.length})`);
      if (group.numRows > 0) for (const span of this.spansOf(g, columnIndexes)) reads.push({ nth, ...span });
    });
    const parallel = this.parallelFor(groups, columnIndexes);
    // The next span is read (on libuv's pool) while this one decodes (on this thread). A read
    // still pending when decoding fails must not become an unhandled rejection.
    const start = (k: number): Promise<Uint8Array> | undefined => {
      const span = reads[k];
      if (!span) return undefined;
      const pending = this.readSpan(span.start, span.end, k % 2, parallel !== undefined);
      pending.catch(() => undefined);
      return pending;
    };
    let next = start(0);
    let at = 0;
    const batches: RecordBatch[] = [];
    for (const [nth, g] of groups.entries()) {
      const group = this.meta.rowGroups[g] as RowGroupMeta;
      const children: Data[] = [];
      if (group.numRows === 0) {
        // Nothing to read (some writers record no usable page offsets for empty groups).
        for (const c of columnIndexes) children.push(decodeColumnChunk(new Uint8Array(0), group.columns[c] as never, this.leaves[c] as SchemaElement, (this.schema.fields[c] as Field).type, 0));
        batches.push(recordBatchOf(schema, makeData({ type: new Struct(fields), length: 0, nullCount: 0, children })));
        continue;
      }
      while (at < reads.length && (reads[at] as { nth: number }).nth === nth) {
        const span = reads[at] as { start: number; end: number; columns: number[] };
        const bytes = await (next as Promise<Uint8Array>);
        at++;
        next = start(at);
        const tasks: ZstdTask[] = [];
        const pages = parallel && { defer: (src: Uint8Array, dst: Uint8Array) => { tasks.push({ src, dst }); } };
        for (const c of span.columns) children.push(this.decodeChunk(g, c, bytes, span.start, pages || undefined));
        // The span's scratch buffer is read into again two spans on: its pages are done by then.
        if (tasks.length > 0) await decompressAll(tasks, decompressTask);
      }
      batches.push(recordBatchOf(schema, makeData({ type: new Struct(fields), length: group.numRows, nullCount: 0, children })));
    }
    return new Table(schema, batches);
  }

  /**
   * The byte ranges to read for these columns of a row group: neighbouring chunks (gaps under
   * 64 KiB) are read together, up to 16 MiB per read, so a 10,000-column frame costs a few
   * reads instead of 10,000.
   */
  private spansOf(groupIndex: number, columnIndexes: number[]): { start: number; end: number; columns: number[] }[] {
    const spans: { start: number; end: number; columns: number[] }[] = [];
    for (const c of columnIndexes) {
      const { start, end } = this.chunkRange(groupIndex, c);
      const last = spans[spans.length - 1];
      if (last && start >= last.end && start - last.end < SPAN_GAP && end - last.start <= SPAN_BYTES) {
        last.end = end;
        last.columns.push(c);
      } else {
        spans.push({ start, end, columns: [c] });
      }
    }
    return spans;
  }

  private chunkRange(groupIndex: number, columnIndex: number): { start: number; end: number } {
    const column = this.meta.rowGroups[groupIndex]?.columns[columnIndex];
    const element = this.leaves[columnIndex];
    if (!column || !element) throw new ParquetFormatError(`row group ${groupIndex} lacks column ${columnIndex}`);
    const start = chunkStart(column);
    const length = column.totalCompressedSize;
    // Declared sizes are checked against the file before anything is allocated.
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || length < 0 || start < 4 || start + length > this.fileSize - 8) {
      throw new ParquetFormatError(`column '${element.name}' claims bytes ${start}..${start + length} outside the ${this.fileSize}-byte file`);
    }
    return { start, end: start + length };
  }

  /**
   * Whether this read decompresses zstd pages on several threads: when native zstd and a second
   * core are there and the read holds at least 32 MiB of zstd chunks.
   */
  private parallelFor(groups: readonly number[], columnIndexes: number[]): true | undefined {
    let zstdBytes = 0;
    for (const g of groups) {
      for (const c of columnIndexes) {
        const column = this.meta.rowGroups[g]?.columns[c];
        if (column?.codec === Codec.zstd) zstdBytes += column.totalCompressedSize;
      }
    }
    return parallelZstdFor(zstdBytes) ? true : undefined;
  }

  /** Reads bytes [start, end) into scratch buffer `slot` (two, so one is read while the other decodes). */
  private async readSpan(start: number, end: number, slot: number, shared: boolean): Promise<Uint8Array> {
    const length = end - start;
    let scratch = this.scratch[slot] as Uint8Array;
    if (scratch.length < length || (shared && !(scratch.buffer instanceof SharedArrayBuffer))) {
      scratch = this.scratch[slot] = shared ? new Uint8Array(new SharedArrayBuffer(length)) : Buffer.allocUnsafe(length);
    }
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(scratch, done, length - done, start + done);
      if (bytesRead === 0) throw new ParquetFormatError(`unexpected end of file at byte ${start + done}`);
      done += bytesRead;
    }
    this.bytesRead += length;
    return scratch.subarray(0, length);
  }

  private decodeChunk(groupIndex: number, columnIndex: number, span: Uint8Array, spanStart: number, parallel?: ParallelPages): Data {
    const group = this.meta.rowGroups[groupIndex];
    const column = group?.columns[columnIndex];
    const element = this.leaves[columnIndex];
    const field = this.schema.fields[columnIndex];
    if (!group || !column || !element || !field) throw new ParquetFormatError(`row group ${groupIndex} lacks column ${columnIndex}`);
    const { start, end } = this.chunkRange(groupIndex, columnIndex);
    try {
      return decodeColumnChunk(span.subarray(start - spanStart, end - spanStart), column, element, field.type, group.numRows, parallel);
    } catch (err) {
      if (err instanceof UnsupportedFeatureError) throw err;
      throw new ParquetFormatError(`column '${element.name}', row group ${groupIndex}: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** The decoded footer of a Parquet file, whatever its column types. */
export async function readFileMeta(path: string): Promise<FileMeta> {
  const handle = await fs.open(path, 'r');
  try {
    return (await readFooter(handle)).meta;
  } finally {
    await handle.close();
  }
}

async function readFooter(handle: fs.FileHandle): Promise<{ meta: FileMeta; size: number; footerBytes: number }> {
  const { size } = await handle.stat();
  if (size < 12) throw new ParquetFormatError(`file of ${size} bytes is too short to be Parquet`);
  const head = Buffer.alloc(4);
  await handle.read(head, 0, 4, 0);
  const tail = Buffer.alloc(8);
  await handle.read(tail, 0, 8, size - 8);
  if (tail.toString('latin1', 4) === 'PARE') throw new UnsupportedFeatureError('encryption (encrypted footer, PARE magic)', true);
  if (head.toString('latin1') !== MAGIC || tail.toString('latin1', 4) !== MAGIC) {
    throw new ParquetFormatError('missing the PAR1 magic bytes (truncated or not Parquet)');
  }
  const footerLength = tail.readUInt32LE(0);
  if (footerLength + 12 > size) throw new ParquetFormatError(`footer of ${footerLength} bytes does not fit a ${size}-byte file`);
  const footer = Buffer.alloc(footerLength);
  await handle.read(footer, 0, footerLength, size - 8 - footerLength);
  try {
    return { meta: decodeFileMeta(footer), size, footerBytes: 12 + footerLength };
  } catch (err) {
    if (err instanceof EncryptedError) throw new UnsupportedFeatureError('encryption (encrypted columns under a plaintext footer)', true);
    throw new ParquetFormatError(`footer does not decode: ${(err as Error).message}`);
  }
}

function chunkStart(column: { dataPageOffset: number; dictionaryPageOffset?: number }): number {
  const dictionary = column.dictionaryPageOffset;
  // Some writers record 0 for an absent dictionary page (or for the data page of an empty chunk).
  if (dictionary !== undefined && dictionary > 0 && (dictionary < column.dataPageOffset || column.dataPageOffset < 4)) return dictionary;
  return column.dataPageOffset;
}

/** The leaf columns of a flat schema; nested schemas are left to another codec. */
function flatLeaves(meta: FileMeta): SchemaElement[] {
  const [root, ...leaves] = meta.schema;
  if (!root) throw new ParquetFormatError('empty schema');
  for (const leaf of leaves) {
    if (leaf.numChildren !== undefined && leaf.numChildren > 0) throw new UnsupportedFeatureError(`nested column '${leaf.name}'`);
    if (leaf.repetition === 2) throw new UnsupportedFeatureError(`repeated column '${leaf.name}'`);
  }
  if ((root.numChildren ?? 0) !== leaves.length) throw new ParquetFormatError('schema root does not match its columns');
  for (const group of meta.rowGroups) {
    if (group.columns.length !== leaves.length && !(group.columns.length === 0 && leaves.length === 0)) {
      throw new ParquetFormatError(`a row group has ${group.columns.length} columns, the schema ${leaves.length}`);
    }
  }
  return leaves;
}

/** The Arrow schema: pyarrow's stored one when it matches the columns, else derived. */
function arrowSchemaOf(meta: FileMeta, leaves: SchemaElement[]): Schema {
  const metadata = new Map(meta.keyValue);
  const stored = metadata.get('ARROW:schema');
  metadata.delete('ARROW:schema');
  const storedSchema = stored ? deserializeArrowSchema(stored) : undefined;
  const fields = leaves.map((leaf, i) => {
    const storedField = storedSchema?.fields[i];
    const type = storedField && storedField.name === leaf.name && readable(storedField.type) ? storedField.type : derivedType(leaf);
    // Always nullable: partitions of one key may differ in which columns hold nulls (REQUIRED vs OPTIONAL).
    return new ArrowField(leaf.name, type, true);
  });
  return new Schema(fields, metadata);
}

function derivedType(leaf: SchemaElement): DataType {
  try {
    return arrowTypeOf(leaf);
  } catch (err) {
    if (err instanceof UnsupportedTypeError) throw new UnsupportedFeatureError(err.message);
    throw err;
  }
}

/** Arrow types the page decoder can produce. */
function readable(type: DataType): boolean {
  switch (type.typeId) {
    case Type.Float: return (type as unknown as { precision: number }).precision !== 0;
    case Type.Int: case Type.Bool: case Type.Utf8: case Type.Timestamp: return true;
    case Type.Date: return (type as unknown as { unit: number }).unit === 0;
    case Type.Dictionary: return (type as unknown as { dictionary: DataType }).dictionary.typeId === Type.Utf8;
    default: return false;
  }
}
