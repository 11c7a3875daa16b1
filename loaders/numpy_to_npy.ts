/** n-d arrays as NumPy's `np.npy`. */
import path from 'node:path';
import { CorruptKeyError } from '../src/errors.js';
import { readDataFile, writeDataFile } from './files.js';
import { decodeNpy, encodeNpy, NpyFormatError } from './npy/format.js';
import { canDumpArray } from './npy/ndarray.js';
import type { Loader, NdArray, TypedArray } from './types.js';

const FILE = 'np.npy';

export const loader: Loader<NdArray | TypedArray> = {
  name: 'numpy_to_npy',
  canDump: canDumpArray,
  async dump(value, dir, ctx) {
    writeDataFile(path.join(dir, FILE), encodeNpy(value), ctx);
  },
  async load(dir, _loaderJson, ctx) {
    const file = path.join(dir, FILE);
    return decodeNpyFile(readDataFile(file, ctx.key), file, ctx.key);
  },
};

export function decodeNpyFile(bytes: Uint8Array, file: string, key: string): NdArray {
  try {
    return decodeNpy(bytes);
  } catch (err) {
    if (err instanceof NpyFormatError) throw new CorruptKeyError(file, err.message, key, { cause: err });
    throw err;
  }
}
