/**
 * String column values as the Parquet writer reads them from Arrow data: validity, each value's
 * UTF-8 bytes (plain or dictionary-encoded data), PLAIN pages, and the feeding of the writer's
 * string dictionary (one lookup per distinct value of dictionary-encoded data, not one per row).
 */
import { type Data, Type, type Vector } from 'apache-arrow';
import type { StringDictionary } from './string-dictionary.js';

/** Whether row `index` of `data` holds a value (not null). */
export function isValid(data: Data, index: number): boolean {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) return true;
  const bit = data.offset + index;
  return (((bitmap[bit >> 3] as number) >> (bit & 7)) & 1) === 1;
}

/** PLAIN BYTE_ARRAY: each non-null value as a 4-byte length and its UTF-8 bytes. */
export function plainStrings(data: Data, start: number, count: number): Uint8Array[] {
  const at = stringAt(data);
  let total = 4 * count;
  for (let i = start; i < start + count; i++) {
    // a null row's key (dictionary data) may be anything, even out of range: not looked up
    if (!isValid(data, i)) continue;
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

/** The UTF-8 bytes (as offsets into a shared buffer) of a string chunk's value at `i`. */
export function stringAt(data: Data): (i: number) => [bytes: Uint8Array, from: number, to: number] {
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

/** Every present string of the chunk into `builder`, plain pieces straight from their offsets. */
export function feedStrings(pieces: readonly { data: Data; offset: number; length: number }[], builder: StringDictionary): void {
  for (const { data, offset, length } of pieces) {
    if (data.type.typeId !== Type.Dictionary && data.nullCount === 0 && data.valueOffsets instanceof Int32Array) {
      if (!builder.addRange(data.values as Uint8Array, data.valueOffsets, offset, offset + length)) return;
      continue;
    }
    if (data.type.typeId === Type.Dictionary) {
      if (!feedKeys(data, offset, length, builder)) return;
      continue;
    }
    // with nulls, or with 64-bit offsets: value by value
    const at = stringAt(data);
    for (let i = offset; i < offset + length; i++) {
      if (!isValid(data, i)) continue;
      const [bytes, from, to] = at(i);
      if (!builder.add(bytes, from, to)) return;
    }
  }
}

/**
 * A dictionary-encoded piece: each distinct key's string is added once, its repeats by entry.
 * False when the dictionary stopped paying.
 */
function feedKeys(data: Data, offset: number, length: number, builder: StringDictionary): boolean {
  const dictionary = (data.dictionary as Vector).data[0] as Data;
  const at = stringAt(dictionary);
  const keys = data.values as Int32Array;
  const entryOf = new Int32Array(dictionary.length).fill(-1);
  if (data.nullCount === 0) {
    // runs of keys already seen in one tight loop; each new key's string added once
    for (let i = offset, end = offset + length; i < end; i++) {
      i = builder.addMapped(entryOf, keys, i, end);
      if (i === end) return true;
      const key = keys[i] as number;
      const [bytes, from, to] = at(key);
      if (!builder.add(bytes, from, to)) return false;
      entryOf[key] = builder.lastEntry;
    }
    return true;
  }
  for (let i = offset; i < offset + length; i++) {
    if (!isValid(data, i)) continue;
    const key = keys[i] as number;
    const entry = entryOf[key] as number;
    if (entry !== -1) { builder.addEntry(entry); continue; }
    const [bytes, from, to] = at(key);
    if (!builder.add(bytes, from, to)) return false;
    entryOf[key] = builder.lastEntry;
  }
  return true;
}

/** UTF-8 bytes of the present values of rows [offset, offset + length): what their PLAIN page holds beside the lengths. */
export function stringBytesOf(data: Data, offset: number, length: number): number {
  if (data.type.typeId === Type.Dictionary) {
    const dictionary = (data.dictionary as Vector).data[0] as Data;
    const keys = data.values as Int32Array;
    let bytes = 0;
    const offsets = dictionary.valueOffsets;
    if (data.nullCount === 0 && offsets instanceof Int32Array) {
      for (let i = offset; i < offset + length; i++) {
        const key = keys[i] as number;
        bytes += (offsets[key + 1] as number) - (offsets[key] as number);
      }
      return bytes;
    }
    const at = stringAt(dictionary);
    for (let i = offset; i < offset + length; i++) {
      if (!isValid(data, i)) continue;
      const [, from, to] = at(keys[i] as number);
      bytes += to - from;
    }
    return bytes;
  }
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  return Number(offsets[offset + length]) - Number(offsets[offset]);
}
