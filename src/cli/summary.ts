/**
 * What `isfdb show` tells about a key: the facts a scientist asks first (shape, index, dtypes, the
 * first rows, size, provenance), never a loader's internal fields.
 */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Table } from 'apache-arrow';
import { DataBase, type MetadataJson } from '../index.js';
import { PartitionedFrame, dataColumnsOf, frameIndexOf, indexColumnOf } from '../frames.js';
import { describeValue, previewValue } from './describe.js';

/** Columns shown in the first rows, and how many rows. */
const PREVIEW_COLUMNS = 4;
const PREVIEW_ROWS = 5;
/** Column names listed one by one up to this count; beyond it, the first and last few. */
const LISTED_COLUMNS = 12;
/** Keys of a sub-database, files of a managed folder: the first ones, then how many more. */
const LISTED_ENTRIES = 12;
/** A metadata field longer than this (as JSON) is cut in the text output; --json keeps it whole. */
const METADATA_FIELD_CHARS = 160;

export interface FrameSummary {
  kind: 'data frame' | 'partitioned data frame';
  rows: number;
  columns: number;
  partitions: number;
  index: { name: string | null; first: unknown; last: unknown };
  /** dtype -> number of data columns of that dtype. */
  dtypes: Record<string, number>;
  columnNames: string[];
}

export interface KeySummary {
  /** One line: what the value is and how big (for every kind of value). */
  shape: string;
  frame?: FrameSummary;
  /** Sub-databases: their first keys (as many as the preview lists) and loaders. */
  keys?: Array<{ key: string; loader: string }>;
  /** A few lines showing the start of the value. */
  preview: string;
}

export async function summarize(value: unknown, loader: string): Promise<KeySummary> {
  if (loader === 'just_create_folder' && typeof value === 'string') return managedFolderSummary(value);
  if (value instanceof PartitionedFrame) {
    const frame = await partitionedSummary(value);
    const firstPart = frame.partitions === 0 ? undefined : await value.readPartition(0, { columns: previewColumns(frame.columnNames) });
    return summarizeFrame(frame, firstPart);
  }
  if (isTable(value)) return summarizeFrame(tableSummary(value), value);
  if (value instanceof DataBase) {
    // The first keys only: a sub-database of a campaign may hold a key per trial (isfdb ls lists them all).
    const names = await value.keys();
    const keys = await Promise.all(names.slice(0, LISTED_ENTRIES).map(async (key) => ({ key, loader: await value.loaderOf(key).catch((err: Error) => `unreadable: ${err.message}`) })));
    const listed = keys.map((k) => `  ${k.key}  (${k.loader === 'just_create_isf_db' ? 'sub-database' : k.loader})`);
    if (names.length > LISTED_ENTRIES) listed.push(`  ... (${names.length - LISTED_ENTRIES} more)`);
    return { shape: `sub-database with ${names.length} key(s)`, keys, preview: listed.join('\n') };
  }
  // A short string (a path, a name) says more than its length.
  const shape = typeof value === 'string' && value.length <= 100 && !value.includes('\n') ? JSON.stringify(value) : describeValue(value);
  return { shape, preview: previewValue(value) };
}

/** A managed folder: the files users or initializers put there (not the key's own JSON files). */
async function managedFolderSummary(folder: string): Promise<KeySummary> {
  const files = (await fs.readdir(folder, { recursive: true, withFileTypes: true }))
    .filter((e) => !e.isDirectory() && !(e.parentPath === folder && (e.name === 'Loader.json' || e.name === 'metadata.json')))
    .map((e) => path.relative(folder, path.join(e.parentPath, e.name)))
    .sort();
  const listed = files.slice(0, LISTED_ENTRIES).map((f) => `  ${f}`);
  if (files.length > LISTED_ENTRIES) listed.push(`  ... (${files.length - LISTED_ENTRIES} more)`);
  return { shape: `managed folder with ${files.length} file(s)`, preview: listed.join('\n') };
}

/** Bytes and files below a key folder (symbolic links counted as links, never followed). */
export async function sizeOnDisk(folder: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  // readdirSync: its recursive listing took 1.5 s for 520,000 entries here, the promise one 7 s
  // (one command, nothing else waits on this thread).
  const paths = fsSync.readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory()).map((entry) => path.join(entry.parentPath, entry.name));
  // Many lstat calls in flight, not one after another: a sub-database may hold hundreds of thousands of files.
  for (let i = 0; i < paths.length; i += 256) {
    for (const stat of await Promise.all(paths.slice(i, i + 256).map((p) => fs.lstat(p)))) bytes += stat.size;
  }
  return { bytes, files: paths.length };
}

/** ISF's time tuple (UTC: year, month, day, hour, minute, second, ...) as ISO 8601. */
export function isoTimeOf(time: unknown): string | undefined {
  if (!Array.isArray(time) || time.length < 6 || !time.slice(0, 6).every((n) => typeof n === 'number')) return undefined;
  const [y, mo, d, h, mi, s] = time as number[];
  const date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().replace('.000Z', 'Z');
}

/** One line of provenance: when, by what, where, from which code. */
export function provenanceLine(metadata: MetadataJson): string {
  const meta = metadata as Record<string, unknown>;
  const parts: string[] = [];
  const time = isoTimeOf(meta['time']);
  if (time !== undefined) parts.push(`written ${time}${meta['metadata_creation_time'] === 'post_hoc' ? ' (post hoc: folder time)' : ''}`);
  if (typeof meta['dumper'] === 'string') parts.push(`by ${meta['dumper']}`);
  if (typeof meta['hostname'] === 'string') parts.push(`on ${meta['hostname']}`);
  const commit = meta['full-revisionid'];
  if (typeof commit === 'string') parts.push(`code ${commit.slice(0, 12)}${meta['dirty'] === true ? ' (dirty)' : ''}`);
  else if (typeof meta['version'] === 'string' && meta['version'] !== 'unknown') parts.push(`code version ${meta['version']}`);
  else parts.push('code not under git');
  return parts.join(', ');
}

/** metadata.json fields for the text output: the time as ISO 8601, long fields cut. */
export function metadataLines(metadata: MetadataJson): string[] {
  const lines: string[] = [];
  for (const [field, content] of Object.entries(metadata)) {
    if (field === 'module_list') continue;
    const iso = field === 'time' ? isoTimeOf(content) : undefined;
    let text = iso ?? (typeof content === 'string' ? content : JSON.stringify(content));
    if (text.length > METADATA_FIELD_CHARS) text = `${text.slice(0, METADATA_FIELD_CHARS - 20)}... (${text.length} characters; --json shows all)`;
    lines.push(`  ${field}: ${text.replace(/\n/g, ' | ')}`);
  }
  return lines;
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

// ---------------------------------------------------------------- data frames

interface TableLike { schema: { fields: Array<{ name: string; type: unknown }> }; numRows: number }

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && 'numRows' in value && 'schema' in value && 'getChild' in value;
}

async function partitionedSummary(frame: PartitionedFrame): Promise<FrameSummary> {
  let rows = 0;
  // Footers only: a read of no columns gives the row count (plus the index column, small).
  for (let i = 0; i < frame.numPartitions; i++) rows += (await frame.readPartition(i, { columns: [] })).numRows;
  // frameIndexOf & co. read the schema only (numRows matters for a default range index, absent here).
  const shape = { schema: frame.schema, numRows: rows };
  const data = dataColumnsOf(shape);
  const index = frameIndexOf(shape);
  const first = frame.divisions[0] ?? null;
  const last = frame.divisions[frame.divisions.length - 1] ?? null;
  return {
    kind: 'partitioned data frame',
    rows,
    columns: data.length,
    partitions: frame.numPartitions,
    index: { name: index.kind === 'columns' ? index.names[0] ?? index.columns[0] ?? null : index.name, first, last },
    dtypes: dtypeCounts(frame.schema, data, frame.objectMeta.dtypes),
    columnNames: data,
  };
}

function tableSummary(table: Table): FrameSummary {
  const data = dataColumnsOf(table);
  const index = frameIndexOf(table);
  let first: unknown = null;
  let last: unknown = null;
  if (index.kind === 'range') {
    first = table.numRows === 0 ? null : index.start;
    last = table.numRows === 0 ? null : index.start + (table.numRows - 1) * index.step;
  } else if (table.numRows > 0) {
    const column = table.getChild(index.columns[0]!);
    first = column?.get(0) ?? null;
    last = column?.get(table.numRows - 1) ?? null;
  }
  return {
    kind: 'data frame',
    rows: table.numRows,
    columns: data.length,
    partitions: 1,
    index: { name: index.kind === 'columns' ? index.names[0] ?? index.columns[0] ?? null : index.name, first, last },
    dtypes: dtypeCounts(table.schema, data, undefined),
    columnNames: data,
  };
}

/** pandas dtypes from object_meta.json when recorded (they are per data column), else Arrow's type names. */
function dtypeCounts(schema: TableLike['schema'], data: string[], pandasDtypes: string[] | undefined): Record<string, number> {
  const counts: Record<string, number> = {};
  const byName = new Map(schema.fields.map((f) => [f.name, String(f.type)]));
  data.forEach((name, i) => {
    const dtype = pandasDtypes?.length === data.length ? pandasDtypes[i]! : byName.get(name) ?? 'unknown';
    counts[dtype] = (counts[dtype] ?? 0) + 1;
  });
  return counts;
}

function previewColumns(dataColumns: string[]): string[] {
  return dataColumns.slice(0, PREVIEW_COLUMNS);
}

function summarizeFrame(frame: FrameSummary, firstPart: Table | undefined): KeySummary {
  const partitions = frame.kind === 'partitioned data frame' ? ` in ${frame.partitions} partition${frame.partitions === 1 ? '' : 's'}` : '';
  const shape = `${frame.rows} rows x ${frame.columns} columns${partitions}`;
  return { shape, frame, preview: firstPart === undefined ? '' : firstRows(firstPart, previewColumns(frame.columnNames)) };
}

/** A small text table: the index (when stored) and a few columns of the first rows. */
function firstRows(table: Table, columns: string[]): string {
  const indexColumn = indexColumnOf(table);
  const shown = [...(indexColumn === undefined ? [] : [indexColumn]), ...columns.filter((c) => table.getChild(c) !== null)];
  const rows = Math.min(PREVIEW_ROWS, table.numRows);
  const cells = shown.map((name) => [name, ...Array.from({ length: rows }, (_, i) => cellText(table.getChild(name)?.get(i)))]);
  const widths = cells.map((column) => Math.max(...column.map((c) => c.length)));
  const lines = Array.from({ length: rows + 1 }, (_, r) => cells.map((column, c) => column[r]!.padStart(widths[c]!)).join('  '));
  return lines.join('\n');
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, '');
  const text = typeof value === 'string' ? value : String(value);
  return text.length > 40 ? `...${text.slice(-37)}` : text;
}

/** "a, b, c" or "a, b, ..., y, z (N columns)" for thousands of columns. */
export function columnList(names: string[]): string {
  if (names.length <= LISTED_COLUMNS) return names.join(', ');
  return `${names.slice(0, 6).join(', ')}, ..., ${names.slice(-3).join(', ')}`;
}
