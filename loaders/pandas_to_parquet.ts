/**
 * pandas_to_parquet: one data frame (an Arrow Table) as `pandas_to_parquet.parquet` plus
 * `object_meta.json`, exactly as ISF writes them, so pandas.read_parquet restores the index.
 */
import { join } from 'node:path';
import { Table } from 'apache-arrow';
import { InvalidInputError } from '../src/errors.js';
import type { Loader } from './types.js';
import { prepareFrame, readFrameFile, readKeyObjectMeta, writeFrameFile, writeObjectMeta, type FrameDumpOptions, type FrameLoadOptions } from './parquet/frame-io.js';
import { OBJECT_META_FILE, PARQUET_FILE } from './parquet/ondisk.js';

const NAME = 'pandas_to_parquet';

export type PandasToParquetDumpOptions = FrameDumpOptions;
export type PandasToParquetLoadOptions = FrameLoadOptions;

export const loader: Loader<Table, PandasToParquetLoadOptions, PandasToParquetDumpOptions> = {
  name: NAME,
  kind: 'data',
  canDump(value: unknown): boolean {
    return value instanceof Table;
  },
  async dump(value, dir, ctx, options = {}) {
    if (!(value instanceof Table)) throw InvalidInputError.value(`value for key '${ctx.key}'`, `${NAME} stores an apache-arrow Table`);
    const site = { key: ctx.key, loader: NAME };
    const { frame, objectMeta } = prepareFrame(value, options, site);
    await writeFrameFile(join(dir, PARQUET_FILE), frame, options, site);
    await writeObjectMeta(join(dir, OBJECT_META_FILE), objectMeta);
  },
  async load(dir, _loaderJson, ctx, options = {}) {
    const site = { key: ctx.key, loader: NAME };
    const file = join(dir, PARQUET_FILE);
    const { meta, path } = await readKeyObjectMeta(dir, file, site);
    const { table } = await readFrameFile(file, meta, path, options, site);
    return table;
  },
};
