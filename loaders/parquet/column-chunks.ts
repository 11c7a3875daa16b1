/**
 * The column chunks of the Parquet writer (writer.ts): which Arrow pieces a chunk covers, how its
 * values are laid out in pages (PLAIN, dictionary + RLE/bit-packed, BYTE_STREAM_SPLIT), and the
 * page bodies and statistics. writer.ts decides what goes where in the file; this file decides
 * the bytes of each chunk.
 */
import { type Data, type DataType, type Schema, Type, type Vector } from 'apache-arrow';
import { Encoding, PhysicalType, Repetition, type SchemaElement } from './format.js';
import { encodeHybrid, dictionaryOfWords, bitWidthOf, byteStreamSplit, DEFAULT_DICTIONARY_LIMITS, type DictionaryEncoding } from './encodings.js';
import { StringDictionary } from './string-dictionary.js';
import { feedStrings, isValid, plainStrings, stringBytesOf } from './string-values.js';
import { allPresentLevels } from './rle.js';
import { isSecondsTimestamp } from './arrow-types.js';
import { fixedMinMax, stringMinMax } from './statistics.js';
import type { ParquetWriteOptions } from './writer.js';
import type { CompressFn } from './compression.js';

/** A trial-compressed chunk's dictionary sees 65,536 values before it may give up (encodings.ts). */
const TRIAL_LIMITS = { ...DEFAULT_DICTIONARY_LIMITS, earlyLook: 1 << 16 };
/** Chunks this small decide for themselves only: their trial says little of the next file's. */
const CHOICE_MIN_VALUES = 4096;
/** Target size of a data page's values. */
const PAGE_BYTES = 1 << 20;
/** Target size of a row group's values. */
const ROW_GROUP_BYTES = 64 << 20;

interface Piece { data: Data; offset: number; length: number }

/** The Arrow chunks covering rows [start, end) of a vector, each with the range inside it. */
export function slicesOf(vector: Vector, start: number, end: number): Piece[] {
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

/** Rows per data page the writer cuts for a column of `type` (the wide path's one-page bound too). */
export function rowsPerPageOf(type: DataType): number {
  switch (type.typeId) {
    case Type.Float: case Type.Int: case Type.Timestamp: case Type.Date:
      return Math.max(1024, Math.floor(PAGE_BYTES / (((type as unknown as { bitWidth?: number }).bitWidth ?? 64) / 8 || 8)));
    case Type.Bool: return PAGE_BYTES;
    default: return 64 * 1024;
  }
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

/** Rows per row group: at most 1,048,576 (as recent pyarrow) and about ROW_GROUP_BYTES of values. */
export function rowGroupRowsOf(schema: Schema): number {
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
export interface PageSpec {
  piece: number;
  start: number;
  count: number;
  present: number;
  /** Index of the page's first present value among the chunk's present values. */
  valueStart: number;
  /** ... and among its piece's present values. */
  pieceValueStart: number;
}

export function pagesOf(pieces: Piece[], type: DataType): PageSpec[] {
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
  /** Set when a trial compression decided it: whether compressing the chunk pays at all. */
  compressPays?: boolean;
  /**
   * What the trial already made, for the writer to reuse rather than redo: the compressed
   * dictionary page, the compressed PLAIN values (a data page's body when one REQUIRED page
   * holds the chunk), and the dictionary indices RLE/bit-packed.
   */
  trial?: { dictionaryPage?: Uint8Array; plainValues?: Uint8Array; indices?: Uint8Array };
}

function kindOf(type: DataType): ChunkKind {
  switch (type.typeId) {
    case Type.Bool: return 'bool';
    case Type.Utf8: case Type.LargeUtf8: case Type.Dictionary: return 'string';
    default: return 'fixed';
  }
}

/**
 * Chooses the chunk's encoding (and builds its dictionary and statistics where they are cheap).
 * With `trial` (a compressor; the writer passes one for frames that are not wide), a
 * fixed-width chunk with a dictionary candidate is compressed both ways and the smaller is
 * kept: zstd finds repeated doubles in PLAIN pages too, and often beats a dictionary whose
 * indices are nearly random (docs/parquet.md, "Activation frames").
 */
export function planChunk(type: DataType, element: SchemaElement, pieces: Piece[], options: ParquetWriteOptions, trial?: CompressFn): ChunkPlan {
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
      const segments = plan.valueBytes.map(aligned32);
      // an earlier file of the same frame already tried this column (encodingChoices): no trial;
      // a dictionary that no longer fits leaves the compression to the writer's first-page rule
      const chosen = trial ? options.encodingChoices?.get(element.name) : undefined;
      if (chosen !== undefined) {
        const dictionary = chosen.dictionary ? dictionaryOfWords(segments, words, total, TRIAL_LIMITS) : undefined;
        if (dictionary) plan.dictionary = { ...dictionary, bitWidth: bitWidthOf(dictionary.count) };
        if (dictionary || !chosen.dictionary) plan.compressPays = chosen.compressed;
      } else if (trial) {
        const dictionary = dictionaryOfWords(segments, words, total, TRIAL_LIMITS);
        if (dictionary) Object.assign(plan, smallerOf(plan, { ...dictionary, bitWidth: bitWidthOf(dictionary.count) }, trial));
        // recorded only when both ways were compressed: a dictionary that gave up early cost little
        if (dictionary && total >= CHOICE_MIN_VALUES) options.encodingChoices?.set(element.name, { dictionary: plan.dictionary !== undefined, compressed: plan.compressPays ?? true });
      } else {
        const dictionary = dictionaryOfWords(segments, words, total);
        if (dictionary && pays(dictionary, total, total * plan.width)) plan.dictionary = { ...dictionary, bitWidth: bitWidthOf(dictionary.count) };
      }
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
      const builder = new StringDictionary(total, categorical, DEFAULT_DICTIONARY_LIMITS);
      feedStrings(pieces, builder);
      const dictionary = builder.result();
      let plainBytes = 0;
      for (const { data, offset, length } of pieces) plainBytes += stringBytesOf(data, offset, length) + 4 * length;
      if (dictionary && (categorical || pays(dictionary, total, plainBytes))) plan.dictionary = { ...dictionary, bitWidth: bitWidthOf(dictionary.count) };
    }
    if (plan.dictionary) plan.minMax = stringMinMax(plan.dictionary.page, plan.dictionary.count);
  }
  if (plan.dictionary) plan.encoding = Encoding.rleDictionary;
  return plan;
}

/**
 * PLAIN or the dictionary, whichever stores fewer bytes, each compressed or not (the codec is
 * per chunk). Page headers and levels are the same either way, so they are left out.
 */
function smallerOf(plan: ChunkPlan, dictionary: NonNullable<ChunkPlan['dictionary']>, compress: CompressFn): Pick<ChunkPlan, 'dictionary' | 'compressPays' | 'trial'> {
  const plain = concat(plan.valueBytes);
  const plainValues = compress(plain);
  const plainZ = plainValues.length;
  const indices = encodeHybrid(dictionary.indices, dictionary.indices.length, dictionary.bitWidth);
  const dictRaw = dictionary.page.length + indices.length + 1;
  const dictionaryPage = compress(dictionary.page);
  const dictZ = dictionaryPage.length + compress(indices).length + 1;
  const best = Math.min(plain.length, plainZ, dictRaw, dictZ);
  if (best === dictZ || best === dictRaw) return { dictionary, compressPays: dictZ < dictRaw, trial: { dictionaryPage, indices } };
  return { compressPays: plainZ < plain.length, trial: { plainValues } };
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
export function pageBody(plan: ChunkPlan, page: PageSpec): Uint8Array[] {
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
    // the trial's encoding of all the chunk's indices is this page's when the page holds them all
    const encoded = plan.trial?.indices && page.valueStart === 0 && page.present === plan.dictionary.indices.length
      ? plan.trial.indices : encodeHybrid(indices, indices.length, plan.dictionary.bitWidth);
    values = [Uint8Array.of(plan.dictionary.bitWidth), encoded];
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

export function concat(parts: Uint8Array[]): Uint8Array {
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
