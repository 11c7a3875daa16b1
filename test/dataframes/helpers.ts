/** Shared pieces of the data frame tests: temp folders, a fake LoaderContext, value comparison. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, Vector, makeVector } from 'apache-arrow';
import type { LoaderContext } from '../../loaders/types.js';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'isfdb-df-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function fakeContext(key = 'frame', basedir = '/nowhere'): LoaderContext {
  return {
    key,
    basedir,
    readonly: false,
    createDatabase: async () => { throw new Error('not in these tests'); },
    openDatabase: async () => { throw new Error('not in these tests'); },
  };
}

/** Every value of every column, nulls as null, NaN kept, bigints as bigints. */
export function columnsOf(table: Table): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name);
    const values: unknown[] = [];
    for (let i = 0; i < table.numRows; i++) values.push(vector?.get(i) ?? null);
    out[field.name] = values;
  }
  return out;
}

export function typesOf(table: Table): Record<string, string> {
  return Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
}

/** A Table from named vectors or typed arrays (tableFromArrays takes only the latter in its types). */
export function frameOf(columns: Record<string, Vector | TypedArrayLike>): Table {
  const vectors: Record<string, Vector> = {};
  for (const [name, column] of Object.entries(columns)) {
    vectors[name] = column instanceof Vector ? column : makeVector(column as never);
  }
  return new Table(vectors);
}
type TypedArrayLike = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;
