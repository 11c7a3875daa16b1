/**
 * The string columns the activation parser fills: plain (Arrow's layout, bytes end to end) and
 * keyed (each distinct string stored once, a key per row).
 */

/** Strings as Arrow lays them out: UTF-8 bytes end to end, and where each one starts. */
export interface Strings { data: Uint8Array; offsets: Int32Array }

/**
 * A dictionary-encoded string column: row r holds `values[keys[r]]`. Activation files repeat a
 * few types and labels over thousands of rows, and one trial id over a whole file: keys cost
 * 4 bytes a row, and the Parquet writer reads each distinct string once.
 */
export interface KeyedStrings { keys: Int32Array; values: Strings }

/** Strings appended one by one into one growing buffer. */
export class ByteList {
  data: Uint8Array;
  offsets: Int32Array;
  n = 0;
  used = 0;
  constructor(rows: number, bytes: number) {
    this.data = new Uint8Array(Math.max(16, bytes));
    this.offsets = new Int32Array(rows + 1);
  }
  /** Room for `need` bytes in all (at least doubling, so that pushes stay amortised O(1)). */
  private reserve(need: number): void {
    if (need <= this.data.length) return;
    const bigger = new Uint8Array(Math.max(need, this.data.length * 2));
    bigger.set(this.data.subarray(0, this.used));
    this.data = bigger;
  }
  push(src: Uint8Array, a: number, b: number): void {
    const need = this.used + (b - a);
    this.reserve(need);
    if (this.n + 1 === this.offsets.length) {
      const offsets = new Int32Array(this.offsets.length * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
    }
    // short fields (types, labels): a byte loop beats creating a subarray per row
    const data = this.data;
    for (let i = a, j = this.used; i < b; i++, j++) data[j] = src[i]!;
    this.used = need;
    this.n++;
    this.offsets[this.n] = need;
  }
  done(): Strings {
    return { data: this.data.subarray(0, this.used), offsets: this.offsets.subarray(0, this.n + 1) };
  }
}

/**
 * A column of few distinct strings, row by row: each row's bytes are compared with the value of
 * the row before (types come in runs), then with every value while there are few, then looked
 * up by their text. Only a new value is copied.
 */
export class KeyedList {
  readonly keys: Int32Array;
  private readonly values = new ByteList(16, 256);
  private last = -1;
  private n = 0;
  private readonly byText = new Map<string, number>();
  constructor(rows: number) {
    this.keys = new Int32Array(rows);
  }
  private is(key: number, src: Uint8Array, a: number, b: number): boolean {
    const { data, offsets } = this.values;
    const from = offsets[key]!;
    if (offsets[key + 1]! - from !== b - a) return false;
    for (let i = a, j = from; i < b; i++, j++) if (src[i] !== data[j]) return false;
    return true;
  }
  push(src: Uint8Array, a: number, b: number): void {
    let key = this.last;
    if (key === -1 || !this.is(key, src, a, b)) {
      key = this.find(src, a, b);
      this.last = key;
    }
    this.keys[this.n++] = key;
  }
  private find(src: Uint8Array, a: number, b: number): number {
    const count = this.values.n;
    if (count <= FEW_VALUES) {
      for (let k = 0; k < count; k++) if (this.is(k, src, a, b)) return k;
    } else {
      const known = this.byText.get(textOf(src, a, b));
      if (known !== undefined) return known;
    }
    this.values.push(src, a, b);
    if (count + 1 > FEW_VALUES) {
      if (count + 1 === FEW_VALUES + 1) for (let k = 0; k < count; k++) this.byText.set(this.textAt(k), k);
      this.byText.set(textOf(src, a, b), count);
    }
    return count;
  }
  private textAt(key: number): string {
    return textOf(this.values.data, this.values.offsets[key]!, this.values.offsets[key + 1]!);
  }
  done(): KeyedStrings {
    return { keys: this.keys.subarray(0, this.n), values: this.values.done() };
  }
}

/** Row by row, as Arrow's plain string layout (tests and the per-file view). */
export function decodeKeyed(k: KeyedStrings): Strings {
  const { data, offsets } = k.values;
  const out = new ByteList(k.keys.length, 0);
  for (const key of k.keys) out.push(data, offsets[key]!, offsets[key + 1]!);
  return out.done();
}

/** Up to this many distinct values, a new row's value is compared with each of them. */
const FEW_VALUES = 16;

/** The bytes as a string of char codes (a lookup key only: one char per byte, so distinct bytes stay distinct). */
function textOf(bytes: Uint8Array, a: number, b: number): string {
  let text = '';
  for (let i = a; i < b; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}
