/**
 * Parquet's RLE / bit-packed hybrid encoding (definition levels, dictionary indices, booleans).
 */

/**
 * Decodes `count` values of `bitWidth` bits from `bytes[pos..end)` into `out[0..count)`.
 * Returns the position after the last run read.
 */
export function decodeHybrid(
  bytes: Uint8Array, pos: number, end: number, bitWidth: number, count: number, out: Int32Array | Uint8Array,
): number {
  let filled = 0;
  const byteWidth = (bitWidth + 7) >> 3;
  const mask = bitWidth === 32 ? 0xffffffff : (1 << bitWidth) - 1;
  while (filled < count) {
    if (pos >= end) throw new RangeError(`rle: ran out of bytes after ${filled} of ${count} values`);
    let header = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[pos++] as number;
      header += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    if ((header & 1) === 0) {
      const runLength = Math.min(Math.floor(header / 2), count - filled);
      let value = 0;
      for (let i = 0; i < byteWidth; i++) value |= (bytes[pos + i] as number) << (8 * i);
      pos += byteWidth;
      out.fill(value, filled, filled + runLength);
      filled += runLength;
    } else {
      const groups = Math.floor(header / 2);
      const runBytes = groups * bitWidth;
      const values = Math.min(groups * 8, count - filled);
      if (bitWidth === 1) {
        for (let i = 0; i < values; i++) out[filled + i] = ((bytes[pos + (i >> 3)] as number) >> (i & 7)) & 1;
      } else {
        let bitPos = 0;
        for (let i = 0; i < values; i++) {
          let value = 0;
          let got = 0;
          while (got < bitWidth) {
            const byte = bytes[pos + (bitPos >> 3)] ?? 0;
            const offsetInByte = bitPos & 7;
            const take = Math.min(8 - offsetInByte, bitWidth - got);
            value |= ((byte >> offsetInByte) & ((1 << take) - 1)) << got;
            got += take;
            bitPos += take;
          }
          out[filled + i] = value & mask;
        }
      }
      pos += runBytes;
      filled += values;
    }
  }
  return pos;
}

function varintBytes(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** Definition levels (bit width 1) of `count` all-present values: one RLE run. */
export function allPresentLevels(count: number): Uint8Array {
  return Uint8Array.from([...varintBytes(count * 2), 1]);
}

/**
 * Definition levels from an Arrow validity bitmap starting at bit `bitOffset`: one bit-packed
 * run, whose bytes are the bitmap itself (both are least-significant-bit first).
 */
export function levelsFromBitmap(bitmap: Uint8Array, bitOffset: number, count: number): Uint8Array {
  const groups = Math.ceil(count / 8);
  const header = varintBytes(groups * 2 + 1);
  const out = new Uint8Array(header.length + groups);
  out.set(header);
  if (bitOffset % 8 === 0) {
    out.set(bitmap.subarray(bitOffset / 8, bitOffset / 8 + groups), header.length);
  } else {
    for (let i = 0; i < count; i++) {
      const bit = bitOffset + i;
      if (((bitmap[bit >> 3] as number) >> (bit & 7)) & 1) out[header.length + (i >> 3)] = (out[header.length + (i >> 3)] as number) | (1 << (i & 7));
    }
  }
  // Bits past `count` must not claim presence.
  const tail = count % 8;
  if (tail !== 0) out[out.length - 1] = (out[out.length - 1] as number) & ((1 << tail) - 1);
  return out;
}

/** Dictionary indices as one bit-packed run of `bitWidth` bits each. */
export function bitPack(values: Int32Array | Uint32Array, bitWidth: number): Uint8Array {
  const groups = Math.ceil(values.length / 8);
  const header = varintBytes(groups * 2 + 1);
  const out = new Uint8Array(header.length + groups * bitWidth);
  out.set(header);
  let bitPos = header.length * 8;
  for (let i = 0; i < values.length; i++) {
    let value = values[i] as number;
    let left = bitWidth;
    while (left > 0) {
      const offsetInByte = bitPos & 7;
      const take = Math.min(8 - offsetInByte, left);
      out[bitPos >> 3] = (out[bitPos >> 3] as number) | ((value & ((1 << take) - 1)) << offsetInByte);
      value >>>= take;
      left -= take;
      bitPos += take;
    }
  }
  return out;
}
