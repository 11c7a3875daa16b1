/**
 * Rewriting a frame key (pandas_to_parquet, dask_to_parquet) into our Parquet encoding, as ISF's
 * optimize/reoptimize does: read it with its loader, dump it again through the one commit (under
 * the key's lock, atomically, into the history when keepVersions is on). Partitions are streamed
 * one at a time. The original provenance stays; the rewrite is recorded in metadata.json's
 * `isfdb_optimized` list (Python ISF ignores fields it does not know). Loaded only when used.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CorruptKeyError, InvalidInputError, KeyNotFoundError, KeyTypeConflictError, isDataBaseError } from './errors.js';
import { CHECKSUMS_FIELD } from './ondisk.js';
import type { DbFolder } from './db-folder.js';
import { loadFolder, loaderNameAt, readKeyMetadata } from './key-io.js';
import { getLoader } from '../loaders/index.js';
import type { FileMeta } from '../loaders/parquet/format.js';

export type OptimizeCompression = 'zstd' | 'snappy';

export interface OptimizeOptions {
  /** The codec of the rewritten files (default 'zstd', as our writer's default). */
  compression?: OptimizeCompression;
  /** Overrides the database's keepVersions for this rewrite. */
  keepVersions?: number;
}

export interface OptimizeResult {
  key: string;
  loader: 'pandas_to_parquet' | 'dask_to_parquet';
  /** 'skipped': already written by us with the requested compression (or none where it does not pay). */
  status: 'optimized' | 'skipped';
  files: number;
  /** Bytes of the key's Parquet files before and after (equal when skipped). */
  bytesBefore: number;
  bytesAfter: number;
  /** The codecs and writers found before the rewrite. */
  compressionBefore: string[];
  createdByBefore: string[];
  compression: OptimizeCompression;
}

/** What is on disk: the Parquet files of a key folder, their size, codecs and writers. */
interface ParquetSurvey { files: number; bytes: number; codecs: string[]; createdBy: string[] }

/** What optimize needs of the Parquet codec, imported when it runs (the core loads no codec statically). */
interface ParquetFacts { createdBy: string; codecName: (code: number) => string; decodeFooter: (bytes: Uint8Array) => FileMeta }

async function parquetFacts(): Promise<ParquetFacts> {
  const [{ Codec, decodeFileMeta }, { CREATED_BY }] = await Promise.all([import('../loaders/parquet/format.js'), import('../loaders/parquet/writer.js')]);
  const names = new Map<number, string>(Object.entries(Codec).map(([name, code]) => [code, name]));
  return { createdBy: CREATED_BY, codecName: (code) => names.get(code) ?? `codec ${code}`, decodeFooter: decodeFileMeta };
}

export async function optimizeKey(folder: DbFolder, name: string, shown: string, options: OptimizeOptions = {}): Promise<OptimizeResult> {
  const compression = options.compression ?? 'zstd';
  if (compression !== 'zstd' && compression !== 'snappy') {
    throw InvalidInputError.value('compression option', `is '${String(compression)}'; use 'zstd' or 'snappy'`);
  }
  const parquet = await parquetFacts();
  return folder.withKeyLock(name, shown, async (lock) => {
    const loaderName = await loaderNameAt(folder.basedir, name);
    if (loaderName === undefined) throw new KeyNotFoundError(shown, folder.basedir);
    if (loaderName !== 'pandas_to_parquet' && loaderName !== 'dask_to_parquet') {
      throw new KeyTypeConflictError(shown, folder.basedir, `holds ${loaderName}, not a frame; optimize rewrites pandas_to_parquet and dask_to_parquet keys`);
    }
    const dir = path.join(folder.basedir, name);
    const before = surveyParquet(parquet, dir, shown);
    const result = { key: shown, loader: loaderName, files: before.files, bytesBefore: before.bytes, compressionBefore: before.codecs, createdByBefore: before.createdBy, compression } as const;
    // Our writer stores a chunk uncompressed where compression does not pay: such a key is done.
    if (before.createdBy.length === 1 && before.createdBy[0] === parquet.createdBy && before.codecs.every((c) => c === compression || c === 'uncompressed')) {
      return { ...result, status: 'skipped', bytesAfter: before.bytes };
    }
    const { [CHECKSUMS_FIELD]: _oldChecksums, ...provenance } = await readKeyMetadata(folder.basedir, name, shown, false);
    const previous = Array.isArray(provenance['isfdb_optimized']) ? provenance['isfdb_optimized'] as unknown[] : [];
    const record = {
      time: new Date().toISOString(),
      from: { compression: before.codecs, created_by: before.createdBy, bytes: before.bytes, files: before.files },
      to: { compression, created_by: parquet.createdBy },
    };
    // A dask key loads as a PartitionedFrame over the old folder, which the commit leaves in place
    // until it publishes: the dump reads one partition while it writes the next file.
    const value = await loadFolder(dir, shown, folder.loaderContext(shown), undefined);
    const loader = await getLoader(loaderName, shown);
    await folder.writeLocked(name, shown, loader, value, { compression }, lock, {
      extraMetadata: { ...provenance, isfdb_optimized: [...previous, record] },
      ...(options.keepVersions === undefined ? {} : { keepVersions: options.keepVersions }),
    });
    const after = surveyParquet(parquet, dir, shown);
    return { ...result, status: 'optimized', bytesAfter: after.bytes };
  });
}

function surveyParquet(parquet: ParquetFacts, dir: string, shown: string): ParquetSurvey {
  const codecs = new Set<string>();
  const createdBy = new Set<string>();
  let bytes = 0;
  let files = 0;
  for (const entry of fs.readdirSync(dir).filter((f) => f.endsWith('.parquet')).sort()) {
    const file = path.join(dir, entry);
    const meta = readFooter(parquet, file, shown);
    files += 1;
    bytes += meta.size;
    createdBy.add(meta.createdBy ?? 'unknown');
    for (const group of meta.rowGroups) for (const column of group.columns) codecs.add(parquet.codecName(column.codec));
  }
  return { files, bytes, codecs: [...codecs].sort(), createdBy: [...createdBy].sort() };
}

/** The footer of one Parquet file; a damaged one is a CorruptKeyError naming the file. */
function readFooter(parquet: ParquetFacts, file: string, shown: string): FileMeta & { size: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const tail = Buffer.alloc(8);
    if (size < 12 || fs.readSync(fd, tail, 0, 8, size - 8) !== 8 || tail.toString('latin1', 4) !== 'PAR1') {
      throw new CorruptKeyError(file, 'is not a Parquet file (no PAR1 footer)', shown);
    }
    const length = tail.readUInt32LE(0);
    if (length > size - 12) throw new CorruptKeyError(file, `declares a footer of ${length} bytes in a file of ${size}`, shown);
    const footer = Buffer.alloc(length);
    fs.readSync(fd, footer, 0, length, size - 8 - length);
    try {
      return { ...parquet.decodeFooter(footer), size };
    } catch (err) {
      if (isDataBaseError(err)) throw err;
      throw new CorruptKeyError(file, `has an unreadable footer (${(err as Error).message})`, shown, { cause: err });
    }
  } finally {
    fs.closeSync(fd);
  }
}
