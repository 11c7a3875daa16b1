/**
 * The JSON ISF keeps beside its Parquet files, spelled exactly as on disk:
 * object_meta.json (what Parquet loses about pandas labels) and divisions.json (the index
 * value at each partition boundary). Also the `pandas` key-value metadata inside the files.
 */
import type { z } from 'zod';
import { lazySchema } from '../../src/ondisk.js';

// Built on first use (src/ondisk.ts lazySchema): writers, such as initSimrun's worker threads,
// never validate JSON and so never load zod.

/** object_meta.json. `index_name*` only when the index has a name. */
export const objectMetaSchema = lazySchema((z) => z.looseObject({
  columns: z.array(z.string()),
  column_name_dtypes: z.array(z.string()),
  index_dtype: z.string().optional(),
  dtypes: z.array(z.string()).optional(),
  index_name: z.union([z.string(), z.number()]).nullable().optional(),
  index_name_dtype: z.string().optional(),
}).refine((m) => m.columns.length === m.column_name_dtypes.length, {
  message: 'columns and column_name_dtypes differ in length',
}).refine((m) => m.dtypes === undefined || m.dtypes.length === m.columns.length, {
  message: 'columns and dtypes differ in length',
}));
export type ObjectMetaJson = z.infer<typeof objectMetaSchema>;

/** A division value: ints, floats and strings as pandas indexes hold them; null when unknown. */
export type Division = number | string | null;

/** divisions.json: N+1 values, sorted (or all null: dask's "unknown divisions"). */
export const divisionsSchema = lazySchema((z) => z.array(z.union([z.number(), z.string(), z.null()])).min(2).refine(isSortedOrUnknown, {
  message: 'divisions are not sorted',
}));

function isSortedOrUnknown(values: Division[]): boolean {
  if (values.every((v) => v === null)) return true;
  if (values.some((v) => v === null)) return false;
  for (let i = 1; i < values.length; i++) {
    const a = values[i - 1] as number | string;
    const b = values[i] as number | string;
    if (typeof a !== typeof b || a > b) return false;
  }
  return true;
}

/** The `pandas` key of a Parquet file's key-value metadata. */
export const pandasMetadataSchema = lazySchema((z) => {
  const rangeIndexSchema = z.looseObject({
    kind: z.literal('range'),
    name: z.union([z.string(), z.null()]).optional(),
    start: z.number(),
    stop: z.number(),
    step: z.number(),
  });
  const pandasColumnSchema = z.looseObject({
    name: z.union([z.string(), z.number(), z.null()]),
    field_name: z.string().nullable().optional(),
    pandas_type: z.string(),
    numpy_type: z.string(),
    metadata: z.unknown().optional(),
  });
  return z.looseObject({
    index_columns: z.array(z.union([z.string(), rangeIndexSchema])),
    column_indexes: z.array(z.unknown()).optional(),
    columns: z.array(pandasColumnSchema),
    creator: z.unknown().optional(),
    pandas_version: z.string().optional(),
  });
});
export type PandasMetadata = z.infer<typeof pandasMetadataSchema>;
export type PandasColumn = PandasMetadata['columns'][number];
export type RangeIndexDescriptor = Exclude<PandasMetadata['index_columns'][number], string>;

export const OBJECT_META_FILE = 'object_meta.json';
/** The name older ISF versions gave object_meta.json. */
export const LEGACY_OBJECT_META_FILE = 'dask_meta.json';
export const DIVISIONS_FILE = 'divisions.json';
export const PARQUET_FILE = 'pandas_to_parquet.parquet';

/** `pandas_to_parquet.<N>.<i>.parquet`, ISF's name of partition i of N. */
export function partitionFileName(count: number, index: number): string {
  return `pandas_to_parquet.${count}.${index}.parquet`;
}
