/**
 * One frame <-> one Parquet file plus its object_meta.json, shared by both data frame loaders.
 * Every failure leaves here as one of the library's typed errors naming the key and the file.
 */
import { promises as fs } from 'node:fs';
import { type Table } from 'apache-arrow';
import { CorruptKeyError, InvalidInputError, ParquetFormatError, UnsupportedFormatError, DataBaseError } from '../../src/errors.js';
import { parseJsonText, pythonJson } from '../../src/ondisk.js';
import { inspectParquet, openParquet, readParquet, writeParquet, type OpenedParquet, type ParquetReadOptions, type WriteParquetOptions } from './codec.js';
import { UnsupportedFeatureError } from './errors.js';
import type { EncodingChoice } from './writer.js';
import { COMPRESSIONS, type Compression } from './compression.js';
import { UnsupportedTypeError } from './arrow-types.js';
import { FrameError, OBJECT_META_KEY, buildObjectMeta, dataColumnsOf, frameForWriting, frameIndexOf, withIndex, withSchemaMetadata, type LabelType } from './frame.js';
import { LEGACY_OBJECT_META_FILE, OBJECT_META_FILE, objectMetaSchema, type ObjectMetaJson } from './ondisk.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface FrameDumpOptions {
  /** 'zstd' (default: smaller and faster, measured in docs/parquet.md), 'snappy' (what ISF writes) or 'uncompressed'. */
  compression?: Compression;
  /** Dictionary-encode column chunks where it pays (default true). */
  dictionary?: boolean;
  /** BYTE_STREAM_SPLIT for float columns written PLAIN (default false). */
  byteStreamSplit?: boolean;
  /** Rows per row group (default: up to 1,048,576 rows and about 64 MB of values). */
  rowGroupRows?: number;
  /** The column to store as the pandas index (default: the table's pandas metadata, else a range index). */
  index?: string;
  /** What the data column labels were in Python; unlisted labels take `columnLabelType`, else keep their current type ('str' by default). */
  columnLabelTypes?: Record<string, LabelType>;
  /**
   * What every data column label not in `columnLabelTypes` was in Python: one type for all (a
   * frame of 10,000 time points need not spell out 10,000 entries).
   */
  columnLabelType?: LabelType;
  /** Sees every byte of each Parquet file as it is written (checksums without reading back). */
  onBytes?: (chunk: Uint8Array) => void;
  /**
   * Each column's encoding (dictionary or PLAIN) as chosen on an earlier file, filled as chosen:
   * pass one map to the dumps of a frame's partitions (dask_to_parquet shares one across a dump).
   */
  encodingChoices?: Map<string, EncodingChoice>;
}

export interface FrameLoadOptions {
  /** Data columns to read (the index is always read); only their bytes are read. */
  columns?: readonly string[];
}

/** Names the key and loader in errors raised while writing or reading. */
export interface FrameSite {
  key: string;
  loader: string;
}


/** The frame as written, and its object_meta.json, with options checked. */
export function prepareFrame(value: Table, options: FrameDumpOptions, site: FrameSite, what = 'the frame', rangeStart?: number): { frame: Table; objectMeta: ObjectMetaJson } {
  if (options.compression !== undefined && !COMPRESSIONS.includes(options.compression)) {
    throw InvalidInputError.value('compression option', `'${String(options.compression)}' is not one of snappy, zstd, uncompressed`);
  }
  try {
    const indexed = options.index === undefined ? value : withIndex(value, options.index);
    const objectMeta = buildObjectMeta(indexed, options.columnLabelTypes, options.columnLabelType);
    const floatLabels = objectMeta.column_name_dtypes.length > 0 && objectMeta.column_name_dtypes.every((d) => d.startsWith('float'));
    return { frame: frameForWriting(indexed, undefined, rangeStart, floatLabels), objectMeta };
  } catch (err) {
    if (err instanceof FrameError) throw InvalidInputError.value(`${what} for key '${site.key}'`, err.message);
    throw err;
  }
}

export async function writeFrameFile(path: string, frame: Table, options: FrameDumpOptions, site: FrameSite): Promise<void> {
  try {
    await writeParquet(path, frame.schema, [frame], { ...writeOptionsOf(options), ...layoutOf(frame) });
  } catch (err) {
    await fs.rm(path, { force: true });
    if (err instanceof UnsupportedTypeError) throw new UnsupportedFormatError(site.loader, site.key, err.message);
    throw err;
  }
}

/** Columns without nulls are REQUIRED (no definition levels); the index keeps min/max in wide frames. */
function layoutOf(frame: Table): Pick<WriteParquetOptions, 'required' | 'alwaysMinMax'> {
  const required = new Set<string>();
  frame.schema.fields.forEach((field, i) => {
    if (frame.getChildAt(i)?.nullCount === 0) required.add(field.name);
  });
  const index = frameIndexOf(frame);
  return { required, alwaysMinMax: new Set(index.kind === 'columns' ? index.columns : []) };
}

function writeOptionsOf(options: FrameDumpOptions): WriteParquetOptions {
  const out: WriteParquetOptions = {};
  if (options.compression !== undefined) out.compression = options.compression;
  if (options.dictionary !== undefined) out.dictionary = options.dictionary;
  if (options.byteStreamSplit !== undefined) out.byteStreamSplit = options.byteStreamSplit;
  if (options.rowGroupRows !== undefined) out.rowGroupRows = options.rowGroupRows;
  if (options.onBytes !== undefined) out.onBytes = options.onBytes;
  if (options.encodingChoices !== undefined) out.encodingChoices = options.encodingChoices;
  return out;
}

export async function writeObjectMeta(path: string, objectMeta: ObjectMetaJson): Promise<void> {
  await fs.writeFile(path, pythonJson(objectMeta));
}

/**
 * A key's object_meta.json, normalised at the boundary: older ISF versions named it
 * dask_meta.json, and the oldest wrote none. Without one, `dataFile`'s columns are taken as
 * they are, with string labels (as ISF reads such keys), and a warning says so.
 */
export async function readKeyObjectMeta(dir: string, dataFile: string, site: FrameSite): Promise<{ meta: ObjectMetaJson; path: string }> {
  for (const name of [OBJECT_META_FILE, LEGACY_OBJECT_META_FILE]) {
    const path = join(dir, name);
    if (existsSync(path)) return { meta: await readObjectMeta(path, site.key), path };
  }
  process.emitWarning(`key '${site.key}': ${dir} has no ${OBJECT_META_FILE} (an older ISF version wrote it); column labels are read as strings`, 'IsfDataBaseWarning');
  try {
    const { schema, numRows } = await inspectParquet(dataFile);
    return { meta: buildObjectMeta({ schema, numRows }), path: join(dir, OBJECT_META_FILE) };
  } catch (err) {
    throw asTypedError(err, dataFile, site);
  }
}

export async function readObjectMeta(path: string, key: string): Promise<ObjectMetaJson> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    throw new CorruptKeyError(path, 'file is missing or unreadable', key, { cause: err });
  }
  return parseJsonText(text, path, objectMetaSchema, key);
}

/** Reads one frame file; checks it against object_meta.json and attaches it as metadata. */
export async function readFrameFile(
  path: string, objectMeta: ObjectMetaJson, objectMetaPath: string, options: FrameLoadOptions, site: FrameSite,
): Promise<{ table: Table; bytesRead?: number }> {
  try {
    // One open and one footer decode for the schema check and the read.
    const file = await openParquet(path);
    try {
      return await readOpenedFrame(file, path, objectMeta, objectMetaPath, options, site);
    } finally {
      await file.close();
    }
  } catch (err) {
    throw asTypedError(err, path, site);
  }
}

async function readOpenedFrame(
  file: OpenedParquet, path: string, objectMeta: ObjectMetaJson, objectMetaPath: string, options: FrameLoadOptions, site: FrameSite,
): Promise<{ table: Table; bytesRead?: number }> {
  const { schema, numRows } = file;
  const dataColumns = dataColumnsOf({ schema, numRows });
  if (dataColumns.length !== objectMeta.columns.length) {
    throw new CorruptKeyError(objectMetaPath, `lists ${objectMeta.columns.length} columns, ${path} holds ${dataColumns.length}`, site.key);
  }
  let columns: string[] | undefined;
  if (options.columns) {
    const missing = options.columns.filter((c) => !dataColumns.includes(c));
    if (missing.length > 0) throw InvalidInputError.value('columns option', `key '${site.key}' has no column ${missing.map((m) => `'${m}'`).join(', ')}`);
    const index = frameIndexOf({ schema, numRows });
    const indexColumns = index.kind === 'columns' ? index.columns : [];
    const wanted = new Set([...options.columns, ...indexColumns]);
    columns = schema.fields.map((f) => f.name).filter((n) => wanted.has(n));
  }
  const { table, bytesRead } = await file.read(columns ? { columns } : {});
  const withMeta = withSchemaMetadata(table, { [OBJECT_META_KEY]: JSON.stringify(objectMeta) });
  return bytesRead === undefined ? { table: withMeta } : { table: withMeta, bytesRead };
}

/** Reads any Parquet file; failures become typed errors naming the key and the file. */
export async function readParquetFile(path: string, options: ParquetReadOptions, site: FrameSite): Promise<{ table: Table; bytesRead?: number }> {
  try {
    return await readParquet(path, options);
  } catch (err) {
    throw asTypedError(err, path, site);
  }
}

/**
 * Library errors pass; a feature no reader here has becomes an UnsupportedFormatError, and a
 * bad or missing file a CorruptKeyError naming it. A decoder fed hostile bytes can fail in
 * many ways (ranges, recursion, allocation): every such failure means "not a valid file".
 */
export function asTypedError(err: unknown, path: string, site: FrameSite): unknown {
  if (err instanceof UnsupportedFeatureError) return new UnsupportedFormatError(site.loader, site.key, `${path}: ${err.message}`);
  // The codec's own (tagged) errors: read from a key, they are a corrupt key naming its file.
  if (err instanceof ParquetFormatError) return new CorruptKeyError(path, `is not a valid Parquet file: ${err.reason}`, site.key, { cause: err });
  if (err instanceof FrameError) return new CorruptKeyError(path, err.message, site.key, { cause: err });
  if (err instanceof DataBaseError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CorruptKeyError(path, 'file is missing', site.key, { cause: err });
  if (code === 'EMFILE' || code === 'EACCES' || code === 'EIO' || code === 'ENOSPC') return err;
  if (err instanceof Error) return new CorruptKeyError(path, `is not a valid Parquet file: ${err.message}`, site.key, { cause: err });
  return err;
}
