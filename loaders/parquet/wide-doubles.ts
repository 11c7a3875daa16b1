/**
 * The lean path of the Parquet writer for wide float64 frames (voltage traces: a few trials x
 * ~10,000 time-point columns per partition). The general writer (writer.ts) pays per column for
 * an Arrow vector, a chunk plan, page objects, a footer object and its Thrift closures; for a
 * 10 x 9,802 partition that is ~10x the cost of its 0.8 MB of values. Here everything that is
 * the same for every file of one schema (schema elements, column paths, key-value metadata,
 * column orders) is encoded once per layout, and each file is one pass over the values into one
 * output buffer: page header, values (or one compression call per chunk), footer.
 *
 * The bytes are exactly those writer.ts writes for the same table and options (tested in
 * test/parquet/wide-doubles.test.ts), so every reader of ours, pyarrow and DuckDB read them alike.
 * Only the shape writer.ts writes as one row group of one page per column is taken: all columns
 * REQUIRED float64 except one REQUIRED utf8 index column, no dictionary.
 */
import { promises as fs } from 'node:fs';
import { type Schema, Type } from 'apache-arrow';
import { Codec, Encoding, PageType, PhysicalType, Repetition, encodeFileMeta, encodePageHeader, type SchemaElement } from './format.js';
import { needsArrowSchema, parquetElementOf } from './arrow-types.js';
import { codecOf, compressorFor, DEFAULT_COMPRESSION, type CompressFn, type Compression } from './compression.js';
import { rowGroupRowsOf, rowsPerPageOf } from './column-chunks.js';
import { Bytes } from './encodings.js';
import { fixedMinMax, stringMinMax } from './statistics.js';
import { CREATED_BY, MAGIC, MIN_COMPRESSED_CHUNK, WIDE_COLUMNS, WIDE_COMPRESSION_PROBE, WORTH_COMPRESSING } from './writer.js';

/** A frame in the shape of this path: one utf8 index column and float64 data columns. */
export interface WideDoubleFrame {
  rows: number;
  /** the index column's UTF-8 bytes and offsets (Arrow's layout), no nulls */
  index: { data: Uint8Array; offsets: Int32Array };
  /** the data columns end to end: column j is values[j * rows, (j + 1) * rows) */
  values: Float64Array;
}

const utf8 = new TextEncoder();
/** num_rows 0 and an empty list of row groups, as the compact protocol writes them. */
const EMPTY_ROW_GROUPS = [0x16, 0x00, 0x19, 0x0c];

/** Per column chunk of one file: what its footer entry records. */
interface ChunkFacts {
  offsets: Float64Array;
  uncompressed: Int32Array;
  stored: Int32Array;
  codecs: Uint8Array;
  minMax: ({ min: Uint8Array; max: Uint8Array } | undefined)[];
  totalByteSize: number;
  ordered: boolean;
}

/** What every file of one schema shares, encoded once. */
export class WideDoubleLayout {
  private constructor(
    readonly schema: Schema,
    /** schema position of the index column */
    private readonly indexAt: number,
    /** per schema position c: the column's path as Thrift (list header + binary), pathBytes[pathStarts[c], pathStarts[c + 1]) */
    private readonly pathBytes: Uint8Array,
    private readonly pathStarts: Int32Array,
    /** footer fields 1 (version) and 2 (schema) */
    private readonly head: Uint8Array,
    /** footer fields 5.. and the stop byte, with and without column orders */
    private readonly tail: { ordered: Uint8Array; unordered: Uint8Array },
    private readonly wide: boolean,
    private readonly compress: CompressFn | undefined,
    private readonly codec: number,
    readonly maxRows: number,
  ) {}

  /**
   * The layout of `schema` (as written: fields in file order, pandas metadata attached), or
   * undefined when the schema is not of this path's shape (the caller uses writer.ts).
   */
  static async of(schema: Schema, indexName: string, compression: Compression = DEFAULT_COMPRESSION): Promise<WideDoubleLayout | undefined> {
    const fields = schema.fields;
    const indexAt = fields.findIndex((f) => f.name === indexName);
    if (indexAt === -1 || fields[indexAt]!.type.typeId !== Type.Utf8 || needsArrowSchema(schema)) return undefined;
    for (let i = 0; i < fields.length; i++) {
      const type = fields[i]!.type as { typeId: Type; precision?: number };
      if (i !== indexAt && !(type.typeId === Type.Float && type.precision === 2)) return undefined;
    }
    const elements: SchemaElement[] = fields.map((f) => ({ ...parquetElementOf(f), repetition: Repetition.required }));
    const schemaList: SchemaElement[] = [{ name: 'schema', numChildren: elements.length }, ...elements];
    // The constant parts of the footer come from format.ts' own encoder: a footer without row
    // groups ends with num_rows 0 (16 00), an empty row group list (19 0c), then fields 5...
    const bare = encodeFileMeta({ version: 2, schema: schemaList, numRows: 0, rowGroups: [], keyValue: new Map() });
    const head = bare.slice(0, bare.length - 7);
    // fields 5 (key-value metadata), 6 (created_by), stop: from the encoder, on the root alone
    const root: SchemaElement[] = [{ name: 'schema', numChildren: 0 }];
    const small = encodeFileMeta({ version: 2, schema: root, numRows: 0, rowGroups: [], keyValue: new Map(schema.metadata), createdBy: CREATED_BY });
    const smallHead = encodeFileMeta({ version: 2, schema: root, numRows: 0, rowGroups: [], keyValue: new Map() }).length - 7;
    if (!equalBytes(bare.subarray(head.length), [...EMPTY_ROW_GROUPS, 0x19, 0x0c, 0]) || !equalBytes(small.subarray(smallHead, smallHead + 4), EMPTY_ROW_GROUPS)) return undefined;
    const unordered = small.slice(smallHead + 4);
    // field 7, column_orders: one TYPE_ORDER union (1c 00 00) per leaf column, then the stop byte
    const orders = new Bytes(8 + 3 * elements.length);
    orders.bytes(unordered.subarray(0, unordered.length - 1));
    orders.byte(0x19);
    orders.listSize(elements.length, 0x0c);
    for (let i = 0; i < elements.length; i++) { orders.byte(0x1c); orders.byte(0); orders.byte(0); }
    orders.byte(0);
    const ordered = orders.finish();
    const paths = pathsInSchema(fields.map((f) => f.name));
    const compress = await compressorFor(compression);
    return new WideDoubleLayout(
      schema, indexAt, paths.bytes, paths.starts, head, { ordered, unordered },
      fields.length > WIDE_COLUMNS, compress, codecOf(compression),
      fields.reduce((rows, f) => Math.min(rows, rowsPerPageOf(f.type)), rowGroupRowsOf(schema)),
    );
  }

  /** Whether writer.ts would write `rows` rows as one row group of one page per column. */
  fits(rows: number): boolean {
    return rows > 0 && rows <= this.maxRows;
  }

  /**
   * The whole file, in one buffer. A wide frame's plain data columns are written as bytes only
   * (no object or subarray per column): the first files a thread writes run these loops cold. The
   * pages and the footer are two functions, each one loop: in one function, V8 compiled the page
   * loop on stack (OSR), then threw that code away on reaching the footer loop, which had no type
   * feedback yet, and did so again on the next file (three cold files at ~26 ms, then ~6 ms).
   */
  encode(frame: WideDoubleFrame): Uint8Array {
    const { rows, values } = frame;
    const columns = this.schema.fields.length;
    if (!this.fits(rows)) throw new RangeError(`internal: ${rows} rows do not fit one row group of this layout`);
    if (values.length !== (columns - 1) * rows) throw new RangeError(`internal: ${values.length} values for ${columns - 1} columns of ${rows} rows`);
    const indexBody = plainStrings(frame.index, rows);
    const chunkBytes = 8 * rows;
    const out = new Bytes(4 + columns * (pageHeader(chunkBytes, chunkBytes, rows).length + chunkBytes) + 64 + indexBody.length);
    out.bytes(MAGIC);
    const chunks = this.writePages(out, rows, values, indexBody);
    this.writeFooter(out, rows, chunks);
    return out.finish();
  }

  /** Every column's one page; per column where it starts, its sizes (header included), codec and statistics. */
  private writePages(out: Bytes, rows: number, values: Float64Array, indexBody: Uint8Array): ChunkFacts {
    const columns = this.schema.fields.length;
    const valueBytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    const chunkBytes = 8 * rows;
    const plainHeader = pageHeader(chunkBytes, chunkBytes, rows);
    const tryCompress = this.compress !== undefined && chunkBytes >= MIN_COMPRESSED_CHUNK;
    const facts: ChunkFacts = {
      offsets: new Float64Array(columns), uncompressed: new Int32Array(columns), stored: new Int32Array(columns),
      codecs: new Uint8Array(columns), minMax: new Array<undefined>(columns), totalByteSize: 0, ordered: false,
    };
    const { offsets, uncompressed, stored, codecs, minMax } = facts;
    let j = 0;
    let tried = 0;
    let paid = 0;
    for (let c = 0; c < columns; c++) {
      offsets[c] = out.length;
      // as writer.ts: once the first WIDE_COMPRESSION_PROBE chunks did not pay, the rest are not tried
      const compressing = tryCompress && !(tried >= WIDE_COMPRESSION_PROBE && paid === 0);
      if (c === this.indexAt) {
        const chunk = this.writeChunk(out, indexBody, rows);
        uncompressed[c] = chunk.uncompressed;
        stored[c] = chunk.stored;
        codecs[c] = chunk.codec;
        minMax[c] = stringMinMax(indexBody, rows);
      } else if (this.wide && !compressing) {
        // the data columns up to the index column (or the end), all PLAIN: the whole cost of a
        // partition, so a loop of its own over typed arrays (see encode)
        const end = c < this.indexAt ? this.indexAt : columns;
        const size = plainHeader.length + chunkBytes;
        out.reserve((end - c) * size);
        out.length = plainPages(out.buffer, out.length, plainHeader, valueBytes, j * chunkBytes, chunkBytes, c, end, offsets);
        uncompressed.fill(size, c, end);
        stored.fill(size, c, end);
        facts.totalByteSize += (end - c) * size;
        j += end - c;
        c = end - 1;
        continue;
      } else {
        const from = j * chunkBytes;
        j++;
        if (!this.wide) minMax[c] = fixedMinMax(valueBytes.subarray(from, from + chunkBytes), PhysicalType.double, false);
        const chunk = this.writeChunk(out, valueBytes.subarray(from, from + chunkBytes), rows, compressing);
        uncompressed[c] = chunk.uncompressed;
        stored[c] = chunk.stored;
        codecs[c] = chunk.codec;
        if (compressing && this.wide) {
          tried++;
          if (chunk.codec !== Codec.uncompressed) paid++;
        }
      }
      if (minMax[c]) facts.ordered = true;
      facts.totalByteSize += uncompressed[c]!;
    }
    return facts;
  }

  /** The footer: one row group, a ColumnChunk per column, as format.ts encodeFileMeta writes it. */
  private writeFooter(out: Bytes, rows: number, facts: ChunkFacts): void {
    const columns = this.schema.fields.length;
    const { offsets, uncompressed, stored, codecs, minMax } = facts;
    const footerStart = out.length;
    out.bytes(this.head);
    out.i64Field(1, rows); // field 3: num_rows
    out.byte(0x19); // field 4: row_groups, a list
    out.byte(0x1c); // of one struct
    out.byte(0x19); // row group field 1: columns, a list of structs
    out.listSize(columns, 0x0c);
    for (let c = 0; c < columns; c++) {
      if (this.wide && c !== this.indexAt) {
        // a wide frame's data columns carry no statistics: a run of them by a typed-array loop
        const end = c < this.indexAt ? this.indexAt : columns;
        out.reserve(64 * (end - c) + this.pathStarts[end]! - this.pathStarts[c]!);
        out.length = plainChunkEntries(out.buffer, out.length, c, end, rows, facts, this.pathBytes, this.pathStarts);
        c = end - 1;
        continue;
      }
      // a ColumnChunk struct, as format.ts encodeFileMeta writes it
      const stats = minMax[c];
      const path = this.pathBytes.subarray(this.pathStarts[c], this.pathStarts[c + 1]);
      out.reserve(64 + path.length + (stats ? stats.min.length + stats.max.length : 0));
      out.i64Field(2, offsets[c]!); // field 2: file_offset
      out.byte(0x1c); // field 3: meta_data
      out.byte(0x15); out.byte(2 * (c === this.indexAt ? PhysicalType.byteArray : PhysicalType.double));
      out.byte(0x19); out.byte(0x15); out.byte(2 * Encoding.plain); // encodings: [PLAIN]
      out.byte(0x19); out.bytes(path);
      out.byte(0x15); out.byte(2 * codecs[c]!);
      out.i64Field(1, rows); // field 5: num_values
      out.i64Field(1, uncompressed[c]!); // 6: total_uncompressed_size
      out.i64Field(1, stored[c]!); // 7: total_compressed_size
      out.i64Field(2, offsets[c]!); // 9: data_page_offset
      if (stats) {
        out.byte(0x3c); // field 12: statistics
        out.byte(0x36); out.byte(0); // null_count 0
        out.byte(0x28); out.varint(stats.max.length); out.bytes(stats.max);
        out.byte(0x18); out.varint(stats.min.length); out.bytes(stats.min);
        out.byte(0);
      }
      out.byte(0);
      out.byte(0);
    }
    out.i64Field(1, facts.totalByteSize); // field 2
    out.i64Field(1, rows); // field 3
    out.byte(0);
    out.bytes(facts.ordered ? this.tail.ordered : this.tail.unordered);
    const footerLength = out.length - footerStart;
    out.reserve(8);
    out.u32(footerLength);
    out.bytes(MAGIC);
  }

  /** One chunk of one data page: compressed when writer.ts would (its first page shrinks by an eighth). */
  private writeChunk(out: Bytes, body: Uint8Array, rows: number, tryCompress = true): { codec: number; uncompressed: number; stored: number } {
    let stored = body;
    let codec: number = Codec.uncompressed;
    if (tryCompress && this.compress && body.length >= MIN_COMPRESSED_CHUNK) {
      const compressed = this.compress(body);
      if (compressed.length <= body.length * WORTH_COMPRESSING) {
        stored = compressed;
        codec = this.codec;
      }
    }
    const header = pageHeader(body.length, stored.length, rows);
    out.bytes(header);
    out.bytes(stored);
    return { codec, uncompressed: header.length + body.length, stored: header.length + stored.length };
  }

  /** Encode and write one file; `onBytes` sees its bytes (one call) before they are written. */
  async write(file: string, frame: WideDoubleFrame, onBytes?: (bytes: Uint8Array) => void): Promise<number> {
    const bytes = this.encode(frame);
    onBytes?.(bytes);
    await fs.writeFile(file, bytes);
    return bytes.length;
  }
}

function equalBytes(a: Uint8Array, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const headers = new Map<string, Uint8Array>();

/** A v1 data page header (PLAIN, RLE levels); the few distinct ones of a layout are cached. */
function pageHeader(uncompressed: number, compressed: number, rows: number): Uint8Array {
  const key = `${uncompressed},${compressed},${rows}`;
  let header = headers.get(key);
  if (!header) {
    header = encodePageHeader({
      type: PageType.data, uncompressedSize: uncompressed, compressedSize: compressed,
      dataPage: { numValues: rows, encoding: Encoding.plain, defEncoding: Encoding.rle, repEncoding: Encoding.rle },
    });
    if (headers.size > 4096) headers.clear();
    headers.set(key, header);
  }
  return header;
}

/** PLAIN BYTE_ARRAY values: a 4-byte length before each string's bytes. */
function plainStrings(index: { data: Uint8Array; offsets: Int32Array }, rows: number): Uint8Array {
  const { data, offsets } = index;
  const start = offsets[0]!;
  const out = new Uint8Array(4 * rows + offsets[rows]! - start);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (let i = 0; i < rows; i++) {
    const from = offsets[i]!;
    const to = offsets[i + 1]!;
    view.setUint32(pos, to - from, true);
    out.set(data.subarray(from, to), pos + 4);
    pos += 4 + to - from;
  }
  return out;
}

/**
 * Each column chunk's path_in_schema (a list of one binary: 0x18, the name's length, its UTF-8
 * bytes), all written into one buffer: a wide frame's layout makes one per column, and one buffer
 * per column took 16 ms of the layout of 9,802 columns (cold), against ~6 ms now.
 */
function pathsInSchema(names: string[]): { bytes: Uint8Array; starts: Int32Array } {
  const out = new Bytes(names.reduce((n, name) => n + 8 + 3 * name.length, 0));
  const starts = new Int32Array(names.length + 1);
  names.forEach((name, i) => {
    starts[i] = out.length;
    const bytes = utf8.encode(name);
    out.byte(0x18);
    out.varint(bytes.length);
    out.bytes(bytes);
  });
  starts[names.length] = out.length;
  return { bytes: out.finish(), starts };
}

/**
 * PLAIN, uncompressed pages of data columns [first, end), one after another from `at`, each a
 * page header and its values; `offsets` gets where each starts. Returns where the last ends.
 */
function plainPages(buffer: Uint8Array, at: number, header: Uint8Array, values: Uint8Array, from: number, chunkBytes: number, first: number, end: number, offsets: Float64Array): number {
  for (let c = first; c < end; c++) {
    offsets[c] = at;
    for (let k = 0; k < header.length; k++) buffer[at++] = header[k]!;
    for (let k = 0; k < chunkBytes; k++) buffer[at++] = values[from++]!;
  }
  return at;
}

/**
 * The footer's ColumnChunk structs of float64 columns [first, end) without statistics, as the
 * general loop of writeFooter writes them (and format.ts' encoder), from `at` on. Returns the end.
 */
function plainChunkEntries(buffer: Uint8Array, at: number, first: number, end: number, rows: number, facts: ChunkFacts, pathBytes: Uint8Array, pathStarts: Int32Array): number {
  const { offsets, uncompressed, stored, codecs } = facts;
  for (let c = first; c < end; c++) {
    const offset = offsets[c]!;
    buffer[at++] = 0x26; // field 2: file_offset
    at = varintAt(buffer, at, 2 * offset);
    buffer[at++] = 0x1c; // field 3: meta_data
    buffer[at++] = 0x15; buffer[at++] = 2 * PhysicalType.double;
    buffer[at++] = 0x19; buffer[at++] = 0x15; buffer[at++] = 2 * Encoding.plain; // encodings: [PLAIN]
    buffer[at++] = 0x19;
    for (let k = pathStarts[c]!, e = pathStarts[c + 1]!; k < e; k++) buffer[at++] = pathBytes[k]!;
    buffer[at++] = 0x15; buffer[at++] = 2 * codecs[c]!;
    buffer[at++] = 0x16; at = varintAt(buffer, at, 2 * rows); // 5: num_values
    buffer[at++] = 0x16; at = varintAt(buffer, at, 2 * uncompressed[c]!); // 6: total_uncompressed_size
    buffer[at++] = 0x16; at = varintAt(buffer, at, 2 * stored[c]!); // 7: total_compressed_size
    buffer[at++] = 0x26; at = varintAt(buffer, at, 2 * offset); // 9: data_page_offset
    buffer[at++] = 0;
    buffer[at++] = 0;
  }
  return at;
}

/** An unsigned varint (values below 2^52) at `at`, as Bytes.varint writes it; returns the end. */
function varintAt(buffer: Uint8Array, at: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    buffer[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buffer[at++] = v;
  return at;
}
