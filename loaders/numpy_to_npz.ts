/** n-d arrays as NumPy's compressed `np.npz` (a zip holding `arr_0.npy`). */
import path from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { CorruptKeyError } from '../src/errors.js';
import { encodeNpy } from './npy/format.js';
import { canDumpArray } from './npy/ndarray.js';
import { readDataFile, writeDataFile } from './files.js';
import { decodeNpyFile } from './numpy_to_npy.js';
import type { Loader, NdArray, TypedArray } from './types.js';

const FILE = 'np.npz';
const MEMBER = 'arr_0.npy';

export const loader: Loader<NdArray | TypedArray> = {
  name: 'numpy_to_npz',
  canDump: canDumpArray,
  async dump(value, dir, ctx) {
    writeDataFile(path.join(dir, FILE), zipSync({ [MEMBER]: [encodeNpy(value), { level: 6 }] }), ctx);
  },
  async load(dir, _loaderJson, ctx) {
    const file = path.join(dir, FILE);
    const members = unzipNpz(readDataFile(file, ctx.key), file, ctx.key);
    const member = members[MEMBER] ?? Object.values(members)[0];
    if (member === undefined) throw new CorruptKeyError(file, `the archive holds no ${MEMBER}`, ctx.key);
    return decodeNpyFile(member, `${file}/${MEMBER}`, ctx.key);
  },
};

/** Every member of an .npz archive (np.savez and np.savez_compressed both). */
export function unzipNpz(bytes: Uint8Array, file: string, key: string): Record<string, Uint8Array> {
  try {
    return unzipSync(bytes);
  } catch (err) {
    throw new CorruptKeyError(file, `is not a readable zip archive (${(err as Error).message})`, key, { cause: err });
  }
}
