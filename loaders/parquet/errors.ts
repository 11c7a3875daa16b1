/**
 * The engine's two internal failures; frame-io.ts turns them into the library's typed errors
 * (CorruptKeyError, UnsupportedFormatError) naming the key and the file.
 */

/** A bad Parquet file: truncated, bad magic, sizes that do not fit, bytes that do not decode. */
export class ParquetFormatError extends Error {}

/** The file uses a feature this engine does not implement (not a corrupt file). */
export class UnsupportedFeatureError extends Error {}
