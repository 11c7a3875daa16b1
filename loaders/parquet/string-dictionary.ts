/**
 * Dictionaries of strings for the writer: built from UTF-8 bytes (Arrow offsets) while they pay,
 * with the same limits as the fixed-width dictionaries of encodings.ts.
 */
import { Bytes, DEFAULT_DICTIONARY_LIMITS, EARLY_DISTINCT, EARLY_LOOK, type DictionaryEncoding, type DictionaryLimits } from './encodings.js';

/** Strings as offsets into UTF-8 bytes (an Arrow Utf8 chunk's buffers). */
export interface StringSegment {
  offsets: Int32Array;
  bytes: Uint8Array;
  /** Which entries are present (all when undefined), in order. */
  present?: Uint8Array;
  /** Maps each present value to an entry (dictionary-encoded Arrow chunks), else identity. */
  entryOf?: Int32Array;
}

function hashBytes(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return h >>> 0;
}

function sameBytes(a: Uint8Array, aFrom: number, aTo: number, b: Uint8Array, bFrom: number): boolean {
  for (let i = 0; i < aTo - aFrom; i++) if (a[aFrom + i] !== b[bFrom + i]) return false;
  return true;
}

/**
 * Dictionary of strings: `values(visit)` calls `visit(bytes, from, to)` for every present value,
 * in order. Undefined when it would not pay (see dictionaryOfWords); `force` builds it anyway
 * (categorical columns must keep a dictionary).
 */
export function dictionaryOfStrings(
  values: (visit: (bytes: Uint8Array, from: number, to: number) => boolean) => void,
  total: number, force = false, limits = DEFAULT_DICTIONARY_LIMITS,
): DictionaryEncoding | undefined {
  const builder = new StringDictionary(total, force, limits);
  values((bytes, from, to) => builder.add(bytes, from, to));
  return builder.result();
}

const RECENT_MASK = 63;

/**
 * The dictionary being built. A value equal to the one before it (an index column repeated over
 * thousands of rows) is matched without hashing.
 */
export class StringDictionary {
  private capacity = 16;
  private slots: Int32Array;
  private readonly page = new Bytes(4096);
  /** where each entry's bytes start in the page, and their length */
  private starts = new Int32Array(64);
  private lengths = new Int32Array(64);
  private count = 0;
  private readonly indices: Int32Array;
  private n = 0;
  private failed = false;
  private readonly maxEntries: number;
  private previous = -1;
  private readonly recent = new Int32Array(RECENT_MASK + 1).fill(-1);

  constructor(total: number, private readonly force: boolean, private readonly limits: DictionaryLimits) {
    this.maxEntries = force ? Number.MAX_SAFE_INTEGER : Math.max(1, Math.floor(total / 2));
    while (this.capacity < Math.min(1024, 2 * total)) this.capacity *= 2;
    this.slots = new Int32Array(this.capacity).fill(-1);
    this.indices = new Int32Array(total);
  }

  /** Adds the strings i in [start, end) of Arrow-style `offsets` into `bytes`; false when the dictionary stopped paying. */
  addRange(bytes: Uint8Array, offsets: Int32Array, start: number, end: number): boolean {
    for (let i = start; i < end; i++) if (!this.add(bytes, offsets[i] as number, offsets[i + 1] as number)) return false;
    return true;
  }

  /** The entry of the value added last (valid after an `add` that returned true). */
  get lastEntry(): number {
    return this.previous;
  }

  /** Adds a value already in the dictionary, by its entry (a dictionary-encoded column's repeats). */
  addEntry(entry: number): void {
    this.indices[this.n++] = entry;
    this.previous = entry;
  }

  /**
   * Adds `entryOf[keys[i]]` for i from `from` until a key without an entry (-1) or `to`; returns
   * where it stopped (a dictionary-encoded column whose every key was seen before: no lookups).
   */
  addMapped(entryOf: Int32Array, keys: Int32Array, from: number, to: number): number {
    const indices = this.indices;
    let n = this.n;
    let i = from;
    for (; i < to; i++) {
      const entry = entryOf[keys[i] as number] as number;
      if (entry === -1) break;
      indices[n++] = entry;
    }
    if (n > this.n) this.previous = indices[n - 1] as number;
    this.n = n;
    return i;
  }

  /** Adds one value; false (and the dictionary fails) when it stops paying. */
  add(bytes: Uint8Array, from: number, to: number): boolean {
    const length = to - from;
    const page = this.page.buffer;
    if (this.previous !== -1 && this.lengths[this.previous] === length && sameBytes(bytes, from, to, page, (this.starts[this.previous] as number) + 4)) {
      this.indices[this.n++] = this.previous;
      return true;
    }
    // a few distinct values in any order (types, labels): a small cache by length and end bytes
    const recentSlot = length === 0 ? 0 : ((length * 31 + (bytes[from] as number) * 7 + (bytes[to - 1] as number)) & RECENT_MASK);
    const recent = this.recent[recentSlot] as number;
    if (recent !== -1 && this.lengths[recent] === length && sameBytes(bytes, from, to, page, (this.starts[recent] as number) + 4)) {
      this.indices[this.n++] = recent;
      this.previous = recent;
      return true;
    }
    if (this.count * 2 >= this.capacity) this.grow();
    const mask = this.capacity - 1;
    let slot = hashBytes(bytes, from, to) & mask;
    for (;;) {
      const at = this.slots[slot] as number;
      if (at === -1) return this.insert(slot, bytes, from, to);
      if (this.lengths[at] === length && sameBytes(bytes, from, to, page, (this.starts[at] as number) + 4)) {
        this.indices[this.n++] = at;
        this.previous = at;
        this.recent[recentSlot] = at;
        return true;
      }
      slot = (slot + 1) & mask;
    }
  }

  private insert(slot: number, bytes: Uint8Array, from: number, to: number): boolean {
    const length = to - from;
    const early = !this.force && this.n >= EARLY_LOOK && this.count > this.n * EARLY_DISTINCT;
    if (early || this.count >= this.maxEntries || (!this.force && this.page.length + 4 + length > this.limits.maxPageBytes)) {
      this.failed = true;
      return false;
    }
    if (this.count === this.starts.length) {
      this.starts = grownInts(this.starts);
      this.lengths = grownInts(this.lengths);
    }
    const entry = this.count++;
    this.slots[slot] = entry;
    const page = this.page;
    page.reserve(4 + length);
    const at = page.length;
    page.buffer[at] = length & 0xff;
    page.buffer[at + 1] = (length >>> 8) & 0xff;
    page.buffer[at + 2] = (length >>> 16) & 0xff;
    page.buffer[at + 3] = (length >>> 24) & 0xff;
    if (length < 16) for (let i = 0; i < length; i++) page.buffer[at + 4 + i] = bytes[from + i] as number;
    else page.buffer.set(bytes.subarray(from, to), at + 4);
    page.length += 4 + length;
    this.starts[entry] = at;
    this.lengths[entry] = length;
    this.indices[this.n++] = entry;
    this.previous = entry;
    return true;
  }

  private grow(): void {
    this.capacity *= 2;
    const slots = new Int32Array(this.capacity).fill(-1);
    const mask = this.capacity - 1;
    const page = this.page.buffer;
    for (let entry = 0; entry < this.count; entry++) {
      const start = (this.starts[entry] as number) + 4;
      let slot = hashBytes(page, start, start + (this.lengths[entry] as number)) & mask;
      while (slots[slot] !== -1) slot = (slot + 1) & mask;
      slots[slot] = entry;
    }
    this.slots = slots;
  }

  result(): DictionaryEncoding | undefined {
    if (this.failed) return undefined;
    return { page: this.page.finish(), count: this.count, indices: this.indices };
  }
}

function grownInts(a: Int32Array): Int32Array<ArrayBuffer> {
  const out = new Int32Array(a.length * 2);
  out.set(a);
  return out;
}
