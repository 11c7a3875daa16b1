/**
 * Snappy's raw block format, as Parquet uses it.
 *
 * Writing: we emit a valid stream made of one literal element. Numeric columns barely compress
 * with snappy anyway, and a literal stream lets the page bytes go to disk without a copy
 * (the writer hands the Arrow buffer itself to writev), which is what makes writes disk-bound.
 *
 * Reading: a complete decoder, because pyarrow and DuckDB write real back-references.
 */

/** The bytes that precede `length` literal bytes to make a valid snappy stream. */
export function literalSnappyPrefix(length: number): Uint8Array {
  const out: number[] = [];
  // Preamble: uncompressed length as a little-endian varint.
  let v = length;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  if (length === 0) return Uint8Array.from(out);
  const n = length - 1;
  if (n < 60) out.push(n << 2);
  else if (n < 0x100) out.push(60 << 2, n);
  else if (n < 0x10000) out.push(61 << 2, n & 0xff, n >>> 8);
  else if (n < 0x1000000) out.push(62 << 2, n & 0xff, (n >>> 8) & 0xff, n >>> 16);
  else out.push(63 << 2, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
  return Uint8Array.from(out);
}

/** The uncompressed length announced by a snappy stream, and where its elements start. */
export function snappyLength(input: Uint8Array): { length: number; start: number } {
  let length = 0;
  let shift = 0;
  let pos = 0;
  for (;;) {
    const b = input[pos++];
    if (b === undefined || shift > 28) throw new RangeError('snappy: bad length preamble');
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  return { length, start: pos };
}

/**
 * When the stream is one literal (what we write), the byte range of that literal in `input`,
 * so callers can copy it straight to its destination; otherwise undefined.
 */
export function singleLiteralRange(input: Uint8Array): { begin: number; end: number } | undefined {
  const { length, start } = snappyLength(input);
  if (length === 0) return { begin: start, end: start };
  const tag = input[start];
  if (tag === undefined || (tag & 3) !== 0) return undefined;
  let n = tag >> 2;
  let pos = start + 1;
  if (n >= 60) {
    const bytes = n - 59;
    n = 0;
    for (let i = 0; i < bytes; i++) n += (input[pos + i] ?? 0) * 2 ** (8 * i);
    pos += bytes;
  }
  return n + 1 === length && pos + length === input.length ? { begin: pos, end: pos + length } : undefined;
}

/** Decompresses a whole snappy stream into `output` (which must have the announced length). */
export function snappyDecompress(input: Uint8Array, output: Uint8Array): void {
  const { length, start } = snappyLength(input);
  if (length !== output.length) {
    throw new RangeError(`snappy: stream announces ${length} bytes, the page ${output.length}`);
  }
  let pos = start;
  let out = 0;
  const end = input.length;
  while (pos < end) {
    const tag = input[pos++] as number;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >> 2;
      if (n >= 60) {
        const bytes = n - 59;
        n = 0;
        for (let i = 0; i < bytes; i++) n += (input[pos + i] ?? 0) * 2 ** (8 * i);
        pos += bytes;
      }
      n += 1;
      if (pos + n > end || out + n > length) throw new RangeError('snappy: literal runs past the end');
      output.set(input.subarray(pos, pos + n), out);
      pos += n;
      out += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      n = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | (input[pos++] ?? 0);
    } else if (kind === 2) {
      n = (tag >> 2) + 1;
      offset = (input[pos] ?? 0) | ((input[pos + 1] ?? 0) << 8);
      pos += 2;
    } else {
      n = (tag >> 2) + 1;
      offset = ((input[pos] ?? 0) | ((input[pos + 1] ?? 0) << 8) | ((input[pos + 2] ?? 0) << 16) | ((input[pos + 3] ?? 0) << 24)) >>> 0;
      pos += 4;
    }
    if (offset === 0 || offset > out || out + n > length) throw new RangeError('snappy: bad back-reference');
    if (offset >= n) {
      output.copyWithin(out, out - offset, out - offset + n);
      out += n;
    } else {
      // Overlapping copy: repeats the last `offset` bytes.
      for (let i = 0; i < n; i++, out++) output[out] = output[out - offset] as number;
    }
  }
  if (out !== length) throw new RangeError(`snappy: decoded ${out} of ${length} bytes`);
}
