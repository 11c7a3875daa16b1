/**
 * The complete reader: hyparquet (with hyparquet-compressors) reads whatever the fast reader
 * does not implement (nested types, DELTA encodings, LZ4, brotli, decimals, INT96, ...). It is
 * loaded only when a file needs it, reads one row group at a time, and returns an Arrow Table
 * whose column types apache-arrow infers from the values (plain types keep the fast reader's
 * mapping). Features neither reader has (encryption) raise UnsupportedFeatureError naming them.
 */
import { promises as fs } from 'node:fs';
import { Binary, Schema, Table, tableFromArrays, Field, type DataType, type Vector, vectorFromArray } from 'apache-arrow';
import { ParquetFormatError, UnsupportedFeatureError } from './errors.js';
import { arrowTypeOf } from './arrow-types.js';
import type { SchemaElement } from './format.js';

export interface CompleteReadOptions {
  columns?: readonly string[];
  rowGroups?: readonly number[];
}

type Hyparquet = typeof import('hyparquet');
let modules: Promise<[Hyparquet, typeof import('hyparquet-compressors')]> | undefined;
function load(): Promise<[Hyparquet, typeof import('hyparquet-compressors')]> {
  modules ??= Promise.all([import('hyparquet'), import('hyparquet-compressors')]);
  return modules;
}

/** A file read through `FileHandle.read` at the offsets hyparquet asks for. */
async function fileBuffer(handle: fs.FileHandle, size: number): Promise<{ byteLength: number; slice(start: number, end?: number): Promise<ArrayBuffer> }> {
  return {
    byteLength: size,
    async slice(start: number, end = size) {
      if (!(start >= 0 && end <= size && start <= end)) throw new ParquetFormatError(`a read of bytes ${start}..${end} falls outside the ${size}-byte file`);
      const buffer = new Uint8Array(end - start);
      let done = 0;
      while (done < buffer.length) {
        const { bytesRead } = await handle.read(buffer, done, buffer.length - done, start + done);
        if (bytesRead === 0) throw new ParquetFormatError(`unexpected end of file at byte ${start + done}`);
        done += bytesRead;
      }
      return buffer.buffer;
    },
  };
}

/** Reads a file with hyparquet into an Arrow Table (one record batch per row group). */
export async function readComplete(path: string, options: CompleteReadOptions = {}): Promise<Table> {
  const [hyparquet, { compressors }] = await load();
  const handle = await fs.open(path, 'r');
  try {
    const { size } = await handle.stat();
    const file = await fileBuffer(handle, size);
    let metadata;
    try {
      metadata = await hyparquet.parquetMetadataAsync(file);
    } catch (err) {
      throw asReadError(err);
    }
    const keyValue = new Map((metadata.key_value_metadata ?? []).map((kv) => [kv.key, kv.value ?? '']));
    keyValue.delete('ARROW:schema');
    const tree = hyparquet.parquetSchema(metadata).children;
    const nested = tree.find((c) => c.children.length > 0 || c.element.repetition_type === 'REPEATED');
    if (nested) throw new UnsupportedFeatureError(`nested column '${nested.element.name}' (list, map or struct): data frames here hold flat columns`, true);
    for (const c of tree) {
      const element = c.element as HyparquetElement & { logical_type?: { type?: string } };
      if (element.type === 'INT96') throw new UnsupportedFeatureError(`INT96 timestamps (column '${element.name}'): a deprecated type whose out-of-range values readers disagree on`, true);
      const logical = element.logical_type?.type;
      if (logical === 'GEOMETRY' || logical === 'GEOGRAPHY') throw new UnsupportedFeatureError(`geospatial column '${element.name}' (${logical})`, true);
    }
    const topLevel = tree.map((c) => c.element.name);
    const names = options.columns ? topLevel.filter((n) => options.columns?.includes(n)) : topLevel;
    const groups = options.rowGroups ?? metadata.row_groups.map((_, i) => i);
    const columns = new Map<string, unknown[]>(names.map((n) => [n, []]));
    for (const g of groups) {
      const group = metadata.row_groups[g];
      if (!group) throw new RangeError(`row group ${g} does not exist (the file has ${metadata.row_groups.length})`);
      let rowStart = 0;
      for (let i = 0; i < g; i++) rowStart += Number(metadata.row_groups[i]?.num_rows ?? 0);
      const rowEnd = rowStart + Number(group.num_rows);
      if (names.length === 0 || rowEnd === rowStart) continue;
      let rows: unknown[][] = [];
      try {
        await hyparquet.parquetRead({ file, metadata, columns: names, rowStart, rowEnd, compressors, utf8: false, geoparquet: false, onComplete: (r) => { rows = r; } });
      } catch (err) {
        throw asReadError(err);
      }
      if (rows.length !== rowEnd - rowStart) throw new ParquetFormatError(`row group ${g} decoded ${rows.length} of its ${rowEnd - rowStart} rows`);
      names.forEach((name, c) => {
        const out = columns.get(name) as unknown[];
        for (const row of rows) out.push(row[c]);
      });
    }
    const leaves = new Map(metadata.schema.slice(1).map((e) => [e.name, e]));
    const vectors: Record<string, Vector> = {};
    const fields: Field[] = [];
    for (const name of names) {
      const values = columns.get(name) as unknown[];
      const vector = vectorOf(values, leaves.get(name) as HyparquetElement | undefined);
      vectors[name] = vector;
      fields.push(new Field(name, vector.type, true));
    }
    const table = names.length === 0 ? new Table(new Schema([], keyValue)) : tableFromArrays(vectors as never);
    return new Table(new Schema(fields, keyValue), table.batches.map((b) => b.data) as never);
  } finally {
    await handle.close();
  }
}

interface HyparquetElement { name: string; type?: string; num_children?: number; repetition_type?: string }

/** A flat column of a plain type keeps our mapping (int8..uint64, float32, ...); others are inferred. */
function vectorOf(values: unknown[], element: HyparquetElement | undefined): Vector {
  const first = values.find((v) => v !== null && v !== undefined);
  const type = first instanceof Uint8Array ? new Binary() : plainTypeOf(element);
  if (type) {
    try {
      return vectorFromArray(values as never, type as never) as Vector;
    } catch {
      // Values of another shape than the type (a converted logical type): infer instead.
    }
  }
  return vectorFromArray(values as never) as Vector;
}

const PHYSICAL: Record<string, number> = { BOOLEAN: 0, INT32: 1, INT64: 2, FLOAT: 4, DOUBLE: 5 };

function plainTypeOf(element: HyparquetElement | undefined): DataType | undefined {
  if (!element || element.num_children || element.repetition_type === 'REPEATED') return undefined;
  const annotated = element as HyparquetElement & { converted_type?: string; logical_type?: { type?: string } };
  if ((element.type === 'BYTE_ARRAY' || element.type === 'FIXED_LEN_BYTE_ARRAY') && annotated.converted_type === undefined && annotated.logical_type === undefined) return new Binary();
  const physical = element.type === undefined ? undefined : PHYSICAL[element.type];
  if (physical === undefined) return undefined;
  if (annotated.converted_type !== undefined || annotated.logical_type !== undefined) return undefined;
  try {
    return arrowTypeOf({ name: element.name, type: physical } satisfies SchemaElement);
  } catch {
    return undefined;
  }
}

/** hyparquet's errors: features it lacks stay "unsupported", the rest mean a bad file. */
function asReadError(err: unknown): Error {
  if (err instanceof ParquetFormatError || err instanceof UnsupportedFeatureError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/encrypt/i.test(message)) return new UnsupportedFeatureError(`encryption (${message})`, true);
  if (/unsupported|not supported/i.test(message)) return new UnsupportedFeatureError(message);
  return new ParquetFormatError(message);
}
