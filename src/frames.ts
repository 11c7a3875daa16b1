/**
 * `isf-data-base/frames`: data-frame helpers (Arrow tables with pandas' index and column-label
 * metadata) and the lazy PartitionedFrame of `dask_to_parquet` keys. A subpath of its own so that
 * `import 'isf-data-base'` does not load apache-arrow and the Parquet codec.
 *
 * @example
 * ```ts
 * import { withIndex, indexColumnOf, PartitionedFrame } from 'isf-data-base/frames';
 * ```
 */
export {
  indexColumnOf, frameIndexOf, dataColumnsOf, columnLabelTypes, columnLabels, withIndex, withColumnLabelTypes, pandasMetadataOf,
} from '../loaders/parquet/frame.js';
export type { LabelType, FrameIndex } from '../loaders/parquet/frame.js';
export { PartitionedFrame } from '../loaders/parquet/partitioned-frame.js';
export type { IndexRange, PartitionReadOptions } from '../loaders/parquet/partitioned-frame.js';
export type { FrameDumpOptions, FrameLoadOptions } from '../loaders/parquet/frame-io.js';
export type { EncodingChoice } from '../loaders/parquet/writer.js';
// Writers that encode dask_to_parquet partitions themselves (initSimrun's workers)
export { WideDoublePartitions, daskLayoutFiles, partitionFileName } from '../loaders/dask_to_parquet.js';
export type { WideDoubleFrame } from '../loaders/parquet/wide-doubles.js';
