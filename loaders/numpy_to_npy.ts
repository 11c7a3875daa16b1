/** n-d arrays as NumPy's `np.npy`. */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import { CorruptKeyError } from '../src/errors.js';
import { decodeNpy, encodeNpy, NpyFormatError } from './npy/format.js';
import { canDumpArray } from './npy/ndarray.js';
import type { Loader, NdArray, TypedArray } from './types.js';

const FILE = 'np.npy';

export const loader: Loader<NdArray | TypedArray> = {
  name: 'numpy_to_npy',
  canDump: canDumpArray,
  async dump(value, dir) {
    await fs.writeFile(path.join(dir, FILE), encodeNpy(value));
  },
  async load(dir, _loaderJson, ctx) {
    const file = path.join(dir, FILE);
    return decodeNpyFile(await readDataFile(file, ctx.key), file, ctx.key);
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

/** Read a loader's data file; a missing one is a corrupt key, not a crash. */
export async function readDataFile(file: string, key: string): Promise<Buffer> {
  try {
    // Synchronous: for the small files of most keys the thread pool costs more than the read.
    return fsSync.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptKeyError(file, 'data file is missing', key, { cause: err });
    throw err;
  }
}
