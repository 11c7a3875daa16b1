/**
 * A Parquet writer in plain TypeScript, built for speed on numeric frames.
 *
 * Every column is PLAIN-encoded (categoricals: a dictionary page plus bit-packed indices), in
 * data pages v1 with definition levels, compressed with snappy as one literal per page (or not
 * compressed). For a column without nulls the page body is the Arrow buffer itself, handed to
 * writev without a copy, so writing runs at the disk's speed and needs no memory beyond the frame.
 */
import { promises as fs } from 'node:fs';
import { type Data, type DataType, type Field, type Schema, type Table, Type, type Vector } from 'apache-arrow';
import { Codec, Encoding, PageType, encodeFileMeta, encodePageHeader, type ColumnChunkMeta, type RowGroupMeta, type SchemaElement } from './format.js';
import { literalSnappyPrefix } from './snappy.js';
import { allPresentLevels, bitPack, levelsFromBitmap } from './rle.js';
import { isSecondsTimestamp, parquetElementOf, serializeArrowSchema } from './arrow-types.js';

export type FastCompression = 'snappy' | 'uncompressed';

export interface ParquetWriteOptions {
  compression?: FastCompression;
  /** Rows per row group (default 1,048,576, as recent pyarrow). */
  rowGroupRows?: number;
}

const MAGIC = new TextEncoder().encode('PAR1');
const PAGE_BYTES = 1 << 20;
const FLUSH_BYTES = 32 << 20;
const FLUSH_PARTS = 512;
export const CREATED_BY = 'isf-data-base version 0.1.0';

/** Writes one Parquet file; tables appended with `writeTable` become row groups. */
export class ParquetFileWriter {
  private position = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private readonly rowGroups: RowGroupMeta[] = [];
  private readonly elements: SchemaElement[];
  private readonly codec: number;
  private numRows = 0;

  private constructor(
    private readonly handle: fs.FileHandle,
    private readonly schema: Schema,
    private readonly options: ParquetWriteOptions,
  ) {
    this.elements = schema.fields.map(parquetElementOf);
    this.codec = options.compression === 'uncompressed' ? Codec.uncompressed : Codec.snappy;
    this.push(MAGIC);
  }

  static async open(path: string, schema: Schema, options: ParquetWriteOptions = {}): Promise<ParquetFileWriter> {
    // Fail on unsupported types before creating the file.
    schema.fields.forEach(parquetElementOf);
    const handle = await fs.open(path, 'w');
    return new ParquetFileWriter(handle, schema, options);
  }

  async writeTable(table: Table): Promise<void> {
    const groupRows = this.options.rowGroupRows ?? 1 << 20;
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
      keyValue.set('ARROW:schema', serializeArrowSchema(this.schema));
      const footer = encodeFileMeta({
        version: 2,
        schema: [{ name: 'schema', numChildren: this.elements.length }, ...this.elements],
        numRows: this.numRows,
        rowGroups: this.rowGroups,
        keyValue,
        createdBy: CREATED_BY,
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
    let uncompressed = 0;
    let compressed = 0;
    let dictionaryPageOffset: number | undefined;
    let dictionary: DictionaryPlan | undefined;
    if (field.type.typeId === Type.Dictionary) {
      dictionary = planDictionary(pieces);
      if (dictionary) {
        dictionaryPageOffset = this.position + this.pendingBytes;
        const sizes = this.writePage(PageType.dictionary, dictionary.values.length, plainStrings(dictionary.values, 0, dictionary.values.length), false);
        uncompressed += sizes.uncompressed;
        compressed += sizes.compressed;
      }
    }
    const dataPageOffset = this.position + this.pendingBytes;
    let nullCount = 0;
    const rowsPerPage = rowsPerPageOf(field.type);
    for (const { data, offset, length } of pieces) {
      for (let p = 0; p < length; p += rowsPerPage) {
        const count = Math.min(rowsPerPage, length - p);
        const pageStart = offset + p;
        const hasNulls = data.nullCount > 0 && data.nullBitmap !== undefined && data.nullBitmap.length > 0;
        const levels = hasNulls ? levelsFromBitmap(data.nullBitmap as Uint8Array, data.offset + pageStart, count) : allPresentLevels(count);
        const values = dictionary ? dictionaryIndices(data, pageStart, count, dictionary.bitWidth) : plainValues(data, pageStart, count);
        const levelLength = new Uint8Array(4);
        new DataView(levelLength.buffer).setUint32(0, levels.length, true);
        const sizes = this.writePage(PageType.data, count, [levelLength, levels, ...values], dictionary !== undefined);
        uncompressed += sizes.uncompressed;
        compressed += sizes.compressed;
        if (hasNulls) nullCount += count - countValid(data, pageStart, count);
      }
    }
    const encodings = dictionary ? [Encoding.plain, Encoding.rle, Encoding.rleDictionary] : [Encoding.plain, Encoding.rle];
    return {
      type: element.type as number,
      encodings,
      path: [field.name],
      codec: this.codec,
      numValues: end - start,
      totalUncompressedSize: uncompressed,
      totalCompressedSize: compressed,
      dataPageOffset,
      ...(dictionaryPageOffset === undefined ? {} : { dictionaryPageOffset }),
      nullCount,
    };
  }

  /** Queues one page (header + body); the body parts are written as they are, without copying. */
  private writePage(type: number, numValues: number, body: Uint8Array[], dictionaryIndexed: boolean): { uncompressed: number; compressed: number } {
    let bodyLength = 0;
    for (const part of body) bodyLength += part.length;
    const prefix = this.codec === Codec.snappy ? literalSnappyPrefix(bodyLength) : undefined;
    const compressedLength = bodyLength + (prefix?.length ?? 0);
    const header = encodePageHeader({
      type,
      uncompressedSize: bodyLength,
      compressedSize: compressedLength,
      ...(type === PageType.dictionary
        ? { dictionaryPage: { numValues, encoding: Encoding.plain } }
        : { dataPage: { numValues, encoding: dictionaryIndexed ? Encoding.rleDictionary : Encoding.plain, defEncoding: Encoding.rle, repEncoding: Encoding.rle } }),
    });
    this.push(header);
    if (prefix) this.push(prefix);
    this.push(...body);
    return { uncompressed: header.length + bodyLength, compressed: header.length + compressedLength };
  }

  private push(...parts: Uint8Array[]): void {
    for (const part of parts) {
      if (part.length === 0) continue;
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

/** PLAIN bytes of the non-null values of rows [start, start+count) of one Arrow chunk. */
function plainValues(data: Data, start: number, count: number): Uint8Array[] {
  const type = data.type as DataType;
  switch (type.typeId) {
    case Type.Float: case Type.Int: case Type.Timestamp: case Type.Date:
      return [fixedWidthValues(data, start, count)];
    case Type.Bool:
      return [booleanValues(data, start, count)];
    case Type.Utf8: case Type.LargeUtf8:
      return plainStrings(data, start, count);
    case Type.Dictionary:
      return plainStrings(decodeDictionary(data, start, count), 0, count);
    default:
      throw new Error(`unsupported Arrow type ${String(type)}`);
  }
}

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
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  const bytes = data.values as Uint8Array;
  const big = offsets instanceof BigInt64Array;
  const at = (i: number): number => (big ? Number((offsets as BigInt64Array)[i]) : (offsets as Int32Array)[i] as number);
  const total = at(start + count) - at(start);
  const out = new Uint8Array(total + 4 * count);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (let i = start; i < start + count; i++) {
    if (!isValid(data, i)) continue;
    const from = at(i);
    const length = at(i + 1) - from;
    view.setUint32(pos, length, true);
    pos += 4;
    if (length < 16) for (let k = 0; k < length; k++) out[pos + k] = bytes[from + k] as number;
    else out.set(bytes.subarray(from, from + length), pos);
    pos += length;
  }
  return [out.subarray(0, pos)];
}

interface DictionaryPlan { values: Data; bitWidth: number }

/** A dictionary page is possible when every chunk of the row group shares one Utf8 dictionary. */
function planDictionary(pieces: Piece[]): DictionaryPlan | undefined {
  const dictionaries = new Set(pieces.map((p) => p.data.dictionary));
  if (dictionaries.size !== 1) return undefined;
  const dictionary = [...dictionaries][0];
  if (!dictionary || dictionary.data.length !== 1) return undefined;
  const values = dictionary.data[0] as Data;
  if (values.nullCount > 0) return undefined;
  const bitWidth = Math.max(1, Math.ceil(Math.log2(Math.max(2, values.length))));
  return { values, bitWidth };
}

function dictionaryIndices(data: Data, start: number, count: number, bitWidth: number): Uint8Array[] {
  const indices = data.values as Int32Array | Int8Array | Int16Array | Uint8Array | Uint16Array | Uint32Array;
  const valid = data.nullCount === 0 ? count : countValid(data, start, count);
  const out = new Int32Array(valid);
  let j = 0;
  for (let i = 0; i < count; i++) if (isValid(data, start + i)) out[j++] = indices[start + i] as number;
  return [Uint8Array.of(bitWidth), bitPack(out, bitWidth)];
}

/** The strings of a dictionary-encoded chunk, as a Utf8 chunk (for mixed dictionaries). */
function decodeDictionary(data: Data, start: number, count: number): Data {
  const dictionary = data.dictionary as Vector;
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const offsets = new Int32Array(count + 1);
  const bitmap = new Uint8Array(Math.ceil(count / 8));
  let total = 0;
  let nulls = 0;
  for (let i = 0; i < count; i++) {
    const index = (data.values as Int32Array)[start + i] as number;
    if (isValid(data, start + i)) {
      const bytes = encoder.encode(String(dictionary.get(index)));
      parts.push(bytes);
      total += bytes.length;
      bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7));
    } else nulls++;
    offsets[i + 1] = total;
  }
  const values = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    values.set(p, pos);
    pos += p.length;
  }
  return { type: { typeId: Type.Utf8 }, offset: 0, length: count, nullCount: nulls, nullBitmap: bitmap, valueOffsets: offsets, values } as unknown as Data;
}
