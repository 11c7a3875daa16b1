/**
 * Page compression: zstd and snappy from native libraries, loaded only when a file needs them.
 *
 * - zstd: `zstd-napi` (the reference C library, compiled at install; an optional dependency).
 *   Where it did not build, `@bokuweb/zstd-wasm` (the same library in wasm) compresses and
 *   `fzstd` (hyparquet-compressors) decompresses. Measured on 1 MiB pages here (docs/parquet.md):
 *   native level 1 compresses 450-660 MB/s and decompresses ~800 MB/s; wasm 270-320 / 170-210.
 * - snappy: `snappy` (napi-rs, prebuilt per platform); decompression uses our own decoder,
 *   which reads a single-literal page without a copy.
 * - gzip (read only): node:zlib.
 */
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { Codec } from './format.js';
import { UnsupportedFeatureError } from './errors.js';
import { singleLiteralRange, snappyDecompress } from './snappy.js';

export type Compression = 'zstd' | 'snappy' | 'uncompressed';

export const COMPRESSIONS: readonly Compression[] = ['zstd', 'snappy', 'uncompressed'];

/** Measured default (docs/parquet.md): zstd level 1 writes smaller files than snappy, faster. */
export const DEFAULT_COMPRESSION: Compression = 'zstd';

export const ZSTD_LEVEL = 1;

export type CompressFn = (bytes: Uint8Array) => Uint8Array;

export function codecOf(compression: Compression): number {
  return compression === 'zstd' ? Codec.zstd : compression === 'snappy' ? Codec.snappy : Codec.uncompressed;
}

const require = createRequire(import.meta.url);

interface NativeZstd {
  Compressor: new () => { setParameters(p: { compressionLevel: number }): void; compress(b: Uint8Array): Buffer };
  Decompressor: new () => { decompress(b: Uint8Array): Buffer };
}

let nativeZstd: NativeZstd | null | undefined;

export type ZstdChoice = 'auto' | 'native' | 'wasm';

/**
 * Which zstd to use: 'auto' (native where it built, else wasm), or one forced. The first use
 * reads $ISFDB_ZSTD (`wasm` exercises the fallback on a machine where the native build works);
 * tests switch it with setZstdImplementation. 'native' fails where zstd-napi is absent.
 */
let zstdChoice: ZstdChoice | undefined;

function checkedZstdChoice(choice: string, from: string): ZstdChoice {
  if (choice !== 'auto' && choice !== 'native' && choice !== 'wasm') throw new RangeError(`${from}: zstd implementation '${choice}' is not auto, native or wasm`);
  return choice;
}

export function setZstdImplementation(choice: ZstdChoice): void {
  zstdChoice = checkedZstdChoice(String(choice), 'setZstdImplementation');
  nativeZstd = undefined;
  nativeZstdDecompressor = undefined;
  nativeDctx = undefined;
}

function loadNativeZstd(): NativeZstd | null {
  zstdChoice ??= checkedZstdChoice(process.env['ISFDB_ZSTD'] ?? 'auto', '$ISFDB_ZSTD');
  if (zstdChoice === 'wasm') return null;
  if (nativeZstd === undefined) {
    try {
      nativeZstd = require('zstd-napi') as NativeZstd;
    } catch (err) {
      if (zstdChoice === 'native') throw new Error(`zstd-napi is not available: ${(err as Error).message}`, { cause: err });
      nativeZstd = null;
    }
  }
  return nativeZstd;
}

let wasmZstd: Promise<{ compress(b: Uint8Array, level: number): Uint8Array }> | undefined;
function loadWasmZstd(): Promise<{ compress(b: Uint8Array, level: number): Uint8Array }> {
  wasmZstd ??= import('@bokuweb/zstd-wasm').then(async (m) => {
    await m.init();
    return { compress: (b: Uint8Array, level: number) => m.compress(b, level) };
  });
  return wasmZstd;
}

/** Which zstd implementation is in use: 'native' (zstd-napi) or 'wasm'. */
export function zstdImplementation(): 'native' | 'wasm' {
  return loadNativeZstd() ? 'native' : 'wasm';
}

/**
 * A synchronous page compressor for `compression` (loaded on first use). One per thread and
 * kind, reused by every file: a native zstd context holds native memory that V8 does not see, so
 * one context per file written piled up until a garbage collection happened to free them (peak
 * RSS 613 MB on a 4.4 GB campaign; docs/simrun.md). Calls are synchronous, so sharing is safe.
 */
export async function compressorFor(compression: Compression): Promise<CompressFn | undefined> {
  if (compression === 'uncompressed') return undefined;
  const native = compression === 'zstd' ? loadNativeZstd() : undefined;
  // keyed by the implementation too: setZstdImplementation may switch it between files
  const key = compression === 'zstd' ? (native ? 'zstd-native' : 'zstd-wasm') : compression;
  let compress = compressors.get(key);
  if (compress === undefined) {
    compress = await newCompressor(compression, native);
    compressors.set(key, compress);
  }
  return compress;
}

const compressors = new Map<string, CompressFn>();

async function newCompressor(compression: 'zstd' | 'snappy', native: NativeZstd | null | undefined): Promise<CompressFn> {
  if (compression === 'snappy') {
    const snappy = require('snappy') as { compressSync(b: Uint8Array): Buffer };
    return (bytes) => snappy.compressSync(bytes);
  }
  if (native) {
    const compressor = new native.Compressor();
    compressor.setParameters({ compressionLevel: ZSTD_LEVEL });
    return (bytes) => compressor.compress(bytes);
  }
  const wasm = await loadWasmZstd();
  return (bytes) => wasm.compress(bytes, ZSTD_LEVEL);
}

let nativeZstdDecompressor: { decompress(b: Uint8Array): Buffer } | undefined;
let nativeDctx: { decompress(dst: Uint8Array, src: Uint8Array): number } | null | undefined;

/** The native zstd binding's file, for worker threads (undefined without native zstd). */
export function zstdBindingPath(): string | undefined {
  if (!loadNativeZstd()) return undefined;
  try {
    return require.resolve('zstd-napi/binding');
  } catch {
    return undefined;
  }
}

/**
 * Decompresses a page straight into `out` (a view into the column's final array) when the
 * codec allows it without an intermediate buffer: uncompressed, snappy, and native zstd (its
 * ZSTD_decompressDCtx takes the destination). False when `out` must come from decompressPage.
 */
export function decompressInto(body: Uint8Array, out: Uint8Array, codec: number): boolean {
  switch (codec) {
    case Codec.uncompressed:
      if (body.length !== out.length) return false;
      out.set(body);
      return true;
    case Codec.snappy:
      snappyDecompress(body, out);
      return true;
    case Codec.zstd: {
      if (!loadNativeZstd()) return false;
      nativeDctx ??= new (require('zstd-napi/binding') as { DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number } }).DCtx();
      let written: number;
      try {
        written = nativeDctx.decompress(out, body);
      } catch (err) {
        throw new RangeError(`zstd: ${(err as Error).message}`);
      }
      if (written !== out.length) throw new RangeError(`zstd page holds ${written} bytes, its header says ${out.length}`);
      return true;
    }
    default:
      return false;
  }
}
let fzstd: ((input: Uint8Array, output?: Uint8Array) => Uint8Array) | undefined;

/** Prepares the decompressors a file's codecs need (the fallbacks are ES modules). */
export async function prepareDecompression(codecs: Iterable<number>): Promise<void> {
  for (const codec of codecs) {
    if (codec === Codec.zstd && !loadNativeZstd() && !fzstd) {
      fzstd = (await import('hyparquet-compressors')).decompressZstd;
    }
  }
}

/** A page's bytes after decompression; single-literal snappy pages cost no copy. */
export function decompressPage(body: Uint8Array, size: number, codec: number): Uint8Array {
  switch (codec) {
    case Codec.uncompressed:
      return body;
    case Codec.snappy: {
      const literal = singleLiteralRange(body);
      if (literal && literal.end - literal.begin === size) return body.subarray(literal.begin, literal.end);
      const out = new Uint8Array(size);
      snappyDecompress(body, out);
      return out;
    }
    case Codec.zstd: {
      const out = zstdDecompress(body);
      if (out.length !== size) throw new RangeError(`zstd page holds ${out.length} bytes, its header says ${size}`);
      return out;
    }
    case Codec.gzip: {
      // node:zlib reads concatenated gzip members (some writers emit them), fflate only the first.
      const out = new Uint8Array(gunzipSync(body, { maxOutputLength: Math.max(1, size) }));
      if (out.length !== size) throw new RangeError(`gzip page holds ${out.length} bytes, its header says ${size}`);
      return out;
    }
    default:
      throw new UnsupportedFeatureError(`compression codec ${codec}`);
  }
}

function zstdDecompress(body: Uint8Array): Uint8Array {
  const native = loadNativeZstd();
  if (native) {
    nativeZstdDecompressor ??= new native.Decompressor();
    try {
      return nativeZstdDecompressor.decompress(body);
    } catch (err) {
      throw new RangeError(`zstd: ${(err as Error).message}`);
    }
  }
  if (!fzstd) throw new Error('internal: zstd decompression used before prepareDecompression()');
  return fzstd(body);
}
