/**
 * Categorical columns as integer codes, decoding each distinct string once: ISF's group-bys run
 * over millions of rows whose strings (trial ids, synapse types) repeat.
 */
import { DataType, type Data, type Vector } from 'apache-arrow';

export interface Codes {
  /** Per row: an index into `values`, or -1 for a missing value. */
  codes: Int32Array;
  values: unknown[];
}

const decoder = new TextDecoder();

/** Codes of a string (Utf8 or dictionary) column; other columns code their distinct values. */
export function codesOf(vector: Vector): Codes {
  const type = vector.type as DataType;
  if (DataType.isUtf8(type)) return utf8Codes(vector.data as Data[]);
  if (DataType.isDictionary(type)) return dictionaryCodes(vector.data as Data[]);
  const codes = new Int32Array(vector.length);
  const values: unknown[] = [];
  const index = new Map<unknown, number>();
  let k = 0;
  for (const x of vector) {
    const v = typeof x === 'bigint' ? Number(x) : x;
    if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) { codes[k++] = -1; continue; }
    let code = index.get(v);
    if (code === undefined) { code = values.length; values.push(v); index.set(v, code); }
    codes[k++] = code;
  }
  return { codes, values };
}

/** Dictionary-encoded columns: each chunk's dictionary is decoded once and mapped to shared codes. */
function dictionaryCodes(chunks: Data[]): Codes {
  const total = chunks.reduce((n, d) => n + d.length, 0);
  const codes = new Int32Array(total);
  const values: unknown[] = [];
  const index = new Map<unknown, number>();
  let k = 0;
  for (const data of chunks) {
    const dictionary = data.dictionary;
    const local = dictionary ? Array.from(dictionary, (v) => {
      const x = typeof v === 'bigint' ? Number(v) : v;
      if (x === null || x === undefined || (typeof x === 'number' && Number.isNaN(x))) return -1;
      let code = index.get(x);
      if (code === undefined) { code = values.length; values.push(x); index.set(x, code); }
      return code;
    }) : [];
    const keys = data.values as ArrayLike<number | bigint>;
    for (let i = 0; i < data.length; i++, k++) {
      codes[k] = data.nullCount > 0 && !data.getValid(i) ? -1 : local[Number(keys[i])] ?? -1;
    }
  }
  return { codes, values };
}

function utf8Codes(chunks: Data[]): Codes {
  const total = chunks.reduce((n, d) => n + d.length, 0);
  const codes = new Int32Array(total);
  const values: unknown[] = [];
  const samples: Uint8Array[] = [];
  const buckets = new Map<number, number[]>();
  let k = 0;
  for (const data of chunks) {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    let prevStart = -1;
    let prevEnd = -1;
    let prevCode = -1;
    for (let i = 0; i < data.length; i++, k++) {
      if (data.nullCount > 0 && !data.getValid(i)) { codes[k] = -1; continue; }
      const start = offsets[i]!;
      const end = offsets[i + 1]!;
      // Runs of equal strings (a trial's rows) are the common case: compare with the previous row.
      if (prevCode >= 0 && end - start === prevEnd - prevStart && sameBytes(bytes, start, prevStart, end - start)) {
        codes[k] = prevCode;
        prevStart = start;
        prevEnd = end;
        continue;
      }
      let hash = 0x811c9dc5;
      for (let j = start; j < end; j++) hash = Math.imul(hash ^ bytes[j]!, 0x01000193);
      let code = -1;
      const bucket = buckets.get(hash);
      if (bucket) {
        for (const candidate of bucket) {
          const sample = samples[candidate]!;
          if (sample.length === end - start && sampleEquals(sample, bytes, start)) { code = candidate; break; }
        }
      }
      if (code < 0) {
        code = values.length;
        samples.push(bytes.slice(start, end));
        values.push(decoder.decode(bytes.subarray(start, end)));
        if (bucket) bucket.push(code);
        else buckets.set(hash, [code]);
      }
      codes[k] = code;
      prevStart = start;
      prevEnd = end;
      prevCode = code;
    }
  }
  return { codes, values };
}

function sameBytes(bytes: Uint8Array, a: number, b: number, n: number): boolean {
  for (let j = 0; j < n; j++) if (bytes[a + j] !== bytes[b + j]) return false;
  return true;
}

function sampleEquals(sample: Uint8Array, bytes: Uint8Array, start: number): boolean {
  for (let j = 0; j < sample.length; j++) if (sample[j] !== bytes[start + j]) return false;
  return true;
}
