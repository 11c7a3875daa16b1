/** NdArray helpers shared by the NumPy loaders: dtype tables, value checks, normalisation. */
import type { NdArray, NdArrayDType, TypedArray } from '../types.js';

interface DTypeInfo {
  readonly kind: 'b' | 'i' | 'u' | 'f';
  readonly size: number;
  readonly make: (buffer: ArrayBuffer, byteOffset: number, length: number) => TypedArray;
}

export const DTYPES: Readonly<Record<NdArrayDType, DTypeInfo>> = {
  bool: { kind: 'b', size: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  int8: { kind: 'i', size: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  int16: { kind: 'i', size: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  int32: { kind: 'i', size: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  int64: { kind: 'i', size: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
  uint8: { kind: 'u', size: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  uint16: { kind: 'u', size: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  uint32: { kind: 'u', size: 4, make: (b, o, n) => new Uint32Array(b, o, n) },
  uint64: { kind: 'u', size: 8, make: (b, o, n) => new BigUint64Array(b, o, n) },
  float32: { kind: 'f', size: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  float64: { kind: 'f', size: 8, make: (b, o, n) => new Float64Array(b, o, n) },
};

const DTYPE_OF_CONSTRUCTOR = new Map<unknown, NdArrayDType>([
  [Int8Array, 'int8'], [Int16Array, 'int16'], [Int32Array, 'int32'], [BigInt64Array, 'int64'],
  [Uint8Array, 'uint8'], [Uint16Array, 'uint16'], [Uint32Array, 'uint32'], [BigUint64Array, 'uint64'],
  [Float32Array, 'float32'], [Float64Array, 'float64'],
]);

export function isTypedArray(value: unknown): value is TypedArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView) && DTYPE_OF_CONSTRUCTOR.has(value.constructor);
}

export function isNdArray(value: unknown): value is NdArray {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<NdArray>;
  return typeof v.dtype === 'string' && v.dtype in DTYPES && Array.isArray(v.shape) && isTypedArray(v.data);
}

/** A bare TypedArray is a 1-d array; an NdArray is checked for consistency. */
export function toNdArray(value: NdArray | TypedArray): NdArray {
  if (isTypedArray(value)) {
    const dtype = DTYPE_OF_CONSTRUCTOR.get(value.constructor);
    if (dtype === undefined) throw new TypeError('unsupported typed array');
    return { dtype, shape: [value.length], data: value };
  }
  const info = DTYPES[value.dtype];
  if (info === undefined) throw new TypeError(`unsupported dtype '${String(value.dtype)}'`);
  const count = elementCount(value.shape);
  const expectedConstructor = value.dtype === 'bool' ? Uint8Array : info.make(new ArrayBuffer(0), 0, 0).constructor;
  if (value.data.constructor !== expectedConstructor) {
    throw new TypeError(`dtype '${value.dtype}' needs a ${expectedConstructor.name}, got a ${value.data.constructor.name}`);
  }
  if (value.data.length !== count) {
    throw new TypeError(`shape [${value.shape.join(', ')}] holds ${count} elements but data has ${value.data.length}`);
  }
  return value;
}

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0) throw new TypeError(`invalid dimension ${dim} in shape [${shape.join(', ')}]`);
    count *= dim;
  }
  return count;
}

export function canDumpArray(value: unknown): boolean {
  return isTypedArray(value) || isNdArray(value);
}
