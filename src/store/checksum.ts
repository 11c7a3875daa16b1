/**
 * Content checksums of a key's files, recorded in metadata.json at write time (an extra field
 * Python ISF ignores) and recomputed by verify. sha256 runs at ~1.5 GB/s here (SHA-NI).
 */
import { createHash } from 'node:crypto';
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';

export const CHECKSUM_ALGORITHM = 'sha256';
const CHUNK_BYTES = 4 << 20;
const SMALL_FILE_BYTES = 1 << 20;

/** `{ "<path relative to the key folder>": "sha256:<hex>" }`, sorted by path. */
export type FileChecksums = Record<string, string>;

/** Checksums of every regular file below `dir`, except the ones named in `skip` (at the top level). */
export async function checksumFolder(dir: string, skip: readonly string[]): Promise<FileChecksums> {
  const entries = fsSync.readdirSync(dir, { withFileTypes: true, recursive: true });
  const files = entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .filter((relative) => !skip.includes(relative))
    .sort();
  const out: FileChecksums = {};
  for (const relative of files) out[relative] = await checksumFile(path.join(dir, relative));
  return out;
}

/** The checksum of bytes (or UTF-8 text) about to be written: no read-back needed. */
export function checksumBytes(data: string | Uint8Array): string {
  return `${CHECKSUM_ALGORITHM}:${createHash(CHECKSUM_ALGORITHM).update(data).digest('hex')}`;
}

export async function checksumFile(file: string): Promise<string> {
  const hash = createHash(CHECKSUM_ALGORITHM);
  const { size } = fsSync.statSync(file);
  if (size <= SMALL_FILE_BYTES) {
    // Most keys are small: one synchronous read beats four trips through the thread pool.
    return `${CHECKSUM_ALGORITHM}:${hash.update(fsSync.readFileSync(file)).digest('hex')}`;
  }
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return `${CHECKSUM_ALGORITHM}:${hash.digest('hex')}`;
}

/** One digest for a whole value: the checksums of its files, in path order. */
export function contentDigest(checksums: FileChecksums): string {
  const hash = createHash(CHECKSUM_ALGORITHM);
  for (const [file, sum] of Object.entries(checksums).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    hash.update(`${file}\0${sum}\n`);
  }
  return `${CHECKSUM_ALGORITHM}:${hash.digest('hex')}`;
}
