/**
 * Decodes the pages of one column chunk into one Arrow chunk.
 *
 * Handles what pandas/pyarrow, DuckDB and our writer produce for flat columns: dictionary
 * pages, PLAIN and RLE_DICTIONARY data pages (v1 and v2), RLE/bit-packed definition levels,
 * snappy / gzip / uncompressed. A single-literal snappy page (ours) is copied straight into the
 * output array. Anything else raises UnsupportedFeatureError so the caller can use another codec.
 */
import {
  type Data, type DataType, Type, TimeUnit, makeData, makeVector, Utf8, type Vector,
} from 'apache-arrow';
import { Codec, Encoding, PageType, PhysicalType, decodePageHeader, type ColumnChunkMeta, type PageHeader, type SchemaElement } from './format.js';
import { decompressInto, decompressPage } from './compression.js';
import { byteStreamJoin } from './encodings.js';
import { decodeHybrid } from './rle.js';
import { UnsupportedFeatureError } from './errors.js';

export { UnsupportedFeatureError };


type PhysicalArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
type OutputArray = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array | BigInt64Array | BigUint64Array;

interface DictionaryValues {
  physical?: PhysicalArray;
  strings?: { offsets: Int32Array; bytes: Uint8Array };
  count: number;
}

const WIDTH: Record<number, number> = {
  [PhysicalType.int32]: 4, [PhysicalType.float]: 4, [PhysicalType.int64]: 8, [PhysicalType.double]: 8,
};

/**
 * For large reads: fixed-width arrays over SharedArrayBuffers, and zstd PLAIN pages of REQUIRED
 * columns handed to `defer` (which fills the array later, on other threads) instead of being
 * decompressed here. The caller must run the deferred pages before using the Data.
 */
export interface ParallelPages {
  defer(src: Uint8Array, dst: Uint8Array): void;
}

/** Decodes one column chunk (`bytes` holds exactly its pages) into an Arrow Data of `rows` rows. */
export function decodeColumnChunk(bytes: Uint8Array, column: ColumnChunkMeta, element: SchemaElement, target: DataType, rows: number, parallel?: ParallelPages): Data {
  const builder = new ChunkBuilder(target, element, rows, parallel !== undefined);
  const fill = parallel && column.codec === Codec.zstd
    ? (body: Uint8Array) => (out: Uint8Array) => { parallel.defer(body, out); return true; }
    : (body: Uint8Array) => (out: Uint8Array) => decompressInto(body, out, column.codec);
  const optional = element.repetition !== 0;
  let pos = 0;
  let dictionary: DictionaryValues | undefined;
  while (builder.row < rows && pos < bytes.length) {
    const { header, dataOffset } = decodePageHeader(bytes, pos);
    const end = dataOffset + header.compressedSize;
    if (end > bytes.length) throw new RangeError(`page at byte ${pos} runs past its column chunk`);
    const body = bytes.subarray(dataOffset, end);
    if (header.type === PageType.dictionary) {
      dictionary = decodeDictionaryPage(header, decompressPage(body, header.uncompressedSize, column.codec), column.type);
      builder.setDictionary(dictionary);
    } else if (header.type === PageType.data && header.dataPage && !optional && header.dataPage.encoding === Encoding.plain
      && builder.fillPlain(header.dataPage.numValues, header.uncompressedSize, fill(body))) {
      // A PLAIN page of a REQUIRED column went straight into the column's array.
    } else if (header.type === PageType.data && header.dataPage) {
      const page = decompressPage(body, header.uncompressedSize, column.codec);
      let levels: Uint8Array | undefined;
      let valuesAt = 0;
      if (optional) {
        const length = readUint32(page, 0);
        levels = new Uint8Array(header.dataPage.numValues);
        decodeHybrid(page, 4, 4 + length, 1, levels.length, levels);
        valuesAt = 4 + length;
      }
      builder.addPage(header.dataPage.numValues, levels, header.dataPage.encoding, page.subarray(valuesAt), dictionary);
    } else if (header.type === PageType.dataV2 && header.dataPageV2) {
      const v2 = header.dataPageV2;
      let levels: Uint8Array | undefined;
      if (optional) {
        levels = new Uint8Array(v2.numValues);
        decodeHybrid(body, v2.repLength, v2.repLength + v2.defLength, 1, levels.length, levels);
      }
      const valuesBody = body.subarray(v2.repLength + v2.defLength);
      const valuesSize = header.uncompressedSize - v2.repLength - v2.defLength;
      // An empty v2 page may hold no compressed bytes at all.
      const values = v2.isCompressed && valuesSize > 0 ? decompressPage(valuesBody, valuesSize, column.codec) : valuesBody;
      builder.addPage(v2.numValues, levels, v2.encoding, values, dictionary);
    }
    // Index pages and unknown page types are skipped.
    pos = end;
  }
  if (builder.row !== rows) throw new RangeError(`column chunk holds ${builder.row} of its ${rows} rows`);
  return builder.finish();
}

function readUint32(bytes: Uint8Array, at: number): number {
  if (at + 4 > bytes.length) throw new RangeError('page too short for its level length');
  return ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16)) + (bytes[at + 3] as number) * 0x1000000;
}

function decodeDictionaryPage(header: PageHeader, page: Uint8Array, physicalType: number): DictionaryValues {
  const count = header.dictionaryPage?.numValues ?? 0;
  if (physicalType === PhysicalType.byteArray) return { strings: parseStrings(page, count), count };
  const width = WIDTH[physicalType];
  if (width === undefined) throw new UnsupportedFeatureError(`dictionary of physical type ${physicalType}`);
  return { physical: alignedCopy(page.subarray(0, count * width), physicalType), count };
}

function alignedCopy(bytes: Uint8Array, physicalType: number): PhysicalArray {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  switch (physicalType) {
    case PhysicalType.int32: return new Int32Array(copy.buffer);
    case PhysicalType.int64: return new BigInt64Array(copy.buffer);
    case PhysicalType.float: return new Float32Array(copy.buffer);
    default: return new Float64Array(copy.buffer);
  }
}

/** PLAIN BYTE_ARRAY values -> offsets into a compacted byte buffer. */
function parseStrings(page: Uint8Array, count: number): { offsets: Int32Array; bytes: Uint8Array } {
  const offsets = new Int32Array(count + 1);
  const bytes = new Uint8Array(Math.max(0, page.length - 4 * count));
  let pos = 0;
  let out = 0;
  for (let i = 0; i < count; i++) {
    const length = readUint32(page, pos);
    pos += 4;
    if (pos + length > page.length) throw new RangeError('string value runs past its page');
    bytes.set(page.subarray(pos, pos + length), out);
    pos += length;
    out += length;
    offsets[i + 1] = out;
  }
  return { offsets, bytes: bytes.subarray(0, out) };
}

/** Accumulates the pages of one chunk into the output arrays of the target Arrow type. */
class ChunkBuilder {
  row = 0;
  private validity: Uint8Array | undefined;
  private nulls = 0;
  private readonly kind: 'fixed' | 'bool' | 'string' | 'dictionary';
  private readonly out: OutputArray | undefined;
  private stringOffsets: Int32Array | undefined;
  private stringBytes: Uint8Array | undefined;
  private stringLength = 0;
  private dictionaryValues: DictionaryValues | undefined;
  private readonly physicalWidth: number;

  constructor(private readonly target: DataType, private readonly element: SchemaElement, private readonly rows: number, shared = false) {
    this.physicalWidth = WIDTH[element.type ?? -1] ?? 0;
    switch (target.typeId) {
      case Type.Bool:
        this.kind = 'bool';
        this.out = new Uint8Array(Math.ceil(rows / 8));
        break;
      case Type.Utf8: case Type.LargeUtf8:
        this.kind = 'string';
        this.stringOffsets = new Int32Array(rows + 1);
        this.stringBytes = new Uint8Array(1024);
        this.out = undefined;
        break;
      case Type.Dictionary: {
        this.kind = 'dictionary';
        const indices = (target as unknown as { indices: DataType }).indices;
        this.out = new (indices as unknown as { ArrayType: new (n: number) => OutputArray }).ArrayType(rows);
        break;
      }
      default: {
        this.kind = 'fixed';
        const ArrayType = (target as unknown as { ArrayType: (new (n: number) => OutputArray) & (new (b: ArrayBufferLike) => OutputArray) & { BYTES_PER_ELEMENT: number } }).ArrayType;
        this.out = shared ? new ArrayType(new SharedArrayBuffer(rows * ArrayType.BYTES_PER_ELEMENT)) : new ArrayType(rows);
      }
    }
  }

  setDictionary(dictionary: DictionaryValues): void {
    if (this.kind === 'dictionary' && this.dictionaryValues) {
      throw new UnsupportedFeatureError('two dictionary pages in one column chunk');
    }
    this.dictionaryValues = dictionary;
  }

  /**
   * Lets `fill` write `count` PLAIN values of `bytes` bytes straight into the output array
   * (no intermediate page buffer) when they are its bytes as they are; false, with nothing
   * consumed, when they need decoding or `fill` cannot.
   */
  fillPlain(count: number, bytes: number, fill: (out: Uint8Array) => boolean): boolean {
    const width = this.physicalWidth;
    const out = this.out;
    if (this.kind !== 'fixed' || width === 0 || !out || out.BYTES_PER_ELEMENT !== width || this.needsConversion()) return false;
    if (bytes !== count * width || this.row + count > this.rows) return false;
    if (!fill(new Uint8Array(out.buffer, out.byteOffset + this.row * width, bytes))) return false;
    this.row += count;
    return true;
  }

  addPage(count: number, levels: Uint8Array | undefined, encoding: number, values: Uint8Array, dictionary: DictionaryValues | undefined): void {
    if (this.row + count > this.rows) throw new RangeError(`pages hold more than the chunk's ${this.rows} rows`);
    const present = levels ? this.markNulls(levels) : count;
    const dictionaryEncoded = encoding === Encoding.rleDictionary || encoding === Encoding.plainDictionary;
    if (dictionaryEncoded) {
      if (!dictionary) throw new RangeError('dictionary-encoded page without a dictionary page');
      const bitWidth = values[0] ?? 0;
      if (bitWidth > 32) throw new RangeError(`dictionary index bit width ${bitWidth} is over 32`);
      // Width 0 means "every index is 0": only a one-entry dictionary can be addressed that way.
      if (bitWidth === 0 && present > 0 && dictionary.count !== 1) throw new RangeError(`dictionary indices of bit width 0 for a dictionary of ${dictionary.count} values`);
      const indices = new Int32Array(present);
      if (present > 0) decodeHybrid(values, 1, values.length, bitWidth, present, indices);
      for (let i = 0; i < present; i++) {
        if ((indices[i] as number) >= dictionary.count) throw new RangeError(`dictionary index ${indices[i]} out of ${dictionary.count}`);
      }
      this.addIndices(count, levels, present, indices, dictionary);
    } else if (encoding === Encoding.plain) {
      this.addPlain(count, levels, present, values);
    } else if (encoding === Encoding.byteStreamSplit && this.kind === 'fixed' && this.physicalWidth > 0) {
      this.addPlain(count, levels, present, byteStreamJoin(values, this.physicalWidth, present));
    } else {
      throw new UnsupportedFeatureError(`encoding ${encoding}`);
    }
    this.row += count;
  }

  private markNulls(levels: Uint8Array): number {
    let present = 0;
    for (let i = 0; i < levels.length; i++) {
      if (levels[i] === 1) {
        present++;
        continue;
      }
      if (!this.validity) {
        this.validity = new Uint8Array(Math.ceil(this.rows / 8));
        // Rows before the first null are all present.
        for (let r = 0; r < this.row + i; r++) this.validity[r >> 3] = (this.validity[r >> 3] as number) | (1 << (r & 7));
      }
      this.nulls++;
    }
    if (this.validity) {
      for (let i = 0; i < levels.length; i++) {
        const r = this.row + i;
        if (levels[i] === 1) this.validity[r >> 3] = (this.validity[r >> 3] as number) | (1 << (r & 7));
      }
    }
    return present;
  }

  private addPlain(count: number, levels: Uint8Array | undefined, present: number, values: Uint8Array): void {
    switch (this.kind) {
      case 'fixed': {
        const width = this.physicalWidth;
        if (width === 0) throw new UnsupportedFeatureError(`physical type ${this.element.type} for ${String(this.target)}`);
        if (values.length < present * width) throw new RangeError(`page holds ${values.length} bytes for ${present} values`);
        const out = this.out as OutputArray;
        if (present === count && out.BYTES_PER_ELEMENT === width && !this.needsConversion()) {
          // The fast path: the page bytes are the column's bytes.
          new Uint8Array(out.buffer, out.byteOffset + this.row * width, count * width).set(values.subarray(0, count * width));
          return;
        }
        this.scatter(count, levels, alignedCopy(values.subarray(0, present * width), this.element.type as number));
        return;
      }
      case 'bool': {
        const out = this.out as Uint8Array;
        let j = 0;
        for (let i = 0; i < count; i++) {
          if (levels && levels[i] !== 1) continue;
          if (((values[j >> 3] as number) >> (j & 7)) & 1) {
            const r = this.row + i;
            out[r >> 3] = (out[r >> 3] as number) | (1 << (r & 7));
          }
          j++;
        }
        return;
      }
      case 'string': {
        const strings = parseStrings(values, present);
        this.appendStrings(count, levels, strings, undefined);
        return;
      }
      case 'dictionary':
        throw new UnsupportedFeatureError('categorical column stored without a dictionary page');
    }
  }

  private addIndices(count: number, levels: Uint8Array | undefined, present: number, indices: Int32Array, dictionary: DictionaryValues): void {
    switch (this.kind) {
      case 'dictionary': {
        const out = this.out as Int32Array;
        let j = 0;
        for (let i = 0; i < count; i++) if (!levels || levels[i] === 1) out[this.row + i] = indices[j++] as number;
        return;
      }
      case 'string':
        if (!dictionary.strings) throw new RangeError('string column with a numeric dictionary');
        this.appendStrings(count, levels, dictionary.strings, indices);
        return;
      case 'fixed': {
        if (!dictionary.physical) throw new RangeError('numeric column with a string dictionary');
        const physical = dictionary.physical;
        const gathered = new (physical.constructor as new (n: number) => PhysicalArray)(present);
        for (let i = 0; i < present; i++) (gathered as Float64Array)[i] = (physical as Float64Array)[indices[i] as number] as number;
        this.scatter(count, levels, gathered);
        return;
      }
      case 'bool':
        throw new UnsupportedFeatureError('dictionary-encoded booleans');
    }
    void present;
  }

  /** Whether physical values need a per-value conversion into the target array. */
  private needsConversion(): boolean {
    return timestampScale(this.target, this.element) !== 1n;
  }

  /** Places `present` physical values at the rows whose level is 1, converting to the target. */
  private scatter(count: number, levels: Uint8Array | undefined, physical: PhysicalArray): void {
    let out = this.out as OutputArray;
    // Same bits, other signedness: view the output the way the physical values are typed.
    if (out instanceof BigUint64Array) out = new BigInt64Array(out.buffer, out.byteOffset, out.length);
    if (out instanceof Uint32Array && physical instanceof Int32Array) physical = new Uint32Array(physical.buffer, physical.byteOffset, physical.length) as unknown as Int32Array;
    const scale = timestampScale(this.target, this.element);
    const bigintOut = out instanceof BigInt64Array;
    const bigintIn = physical instanceof BigInt64Array;
    let j = 0;
    for (let i = 0; i < count; i++) {
      if (levels && levels[i] !== 1) continue;
      const v = physical[j++] as number | bigint;
      let converted: number | bigint = v;
      if (bigintOut && !bigintIn) converted = BigInt(v as number);
      else if (!bigintOut && bigintIn) converted = Number(v);
      if (scale !== 1n) converted = scale > 0n ? (converted as bigint) * scale : (converted as bigint) / -scale;
      (out as Float64Array)[this.row + i] = converted as number;
    }
  }

  private appendStrings(count: number, levels: Uint8Array | undefined, strings: { offsets: Int32Array; bytes: Uint8Array }, indices: Int32Array | undefined): void {
    const offsets = this.stringOffsets as Int32Array;
    let j = 0;
    for (let i = 0; i < count; i++) {
      const r = this.row + i;
      if (!levels || levels[i] === 1) {
        const k = indices ? (indices[j] as number) : j;
        j++;
        const from = strings.offsets[k] as number;
        const to = strings.offsets[k + 1] as number;
        this.appendBytes(strings.bytes, from, to);
      }
      offsets[r + 1] = this.stringLength;
    }
  }

  private appendBytes(source: Uint8Array, from: number, to: number): void {
    const length = to - from;
    let buffer = this.stringBytes as Uint8Array;
    if (this.stringLength + length > buffer.length) {
      const grown = new Uint8Array(Math.max(buffer.length * 2, this.stringLength + length));
      grown.set(buffer.subarray(0, this.stringLength));
      buffer = this.stringBytes = grown;
    }
    if (length < 16) for (let k = 0; k < length; k++) buffer[this.stringLength + k] = source[from + k] as number;
    else buffer.set(source.subarray(from, to), this.stringLength);
    this.stringLength += length;
  }

  finish(): Data {
    const nullBitmap = this.validity;
    const common = { length: this.rows, nullCount: this.nulls, ...(nullBitmap ? { nullBitmap } : {}) };
    switch (this.kind) {
      case 'string':
        return makeData({ type: new Utf8(), ...common, valueOffsets: this.stringOffsets as Int32Array, data: (this.stringBytes as Uint8Array).subarray(0, this.stringLength) });
      case 'dictionary': {
        const strings = this.dictionaryValues?.strings ?? { offsets: new Int32Array(1), bytes: new Uint8Array(0) };
        const dictionary: Vector = makeVector(makeData({ type: new Utf8(), length: strings.offsets.length - 1, nullCount: 0, valueOffsets: strings.offsets, data: strings.bytes }));
        return makeData({ type: this.target as never, ...common, data: this.out as never, dictionary: dictionary as never });
      }
      default:
        return makeData({ type: this.target as never, ...common, data: this.out as never });
    }
  }
}

const UNIT_INDEX = { ms: 1, us: 2, ns: 3 } as const;

/**
 * Factor from the file's timestamp unit to the target's: positive multiplies, negative divides.
 */
function timestampScale(target: DataType, element: SchemaElement): bigint {
  if (target.typeId !== Type.Timestamp || element.logicalType?.kind !== 'timestamp') return 1n;
  const targetIndex = (target as unknown as { unit: TimeUnit }).unit as number;
  const fileIndex = UNIT_INDEX[element.logicalType.unit];
  const steps = targetIndex - fileIndex;
  if (steps === 0) return 1n;
  const factor = 1000n ** BigInt(Math.abs(steps));
  return steps > 0 ? factor : -factor;
}
