/**
 * The one door to Parquet: every loader reads and writes through these functions. The fast
 * codec (this package's TypeScript writer and reader) handles what our writer and the usual
 * pandas/pyarrow/DuckDB files use; the complete reader (hyparquet, loaded lazily) reads every
 * other file, and is tested against the fast one on the same files.
 */
import type { Schema, Table } from 'apache-arrow';
import { readComplete } from './complete-reader.js';
import { ParquetFileWriter, type ParquetWriteOptions } from './writer.js';
import type { Compression } from './compression.js';
import { ParquetFileReader, readFileMeta, type ParquetReadOptions } from './reader.js';
import { UnsupportedFeatureError } from './page-decoder.js';

export type { Compression };

export type WriteParquetOptions = ParquetWriteOptions;

export interface ReadParquetResult {
  table: Table;
  /** Bytes read from disk, when the engine can tell. */
  bytesRead?: number;
}

export interface ParquetCodec {
  readonly name: string;
  /** Writes `tables` (each split into row groups) to one file with `schema`. */
  write(path: string, schema: Schema, tables: Iterable<Table>, options?: WriteParquetOptions): Promise<void>;
  read(path: string, options?: ParquetReadOptions): Promise<ReadParquetResult>;
  /** The schema (with the file's key-value metadata) and row count, from the footer only. */
  inspect(path: string): Promise<{ schema: Schema; numRows: number }>;
}

export const fastCodec: ParquetCodec = {
  name: 'isf-data-base (TypeScript)',
  async write(path, schema, tables, options = {}) {
    const writer = await ParquetFileWriter.open(path, schema, options);
    try {
      for (const table of tables) await writer.writeTable(table);
      await writer.close();
    } catch (err) {
      await writer.abort();
      throw err;
    }
  },
  async read(path, options) {
    const reader = await ParquetFileReader.open(path);
    try {
      const table = await reader.read(options);
      return { table, bytesRead: reader.bytesRead };
    } finally {
      await reader.close();
    }
  },
  async inspect(path) {
    const reader = await ParquetFileReader.open(path);
    try {
      return { schema: reader.schema, numRows: reader.numRows };
    } finally {
      await reader.close();
    }
  },
};

/** hyparquet behind the same interface: the complete reader (it does not write). */
export const completeCodec: Pick<ParquetCodec, 'name' | 'read' | 'inspect'> = {
  name: 'hyparquet',
  async read(path, options = {}) {
    return { table: await readComplete(path, options) };
  },
  async inspect(path) {
    const table = await readComplete(path, { rowGroups: [] });
    return { schema: table.schema, numRows: (await readFileMeta(path)).numRows };
  },
};

/** Writes with the fast codec (the only writer). */
export async function writeParquet(path: string, schema: Schema, tables: Iterable<Table>, options: WriteParquetOptions = {}): Promise<void> {
  await fastCodec.write(path, schema, tables, options);
}

/**
 * Reads with the fast codec; files using features it lacks go through the complete reader.
 * A file the fast reader finds corrupt stays refused (the complete reader is more lenient).
 */
export async function readParquet(path: string, options: ParquetReadOptions = {}): Promise<ReadParquetResult> {
  try {
    return await fastCodec.read(path, options);
  } catch (err) {
    if (!fallsBack(err)) throw err;
    return completeCodec.read(path, options);
  }
}

function fallsBack(err: unknown): boolean {
  return err instanceof UnsupportedFeatureError && !err.final;
}

/** An opened file: its schema and row count from the footer, read once for both. */
export interface OpenedParquet {
  readonly schema: Schema;
  readonly numRows: number;
  read(options?: ParquetReadOptions): Promise<ReadParquetResult>;
  close(): Promise<void>;
}

/**
 * Opens a file once for inspecting and reading (a frame `get` needs the schema before it reads):
 * the fast reader keeps its handle and decoded footer; a file it cannot read goes to the
 * complete reader as readParquet does.
 */
export async function openParquet(path: string): Promise<OpenedParquet> {
  let reader: ParquetFileReader;
  try {
    reader = await ParquetFileReader.open(path);
  } catch (err) {
    if (!fallsBack(err)) throw err;
    const { schema, numRows } = await completeCodec.inspect(path);
    return { schema, numRows, read: (options) => completeCodec.read(path, options), close: async () => undefined };
  }
  return {
    schema: reader.schema,
    numRows: reader.numRows,
    async read(options = {}) {
      try {
        const table = await reader.read(options);
        return { table, bytesRead: reader.bytesRead };
      } catch (err) {
        if (!fallsBack(err)) throw err;
        return completeCodec.read(path, options);
      }
    },
    close: () => reader.close(),
  };
}

export async function inspectParquet(path: string): Promise<{ schema: Schema; numRows: number }> {
  try {
    return await fastCodec.inspect(path);
  } catch (err) {
    if (fallsBack(err)) return completeCodec.inspect(path);
    throw err;
  }
}

export { UnsupportedFeatureError };
export type { ParquetReadOptions };
