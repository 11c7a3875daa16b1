/**
 * The engine's two internal failures; frame-io.ts turns them into the library's typed errors
 * (CorruptKeyError, UnsupportedFormatError) naming the key and the file.
 */

/** A bad Parquet file: truncated, bad magic, sizes that do not fit, bytes that do not decode (tagged, src/errors.ts). */
export { ParquetFormatError } from '../../src/errors.js';

/**
 * The file uses a feature the fast reader does not implement (not a corrupt file). `final`:
 * no reader here has it (encryption), so there is nothing to fall back to.
 */
export class UnsupportedFeatureError extends Error {
  constructor(message: string, readonly final = false) {
    super(message);
  }
}
