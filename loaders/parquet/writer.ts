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
import { type Field, type Schema, type Table, type Vector } from 'apache-arrow';
import { Codec, Encoding, PageType, Repetition, encodeFileMeta, encodePageHeader, type ColumnChunkMeta, type RowGroupMeta, type SchemaElement } from './format.js';
import { needsArrowSchema, parquetElementOf, serializeArrowSchema } from './arrow-types.js';
import { codecOf, compressorFor, DEFAULT_COMPRESSION, type CompressFn, type Compression } from './compression.js';
import { concat, pageBody, pagesOf, planChunk, rowGroupRowsOf, slicesOf, type PageSpec } from './column-chunks.js';

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
  /**
   * Column name -> its encoding, read and filled by the writer: a chunk of a listed column takes
   * that encoding without a trial compression; an unlisted column's trial (of at least 4,096
   * values) is recorded. Files of one partitioned frame share one map, so each column is tried
   * once, not once per partition (the trials were ~7% of initSimrun, docs/parquet.md).
   */
  encodingChoices?: Map<string, EncodingChoice>;
}

/** How a trial compression stored a fixed-width column: dictionary or PLAIN, compressed or not. */
export interface EncodingChoice { dictionary: boolean; compressed: boolean }

export const MAGIC = new TextEncoder().encode('PAR1');
const FLUSH_BYTES = 32 << 20;
const FLUSH_PARTS = 512;
/** A chunk is compressed only when its first page shrinks to this fraction or less. */
export const WORTH_COMPRESSING = 7 / 8;
/** Chunks smaller than this are not compressed: a compressor's framing eats what it could save. */
export const MIN_COMPRESSED_CHUNK = 256;
/**
 * In a wide file's row group, when the first this-many float chunks big enough to try did not
 * shrink by an eighth, the later ones are stored without trying: a 50-trial voltage partition
 * would otherwise make 10,001 compressor calls for values that do not compress.
 */
export const WIDE_COMPRESSION_PROBE = 64;
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
  /** this row group's fixed-width chunks that tried compression, and those it paid for (wide files) */
  private probe = { tried: 0, paid: 0 };

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
    this.probe = { tried: 0, paid: 0 };
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
    // Frames that are not wide (activation frames, tables) can afford a trial compression per chunk.
    const plan = planChunk(field.type, element, pieces, this.options, this.wide ? undefined : this.compress);
    if (element.repetition === Repetition.required && plan.nullCount > 0) {
      throw new Error(`internal: column '${field.name}' was declared required but holds ${plan.nullCount} nulls`);
    }
    if (this.wide && !this.options.alwaysMinMax?.has(field.name)) delete plan.minMax;
    const pages = pagesOf(pieces, field.type);
    // The first data page decides whether this chunk is compressed.
    let codec: number = Codec.uncompressed;
    let firstBody: Uint8Array[] | undefined;
    let firstCompressed: Uint8Array | undefined;
    if (this.compress && plan.compressPays !== undefined) {
      if (plan.compressPays) {
        codec = this.codec;
        // the trial compressed exactly this page's body: PLAIN values of one REQUIRED page
        const onePlainPage = pages.length === 1 && pieces.length === 1 && !plan.optional && plan.dictionary === undefined && plan.encoding === Encoding.plain;
        if (onePlainPage) firstCompressed = plan.trial?.plainValues;
      }
    } else if (this.compress && pages.length > 0) {
      // wide files: float chunks stop trying once the row group's first ones did not pay
      const probed = this.wide && plan.kind === 'fixed' && plan.dictionary === undefined;
      const skip = probed && this.probe.tried >= WIDE_COMPRESSION_PROBE && this.probe.paid === 0;
      if (!skip) {
        firstBody = pageBody(plan, pages[0] as PageSpec);
        const joined = concat(firstBody);
        const tries = joined.length + (plan.dictionary?.page.length ?? 0) >= MIN_COMPRESSED_CHUNK;
        const compressed = tries ? this.compress(joined) : joined;
        if (compressed.length <= joined.length * WORTH_COMPRESSING) {
          codec = this.codec;
          firstCompressed = compressed;
        }
        if (probed && tries) {
          this.probe.tried++;
          if (codec !== Codec.uncompressed) this.probe.paid++;
        }
      }
    }
    const compress = codec === Codec.uncompressed ? undefined : this.compress;
    let uncompressed = 0;
    let compressed = 0;
    let dictionaryPageOffset: number | undefined;
    if (plan.dictionary) {
      dictionaryPageOffset = this.position + this.pendingBytes;
      const sizes = this.writePage(PageType.dictionary, plan.dictionary.count, [plan.dictionary.page], Encoding.plain, compress, plan.trial?.dictionaryPage);
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
