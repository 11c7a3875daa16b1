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
    const problem = firstUnstorable(value);
    if (problem !== undefined) throw new TypeError(`value_to_msgpack stores strings, numbers, booleans, null, bigints, arrays, plain objects and typed arrays: ${problem}`);
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
export function isPlainValue(value: unknown): boolean {
  return firstUnstorable(value) === undefined;
}

/**
 * Where a value stops being one value_to_msgpack stores, as a path and a reason
 * (`value.u is undefined`), or undefined when it stores all of it.
 */
export function firstUnstorable(value: unknown, at = 'value', depth = 0): string | undefined {
  if (depth > 100) return `${at} is nested more than 100 levels deep`;
  if (value === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof value)) return undefined;
  if (isTypedArray(value)) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = firstUnstorable(value[i], `${at}[${i}]`, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      const hint = ArrayBuffer.isView(value) ? ' (store its bytes as a plain Uint8Array: new Uint8Array(buffer))' : ' (only plain objects are stored)';
      return `${at} is a ${name}${hint}`;
    }
    // msgpackr renames an own '__proto__' key on unpacking: refuse rather than change the value.
    if (Object.hasOwn(value, '__proto__')) return `${at} has an own '__proto__' field`;
    for (const [field, item] of Object.entries(value as object)) {
      const found = firstUnstorable(item, /^[A-Za-z_$][\w$]*$/.test(field) ? `${at}.${field}` : `${at}[${JSON.stringify(field)}]`, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return `${at} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}`;
}
