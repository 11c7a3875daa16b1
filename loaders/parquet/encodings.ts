/**
 * Value encodings the writer chooses per column chunk: the RLE / bit-packed hybrid (levels and
 * dictionary indices), dictionaries of fixed-width values (strings: string-dictionary.ts), and
 * BYTE_STREAM_SPLIT.
 * A dictionary is built only while it pays: building stops as soon as the distinct values
 * outgrow the limits, and the chunk is written PLAIN.
 */

/** Growable byte output (also the lean wide writer's file buffer, wide-doubles.ts). */
export class Bytes {
  buffer: Uint8Array;
  length = 0;
  constructor(capacity: number) {
    this.buffer = new Uint8Array(Math.max(16, capacity));
  }
  reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
  /** Unsigned varint (values below 2^52). */
  varint(value: number): void {
    this.reserve(10);
    let v = value;
    while (v >= 0x80) {
      this.buffer[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buffer[this.length++] = v;
  }
  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }
  bytes(value: Uint8Array): void {
    this.reserve(value.length);
    if (value.length < 32) for (let i = 0; i < value.length; i++) this.buffer[this.length + i] = value[i] as number;
    else this.buffer.set(value, this.length);
    this.length += value.length;
  }
  /** Little-endian 32-bit unsigned. */
  u32(value: number): void {
    this.reserve(4);
    new DataView(this.buffer.buffer, this.buffer.byteOffset).setUint32(this.length, value, true);
    this.length += 4;
  }
  /** Thrift compact: an i64 field `delta` ids after the previous one, holding a non-negative value. */
  i64Field(delta: number, value: number): void {
    this.byte((delta << 4) | 6);
    this.varint(2 * value);
  }
  /** Thrift compact: a list header of `size` elements of `elementType`. */
  listSize(size: number, elementType: number): void {
    if (size < 15) this.byte((size << 4) | elementType);
    else {
      this.byte(0xf0 | elementType);
      this.varint(size);
    }
  }
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

/** Runs of at least this many equal values are written as RLE runs. */
const MIN_RLE_RUN = 8;

/**
 * The RLE / bit-packed hybrid encoding of `values[0..count)` with `bitWidth` bits each (no
 * length prefix). Runs of 8+ equal values become RLE runs, the rest bit-packed groups of 8.
 */
export function encodeHybrid(values: ArrayLike<number>, count: number, bitWidth: number): Uint8Array {
  const out = new Bytes(16 + Math.ceil((count * bitWidth) / 8));
  const byteWidth = (bitWidth + 7) >> 3;
  let literalStart = 0;
  let i = 0;
  while (i < count) {
    const value = values[i] as number;
    let run = 1;
    while (i + run < count && values[i + run] === value) run++;
    if (run < MIN_RLE_RUN) {
      i += run;
      continue;
    }
    // A literal run in the middle must hold whole groups of 8: lend it the run's first values.
    const literal = i - literalStart;
    const lend = (8 - (literal % 8)) % 8;
    if (literal + lend > 0) writeBitPacked(out, values, literalStart, literal + lend, bitWidth);
    const rle = run - lend;
    if (rle > 0) {
      out.varint(rle * 2);
      out.reserve(byteWidth);
      for (let b = 0; b < byteWidth; b++) out.buffer[out.length++] = (value >>> (8 * b)) & 0xff;
    }
    i += run;
    literalStart = i;
  }
  if (literalStart < count) writeBitPacked(out, values, literalStart, count - literalStart, bitWidth);
  return out.finish();
}

function writeBitPacked(out: Bytes, values: ArrayLike<number>, start: number, count: number, bitWidth: number): void {
  const groups = Math.ceil(count / 8);
  out.varint(groups * 2 + 1);
  const bytes = groups * bitWidth;
  out.reserve(bytes);
  const buffer = out.buffer;
  const base = out.length;
  buffer.fill(0, base, base + bytes);
  out.length = base + bytes;
  if (bitWidth === 0) return;
  if (bitWidth > 24) {
    writeBitPackedWide(buffer, base, values, start, count, groups, bitWidth);
    return;
  }
  // Up to 24 bits per value and fewer than 8 pending bits: the accumulator stays within 31 bits.
  let acc = 0;
  let accBits = 0;
  let pos = base;
  const end = start + count;
  for (let k = start; k < start + groups * 8; k++) {
    acc |= (k < end ? (values[k] as number) : 0) << accBits;
    accBits += bitWidth;
    while (accBits >= 8) {
      buffer[pos++] = acc & 0xff;
      acc >>>= 8;
      accBits -= 8;
    }
  }
}

/** Values of more than 24 bits (categorical dictionaries of millions of entries): float arithmetic. */
function writeBitPackedWide(buffer: Uint8Array, base: number, values: ArrayLike<number>, start: number, count: number, groups: number, bitWidth: number): void {
  let acc = 0;
  let accBits = 0;
  let pos = base;
  for (let k = 0; k < groups * 8; k++) {
    const v = k < count ? (values[start + k] as number) : 0;
    acc += v * 2 ** accBits;
    accBits += bitWidth;
    while (accBits >= 8) {
      buffer[pos++] = acc & 0xff;
      acc = Math.floor(acc / 256);
      accBits -= 8;
    }
  }
}

/** Bits needed for dictionary indices 0..count-1 (at least 1). */
export function bitWidthOf(count: number): number {
  let width = 1;
  while (2 ** width < count) width++;
  return width;
}

/** A dictionary (its PLAIN page) and the index of every present value, in order. */
export interface DictionaryEncoding {
  page: Uint8Array;
  count: number;
  indices: Int32Array;
}

export interface DictionaryLimits {
  /** Largest dictionary page (pyarrow's default: 1 MiB). */
  maxPageBytes: number;
  /**
   * Values seen before giving up when 3/4 of them are distinct (default 1,024). The writer looks
   * further (65,536) where it compares compressed sizes anyway: activation frames are sorted by
   * trial, so their first thousand soma distances are all distinct, and later trials repeat them.
   */
  earlyLook?: number;
}

export const DEFAULT_DICTIONARY_LIMITS: DictionaryLimits = { maxPageBytes: 1 << 20 };

/** After this many values, a chunk whose values are mostly distinct stops building its dictionary. */
export const EARLY_LOOK = 1024;
export const EARLY_DISTINCT = 0.75;

function hashWords(lo: number, hi: number): number {
  return (Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi ^ (hi >>> 15), 0x85ebca77)) >>> 0;
}

/**
 * Dictionary of fixed-width values (`words` 32-bit words each), compared by their bits (so
 * NaN is one value, as pyarrow does). `segments` are the present values, in order. Undefined
 * when the dictionary would not pay: more distinct values than the limit allows, or more
 * than half of the values distinct.
 */
export function dictionaryOfWords(segments: readonly Uint32Array[], words: 1 | 2, total: number, limits = DEFAULT_DICTIONARY_LIMITS): DictionaryEncoding | undefined {
  const maxEntries = Math.min(Math.floor(limits.maxPageBytes / (4 * words)), Math.max(1, Math.floor(total / 2)));
  let capacity = 16;
  while (capacity < 2 * Math.min(maxEntries, total)) capacity *= 2;
  const table = new Int32Array(capacity).fill(-1);
  const mask = capacity - 1;
  const entries = new Uint32Array(Math.max(1, Math.min(maxEntries, total)) * words);
  let count = 0;
  const indices = new Int32Array(total);
  let n = 0;
  const earlyLook = limits.earlyLook ?? EARLY_LOOK;
  for (const segment of segments) {
    const values = segment.length / words;
    for (let v = 0; v < values; v++) {
      const lo = segment[v * words] as number;
      const hi = words === 2 ? (segment[v * words + 1] as number) : 0;
      let slot = hashWords(lo, hi) & mask;
      for (;;) {
        const at = table[slot] as number;
        if (at === -1) {
          if (count >= maxEntries || (n >= earlyLook && count > n * EARLY_DISTINCT)) return undefined;
          table[slot] = count;
          entries[count * words] = lo;
          if (words === 2) entries[count * words + 1] = hi;
          indices[n++] = count++;
          break;
        }
        if (entries[at * words] === lo && (words === 1 || entries[at * words + 1] === hi)) {
          indices[n++] = at;
          break;
        }
        slot = (slot + 1) & mask;
      }
    }
  }
  const page = new Uint8Array(entries.buffer, 0, count * words * 4);
  return { page, count, indices };
}

/** BYTE_STREAM_SPLIT: byte k of every value, then byte k+1, ... (`width` bytes per value). */
export function byteStreamSplit(bytes: Uint8Array, width: number): Uint8Array {
  const count = bytes.length / width;
  const out = new Uint8Array(bytes.length);
  for (let k = 0; k < width; k++) {
    const base = k * count;
    for (let i = 0; i < count; i++) out[base + i] = bytes[i * width + k] as number;
  }
  return out;
}

/** The inverse of byteStreamSplit, for `count` values. */
export function byteStreamJoin(bytes: Uint8Array, width: number, count: number): Uint8Array {
  if (bytes.length < count * width) throw new RangeError(`BYTE_STREAM_SPLIT page holds ${bytes.length} bytes for ${count} values of ${width}`);
  const out = new Uint8Array(count * width);
  for (let k = 0; k < width; k++) {
    const base = k * count;
    for (let i = 0; i < count; i++) out[i * width + k] = bytes[base + i] as number;
  }
  return out;
}
