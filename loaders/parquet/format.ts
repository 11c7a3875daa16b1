/**
 * Parquet's footer and page headers as plain objects, converted to and from Thrift.
 * Only the fields this codec reads or writes are modelled; unknown fields are skipped.
 * Numbering follows parquet-format's parquet.thrift.
 */
import { ThriftReader, ThriftWriter, type ThriftStruct, type ThriftValue } from './thrift.js';

export const PhysicalType = {
  boolean: 0, int32: 1, int64: 2, int96: 3, float: 4, double: 5, byteArray: 6, fixedLenByteArray: 7,
} as const;

export const Encoding = {
  plain: 0, plainDictionary: 2, rle: 3, bitPacked: 4, deltaBinaryPacked: 5,
  deltaLengthByteArray: 6, deltaByteArray: 7, rleDictionary: 8, byteStreamSplit: 9,
} as const;

export const Codec = { uncompressed: 0, snappy: 1, gzip: 2, lzo: 3, brotli: 4, lz4: 5, zstd: 6, lz4Raw: 7 } as const;

export const PageType = { data: 0, index: 1, dictionary: 2, dataV2: 3 } as const;

export const Repetition = { required: 0, optional: 1, repeated: 2 } as const;

/** The pre-2.4 "converted" annotations, still the only thing some old writers set. */
export const ConvertedType = {
  utf8: 0, date: 6, timestampMillis: 9, timestampMicros: 10,
  uint8: 11, uint16: 12, uint32: 13, uint64: 14, int8: 15, int16: 16, int32: 17, int64: 18,
} as const;

export type TimeUnitName = 'ms' | 'us' | 'ns';

export type LogicalType =
  | { kind: 'string' }
  | { kind: 'integer'; bitWidth: number; signed: boolean }
  | { kind: 'timestamp'; unit: TimeUnitName; utc: boolean }
  | { kind: 'date' }
  | { kind: 'other'; id: number };

export interface SchemaElement {
  name: string;
  type?: number;
  typeLength?: number;
  repetition?: number;
  numChildren?: number;
  convertedType?: number;
  logicalType?: LogicalType;
}

export interface ColumnChunkMeta {
  type: number;
  encodings: number[];
  path: string[];
  codec: number;
  numValues: number;
  totalUncompressedSize: number;
  totalCompressedSize: number;
  dataPageOffset: number;
  dictionaryPageOffset?: number;
  nullCount?: number;
  /** PLAIN bytes of the smallest and largest value (statistics min_value / max_value). */
  minValue?: Uint8Array;
  maxValue?: Uint8Array;
}

export interface RowGroupMeta {
  columns: ColumnChunkMeta[];
  totalByteSize: number;
  numRows: number;
}

export interface FileMeta {
  version: number;
  schema: SchemaElement[];
  numRows: number;
  rowGroups: RowGroupMeta[];
  keyValue: Map<string, string>;
  createdBy?: string;
  /** Whether every column declares the type-defined sort order (what min/max follow). */
  typeDefinedOrder?: boolean;
  /** Whether the footer declares encryption (columns encrypted under a plaintext footer). */
  encrypted?: boolean;
}

export interface DataPageHeader { numValues: number; encoding: number; defEncoding: number; repEncoding: number }
export interface DictionaryPageHeader { numValues: number; encoding: number }
export interface DataPageHeaderV2 {
  numValues: number; numNulls: number; numRows: number; encoding: number;
  defLength: number; repLength: number; isCompressed: boolean;
}

export interface PageHeader {
  type: number;
  uncompressedSize: number;
  compressedSize: number;
  dataPage?: DataPageHeader;
  dictionaryPage?: DictionaryPageHeader;
  dataPageV2?: DataPageHeaderV2;
}

// ---------- decoding ----------

const textDecoder = new TextDecoder();

function num(s: ThriftStruct, id: number): number | undefined {
  const v = s.get(id);
  if (v === undefined) return undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  throw new TypeError(`parquet: field ${id} should be a number`);
}

function requiredNum(s: ThriftStruct, id: number, what: string): number {
  const v = num(s, id);
  if (v === undefined) throw new TypeError(`parquet: ${what} is missing`);
  return v;
}

function str(s: ThriftStruct, id: number): string | undefined {
  const v = s.get(id);
  return v instanceof Uint8Array ? textDecoder.decode(v) : undefined;
}

function struct(s: ThriftStruct, id: number): ThriftStruct | undefined {
  const v = s.get(id);
  return v instanceof Map ? v : undefined;
}

function list(s: ThriftStruct, id: number): ThriftValue[] {
  const v = s.get(id);
  return Array.isArray(v) ? v : [];
}

function decodeLogicalType(s: ThriftStruct): LogicalType {
  const [id, body] = [...s.entries()][0] ?? [0, new Map()];
  if (id === 1) return { kind: 'string' };
  if (id === 6) return { kind: 'date' };
  if (id === 10 && body instanceof Map) {
    return { kind: 'integer', bitWidth: num(body, 1) ?? 32, signed: body.get(2) === true };
  }
  if (id === 8 && body instanceof Map) {
    const unit = struct(body, 2);
    const unitId = unit ? [...unit.keys()][0] : 1;
    return { kind: 'timestamp', unit: unitId === 3 ? 'ns' : unitId === 2 ? 'us' : 'ms', utc: body.get(1) === true };
  }
  return { kind: 'other', id };
}

function decodeSchemaElement(s: ThriftStruct): SchemaElement {
  const logical = struct(s, 10);
  const element: SchemaElement = { name: str(s, 4) ?? '' };
  const type = num(s, 1);
  if (type !== undefined) element.type = type;
  const typeLength = num(s, 2);
  if (typeLength !== undefined) element.typeLength = typeLength;
  const repetition = num(s, 3);
  if (repetition !== undefined) element.repetition = repetition;
  const numChildren = num(s, 5);
  if (numChildren !== undefined) element.numChildren = numChildren;
  const converted = num(s, 6);
  if (converted !== undefined) element.convertedType = converted;
  if (logical) element.logicalType = decodeLogicalType(logical);
  return element;
}

function decodeColumnChunk(s: ThriftStruct): ColumnChunkMeta {
  if (s.get(8) !== undefined || s.get(9) !== undefined) throw new EncryptedError();
  const meta = struct(s, 3);
  if (!meta) throw new TypeError('parquet: column chunk without meta_data');
  const column: ColumnChunkMeta = {
    type: requiredNum(meta, 1, 'column type'),
    encodings: list(meta, 2).map(Number),
    path: list(meta, 3).map((p) => textDecoder.decode(p as Uint8Array)),
    codec: requiredNum(meta, 4, 'column codec'),
    numValues: requiredNum(meta, 5, 'column num_values'),
    totalUncompressedSize: requiredNum(meta, 6, 'column total_uncompressed_size'),
    totalCompressedSize: requiredNum(meta, 7, 'column total_compressed_size'),
    dataPageOffset: requiredNum(meta, 9, 'column data_page_offset'),
  };
  const dictionaryOffset = num(meta, 11);
  if (dictionaryOffset !== undefined) column.dictionaryPageOffset = dictionaryOffset;
  const stats = struct(meta, 12);
  const nullCount = stats ? num(stats, 3) : undefined;
  if (nullCount !== undefined) column.nullCount = nullCount;
  if (stats) {
    const min = stats.get(6) ?? stats.get(2);
    const max = stats.get(5) ?? stats.get(1);
    if (min instanceof Uint8Array) column.minValue = min;
    if (max instanceof Uint8Array) column.maxValue = max;
  }
  return column;
}

/** A column chunk with crypto metadata: the file is encrypted. */
export class EncryptedError extends Error {
  constructor() {
    super('encrypted columns');
  }
}

export function decodeFileMeta(bytes: Uint8Array): FileMeta {
  const s = new ThriftReader(bytes).readStruct();
  if (s.get(8) !== undefined) throw new EncryptedError();
  const keyValue = new Map<string, string>();
  for (const kv of list(s, 5)) {
    if (kv instanceof Map) keyValue.set(str(kv, 1) ?? '', str(kv, 2) ?? '');
  }
  const meta: FileMeta = {
    version: num(s, 1) ?? 1,
    schema: list(s, 2).map((e) => decodeSchemaElement(e as ThriftStruct)),
    numRows: requiredNum(s, 3, 'num_rows'),
    rowGroups: list(s, 4).map((g) => {
      const rg = g as ThriftStruct;
      return {
        columns: list(rg, 1).map((c) => decodeColumnChunk(c as ThriftStruct)),
        totalByteSize: num(rg, 2) ?? 0,
        numRows: requiredNum(rg, 3, 'row group num_rows'),
      };
    }),
    keyValue,
  };
  const createdBy = str(s, 6);
  if (createdBy !== undefined) meta.createdBy = createdBy;
  return meta;
}

/** Decodes the page header at `offset`; returns it and the offset of the page's data. */
export function decodePageHeader(bytes: Uint8Array, offset: number): { header: PageHeader; dataOffset: number } {
  const reader = new ThriftReader(bytes, offset);
  const s = reader.readStruct();
  const header: PageHeader = {
    type: requiredNum(s, 1, 'page type'),
    uncompressedSize: requiredNum(s, 2, 'uncompressed_page_size'),
    compressedSize: requiredNum(s, 3, 'compressed_page_size'),
  };
  const v1 = struct(s, 5);
  if (v1) {
    header.dataPage = {
      numValues: requiredNum(v1, 1, 'page num_values'), encoding: requiredNum(v1, 2, 'page encoding'),
      defEncoding: num(v1, 3) ?? Encoding.rle, repEncoding: num(v1, 4) ?? Encoding.rle,
    };
  }
  const dict = struct(s, 7);
  if (dict) header.dictionaryPage = { numValues: requiredNum(dict, 1, 'dictionary num_values'), encoding: num(dict, 2) ?? 0 };
  const v2 = struct(s, 8);
  if (v2) {
    header.dataPageV2 = {
      numValues: requiredNum(v2, 1, 'page num_values'), numNulls: num(v2, 2) ?? 0, numRows: num(v2, 3) ?? 0,
      encoding: requiredNum(v2, 4, 'page encoding'), defLength: num(v2, 5) ?? 0, repLength: num(v2, 6) ?? 0,
      isCompressed: v2.get(7) !== false,
    };
  }
  return { header, dataOffset: reader.pos };
}

// ---------- encoding ----------

function writeLogicalType(w: ThriftWriter, t: LogicalType): void {
  if (t.kind === 'other') return;
  w.struct(10, (u) => { writeLogicalTypeUnion(u, t); });
}

function writeLogicalTypeUnion(w: ThriftWriter, t: LogicalType): void {
  switch (t.kind) {
    case 'string': w.struct(1, () => {}); break;
    case 'date': w.struct(6, () => {}); break;
    case 'integer':
      w.struct(10, (i) => {
        // bitWidth is an i8 in parquet.thrift: the compact "byte" type.
        i.i8(1, t.bitWidth).bool(2, t.signed);
      });
      break;
    case 'timestamp':
      w.struct(8, (ts) => {
        ts.bool(1, t.utc).struct(2, (u) => { u.struct(t.unit === 'ms' ? 1 : t.unit === 'us' ? 2 : 3, () => {}); });
      });
      break;
    case 'other': break;
  }
}

export function encodeFileMeta(meta: FileMeta): Uint8Array {
  const w = new ThriftWriter().beginStruct();
  w.i32(1, meta.version);
  w.listStruct(2, meta.schema, (e, el) => {
    if (el.type !== undefined) e.i32(1, el.type);
    if (el.typeLength !== undefined) e.i32(2, el.typeLength);
    if (el.repetition !== undefined) e.i32(3, el.repetition);
    e.binary(4, el.name);
    if (el.numChildren !== undefined) e.i32(5, el.numChildren);
    if (el.convertedType !== undefined) e.i32(6, el.convertedType);
    if (el.logicalType) writeLogicalType(e, el.logicalType);
  });
  w.i64(3, meta.numRows);
  w.listStruct(4, meta.rowGroups, (g, rg) => {
    g.listStruct(1, rg.columns, (c, col) => {
      c.i64(2, col.dataPageOffset);
      c.struct(3, (m) => {
        m.i32(1, col.type).listI32(2, col.encodings).listBinary(3, col.path).i32(4, col.codec)
          .i64(5, col.numValues).i64(6, col.totalUncompressedSize).i64(7, col.totalCompressedSize)
          .i64(9, col.dataPageOffset);
        if (col.dictionaryPageOffset !== undefined) m.i64(11, col.dictionaryPageOffset);
        if (col.nullCount !== undefined) {
          m.struct(12, (st) => {
            st.i64(3, col.nullCount ?? 0);
            if (col.maxValue) st.binary(5, col.maxValue);
            if (col.minValue) st.binary(6, col.minValue);
          });
        }
      });
    });
    g.i64(2, rg.totalByteSize).i64(3, rg.numRows);
  });
  w.listStruct(5, [...meta.keyValue], (kv, [key, value]) => { kv.binary(1, key).binary(2, value); });
  if (meta.createdBy !== undefined) w.binary(6, meta.createdBy);
  if (meta.typeDefinedOrder) {
    // column_orders: one ColumnOrder union per leaf column, each TYPE_ORDER (an empty struct).
    w.listStruct(7, meta.schema.slice(1), (o) => { o.struct(1, () => {}); });
  }
  return w.endStruct().finish();
}

export function encodePageHeader(h: PageHeader): Uint8Array {
  const w = new ThriftWriter().beginStruct();
  w.i32(1, h.type).i32(2, h.uncompressedSize).i32(3, h.compressedSize);
  if (h.dataPage) {
    const p = h.dataPage;
    w.struct(5, (d) => { d.i32(1, p.numValues).i32(2, p.encoding).i32(3, p.defEncoding).i32(4, p.repEncoding); });
  }
  if (h.dictionaryPage) {
    const p = h.dictionaryPage;
    w.struct(7, (d) => { d.i32(1, p.numValues).i32(2, p.encoding); });
  }
  return w.endStruct().finish();
}
