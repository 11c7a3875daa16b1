/**
 * dask_to_parquet: a partitioned data frame as `pandas_to_parquet.<N>.<i>.parquet` files plus
 * `object_meta.json` and `divisions.json`, as ISF writes them. Partitions are written one at a
 * time from an array or an (async) iterable, so memory stays bounded by one partition; loading
 * returns a lazy PartitionedFrame.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Table, type Schema } from 'apache-arrow';
import { InvalidInputError } from '../src/errors.js';
import type { Loader } from './types.js';
import { prepareFrame, writeFrameFile, type FrameDumpOptions } from './parquet/frame-io.js';
import { frameIndexOf, withPlainStrings } from './parquet/frame.js';
import { DIVISIONS_FILE, OBJECT_META_FILE, partitionFileName, type Division, type ObjectMetaJson } from './parquet/ondisk.js';
import { PartitionedFrame, type PartitionReadOptions } from './parquet/partitioned-frame.js';
import { serializeDivisions } from './parquet/divisions.js';
import { pythonJson } from '../src/ondisk.js';
import { WideDoubleLayout, type WideDoubleFrame } from './parquet/wide-doubles.js';
import type { EncodingChoice } from './parquet/writer.js';

const NAME = 'dask_to_parquet';

export type Partitions = readonly Table[] | Iterable<Table> | AsyncIterable<Table> | PartitionedFrame;
export type DaskToParquetDumpOptions = FrameDumpOptions;
export type DaskToParquetLoadOptions = PartitionReadOptions;

function isPartitions(value: unknown): value is Partitions {
  if (value instanceof PartitionedFrame) return true;
  if (Array.isArray(value)) return value.length > 0 && value.every((v) => v instanceof Table);
  if (value instanceof Table || typeof value !== 'object' || value === null) return false;
  return Symbol.asyncIterator in value || Symbol.iterator in value;
}

export const loader: Loader<Partitions, DaskToParquetLoadOptions, DaskToParquetDumpOptions> = {
  name: NAME,
  kind: 'data',
  canDump: isPartitions,
  async dump(value, dir, ctx, given = {}) {
    // the partitions' columns are encoded alike: each column tried on the first partition only
    const options = given.encodingChoices ? given : { ...given, encodingChoices: new Map<string, EncodingChoice>() };
    if (!isPartitions(value)) throw InvalidInputError.value(`value for key '${ctx.key}'`, `${NAME} stores an array or (async) iterable of apache-arrow Tables, or a PartitionedFrame`);
    const site = { key: ctx.key, loader: NAME };
    const written: string[] = [];
    const divisions: Division[] = [];
    let firstSchema: Schema | undefined;
    let objectMetaText = '';
    let floatIndex = false;
    let rows = 0;
    let unknownDivisions = false;
    for await (const partition of value as AsyncIterable<Table> | Iterable<Table>) {
      const i = written.length;
      if (!(partition instanceof Table)) throw InvalidInputError.value(`partition ${i} of key '${ctx.key}'`, 'is not an apache-arrow Table');
      const { frame, objectMeta } = prepareFrame(withPlainStrings(partition), options, site, `partition ${i}`, rows);
      if (!firstSchema) {
        firstSchema = frame.schema;
        objectMetaText = pythonJson(objectMeta);
      } else {
        checkSameColumns(firstSchema, frame.schema, i, ctx.key);
      }
      const bounds = indexBounds(frame, rows);
      if (bounds === undefined) unknownDivisions = true;
      else {
        floatIndex ||= bounds.float;
        // dask's divisions: each partition's first index, then the last partition's last one.
        divisions[i] = bounds.first;
        divisions[i + 1] = bounds.last;
      }
      // The final name holds the partition count, unknown until the input ends.
      const temporary = join(dir, `pandas_to_parquet.partial.${i}.parquet`);
      await writeFrameFile(temporary, frame, options, site);
      written.push(temporary);
      rows += frame.numRows;
    }
    if (written.length === 0) throw InvalidInputError.value(`value for key '${ctx.key}'`, 'a partitioned frame needs at least one partition');
    const count = written.length;
    await Promise.all(written.map((path, i) => fs.rename(path, join(dir, partitionFileName(count, i)))));
    const known = !unknownDivisions && isSorted(divisions);
    if (!unknownDivisions && !known) {
      throw InvalidInputError.value(`value for key '${ctx.key}'`, 'the partitions\' index values are not sorted across partitions, so divisions cannot be written');
    }
    for (const [name, text] of daskLayoutFiles(objectMetaText, known ? divisions : undefined, count, floatIndex)) await fs.writeFile(join(dir, name), text);
  },
  async load(dir, _loaderJson, ctx, options = {}) {
    return PartitionedFrame.open(dir, ctx.key, options);
  },
};

/**
 * The files of a dask_to_parquet key beside its partitions, as [file name, text]: object_meta.json
 * (the frame's columns and dtypes, as partition 0 has them) and divisions.json (each partition's
 * first index value and the last partition's last one; all null when unknown). The one place
 * that writes this layout: the loader above and writers that encode partitions elsewhere (such
 * as initSimrun's workers) both use it.
 */
export function daskLayoutFiles(objectMeta: string | ObjectMetaJson, divisions: readonly Division[] | undefined, count: number, floatIndex: boolean): [string, string][] {
  if (divisions !== undefined && divisions.length !== count + 1) throw new RangeError(`internal: ${divisions.length} divisions for ${count} partitions`);
  return [
    [OBJECT_META_FILE, typeof objectMeta === 'string' ? objectMeta : pythonJson(objectMeta)],
    [DIVISIONS_FILE, serializeDivisions(divisions ?? new Array<Division>(count + 1).fill(null), floatIndex)],
  ];
}

export { partitionFileName };

/**
 * Partitions of wide float64 frames that share one schema (initSimrun's voltage traces: an index
 * column and one float64 column per time point), written through the Parquet writer's lean path
 * (parquet/wide-doubles.ts) straight from the values, without an Arrow table per partition. The
 * frame preparation (pandas metadata, object_meta.json) is done once, on a template partition.
 * The bytes are those the loader writes for the same table; shapes the lean path does not take
 * go through the general writer.
 */
export class WideDoublePartitions {
  private constructor(
    private readonly layout: WideDoubleLayout | undefined,
    /** object_meta.json of every partition */
    readonly objectMeta: string,
    private readonly options: DaskToParquetDumpOptions,
    private readonly key: string,
  ) {}

  /** `template`: a partition (any rows) with the index column `options.index` and float64 data columns, in the order of `values`. */
  static async of(template: Table, options: DaskToParquetDumpOptions & { index: string }, key: string): Promise<WideDoublePartitions> {
    const { frame, objectMeta } = prepareFrame(withPlainStrings(template), options, { key, loader: NAME });
    const data = template.schema.fields.map((f) => f.name).filter((n) => n !== options.index);
    const written = frame.schema.fields.map((f) => f.name).filter((n) => n !== options.index);
    const sameOrder = written.length === data.length && written.every((n, i) => n === data[i]);
    const layout = sameOrder && options.dictionary === false && options.byteStreamSplit !== true && options.rowGroupRows === undefined
      ? await WideDoubleLayout.of(frame.schema, options.index, options.compression)
      : undefined;
    return new WideDoublePartitions(layout, pythonJson(objectMeta), options, key);
  }

  /**
   * Writes one partition as the Parquet file `file`: `frame` through the lean path when its shape
   * fits, else `table()` (the same partition as a Table) through the general writer.
   */
  async write(file: string, frame: WideDoubleFrame, table: () => Table, onBytes?: (bytes: Uint8Array) => void): Promise<void> {
    if (this.layout?.fits(frame.rows)) {
      await this.layout.write(file, frame, onBytes);
      return;
    }
    const options = onBytes ? { ...this.options, onBytes } : this.options;
    const { frame: prepared } = prepareFrame(withPlainStrings(table()), options, { key: this.key, loader: NAME });
    await writeFrameFile(file, prepared, options, { key: this.key, loader: NAME });
  }
}

function checkSameColumns(first: Schema, schema: Schema, i: number, key: string): void {
  const describe = (s: Schema): string => s.fields.map((f) => `${f.name}: ${String(f.type)}`).join(', ');
  if (describe(first) !== describe(schema)) {
    throw InvalidInputError.value(`partition ${i} of key '${key}'`, `has columns [${describe(schema)}], partition 0 has [${describe(first)}]`);
  }
}

/** First and last index value of a partition (its divisions), or undefined when not orderable. */
function indexBounds(frame: Table, rowOffset: number): { first: Division; last: Division; float: boolean } | undefined {
  if (frame.numRows === 0) return undefined;
  const index = frameIndexOf(frame);
  if (index.kind === 'range') {
    return { first: rowOffset, last: rowOffset + frame.numRows - 1, float: false };
  }
  const column = frame.getChild(index.columns[0] ?? '');
  if (!column) return undefined;
  const first = divisionValue(column.get(0));
  const last = divisionValue(column.get(frame.numRows - 1));
  if (first === undefined || last === undefined) return undefined;
  const isFloat = String(column.type).startsWith('Float');
  return { first, last, float: isFloat };
}

function divisionValue(value: unknown): Division | undefined {
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

function isSorted(values: Division[]): boolean {
  for (let i = 1; i < values.length; i++) {
    const a = values[i - 1];
    const b = values[i];
    if (a === null || b === null || a === undefined || b === undefined || typeof a !== typeof b || a > b) return false;
  }
  return true;
}
