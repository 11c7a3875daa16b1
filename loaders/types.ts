/**
 * The shape every loader shares. A loader writes a value's files into a key folder (`dump`)
 * and reads them back (`load`); the database owns Loader.json, metadata.json and atomicity.
 */

/** Loader.json as the loader sees it: the short name plus any extra fields it recorded. */
export interface LoaderJson {
  readonly Loader: string;
  readonly [extra: string]: unknown;
}

/** What the database lends a loader; it lets the sub-database loader avoid importing database.ts. */
export interface LoaderContext {
  /** The key being written or read, for error messages. */
  readonly key: string;
  /** Absolute folder of the database holding the key. */
  readonly basedir: string;
  readonly readonly: boolean;
  /** Create a database in `dir` (absent or empty) and register it; used by the sub-database loader. */
  createDatabase(dir: string): Promise<unknown>;
  /** Open the database in `dir` with the parent's readonly setting. */
  openDatabase(dir: string): Promise<unknown>;
  /**
   * Write a data file of the value being dumped, checksummed as it is written (no read-back);
   * present during dump. Loaders that write otherwise get their files checksummed at commit.
   * In a setMany batch the write may finish after dump returns: never read back or change `data`.
   */
  writeFile?(file: string, data: string | Uint8Array): void;
  /** Record the checksum of a data file placed by other means (moved in), computed by its producer while writing it. */
  recordChecksum?(file: string, checksum: string): void;
}

export interface Loader<V = unknown, LoadOptions = Record<string, unknown>, DumpOptions = Record<string, unknown>> {
  /** The on-disk name, the last dotted part of Loader.json's `Loader` field. */
  readonly name: string;
  /** Whether this loader can store the value; used to choose a default dumper. */
  canDump(value: unknown): boolean;
  /**
   * Write the value's files into `dir` (an empty temporary folder). May return extra fields
   * for Loader.json. Must not write Loader.json or metadata.json.
   */
  dump(value: V, dir: string, ctx: LoaderContext, options?: DumpOptions): Promise<Record<string, unknown> | void>;
  /** Read the value stored in `dir`. */
  load(dir: string, loaderJson: LoaderJson, ctx: LoaderContext, options?: LoadOptions): Promise<unknown>;
  /**
   * How the database treats the key folder: 'data' keys are written atomically, 'folder'
   * (managed folders) and 'database' (sub-databases) are containers written into in place.
   */
  readonly kind?: 'data' | 'folder' | 'database';
}

/** An n-dimensional array as NumPy stores it. `data` is in C order, native (little) endian. */
export type NdArrayDType =
  | 'bool' | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'float32' | 'float64';

export type TypedArray =
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array
  | Float32Array | Float64Array;

export interface NdArray {
  readonly dtype: NdArrayDType;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}
