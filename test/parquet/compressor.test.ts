/**
 * One page compressor per thread and kind (compression.ts): reused by every file, it writes the
 * same bytes a fresh zstd context writes, and follows setZstdImplementation.
 */
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { compressorFor, setZstdImplementation, zstdImplementation } from '../../loaders/parquet/compression.js';

afterAll(() => setZstdImplementation('auto'));

/** Compressible and incompressible parts: a smooth trace, then pseudo-random bytes. */
function page(seed: number): Uint8Array {
  const values = Float64Array.from({ length: 1 << 16 }, (_, i) => Math.round(Math.sin((i + seed) / 40) * 1000) / 8);
  const out = new Uint8Array(values.buffer);
  let s = seed;
  for (let i = out.length >> 1; i < out.length; i++) { s = (s * 1103515245 + 12345) & 0x7fffffff; out[i] = s & 0xff; }
  return out;
}

describe('compressorFor', () => {
  it('returns one compressor per kind, whose output equals a fresh context\'s, page after page', async () => {
    const zstd = await compressorFor('zstd');
    expect(await compressorFor('zstd')).toBe(zstd);
    expect(await compressorFor('snappy')).not.toBe(zstd);
    expect(await compressorFor('uncompressed')).toBeUndefined();
    if (zstdImplementation() !== 'native') return;
    const { Compressor } = createRequire(import.meta.url)('zstd-napi') as { Compressor: new () => { setParameters(p: { compressionLevel: number }): void; compress(b: Uint8Array): Buffer } };
    for (const seed of [1, 2, 3]) {
      const fresh = new Compressor();
      fresh.setParameters({ compressionLevel: 1 });
      expect(Buffer.from(zstd!(page(seed))).equals(fresh.compress(page(seed)))).toBe(true);
    }
  });
  it('follows setZstdImplementation', async () => {
    const before = await compressorFor('zstd');
    const native = zstdImplementation() === 'native';
    setZstdImplementation('wasm');
    const wasm = await compressorFor('zstd');
    if (native) expect(wasm).not.toBe(before);
    const { decompress } = await import('fzstd');
    expect(Buffer.from(decompress(wasm!(page(4)))).equals(Buffer.from(page(4)))).toBe(true);
    setZstdImplementation('auto');
    expect(await compressorFor('zstd')).toBe(before);
  });
});
