/**
 * Deterministic test values for the reliability harness: a ValueSpec names a value (kind, id,
 * size); writer processes build it, checkers rebuild it and byte-compare with what a key holds.
 * Every value also carries its own spec (id and size in its first bytes / fields), so a reader
 * that knows nothing about the writers can still tell a complete value from a torn one.
 */
import { createHash } from 'node:crypto';
import { tableFromArrays, type Table } from 'apache-arrow';

export type ValueKind = 'npy' | 'msgpack' | 'parquet';
export interface ValueSpec { kind: ValueKind; id: number; bytes: number }

export const LOADER_OF_KIND: Record<ValueKind, string> = { npy: 'numpy_to_npy', msgpack: 'to_msgpack', parquet: 'pandas_to_parquet' };

/** A small seeded PRNG (xorshift32); `next()` gives a uint32. */
export function rng(seed: number): { next(): number; int(n: number): number; pick<T>(items: readonly T[]): T; chance(p: number): boolean } {
  let state = (seed >>> 0) || 0x9e3779b9;
  const next = (): number => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state;
  };
  return {
    next,
    int: (n) => next() % Math.max(1, n),
    pick: (items) => items[next() % items.length]!,
    chance: (p) => next() / 0x1_0000_0000 < p,
  };
}

function randomBytes(seed: number, length: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let state = (seed >>> 0) || 1;
  for (let i = 0; i < words.length; i++) {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    words[i] = state;
  }
  return new Uint8Array(words.buffer, 0, length);
}

/** The value a spec names. npy values of 8 bytes or more start with (id, bytes) as uint32 LE. */
export function makeValue(spec: ValueSpec): unknown {
  switch (spec.kind) {
    case 'npy': {
      const data = randomBytes(spec.id * 2654435761, spec.bytes);
      if (spec.bytes >= 8) {
        const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
        view.setUint32(0, spec.id, true);
        view.setUint32(4, spec.bytes, true);
      }
      return data;
    }
    case 'msgpack': {
      const filler = Buffer.from(randomBytes(spec.id * 40503, Math.max(0, spec.bytes))).toString('base64').slice(0, spec.bytes);
      return { id: spec.id, bytes: spec.bytes, filler, list: [spec.id % 7, 'x', true, null, 1.5] };
    }
    case 'parquet': {
      const rows = Math.max(1, Math.floor(spec.bytes / 12));
      const ids = new Int32Array(rows).fill(spec.id);
      const values = new Float64Array(randomBytes(spec.id * 97, rows * 8).slice().buffer);
      for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) values[i] = i; // keep NaN payloads out
      return tableFromArrays({ id: ids, v: values });
    }
  }
}

const digestCache = new Map<string, string>();

/** sha256 of a spec's value in the canonical form `digestOfLoaded` uses. */
export function digestOfSpec(spec: ValueSpec): string {
  const cacheKey = `${spec.kind}:${spec.id}:${spec.bytes}`;
  let digest = digestCache.get(cacheKey);
  if (digest === undefined) {
    digest = canonicalDigest(spec.kind, spec.kind === 'npy' ? { data: makeValue(spec) } : makeValue(spec));
    if (spec.bytes < 1 << 20) digestCache.set(cacheKey, digest);
  }
  return digest;
}

/** sha256 of a value as `db.get` returned it; throws when its shape is not that of the kind. */
export function digestOfLoaded(kind: ValueKind, loaded: unknown): string {
  return canonicalDigest(kind, loaded);
}

function canonicalDigest(kind: ValueKind, value: unknown): string {
  const hash = createHash('sha256');
  if (kind === 'npy') {
    const data = (value as { data: ArrayBufferView }).data;
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  } else if (kind === 'msgpack') {
    hash.update(JSON.stringify(value));
  } else {
    const table = value as Table;
    for (const column of ['id', 'v']) {
      const child = table.getChild(column);
      if (child === null) throw new Error(`table without column '${column}'`);
      const array = child.toArray() as ArrayBufferView;
      hash.update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    }
  }
  return hash.digest('hex');
}

/** The spec a loaded value says it is (see makeValue), or undefined when it cannot tell. */
export function specOfLoaded(kind: ValueKind, loaded: unknown): ValueSpec | undefined {
  if (kind === 'npy') {
    const data = (loaded as { data?: ArrayBufferView }).data;
    if (data === undefined || data.byteLength < 8) return undefined;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return { kind, id: view.getUint32(0, true), bytes: view.getUint32(4, true) };
  }
  if (kind === 'msgpack') {
    const obj = loaded as { id?: unknown; bytes?: unknown };
    return typeof obj?.id === 'number' && typeof obj.bytes === 'number' ? { kind, id: obj.id, bytes: obj.bytes } : undefined;
  }
  const table = loaded as Table;
  const ids = table.getChild?.('id');
  if (ids === null || ids === undefined || table.numRows === 0) return undefined;
  return { kind, id: Number(ids.get(0)), bytes: table.numRows * 12 };
}

export function kindOfLoader(loader: string): ValueKind | undefined {
  return (Object.keys(LOADER_OF_KIND) as ValueKind[]).find((kind) => LOADER_OF_KIND[kind] === loader);
}
