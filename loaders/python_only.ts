/** ISF loaders whose files only Python can read: listed and described, never loaded. */
import { UnsupportedFormatError } from '../src/errors.js';
import type { Loader } from './types.js';

export const PYTHON_ONLY_LOADERS = [
  'to_cloudpickle', 'to_pickle', 'pandas_to_pickle', 'pandas_to_msgpack', 'dask_to_msgpack',
  'dask_to_categorized_msgpack', 'numpy_to_msgpack', 'numpy_to_zarr', 'reduced_lda_model', 'cell',
] as const;

export function pythonOnlyLoader(name: string): Loader {
  const refuse = (key: string): never => {
    throw new UnsupportedFormatError(name, key, 'this is a Python-only format (pickled or Python-specific); read it with Python ISF and store it again with a portable loader');
  };
  return {
    name,
    canDump: () => false,
    dump: async (_value, _dir, ctx) => refuse(ctx.key),
    load: async (_dir, _json, ctx) => refuse(ctx.key),
  };
}
