/**
 * `db.query(key, where, { columns })` on a stored data frame key, pushed down to the files:
 * - only the columns the result and the where-clause need are read;
 * - partitions whose divisions exclude every match of an index condition are not opened;
 * - in each row group the where-clause's columns are read first; the other columns are read
 *   only for row groups holding a match (and row groups whose min/max statistics exclude
 *   every match are not read at all, when the file records statistics).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataType, Schema, Struct, Table, makeData, type Data, type Field } from 'apache-arrow';
import { InvalidInputError, UnsupportedFormatError } from '../errors.js';
import type { DataBase } from '../database.js';
import { formatKey, keyParts, type Key } from '../keys.js';
import { ParquetFileReader } from '../../loaders/parquet/reader.js';
import { PhysicalType } from '../../loaders/parquet/format.js';
import { UnsupportedFeatureError } from '../../loaders/parquet/page-decoder.js';
import { asTypedError, readFrameFile, readObjectMeta } from '../../loaders/parquet/frame-io.js';
import { OBJECT_META_KEY, dataColumnsOf, frameIndexOf, withSchemaMetadata } from '../../loaders/parquet/frame.js';
import { OBJECT_META_FILE, PARQUET_FILE, type ObjectMetaJson } from '../../loaders/parquet/ondisk.js';
import type { PartitionedFrame } from '../../loaders/parquet/partitioned-frame.js';
import { recordBatchOf } from '../../loaders/parquet/record-batch.js';
import { concatTables, filterTable, isRangeIndexName, maskOf, indexesOf, physicalColumnOf, takeRows } from './table.js';
import { partitionsToRead, rowGroupMayMatch, type ColumnRange } from './prune.js';
import { namesOf, normalizeWhere, type NormalWhere, type Where } from './where.js';

export interface QueryOptions {
  /** Data columns of the result (default: all); the index is always included. */
  columns?: readonly string[];
}

/** What a query read, for benchmarks and `isfdb query --stats`. */
export interface QueryStats {
  bytesRead: number;
  filesTotal: number;
  filesRead: number;
  rowGroupsTotal: number;
  rowGroupsRead: number;
  /** Row groups whose where-columns were read and held no match: their other columns were not. */
  rowGroupsSkippedByReading: number;
  /** Row groups not read at all, thanks to min/max statistics. */
  rowGroupsSkippedByStatistics: number;
  rowsMatched: number;
}

export function emptyStats(): QueryStats {
  return { bytesRead: 0, filesTotal: 0, filesRead: 0, rowGroupsTotal: 0, rowGroupsRead: 0, rowGroupsSkippedByReading: 0, rowGroupsSkippedByStatistics: 0, rowsMatched: 0 };
}

interface FramePlan {
  files: string[];
  filesTotal: number;
  objectMeta: ObjectMetaJson;
  objectMetaPath: string;
  /** The key's schema (index and data columns, pandas metadata of its first file). */
  schema: Schema;
  loader: string;
}

const FRAME_LOADERS = new Set(['pandas_to_parquet', 'dask_to_parquet']);

/** The rows of a stored frame key matching `where`, as one Table. */
export async function queryStored(db: DataBase, key: Key, where: Where, options: QueryOptions = {}, stats: QueryStats = emptyStats()): Promise<Table> {
  const parts: Table[] = [];
  let schema: Schema | undefined;
  for await (const part of queryStoredParts(db, key, where, options, stats, (s) => { schema = s; })) parts.push(part);
  return concatTables(parts, parts[0]?.schema ?? schema!);
}

/**
 * The matching rows file by file (a partition, or the single file), for streaming. `onSchema`
 * receives the result's schema before the first part, also when nothing matches.
 */
export async function* queryStoredParts(
  db: DataBase, key: Key, where: Where, options: QueryOptions = {}, stats: QueryStats = emptyStats(), onSchema?: (schema: Schema) => void,
): AsyncGenerator<Table> {
  const normal = normalizeWhere(where);
  const shown = formatKey(keyParts(key));
  const plan = await planFrame(db, key, shown, normal);
  const wantedColumns = checkColumns(plan.schema, options.columns, shown);
  // Validate names and operand types against the schema before reading any row.
  const emptyResult = takeRows(selectColumns(new Table(plan.schema), plan.schema, wantedColumns), new Uint32Array(0));
  maskOf(new Table(plan.schema), normal);
  const resultSchema = withSchemaMetadata(emptyResult, { [OBJECT_META_KEY]: JSON.stringify(plan.objectMeta) }).schema;
  onSchema?.(resultSchema);
  stats.filesTotal += plan.filesTotal;
  const site = { key: shown, loader: plan.loader };
  for (const file of plan.files) {
    stats.filesRead++;
    let part: Table | undefined;
    try {
      part = await readMatching(file, normal, wantedColumns, stats);
    } catch (err) {
      if (!(err instanceof UnsupportedFeatureError)) throw asTypedError(err, file, site);
      // Encodings the fast reader lacks: read the needed columns whole, then filter.
      const needed = wantedColumns === undefined ? undefined : [...new Set([...wantedColumns, ...dataNamesOf(plan.schema, normal)])];
      const { table, bytesRead } = await readFrameFile(file, plan.objectMeta, plan.objectMetaPath, needed ? { columns: needed } : {}, site);
      stats.bytesRead += bytesRead ?? (await fs.stat(file)).size;
      const filtered = filterTable(table, normal);
      part = filtered === table ? takeRows(table, allRows(table.numRows)) : filtered;
      part = wantedColumns === undefined ? part : selectColumns(part, part.schema, wantedColumns);
    }
    if (part === undefined || part.numRows === 0) continue;
    stats.rowsMatched += part.numRows;
    yield withSchemaMetadata(part, { [OBJECT_META_KEY]: JSON.stringify(plan.objectMeta) });
  }
}

async function planFrame(db: DataBase, key: Key, shown: string, where: NormalWhere): Promise<FramePlan> {
  const loader = await db.loaderOf(key);
  if (!FRAME_LOADERS.has(loader)) {
    throw new UnsupportedFormatError(loader, shown, 'db.query filters data frame keys (pandas_to_parquet, dask_to_parquet); read this key with db.get');
  }
  const folder = await db.folderOf(key);
  const objectMetaPath = path.join(folder, OBJECT_META_FILE);
  if (loader === 'pandas_to_parquet') {
    const file = path.join(folder, PARQUET_FILE);
    const objectMeta = await readObjectMeta(objectMetaPath, shown);
    let schema: Schema;
    try {
      const reader = await ParquetFileReader.open(file);
      schema = reader.schema;
      await reader.close();
    } catch (err) {
      if (!(err instanceof UnsupportedFeatureError)) throw asTypedError(err, file, { key: shown, loader });
      schema = (await readFrameFile(file, objectMeta, objectMetaPath, { columns: [] }, { key: shown, loader })).table.schema;
    }
    return { files: [file], filesTotal: 1, objectMeta, objectMetaPath, schema, loader };
  }
  const frame = (await db.get(key)) as PartitionedFrame;
  const index = frameIndexOf({ schema: frame.schema, numRows: 0 });
  const indexColumn = index.kind === 'columns' ? index.columns[0] : undefined;
  const isIndex = (name: string): boolean => (indexColumn !== undefined && physicalColumnOf(frame.schema, index, name) === indexColumn)
    || isRangeIndexName(frame.schema, index, name);
  const selected = partitionsToRead(where, frame.divisions, isIndex);
  return {
    files: selected.map((i) => frame.partitionPath(i)), filesTotal: frame.numPartitions,
    objectMeta: frame.objectMeta, objectMetaPath, schema: frame.schema, loader,
  };
}

function checkColumns(schema: Schema, columns: readonly string[] | undefined, shown: string): string[] | undefined {
  if (columns === undefined) return undefined;
  const data = dataColumnsOf({ schema, numRows: 0 });
  const missing = columns.filter((c) => !data.includes(c));
  if (missing.length > 0) throw InvalidInputError.value('columns option', `key '${shown}' has no column ${missing.map((m) => `'${m}'`).join(', ')}`);
  return [...columns];
}

/** The stored columns a where-clause reads (index levels resolved to their columns). */
function dataNamesOf(schema: Schema, where: NormalWhere): string[] {
  const index = frameIndexOf({ schema, numRows: 0 });
  return namesOf(where).map((n) => physicalColumnOf(schema, index, n)).filter((n): n is string => n !== undefined);
}

/** The table restricted to the wanted data columns plus its index columns, in stored order. */
function selectColumns(table: Table, schema: Schema, wanted: readonly string[] | undefined): Table {
  if (wanted === undefined) return table;
  const index = frameIndexOf({ schema, numRows: table.numRows });
  const keep = new Set([...wanted, ...(index.kind === 'columns' ? index.columns : [])]);
  const order = schema.fields.map((f, i) => (keep.has(f.name) ? i : -1)).filter((i) => i >= 0);
  return pickColumns(table, order);
}

function pickColumns(table: Table, order: number[]): Table {
  const fields = order.map((i) => table.schema.fields[i]!);
  const schema = new Schema(fields, table.schema.metadata);
  if (table.batches.length === 0) return new Table(schema);
  return new Table(schema, table.batches.map((b) => recordBatchOf(schema, makeData({
    type: new Struct(fields), length: b.numRows, nullCount: 0, children: order.map((i) => b.data.children[i]!) as Data[],
  }))));
}

function allRows(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}

/** One file: where-columns first, the rest only where rows match. Undefined when nothing matches. */
async function readMatching(file: string, where: NormalWhere, wanted: readonly string[] | undefined, stats: QueryStats): Promise<Table | undefined> {
  const reader = await ParquetFileReader.open(file);
  try {
    const schema = reader.schema;
    const index = frameIndexOf({ schema, numRows: reader.numRows });
    const indexColumns = index.kind === 'columns' ? index.columns : [];
    const outputNames = new Set(wanted === undefined ? schema.fields.map((f) => f.name) : [...wanted, ...indexColumns]);
    const whereNames = new Set(dataNamesOf(schema, where));
    const fieldIndex = new Map(schema.fields.map((f, i) => [f.name, i]));
    const groups = reader.meta.rowGroups;
    stats.rowGroupsTotal += groups.length;
    const parts: Table[] = [];
    let rowOffset = 0;
    for (let g = 0; g < groups.length; g++) {
      const groupRows = groups[g]!.numRows;
      const offset = rowOffset;
      rowOffset += groupRows;
      if (!rowGroupMayMatch(where, (name) => statisticsOf(reader, g, fieldIndex.get(physicalColumnOf(schema, index, name) ?? '')))) {
        stats.rowGroupsSkippedByStatistics++;
        continue;
      }
      stats.rowGroupsRead++;
      const first = whereNames.size > 0 ? await reader.read({ columns: [...whereNames], rowGroups: [g] }) : undefined;
      const mask = maskOf(first ?? emptyOfRows(schema, groupRows), where, offset);
      const rows = mask === undefined ? allRows(groupRows) : indexesOf(mask);
      if (rows.length === 0) {
        stats.rowGroupsSkippedByReading++;
        continue;
      }
      const rest = [...outputNames].filter((n) => !whereNames.has(n));
      const second = rest.length > 0 ? await reader.read({ columns: rest, rowGroups: [g] }) : undefined;
      const merged = mergeColumns(schema, [first, second], outputNames, groupRows);
      parts.push(takeRows(merged, rows, offset));
    }
    stats.bytesRead += reader.bytesRead;
    return parts.length === 0 ? undefined : concatTables(parts, parts[0]!.schema);
  } finally {
    await reader.close();
  }
}

/** A table of `rows` rows and no columns, carrying the file's pandas metadata (a range index). */
function emptyOfRows(schema: Schema, rows: number): Table {
  const empty = new Schema([], schema.metadata);
  return new Table(empty, [recordBatchOf(empty, makeData({ type: new Struct([]), length: rows, nullCount: 0, children: [] }))]);
}

/** The columns of one row group read in two passes, as one table in the file's column order. */
function mergeColumns(schema: Schema, tables: Array<Table | undefined>, names: ReadonlySet<string>, rows: number): Table {
  const fields: Field[] = [];
  const children: Data[] = [];
  for (const field of schema.fields) {
    if (!names.has(field.name)) continue;
    for (const table of tables) {
      const at = table?.schema.fields.findIndex((f) => f.name === field.name) ?? -1;
      const batch = table?.batches[0];
      if (at < 0 || !batch) continue;
      fields.push(table!.schema.fields[at]!);
      children.push(batch.data.children[at]!);
      break;
    }
  }
  const out = new Schema(fields, schema.metadata);
  return new Table(out, [recordBatchOf(out, makeData({ type: new Struct(fields), length: rows, nullCount: 0, children }))]);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** min/max of a column chunk from its statistics (PLAIN bytes), when recorded and comparable here. */
function statisticsOf(reader: ParquetFileReader, group: number, column: number | undefined): ColumnRange | undefined {
  if (column === undefined) return undefined;
  const chunk = reader.meta.rowGroups[group]?.columns[column];
  const min = chunk?.minValue;
  const max = chunk?.maxValue;
  if (!chunk || !min || !max) return undefined;
  // Only where the values we compare are the stored ones: not timestamps, dates or decimals.
  const type = reader.schema.fields[column]?.type;
  const valueType = type && DataType.isDictionary(type) ? type.dictionary : type;
  if (!valueType || !(DataType.isInt(valueType) || DataType.isFloat(valueType) || DataType.isUtf8(valueType) || DataType.isLargeUtf8(valueType))) return undefined;
  const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (chunk.type) {
    case PhysicalType.int32: return min.length === 4 && max.length === 4 ? { min: view(min).getInt32(0, true), max: view(max).getInt32(0, true) } : undefined;
    case PhysicalType.int64: return min.length === 8 && max.length === 8 ? { min: Number(view(min).getBigInt64(0, true)), max: Number(view(max).getBigInt64(0, true)) } : undefined;
    case PhysicalType.float: return min.length === 4 && max.length === 4 ? { min: view(min).getFloat32(0, true), max: view(max).getFloat32(0, true) } : undefined;
    case PhysicalType.double: return min.length === 8 && max.length === 8 ? { min: view(min).getFloat64(0, true), max: view(max).getFloat64(0, true) } : undefined;
    case PhysicalType.byteArray: {
      // String min/max follow unsigned byte order only when the file says so (column orders) or our
      // writer made it; legacy writers compared signed bytes. Byte order equals JavaScript's string
      // order when min and max are ASCII.
      const unsignedOrder = reader.meta.typeDefinedOrder === true || reader.meta.createdBy?.startsWith('isf-data-base') === true;
      if (!unsignedOrder || min.some((b) => b >= 0x80) || max.some((b) => b >= 0x80)) return undefined;
      try {
        return { min: utf8.decode(min), max: utf8.decode(max) };
      } catch {
        return undefined;
      }
    }
    default: return undefined;
  }
}
