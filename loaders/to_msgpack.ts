/**
 * to_msgpack: ISF's loader for plain values (strings, numbers, booleans, None, lists, dicts),
 * one file `to_pickle_dump` holding a standard msgpack document without extension types, which
 * Python ISF reads with `msgpack.load`. The default for plain values, so that keys such as
 * `filelist` or `simresult_path` load in Python; values plain msgpack cannot hold (typed
 * arrays, bigints, -0) go to value_to_msgpack.
 */
import path from 'node:path';
import { Packr } from 'msgpackr';
import { CorruptKeyError } from '../src/errors.js';
import { isTypedArray } from './npy/ndarray.js';
import { readDataFile, writeDataFile } from './files.js';
import { isPlainValue } from './value_to_msgpack.js';
import type { Loader } from './types.js';

const FILE = 'to_pickle_dump';

/** Standard msgpack: maps for objects, no records, no extensions; int64 read back as numbers. */
const packr = new Packr({ structuredClone: false, useRecords: false, mapsAsObjects: true, variableMapSize: true });

/** Values that round-trip through standard msgpack unchanged (no typed arrays, bigints or -0). */
export function isPortableValue(value: unknown, depth = 0): boolean {
  if (depth > 100) return false;
  if (typeof value === 'bigint' || isTypedArray(value)) return false;
  if (typeof value === 'number') return !Object.is(value, -0);
  if (value === null || typeof value !== 'object') return isPlainValue(value);
  if (!isPlainValue(value)) return false;
  return Object.values(value as object).every((item) => isPortableValue(item, depth + 1));
}

export const loader: Loader = {
  name: 'to_msgpack',
  canDump: isPortableValue,
  async dump(value, dir, ctx) {
    if (!isPortableValue(value)) throw new TypeError('to_msgpack stores strings, numbers, booleans, null, arrays and plain objects (typed arrays, bigints and -0 need value_to_msgpack)');
    writeDataFile(path.join(dir, FILE), packr.pack(value), ctx);
  },
  async load(dir, _loaderJson, ctx) {
    const file = path.join(dir, FILE);
    const bytes = readDataFile(file, ctx.key);
    try {
      return packr.unpack(bytes);
    } catch (err) {
      throw new CorruptKeyError(file, `is not valid msgpack (${(err as Error).message})`, ctx.key, { cause: err });
    }
  },
};
