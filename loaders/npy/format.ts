/** The NumPy .npy format (versions 1.0 to 3.0): parse any byte order and memory order, write v1.0/2.0 little-endian C order. */
import type { NdArray, NdArrayDType } from '../types.js';
import { DTYPES, elementCount, toNdArray } from './ndarray.js';
import type { TypedArray } from '../types.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGNMENT = 64;

const DESCR_OF_DTYPE: Readonly<Record<NdArrayDType, string>> = {
  bool: '|b1', int8: '|i1', int16: '<i2', int32: '<i4', int64: '<i8',
  uint8: '|u1', uint16: '<u2', uint32: '<u4', uint64: '<u8', float32: '<f4', float64: '<f8',
};

/** Thrown for malformed files; callers wrap it with the file and key. */
export class NpyFormatError extends Error {}

interface NpyHeader { descr: string; fortranOrder: boolean; shape: number[] }

export function encodeNpy(value: NdArray | TypedArray): Uint8Array {
  const array = toNdArray(value);
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  const dict = `{'descr': '${DESCR_OF_DTYPE[array.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const version = dict.length + 11 > 0xffff ? 2 : 1;
  const prefix = version === 1 ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / ALIGNMENT) * ALIGNMENT;
  const headerText = `${dict.padEnd(total - prefix - 1, ' ')}\n`;
  const body = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const out = new Uint8Array(total + body.byteLength);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, headerText.length, true);
  else view.setUint32(8, headerText.length, true);
  for (let i = 0; i < headerText.length; i++) out[prefix + i] = headerText.charCodeAt(i);
  out.set(body, total);
  return out;
}

export function decodeNpy(bytes: Uint8Array): NdArray {
  const { header, dataOffset } = readHeader(bytes);
  const { dtype, bigEndian } = parseDescr(header.descr);
  const info = DTYPES[dtype];
  const count = elementCount(header.shape);
  const byteLength = count * info.size;
  if (bytes.byteLength - dataOffset < byteLength) {
    throw new NpyFormatError(`data is truncated: shape [${header.shape.join(', ')}] needs ${byteLength} bytes, file has ${bytes.byteLength - dataOffset}`);
  }
  // Copy into a fresh, aligned buffer: the file's data offset need not be a multiple of the item size.
  const buffer = new ArrayBuffer(byteLength);
  const raw = new Uint8Array(buffer);
  raw.set(bytes.subarray(dataOffset, dataOffset + byteLength));
  if (bigEndian && info.size > 1) swapBytes(raw, info.size);
  let data = info.make(buffer, 0, count);
  if (header.fortranOrder && header.shape.length > 1) data = fortranToC(data, header.shape, info.make);
  return { dtype, shape: header.shape, data };
}

function readHeader(bytes: Uint8Array): { header: NpyHeader; dataOffset: number } {
  if (bytes.byteLength < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new NpyFormatError('not a .npy file (bad magic bytes)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let prefix: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    prefix = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) throw new NpyFormatError('header is truncated');
    headerLength = view.getUint32(8, true);
    prefix = 12;
  } else {
    throw new NpyFormatError(`unsupported .npy version ${String(major)}`);
  }
  if (bytes.byteLength < prefix + headerLength) throw new NpyFormatError('header is truncated');
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(prefix, prefix + headerLength));
  return { header: parseHeaderDict(text), dataOffset: prefix + headerLength };
}

function parseHeaderDict(text: string): NpyHeader {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyFormatError(`header dictionary is malformed: ${JSON.stringify(text.trim().slice(0, 120))}`);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const dim = Number(s.replace(/L$/, ''));
    if (!Number.isInteger(dim) || dim < 0) throw new NpyFormatError(`invalid dimension '${s}' in the header's shape`);
    return dim;
  });
  return { descr, fortranOrder: fortran === 'True', shape };
}

function parseDescr(descr: string): { dtype: NdArrayDType; bigEndian: boolean } {
  const match = /^([<>|=]?)([biuf])(\d+)$/.exec(descr);
  const dtype = match ? dtypeOf(match[2] as 'b' | 'i' | 'u' | 'f', Number(match[3])) : undefined;
  if (!match || dtype === undefined) {
    const hint = descr.includes('O') ? ' (object arrays hold pickled Python objects)' : '';
    throw new NpyFormatError(`unsupported dtype '${descr}'${hint}: supported are bool, int8..64, uint8..64, float32, float64`);
  }
  return { dtype, bigEndian: match[1] === '>' };
}

function dtypeOf(kind: 'b' | 'i' | 'u' | 'f', size: number): NdArrayDType | undefined {
  for (const [name, info] of Object.entries(DTYPES)) {
    if (info.kind === kind && info.size === size) return name as NdArrayDType;
  }
  return undefined;
}

function swapBytes(raw: Uint8Array, size: number): void {
  for (let i = 0; i < raw.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = raw[a]!;
      raw[a] = raw[b]!;
      raw[b] = t;
    }
  }
}

/** Reorder column-major data to row-major. */
function fortranToC(data: TypedArray, shape: readonly number[], make: (b: ArrayBuffer, o: number, n: number) => TypedArray): TypedArray {
  const count = data.length;
  const out = make(new ArrayBuffer(data.byteLength), 0, count);
  const fortranStrides: number[] = [];
  let stride = 1;
  for (const dim of shape) { fortranStrides.push(stride); stride *= dim; }
  const index = new Array<number>(shape.length).fill(0);
  const target = out as unknown as { [i: number]: number | bigint };
  const source = data as unknown as { [i: number]: number | bigint };
  for (let c = 0; c < count; c++) {
    let f = 0;
    for (let d = 0; d < shape.length; d++) f += index[d]! * fortranStrides[d]!;
    target[c] = source[f]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]!++;
      if (index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}
