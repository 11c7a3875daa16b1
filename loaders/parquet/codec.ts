/**
 * The one door to Parquet: every loader reads and writes through `ParquetCodec`, so the engine
 * behind it can be swapped. Two engines are provided:
 * - `fastCodec` (this package's TypeScript writer/reader): snappy or uncompressed, disk-bound
 *   speed for numeric frames, reads pyarrow/DuckDB files with the usual flat encodings;
 * - `wasmCodec` (parquet-wasm, loaded lazily): any compression (zstd, brotli, ...) and any
 *   encoding; used for zstd writes and as the reader's fallback for features the fast reader
 *   does not implement.
 */
import { promises as fs, openAsBlob } from 'node:fs';
import { type Schema, type Table, tableFromIPC, tableToIPC, Table as ArrowTable, type RecordBatch, Schema as ArrowSchema } from 'apache-arrow';
import { recordBatchOf } from './record-batch.js';
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

type ParquetWasm = typeof import('parquet-wasm');
let wasmModule: Promise<ParquetWasm> | undefined;
function loadWasm(): Promise<ParquetWasm> {
  wasmModule ??= import('parquet-wasm');
  return wasmModule;
}

export const wasmCodec: ParquetCodec = {
  name: 'parquet-wasm',
  async write(path, schema, tables, options = {}) {
    const pq = await loadWasm();
    const compression = options.compression === 'zstd' ? pq.Compression.ZSTD
      : options.compression === 'uncompressed' ? pq.Compression.UNCOMPRESSED : pq.Compression.SNAPPY;
    const batches: RecordBatch[] = [];
    for (const table of tables) batches.push(...table.batches);
    const whole = new ArrowTable(schema, batches);
    // One-shot wasm writes fail above ~2 GB; that size is the fast codec's domain.
    const input = pq.Table.fromIPCStream(tableToIPC(whole, 'stream'));
    let builder = new pq.WriterPropertiesBuilder().setCompression(compression)
      .setKeyValueMetadata(new Map(schema.metadata));
    if (options.rowGroupRows !== undefined) builder = builder.setMaxRowGroupSize(options.rowGroupRows);
    const properties = builder.build();
    // writeParquet takes ownership of (and frees) the wasm table and properties.
    const bytes = pq.writeParquet(input, properties);
    await fs.writeFile(path, bytes);
  },
  async read(path, options = {}) {
    const pq = await loadWasm();
    const file = await pq.ParquetFile.fromFile(await openAsBlob(path));
    try {
      const groups = options.rowGroups ?? rowGroupsOf(file);
      const batches: RecordBatch[] = [];
      let schema: Schema | undefined;
      // Row group by row group: one-shot reads above ~1.4 GB fail in wasm.
      for (const group of groups) {
        const part = await file.read({ rowGroups: [group], ...(options.columns ? { columns: [...options.columns] } : {}) });
        const table = tableFromIPC(part.intoIPCStream());
        schema ??= table.schema;
        batches.push(...table.batches);
      }
      if (!schema) {
        const empty = await file.read(options.columns ? { columns: [...options.columns], limit: 0 } : { limit: 0 });
        schema = tableFromIPC(empty.intoIPCStream()).schema;
      }
      // parquet-wasm drops the key-value metadata (the pandas metadata): take it from the footer.
      const metadata = await footerMetadata(path);
      if (metadata) {
        const withMetadata = new ArrowSchema(schema.fields, metadata);
        return { table: new ArrowTable(withMetadata, batches.map((b) => recordBatchOf(withMetadata, b.data))) };
      }
      return { table: new ArrowTable(schema, batches) };
    } finally {
      file.free();
    }
  },
  async inspect(path) {
    const { table } = await wasmCodec.read(path, { rowGroups: [] });
    const pq = await loadWasm();
    const file = await pq.ParquetFile.fromFile(await openAsBlob(path));
    try {
      const meta = file.metadata();
      const numRows = meta.fileMetadata().numRows();
      meta.free();
      return { schema: table.schema, numRows };
    } finally {
      file.free();
    }
  },
};

async function footerMetadata(path: string): Promise<Map<string, string> | undefined> {
  try {
    const meta = new Map((await readFileMeta(path)).keyValue);
    meta.delete('ARROW:schema');
    return meta;
  } catch {
    return undefined;
  }
}

function rowGroupsOf(file: { metadata(): { numRowGroups(): number; free(): void } }): number[] {
  const meta = file.metadata();
  const count = meta.numRowGroups();
  meta.free();
  return Array.from({ length: count }, (_, i) => i);
}

/** Writes with the fast codec, or with parquet-wasm for compressions only it has. */
export async function writeParquet(path: string, schema: Schema, tables: Iterable<Table>, options: WriteParquetOptions = {}): Promise<void> {
  await fastCodec.write(path, schema, tables, options);
}

/** Reads with the fast codec; files using features it lacks go through parquet-wasm. */
export async function readParquet(path: string, options: ParquetReadOptions = {}): Promise<ReadParquetResult> {
  try {
    return await fastCodec.read(path, options);
  } catch (err) {
    if (err instanceof UnsupportedFeatureError) return wasmCodec.read(path, options);
    throw err;
  }
}

export async function inspectParquet(path: string): Promise<{ schema: Schema; numRows: number }> {
  try {
    return await fastCodec.inspect(path);
  } catch (err) {
    if (err instanceof UnsupportedFeatureError) return wasmCodec.inspect(path);
    throw err;
  }
}

export { UnsupportedFeatureError };
export type { ParquetReadOptions };
