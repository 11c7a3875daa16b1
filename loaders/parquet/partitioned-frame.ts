/**
 * A partitioned data frame (ISF's dask frame) as a lazy handle on its key folder: opening reads
 * divisions.json, object_meta.json, the folder listing and one footer; partitions are read
 * only when asked for, one file each.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { type Schema, Table } from 'apache-arrow';
import { CorruptKeyError, InvalidInputError } from '../../src/errors.js';
import { parseJsonText } from '../../src/ondisk.js';
import { inspectParquet } from './codec.js';
import { unifyPartitions } from './unify-partitions.js';
import { asTypedError, readFrameFile, readKeyObjectMeta, type FrameLoadOptions } from './frame-io.js';
import { FrameError, OBJECT_META_KEY, frameIndexOf, withRangeIndex, withSchemaMetadata, type FrameIndex } from './frame.js';
import { DIVISIONS_FILE, OBJECT_META_FILE, divisionsSchema, partitionFileName, type Division, type ObjectMetaJson } from './ondisk.js';

/** An inclusive range of index values, as `ddf.loc[lo:hi]` takes it. */
export type IndexRange = readonly [lo: number | string, hi: number | string];

export interface PartitionReadOptions extends FrameLoadOptions {
  /** Only the partitions whose divisions overlap this range are opened (rows are not filtered). */
  indexRange?: IndexRange;
}

const LOADER = 'dask_to_parquet';

export class PartitionedFrame implements AsyncIterable<Table> {
  private constructor(
    readonly dir: string,
    readonly key: string,
    readonly divisions: readonly Division[],
    readonly objectMeta: ObjectMetaJson,
    /** Schema of the partitions (from the first one's footer), with the object_meta attached. */
    readonly schema: Schema,
    /** Options applied when a read gives none (set by `get(key, {columns, indexRange})`). */
    readonly defaults: PartitionReadOptions = {},
    private readonly objectMetaPath = join(dir, OBJECT_META_FILE),
  ) {}

  static async open(dir: string, key: string, defaults: PartitionReadOptions = {}): Promise<PartitionedFrame> {
    const divisionsPath = join(dir, DIVISIONS_FILE);
    let text: string;
    try {
      text = await fs.readFile(divisionsPath, 'utf8');
    } catch (err) {
      throw new CorruptKeyError(divisionsPath, 'file is missing or unreadable', key, { cause: err });
    }
    const divisions = parseJsonText(text, divisionsPath, divisionsSchema, key);
    const count = divisions.length - 1;
    const { meta: objectMeta, path: objectMetaPath } = await readKeyObjectMeta(dir, join(dir, partitionFileName(count, 0)), { key, loader: LOADER });
    const present = new Set(await fs.readdir(dir));
    for (let i = 0; i < count; i++) {
      const name = partitionFileName(count, i);
      if (!present.has(name)) throw new CorruptKeyError(join(dir, name), `partition ${i} of ${count} is missing`, key);
    }
    const first = join(dir, partitionFileName(count, 0));
    let schema: Schema;
    try {
      schema = (await inspectParquet(first)).schema;
    } catch (err) {
      throw asTypedError(err, first, { key, loader: LOADER });
    }
    const withMeta = withSchemaMetadata(new Table(schema), { [OBJECT_META_KEY]: JSON.stringify(objectMeta) }).schema;
    return new PartitionedFrame(dir, key, divisions, objectMeta, withMeta, defaults, objectMetaPath);
  }

  get numPartitions(): number {
    return this.divisions.length - 1;
  }

  /** Whether the divisions are known (dask writes nulls when they are not). */
  get knownDivisions(): boolean {
    return this.divisions.every((d) => d !== null);
  }

  partitionPath(i: number): string {
    return join(this.dir, partitionFileName(this.numPartitions, i));
  }

  /** The partitions whose index interval overlaps [lo, hi] (all of them when divisions are unknown). */
  partitionsInRange(range?: IndexRange): number[] {
    const all = Array.from({ length: this.numPartitions }, (_, i) => i);
    if (!range || !this.knownDivisions) return all;
    const [lo, hi] = range;
    const last = this.numPartitions - 1;
    return all.filter((i) => {
      const start = this.divisions[i] as number | string;
      const end = this.divisions[i + 1] as number | string;
      // Partition i holds [start, end) except the last, which holds [start, end].
      return start <= hi && (i === last ? end >= lo : end > lo);
    });
  }

  async readPartition(i: number, options: FrameLoadOptions = {}): Promise<Table> {
    if (!Number.isInteger(i) || i < 0 || i >= this.numPartitions) {
      throw InvalidInputError.value('partition number', `key '${this.key}' has partitions 0..${this.numPartitions - 1}, not ${i}`);
    }
    const columns = options.columns ?? this.defaults.columns;
    const { table } = await readFrameFile(this.partitionPath(i), this.objectMeta, this.objectMetaPath,
      columns ? { columns } : {}, { key: this.key, loader: LOADER });
    return table;
  }

  /** Partition by partition, holding one partition in memory at a time. */
  async *partitions(options: PartitionReadOptions = {}): AsyncGenerator<Table> {
    const range = options.indexRange ?? this.defaults.indexRange;
    const columns = options.columns ?? this.defaults.columns;
    for (const i of this.partitionsInRange(range)) yield await this.readPartition(i, columns ? { columns } : {});
  }

  [Symbol.asyncIterator](): AsyncIterator<Table> {
    return this.partitions();
  }

  /** All (or the selected) partitions as one Table whose chunks are the partitions' row groups. */
  async read(options: PartitionReadOptions = {}): Promise<Table> {
    const parts: Table[] = [];
    for await (const part of this.partitions(options)) parts.push(part);
    if (parts.length === 0) return new Table(this.schema);
    let unified: Table[];
    try {
      unified = unifyPartitions(parts);
    } catch (err) {
      if (err instanceof FrameError) throw new CorruptKeyError(this.dir, `its partitions do not form one frame: ${err.message}`, this.key, { cause: err });
      throw err;
    }
    const first = unified[0] as Table;
    const combined = new Table(first.schema, unified.flatMap((part) => part.batches));
    const range = combinedRangeIndex(parts);
    if (range === 'not-a-range') throw InvalidInputError.value(`key '${this.key}'`, 'the selected partitions have range indexes that do not join into one range; read them one by one with readPartition()');
    return range === undefined ? combined : withRangeIndex(combined, range);
  }
}

/**
 * The range index of partitions read together: each partition's pandas metadata describes its
 * own rows only, so the whole keeps the first one's start and runs to the last one's stop.
 * Undefined when the index is stored in a column (nothing to fix).
 */
function combinedRangeIndex(parts: Table[]): FrameIndex & { kind: 'range' } | undefined | 'not-a-range' {
  const indexes = parts.map(frameIndexOf);
  if (indexes.some((index) => index.kind !== 'range')) return undefined;
  const ranges = indexes as Array<FrameIndex & { kind: 'range' }>;
  const first = ranges[0]!;
  for (let i = 1; i < ranges.length; i++) {
    const previous = ranges[i - 1]!;
    const current = ranges[i]!;
    if (current.start !== previous.stop || current.step !== first.step) return 'not-a-range';
  }
  return { ...first, stop: ranges[ranges.length - 1]!.stop };
}
