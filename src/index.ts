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
export type { OpenOptions, MaybeCalculateOptions, KeyInfo, WriteOptions, SetManyEntry } from './database.js';
export type { ProvenanceFacts } from './provenance.js';
export type { KeyLocks, HeldLock, LockOptions } from './store/locks.js';
export { resolvePath, enclosingDataBase, enclosingDatabase } from './paths.js';
export type { ResolveOptions } from './paths.js';
export { Registry } from './registry.js';
export type { RegistryEntry } from './registry.js';
export {
  DataBaseError, isDataBaseError, KeyNotFoundError, InvalidKeyError, KeyTypeConflictError, ReadonlyError,
  NotADataBaseError, UnknownLoaderError, UnsupportedFormatError, CorruptKeyError, LoaderError,
  LockTimeoutError, DataBaseNotFoundError, InvalidPathError, InvalidInputError, VersionNotFoundError,
  ParquetFormatError, FrameError, UsageError, QueryError, DuplicateResultError, FileSystemError, fileSystemErrorOf,
  // Deprecated spellings (the same classes): NotADataBaseError, DataBaseNotFoundError.
  NotADatabaseError, DatabaseNotFoundError,
} from './errors.js';
export type { DataBaseErrorTag } from './errors.js';
export type { Key } from './keys.js';
export { formatKey } from './keys.js';
export type { MetadataJson, DbStateJson } from './ondisk.js';
export type { OptimizeOptions, OptimizeResult, OptimizeCompression } from './optimize.js';
export { registerLoader, unregisterLoader, listLoaders, getLoader } from '../loaders/index.js';
export type { Loader, LoaderContext, LoaderJson, NdArray, NdArrayDType, TypedArray } from '../loaders/types.js';
export type { Cell, CellSection, CellSynapse } from '../loaders/cell_to_msgpack.js';
export { clearProvenanceCache } from './provenance.js';
// Data frames: `isf-data-base/frames` (src/frames.ts); only their types here, so that importing the
// core loads neither apache-arrow nor the Parquet codec.
export type { LabelType, FrameIndex, IndexRange, PartitionReadOptions, FrameDumpOptions, FrameLoadOptions } from './frames.js';
export { HISTORY_FOLDER } from './history.js';
export type { VersionInfo, VersionRef, VersionDiff, FieldDifference } from './history.js';
export { RECIPE_FIELD, canonicalJson } from './lineage.js';
export type { RecipeOptions, RecipeJson, StaleKey, StaleReason } from './lineage.js';
export { verifyDataBase, verifyDatabase, describeFinding, isErrorFinding, INFORMATIONAL_FINDINGS } from './verify.js';
export type { VerifyFinding, VerifyFindingKind, VerifyReport } from './verify.js';
export { fsckDataBase, fsckDatabase, describeFsckFinding } from './fsck.js';
export type { FsckFinding, FsckFindingKind, FsckOptions, FsckReport, FsckRepair } from './fsck.js';
// Simulation campaigns: `isf-data-base/simrun` (src/simrun.ts). The two entry points below load it
// on their first call; the sync helpers (parsePyLiteral, PyTuple, ...) live only there.
export type { InitSimrunOptions, InitSimrunReport, GenerateCampaignOptions, CampaignSummary, ProgressEvent, PyValue } from './simrun.js';
export { initSimrun, generateCampaign } from './lazy.js';
