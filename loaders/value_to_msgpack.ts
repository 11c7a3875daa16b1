/**
 * Small JSON-like values (strings, numbers, booleans, null, arrays, plain objects, typed arrays
 * inside) as msgpack. Our own name: ISF has no loader of this format.
 */
import path from 'node:path';
import { CorruptKeyError } from '../src/errors.js';
import { packValue, unpackValue } from './msgpack/codec.js';
import { isTypedArray } from './npy/ndarray.js';
import { readDataFile, writeDataFile } from './files.js';
import type { Loader } from './types.js';

const FILE = 'value.msgpack';

export const loader: Loader = {
  name: 'value_to_msgpack',
  canDump: isPlainValue,
  async dump(value, dir, ctx) {
    if (!isPlainValue(value)) throw new TypeError('value_to_msgpack stores strings, numbers, booleans, null, bigints, arrays, plain objects and typed arrays');
    writeDataFile(path.join(dir, FILE), packValue(value), ctx);
  },
  async load(dir, _loaderJson, ctx) {
    const file = path.join(dir, FILE);
    const bytes = readDataFile(file, ctx.key);
    try {
      return unpackValue(bytes);
    } catch (err) {
      throw new CorruptKeyError(file, `is not valid msgpack (${(err as Error).message})`, ctx.key, { cause: err });
    }
  },
};

/** JSON-like values only: a class instance would come back as a plain object, silently. */
export function isPlainValue(value: unknown, depth = 0): boolean {
  if (depth > 100) return false;
  if (value === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof value)) return true;
  if (isTypedArray(value)) return true;
  if (Array.isArray(value)) return value.every((item) => isPlainValue(item, depth + 1));
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return false;
    // msgpackr renames an own '__proto__' key on unpacking: refuse rather than change the value.
    if (Object.hasOwn(value, '__proto__')) return false;
    return Object.values(value as object).every((item) => isPlainValue(item, depth + 1));
  }
  return false;
}
