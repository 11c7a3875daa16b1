/**
 * Column chunk statistics (min, max, null count) as the writer records them, so that DuckDB,
 * pyarrow and our reader can skip row groups. min/max are the PLAIN bytes of the values; NaN is
 * left out (as pyarrow does); long strings and unsigned integers get only the null count.
 */
import { PhysicalType } from './format.js';

export interface ChunkStatistics {
  nullCount: number;
  min?: Uint8Array;
  max?: Uint8Array;
}

/** Strings longer than this get no min/max (they would bloat the footer). */
const MAX_STRING_STAT = 64;

/** min/max of PLAIN fixed-width values (`bytes` aligned to the value width). */
export function fixedMinMax(bytes: Uint8Array, physicalType: number, unsigned: boolean): { min: Uint8Array; max: Uint8Array } | undefined {
  if (unsigned || bytes.length === 0) return undefined;
  switch (physicalType) {
    case PhysicalType.double: return floatMinMax(new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8), 8);
    case PhysicalType.float: return floatMinMax(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), 4);
    case PhysicalType.int32: {
      const [min, max] = extremes(new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
      return { min: new Uint8Array(Int32Array.of(min).buffer), max: new Uint8Array(Int32Array.of(max).buffer) };
    }
    case PhysicalType.int64: {
      const [min, max] = extremes(new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8));
      return { min: new Uint8Array(BigInt64Array.of(min).buffer), max: new Uint8Array(BigInt64Array.of(max).buffer) };
    }
    default: return undefined;
  }
}

/** Smallest and largest of integer values (no NaN to skip); `values` is not empty. */
function extremes<T extends number | bigint>(values: ArrayLike<T>): [T, T] {
  let min = values[0] as T;
  let max = min;
  for (let i = 1; i < values.length; i++) {
    const v = values[i] as T;
    if (v < min) min = v;
    else if (v > max) max = v;
  }
  return [min, max];
}

function floatMinMax(values: Float64Array | Float32Array, width: 4 | 8): { min: Uint8Array; max: Uint8Array } | undefined {
  let min = Infinity;
  let max = -Infinity;
  let any = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v !== v) continue;
    any = true;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!any) return undefined;
  // -0.0 and +0.0 compare equal: write -0.0 as min and +0.0 as max (the spec's rule).
  if (min === 0) min = -0;
  if (max === 0) max = 0;
  const Array = width === 8 ? Float64Array : Float32Array;
  return { min: new Uint8Array(Array.of(min).buffer), max: new Uint8Array(Array.of(max).buffer) };
}

/** Unsigned byte-wise comparison (Parquet's order for UTF-8 strings). */
function compareBytes(a: Uint8Array, aFrom: number, aTo: number, b: Uint8Array, bFrom: number, bTo: number): number {
  const n = Math.min(aTo - aFrom, bTo - bFrom);
  for (let i = 0; i < n; i++) {
    const d = (a[aFrom + i] as number) - (b[bFrom + i] as number);
    if (d !== 0) return d;
  }
  return (aTo - aFrom) - (bTo - bFrom);
}

/** min/max of PLAIN BYTE_ARRAY values (4-byte length + bytes each). */
export function stringMinMax(page: Uint8Array, count: number): { min: Uint8Array; max: Uint8Array } | undefined {
  if (count === 0) return undefined;
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  let pos = 0;
  let minAt = [0, 0];
  let maxAt = [0, 0];
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(pos, true);
    const from = pos + 4;
    const to = from + length;
    if (i === 0) {
      minAt = [from, to];
      maxAt = [from, to];
    } else {
      if (compareBytes(page, from, to, page, minAt[0] as number, minAt[1] as number) < 0) minAt = [from, to];
      if (compareBytes(page, from, to, page, maxAt[0] as number, maxAt[1] as number) > 0) maxAt = [from, to];
    }
    pos = to;
  }
  const min = page.slice(minAt[0], minAt[1]);
  const max = page.slice(maxAt[0], maxAt[1]);
  if (min.length > MAX_STRING_STAT || max.length > MAX_STRING_STAT) return undefined;
  return { min, max };
}
