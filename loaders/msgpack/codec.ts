/**
 * msgpack with typed arrays kept as typed arrays. msgpackr's own typed-array handling drops
 * element types (and fails on BigInt64Array), so each typed array class gets its own extension
 * holding the raw little-endian bytes.
 */
import { Packr, addExtension } from 'msgpackr';

const TYPED_ARRAY_CLASSES = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
] as const;
const FIRST_EXTENSION_TYPE = 0x50;

type TypedArrayClass = (typeof TYPED_ARRAY_CLASSES)[number];

let registered = false;

function registerTypedArrayExtensions(): void {
  if (registered) return;
  registered = true;
  registerNegativeZero();
  TYPED_ARRAY_CLASSES.forEach((Class: TypedArrayClass, index) => {
    addExtension({
      Class,
      type: FIRST_EXTENSION_TYPE + index,
      pack(array: InstanceType<TypedArrayClass>) {
        return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
      },
      unpack(bytes: Uint8Array) {
        // Copy so that the result is aligned and does not pin the whole file buffer.
        const copy = new ArrayBuffer(bytes.byteLength);
        new Uint8Array(copy).set(bytes);
        return new Class(copy);
      },
    });
  });
}

/** Stands for -0, which msgpackr would write as the integer 0. */
class NegativeZero {}
const NEGATIVE_ZERO_EXTENSION_TYPE = FIRST_EXTENSION_TYPE + TYPED_ARRAY_CLASSES.length;

function registerNegativeZero(): void {
  addExtension({
    Class: NegativeZero,
    type: NEGATIVE_ZERO_EXTENSION_TYPE,
    pack: () => Buffer.alloc(0),
    unpack: () => -0,
  });
}

/** Replace every -0 (outside typed arrays, which keep their bytes) with a NegativeZero marker. */
function markNegativeZeros(value: unknown): unknown {
  if (typeof value === 'number') return Object.is(value, -0) ? new NegativeZero() : value;
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.some(hasNegativeZero) ? value.map(markNegativeZeros) : value;
  if (!hasNegativeZero(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = markNegativeZeros(v);
  return out;
}

function hasNegativeZero(value: unknown): boolean {
  if (typeof value === 'number') return Object.is(value, -0);
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return false;
  return Object.values(value).some(hasNegativeZero);
}

let packr: Packr | undefined;

function codec(): Packr {
  registerTypedArrayExtensions();
  packr ??= new Packr({ structuredClone: false, useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });
  return packr;
}

export function packValue(value: unknown): Buffer {
  return codec().pack(markNegativeZeros(value));
}

export function unpackValue(bytes: Uint8Array): unknown {
  return codec().unpack(bytes);
}
