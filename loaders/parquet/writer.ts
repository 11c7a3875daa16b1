/**
 * A Parquet writer in plain TypeScript, built for speed and size on numeric frames.
 *
 * Per column chunk it chooses what pays (docs/parquet.md has the measurements):
 * - a dictionary page plus RLE / bit-packed indices when the chunk has few distinct values
 *   (NaN-padded activation columns, repeated labels), PLAIN otherwise; categorical columns
 *   always keep a dictionary; BYTE_STREAM_SPLIT for float PLAIN chunks when asked;
 * - compression (zstd by default, snappy) page by page, unless the chunk's first page does not
 *   shrink by an eighth: then the chunk is stored uncompressed and its page bodies go to disk
 *   straight from the Arrow buffers, without a copy;
 * - statistics (min, max, null count) for every chunk.
 * Data pages are v1 with RLE definition levels. Row groups are bounded in rows and bytes.
 */
import { promises as fs } from 'node:fs';
import { type Data, type DataType, type Field, type Schema, type Table, Type, type Vector } from 'apache-arrow';
import { Codec, Encoding, PageType, PhysicalType, Repetition, encodeFileMeta, encodePageHeader, type ColumnChunkMeta, type RowGroupMeta, type SchemaElement } from './format.js';
import { encodeHybrid, dictionaryOfWords, dictionaryOfStrings, bitWidthOf, byteStreamSplit, type DictionaryEncoding } from './encodings.js';
import { allPresentLevels } from './rle.js';
import { isSecondsTimestamp, needsArrowSchema, parquetElementOf, serializeArrowSchema } from './arrow-types.js';
import { codecOf, compressorFor, DEFAULT_COMPRESSION, type CompressFn, type Compression } from './compression.js';
import { fixedMinMax, stringMinMax } from './statistics.js';

export interface ParquetWriteOptions {
  /** 'zstd' (default), 'snappy' or 'uncompressed'. */
  compression?: Compression;
  /** Rows per row group (default: 1,048,576 rows, and at most ~64 MB of values). */
  rowGroupRows?: number;
  /** Dictionary-encode chunks where it pays (default true). */
  dictionary?: boolean;
  /** BYTE_STREAM_SPLIT for float chunks written PLAIN (default false). */
  byteStreamSplit?: boolean;
  /** Sees every byte of the file, in order, as it is written (to checksum it without reading it back). */
  onBytes?: (chunk: Uint8Array) => void;
  /**
   * Columns declared REQUIRED (no definition levels): the caller knows they hold no nulls in
   * any table written to this file. The others are OPTIONAL, as pyarrow writes them.
   */
  required?: ReadonlySet<string>;
  /**
   * Columns whose chunks record min/max even in wide files (the index). In files of more than
   * WIDE_COLUMNS columns the others record only null counts: there a time point's min/max over
   * a few trials costs more footer bytes than its values.
   */
  alwaysMinMax?: ReadonlySet<string>;
}

const MAGIC = new TextEncoder().encode('PAR1');
const PAGE_BYTES = 1 << 20;
const ROW_GROUP_BYTES = 64 << 20;
const FLUSH_BYTES = 32 << 20;
const FLUSH_PARTS = 512;
/** A chunk is compressed only when its first page shrinks to this fraction or less. */
const WORTH_COMPRESSING = 7 / 8;
/** Chunks smaller than this are not compressed: a compressor's framing eats what it could save. */
const MIN_COMPRESSED_CHUNK = 256;
/** Files with more columns than this record min/max only for `alwaysMinMax` columns. */
export const WIDE_COLUMNS = 1000;
export const CREATED_BY = 'isf-data-base version 0.1.0';

/** Writes one Parquet file; tables appended with `writeTable` become row groups. */
export class ParquetFileWriter {
  private position = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private readonly rowGroups: RowGroupMeta[] = [];
  private readonly elements: SchemaElement[];
  private numRows = 0;
  private readonly wide: boolean;

  private constructor(
    private readonly handle: fs.FileHandle,
    private readonly schema: Schema,
    private readonly options: ParquetWriteOptions,
    private readonly compress: CompressFn | undefined,
    private readonly codec: number,
  ) {
    this.elements = schema.fields.map((field) => {
      const element = parquetElementOf(field);
      return options.required?.has(field.name) ? { ...element, repetition: Repetition.required } : element;
    });
    this.wide = this.elements.length > WIDE_COLUMNS;
    this.push(MAGIC);
  }

  static async open(path: string, schema: Schema, options: ParquetWriteOptions = {}): Promise<ParquetFileWriter> {
    // Fail on unsupported types before creating the file.
    schema.fields.forEach(parquetElementOf);
    const compression = options.compression ?? DEFAULT_COMPRESSION;
    const compress = await compressorFor(compression);
    const handle = await fs.open(path, 'w');
    return new ParquetFileWriter(handle, schema, options, compress, codecOf(compression));
  }

  async writeTable(table: Table): Promise<void> {
    const groupRows = this.options.rowGroupRows ?? rowGroupRowsOf(this.schema);
    for (let start = 0; start < table.numRows; start += groupRows) {
      await this.writeRowGroup(table, start, Math.min(table.numRows, start + groupRows));
    }
    // A table of rows but no columns still has to record its row count.
    if (table.numCols === 0 && table.numRows > 0) {
      this.rowGroups.push({ columns: [], totalByteSize: 0, numRows: table.numRows });
      this.numRows += table.numRows;
    }
  }

  async close(): Promise<void> {
    try {
      const keyValue = new Map<string, string>(this.schema.metadata);
      // pyarrow derives plain types from the Parquet schema; the Arrow schema (tens of bytes per
      // column) is stored only when a type needs it (categoricals, time zones).
      if (needsArrowSchema(this.schema)) keyValue.set('ARROW:schema', serializeArrowSchema(this.schema));
      const footer = encodeFileMeta({
        version: 2,
        schema: [{ name: 'schema', numChildren: this.elements.length }, ...this.elements],
        numRows: this.numRows,
        rowGroups: this.rowGroups,
        keyValue,
        createdBy: CREATED_BY,
        typeDefinedOrder: this.rowGroups.some((g) => g.columns.some((c) => c.minValue !== undefined)),
      });
      const length = new Uint8Array(4);
      new DataView(length.buffer).setUint32(0, footer.length, true);
      this.push(footer, length, MAGIC);
      await this.flush();
    } finally {
      await this.handle.close();
    }
  }

  /** Closes the file after a failure; the caller removes it. */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  private async writeRowGroup(table: Table, start: number, end: number): Promise<void> {
    const columns: ColumnChunkMeta[] = [];
    let totalByteSize = 0;
    for (let c = 0; c < this.elements.length; c++) {
      const vector = table.getChildAt(c) as Vector;
      const element = this.elements[c] as SchemaElement;
      const field = this.schema.fields[c] as Field;
      const chunk = this.writeColumnChunk(field, element, vector, start, end);
      columns.push(chunk);
      totalByteSize += chunk.totalUncompressedSize;
      if (this.pendingBytes >= FLUSH_BYTES || this.pending.length >= FLUSH_PARTS) await this.flush();
    }
    this.rowGroups.push({ columns, totalByteSize, numRows: end - start });
    this.numRows += end - start;
  }

  private writeColumnChunk(field: Field, element: SchemaElement, vector: Vector, start: number, end: number): ColumnChunkMeta {
    const pieces = slicesOf(vector, start, end);
    const plan = planChunk(field.type, element, pieces, this.options);
    if (element.repetition === Repetition.required && plan.nullCount > 0) {
      throw new Error(`internal: column '${field.name}' was declared required but holds ${plan.nullCount} nulls`);
    }
    if (this.wide && !this.options.alwaysMinMax?.has(field.name)) delete plan.minMax;
    const pages = pagesOf(pieces, field.type);
    // The first data page decides whether this chunk is compressed.
    let codec: number = Codec.uncompressed;
    let firstBody: Uint8Array[] | undefined;
    let firstCompressed: Uint8Array | undefined;
    if (this.compress && pages.length > 0) {
      firstBody = pageBody(plan, pages[0] as PageSpec);
      const joined = concat(firstBody);
      const compressed = joined.length + (plan.dictionary?.page.length ?? 0) >= MIN_COMPRESSED_CHUNK ? this.compress(joined) : joined;
      if (compressed.length <= joined.length * WORTH_COMPRESSING) {
        codec = this.codec;
        firstCompressed = compressed;
      }
    }
    const compress = codec === Codec.uncompressed ? undefined : this.compress;
    let uncompressed = 0;
    let compressed = 0;
    let dictionaryPageOffset: number | undefined;
    if (plan.dictionary) {
      dictionaryPageOffset = this.position + this.pendingBytes;
      const sizes = this.writePage(PageType.dictionary, plan.dictionary.count, [plan.dictionary.page], Encoding.plain, compress);
      uncompressed += sizes.uncompressed;
      compressed += sizes.compressed;
    }
    const dataPageOffset = this.position + this.pendingBytes;
    pages.forEach((page, p) => {
      const body = p === 0 && firstBody ? firstBody : pageBody(plan, page);
      const sizes = this.writePage(PageType.data, page.count, body, plan.encoding, compress, p === 0 ? firstCompressed : undefined);
      uncompressed += sizes.uncompressed;
      compressed += sizes.compressed;
    });
    // RLE is listed only when it is used: for levels (OPTIONAL columns) or dictionary indices.
    const encodings = plan.dictionary ? [Encoding.plain, Encoding.rle, Encoding.rleDictionary] : plan.optional ? [plan.encoding, Encoding.rle] : [plan.encoding];
    // A REQUIRED chunk without min/max has nothing to record: its null count is 0 by definition.
    const statistics = plan.optional || plan.minMax ? { nullCount: plan.nullCount } : {};
    return {
      type: element.type as number,
      encodings,
      path: [field.name],
      codec,
      numValues: end - start,
      totalUncompressedSize: uncompressed,
      totalCompressedSize: compressed,
      dataPageOffset,
      ...(dictionaryPageOffset === undefined ? {} : { dictionaryPageOffset }),
      ...statistics,
      ...(plan.minMax ? { minValue: plan.minMax.min, maxValue: plan.minMax.max } : {}),
    };
  }

  /** Queues one page (header + body); uncompressed bodies are written as they are, without copying. */
  private writePage(type: number, numValues: number, body: Uint8Array[], encoding: number, compress: CompressFn | undefined, compressedBody?: Uint8Array): { uncompressed: number; compressed: number } {
    let bodyLength = 0;
    for (const part of body) bodyLength += part.length;
    const stored = compress ? [compressedBody ?? compress(concat(body))] : body;
    let storedLength = 0;
    for (const part of stored) storedLength += part.length;
    const header = encodePageHeader({
      type,
      uncompressedSize: bodyLength,
      compressedSize: storedLength,
      ...(type === PageType.dictionary
        ? { dictionaryPage: { numValues, encoding: Encoding.plain } }
        : { dataPage: { numValues, encoding, defEncoding: Encoding.rle, repEncoding: Encoding.rle } }),
    });
    this.push(header, ...stored);
    return { uncompressed: header.length + bodyLength, compressed: header.length + storedLength };
  }

  private push(...parts: Uint8Array[]): void {
    for (const part of parts) {
      if (part.length === 0) continue;
      this.options.onBytes?.(part);
      this.pending.push(part);
      this.pendingBytes += part.length;
    }
  }

  private async flush(): Promise<void> {
    const parts = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (let i = 0; i < parts.length; i += FLUSH_PARTS) {
      const batch = parts.slice(i, i + FLUSH_PARTS);
      let expected = 0;
      for (const part of batch) expected += part.length;
      const { bytesWritten } = await this.handle.writev(batch, this.position);
      if (bytesWritten !== expected) await this.writeRest(batch, bytesWritten);
      this.position += expected;
    }
  }

  /** writev may write less than asked (large batches); finish the batch part by part. */
  private async writeRest(batch: Uint8Array[], written: number): Promise<void> {
    let skip = written;
    let position = this.position + written;
    for (const part of batch) {
      if (skip >= part.length) {
        skip -= part.length;
        continue;
      }
      const rest = part.subarray(skip);
      skip = 0;
      let done = 0;
      while (done < rest.length) {
        const { bytesWritten } = await this.handle.write(rest, done, rest.length - done, position);
        done += bytesWritten;
        position += bytesWritten;
      }
    }
  }
}

interface Piece { data: Data; offset: number; length: number }

/** The Arrow chunks covering rows [start, end) of a vector, each with the range inside it. */
function slicesOf(vector: Vector, start: number, end: number): Piece[] {
  const pieces: Piece[] = [];
  let chunkStart = 0;
  for (const data of vector.data as Data[]) {
    const chunkEnd = chunkStart + data.length;
    const from = Math.max(start, chunkStart);
    const to = Math.min(end, chunkEnd);
    if (from < to) pieces.push({ data, offset: from - chunkStart, length: to - from });
    chunkStart = chunkEnd;
  }
  return pieces;
}

function rowsPerPageOf(type: DataType): number {
  switch (type.typeId) {
    case Type.Float: case Type.Int: case Type.Timestamp: case Type.Date:
      return Math.max(1024, Math.floor(PAGE_BYTES / (((type as unknown as { bitWidth?: number }).bitWidth ?? 64) / 8 || 8)));
    case Type.Bool: return PAGE_BYTES;
    default: return 64 * 1024;
  }
}

function isValid(data: Data, index: number): boolean {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) return true;
  const bit = data.offset + index;
  return (((bitmap[bit >> 3] as number) >> (bit & 7)) & 1) === 1;
}

function countValid(data: Data, start: number, count: number): number {
  let valid = 0;
  for (let i = 0; i < count; i++) if (isValid(data, start + i)) valid++;
  return valid;
}

type NumericArray = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

function fixedWidthValues(data: Data, start: number, count: number): Uint8Array {
  const values = data.values as NumericArray;
  const type = data.type as DataType;
  const narrow = type.typeId === Type.Int && (type as unknown as { bitWidth: number }).bitWidth < 32;
  const seconds = isSecondsTimestamp(type);
  if (!narrow && !seconds && data.nullCount === 0) {
    const slice = values.subarray(start, start + count);
    return new Uint8Array(slice.buffer, slice.byteOffset, slice.byteLength);
  }
  // Nulls are left out of PLAIN pages; int8/16 widen to INT32; seconds become milliseconds.
  const valid = data.nullCount === 0 ? count : countValid(data, start, count);
  if (seconds) {
    const out = new BigInt64Array(valid);
    let j = 0;
    for (let i = 0; i < count; i++) if (isValid(data, start + i)) out[j++] = (values as BigInt64Array)[start + i] as bigint * 1000n;
    return new Uint8Array(out.buffer);
  }
  const Out = narrow ? Int32Array : (values.constructor as new (n: number) => NumericArray);
  const out = new Out(valid) as NumericArray;
  let j = 0;
  for (let i = 0; i < count; i++) {
    if (isValid(data, start + i)) (out as Float64Array)[j++] = (values as Float64Array)[start + i] as number;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function booleanValues(data: Data, start: number, count: number): Uint8Array {
  const bits = data.values as Uint8Array;
  const out = new Uint8Array(Math.ceil(count / 8));
  let j = 0;
  for (let i = 0; i < count; i++) {
    if (!isValid(data, start + i)) continue;
    const bit = data.offset + start + i;
    if (((bits[bit >> 3] as number) >> (bit & 7)) & 1) out[j >> 3] = (out[j >> 3] as number) | (1 << (j & 7));
    j++;
  }
  return out.subarray(0, Math.ceil(j / 8));
}

/** PLAIN BYTE_ARRAY: each non-null value as a 4-byte length and its UTF-8 bytes. */
export function plainStrings(data: Data, start: number, count: number): Uint8Array[] {
  const at = stringAt(data);
  let total = 4 * count;
  for (let i = start; i < start + count; i++) {
    const [, from, to] = at(i);
    total += to - from;
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (let i = start; i < start + count; i++) {
    if (!isValid(data, i)) continue;
    const [bytes, from, to] = at(i);
    const length = to - from;
    view.setUint32(pos, length, true);
    pos += 4;
    if (length < 16) for (let k = 0; k < length; k++) out[pos + k] = bytes[from + k] as number;
    else out.set(bytes.subarray(from, from + length), pos);
    pos += length;
  }
  return [out.subarray(0, pos)];
}

/** Rows per row group: at most 1,048,576 (as recent pyarrow) and about ROW_GROUP_BYTES of values. */
function rowGroupRowsOf(schema: Schema): number {
  let rowBytes = 0;
  for (const field of schema.fields) rowBytes += valueWidthOf(field.type) || 16;
  return Math.max(64, Math.min(1 << 20, Math.floor(ROW_GROUP_BYTES / Math.max(1, rowBytes))));
}

function valueWidthOf(type: DataType): number {
  switch (type.typeId) {
    case Type.Float: return (type as unknown as { precision: number }).precision === 1 ? 4 : 8;
    case Type.Int: return (type as unknown as { bitWidth: number }).bitWidth === 64 ? 8 : 4;
    case Type.Timestamp: return 8;
    case Type.Date: return 4;
    default: return 0;
  }
}

/** One data page: `count` rows of one piece, `present` of them non-null. */
interface PageSpec {
  piece: number;
  start: number;
  count: number;
  present: number;
  /** Index of the page's first present value among the chunk's present values. */
  valueStart: number;
  /** ... and among its piece's present values. */
  pieceValueStart: number;
}

function pagesOf(pieces: Piece[], type: DataType): PageSpec[] {
  const pages: PageSpec[] = [];
  const rowsPerPage = rowsPerPageOf(type);
  let valueStart = 0;
  pieces.forEach(({ data, offset, length }, piece) => {
    let pieceValueStart = 0;
    for (let p = 0; p < length; p += rowsPerPage) {
      const count = Math.min(rowsPerPage, length - p);
      const start = offset + p;
      const present = data.nullCount === 0 ? count : countValid(data, start, count);
      pages.push({ piece, start, count, present, valueStart, pieceValueStart });
      valueStart += present;
      pieceValueStart += present;
    }
  });
  return pages;
}

type ChunkKind = 'fixed' | 'bool' | 'string';

interface ChunkPlan {
  kind: ChunkKind;
  optional: boolean;
  pieces: Piece[];
  encoding: number;
  width: number;
  dictionary?: DictionaryEncoding & { bitWidth: number };
  /** Per piece, the PLAIN bytes of its present values (fixed-width chunks). */
  valueBytes: Uint8Array[];
  nullCount: number;
  minMax?: { min: Uint8Array; max: Uint8Array };
}

function kindOf(type: DataType): ChunkKind {
  switch (type.typeId) {
    case Type.Bool: return 'bool';
    case Type.Utf8: case Type.LargeUtf8: case Type.Dictionary: return 'string';
    default: return 'fixed';
  }
}

/** Chooses the chunk's encoding (and builds its dictionary and statistics where they are cheap). */
function planChunk(type: DataType, element: SchemaElement, pieces: Piece[], options: ParquetWriteOptions): ChunkPlan {
  const kind = kindOf(type);
  let nullCount = 0;
  let total = 0;
  for (const { data, offset, length } of pieces) {
    const present = data.nullCount === 0 ? length : countValid(data, offset, length);
    nullCount += length - present;
    total += present;
  }
  const plan: ChunkPlan = { kind, optional: element.repetition !== Repetition.required, pieces, encoding: Encoding.plain, width: 0, valueBytes: [], nullCount };
  const wantDictionary = options.dictionary !== false;
  if (kind === 'fixed') {
    plan.valueBytes = pieces.map(({ data, offset, length }) => fixedWidthValues(data, offset, length));
    plan.width = element.type === PhysicalType.int64 || element.type === PhysicalType.double ? 8 : 4;
    const unsigned = element.logicalType?.kind === 'integer' && !element.logicalType.signed;
    if (wantDictionary && total > 1) {
      const words = plan.width === 8 ? 2 : 1;
      const dictionary = dictionaryOfWords(plan.valueBytes.map(aligned32), words, total);
      if (dictionary && pays(dictionary, total, total * plan.width)) plan.dictionary = { ...dictionary, bitWidth: bitWidthOf(dictionary.count) };
    }
    if (plan.dictionary) {
      plan.minMax = fixedMinMax(plan.dictionary.page, element.type as number, unsigned);
    } else {
      plan.minMax = mergeFixed(plan.valueBytes.map((b) => fixedMinMax(b, element.type as number, unsigned)), element.type as number);
      if (options.byteStreamSplit && (element.type === PhysicalType.double || element.type === PhysicalType.float)) plan.encoding = Encoding.byteStreamSplit;
    }
  } else if (kind === 'string') {
    const categorical = type.typeId === Type.Dictionary;
    if (wantDictionary || categorical) {
      const dictionary = dictionaryOfStrings((visit) => visitStrings(pieces, visit), total, categorical);
      let plainBytes = 0;
      for (const { data, offset, length } of pieces) plainBytes += stringBytesOf(data, offset, length) + 4 * length;
      if (dictionary && (categorical || pays(dictionary, total, plainBytes))) plan.dictionary = { ...dictionary, bitWidth: bitWidthOf(dictionary.count) };
    }
    if (plan.dictionary) plan.minMax = stringMinMax(plan.dictionary.page, plan.dictionary.count);
  }
  if (plan.dictionary) plan.encoding = Encoding.rleDictionary;
  return plan;
}

/** Whether dictionary page + indices (at full bit width, before RLE) beat PLAIN by a quarter. */
function pays(dictionary: DictionaryEncoding, total: number, plainBytes: number): boolean {
  const indexBytes = Math.ceil((total * bitWidthOf(dictionary.count)) / 8);
  return dictionary.page.length + indexBytes < plainBytes * 0.75;
}

function aligned32(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return new Uint32Array(bytes.slice().buffer);
}

function mergeFixed(parts: ({ min: Uint8Array; max: Uint8Array } | undefined)[], physicalType: number): { min: Uint8Array; max: Uint8Array } | undefined {
  const known = parts.filter((p): p is { min: Uint8Array; max: Uint8Array } => p !== undefined);
  if (known.length <= 1) return known[0];
  const lows = fixedMinMax(concat(known.map((p) => p.min)), physicalType, false);
  const highs = fixedMinMax(concat(known.map((p) => p.max)), physicalType, false);
  return lows && highs ? { min: lows.min, max: highs.max } : undefined;
}

/** The body of one data page: definition levels, then the values in the chunk's encoding. */
function pageBody(plan: ChunkPlan, page: PageSpec): Uint8Array[] {
  const { data } = plan.pieces[page.piece] as Piece;
  let levelParts: Uint8Array[] = [];
  if (plan.optional) {
    const levels = page.present === page.count ? allPresentLevels(page.count) : definitionLevels(data, page.start, page.count);
    const levelLength = new Uint8Array(4);
    new DataView(levelLength.buffer).setUint32(0, levels.length, true);
    levelParts = [levelLength, levels];
  }
  let values: Uint8Array[];
  if (plan.dictionary) {
    const indices = plan.dictionary.indices.subarray(page.valueStart, page.valueStart + page.present);
    values = [Uint8Array.of(plan.dictionary.bitWidth), encodeHybrid(indices, indices.length, plan.dictionary.bitWidth)];
  } else if (plan.kind === 'fixed') {
    const bytes = (plan.valueBytes[page.piece] as Uint8Array).subarray(page.pieceValueStart * plan.width, (page.pieceValueStart + page.present) * plan.width);
    values = [plan.encoding === Encoding.byteStreamSplit ? byteStreamSplit(bytes, plan.width) : bytes];
  } else if (plan.kind === 'bool') {
    values = [booleanValues(data, page.start, page.count)];
  } else {
    values = plainStrings(data, page.start, page.count);
    const minMax = stringMinMax(values[0] as Uint8Array, page.present);
    plan.minMax = minMax && plan.minMax ? mergeStrings(plan.minMax, minMax) : page.valueStart === 0 ? minMax : undefined;
  }
  return [...levelParts, ...values];
}

function mergeStrings(a: { min: Uint8Array; max: Uint8Array }, b: { min: Uint8Array; max: Uint8Array }): { min: Uint8Array; max: Uint8Array } | undefined {
  const parts: Uint8Array[] = [];
  for (const value of [a.min, a.max, b.min, b.max]) {
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, value.length, true);
    parts.push(length, value);
  }
  return stringMinMax(concat(parts), 4);
}

function definitionLevels(data: Data, start: number, count: number): Uint8Array {
  const levels = new Uint8Array(count);
  for (let i = 0; i < count; i++) levels[i] = isValid(data, start + i) ? 1 : 0;
  return encodeHybrid(levels, count, 1);
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

/** The UTF-8 bytes (as offsets into a shared buffer) of a string chunk's value at `i`. */
function stringAt(data: Data): (i: number) => [bytes: Uint8Array, from: number, to: number] {
  if (data.type.typeId === Type.Dictionary) {
    const dictionary = (data.dictionary as Vector).data[0] as Data;
    const at = stringAt(dictionary);
    const keys = data.values as Int32Array;
    return (i) => at(keys[i] as number);
  }
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  const bytes = data.values as Uint8Array;
  if (offsets instanceof BigInt64Array) return (i) => [bytes, Number(offsets[i]), Number(offsets[i + 1])];
  return (i) => [bytes, offsets[i] as number, offsets[i + 1] as number];
}

function visitStrings(pieces: Piece[], visit: (bytes: Uint8Array, from: number, to: number) => boolean): void {
  for (const { data, offset, length } of pieces) {
    const at = stringAt(data);
    for (let i = offset; i < offset + length; i++) {
      if (!isValid(data, i)) continue;
      const [bytes, from, to] = at(i);
      if (!visit(bytes, from, to)) return;
    }
  }
}

function stringBytesOf(data: Data, offset: number, length: number): number {
  if (data.type.typeId === Type.Dictionary) return length * 8;
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  return Number(offsets[offset + length]) - Number(offsets[offset]);
}
