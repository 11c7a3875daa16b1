/**
 * isf-data-base: a dictionary-like, versioned database for simulation results, on the
 * In Silico Framework's on-disk format.
 *
 * @example
 * ```ts
 * import { DataBase } from 'isf-data-base';
 * const db = await DataBase.open('./my-db');
 * await db.set('spike_counts', new Float64Array([3, 1, 4]));   // numpy_to_npy
 * await db.set(['run1', 'params'], { tau: 20, seed: 7 });       // a sub-database 'run1'
 * console.log(await db.keys({ recurse: true }));                // [['run1','params'], ['spike_counts']]
 * const counts = await db.get('spike_counts');                  // { dtype, shape, data }
 * ```
 */
export { DataBase } from './database.js';
export type { OpenOptions, MaybeCalculateOptions, KeyInfo } from './database.js';
export { resolvePath, enclosingDatabase } from './paths.js';
export type { ResolveOptions } from './paths.js';
export { Registry } from './registry.js';
export type { RegistryEntry } from './registry.js';
export {
  DataBaseError, isDataBaseError, KeyNotFoundError, InvalidKeyError, KeyTypeConflictError, ReadonlyError,
  NotADatabaseError, UnknownLoaderError, UnsupportedFormatError, CorruptKeyError, LoaderError,
  LockTimeoutError, DatabaseNotFoundError, InvalidPathError, InvalidInputError,
} from './errors.js';
export type { DataBaseErrorTag } from './errors.js';
export type { Key } from './keys.js';
export { formatKey } from './keys.js';
export type { MetadataJson, DbStateJson } from './ondisk.js';
export { registerLoader, unregisterLoader, listLoaders, getLoader } from '../loaders/index.js';
export type { Loader, LoaderContext, LoaderJson, NdArray, NdArrayDType, TypedArray } from '../loaders/types.js';
export type { Cell, CellSection, CellSynapse } from '../loaders/cell_to_msgpack.js';
export { clearProvenanceCache } from './provenance.js';
