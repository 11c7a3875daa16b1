/**
 * Thrift's compact protocol, the encoding of Parquet's footer and page headers.
 * Decoding is generic (a struct becomes a map from field id to value) so the Parquet layer
 * picks the fields it knows and skips the rest; encoding is a small builder.
 */

export const ThriftType = {
  stop: 0, true: 1, false: 2, byte: 3, i16: 4, i32: 5, i64: 6, double: 7,
  binary: 8, list: 9, set: 10, map: 11, struct: 12,
} as const;

/** A decoded struct: field id -> value. */
export type ThriftStruct = Map<number, ThriftValue>;
export type ThriftValue = boolean | number | bigint | Uint8Array | ThriftStruct | ThriftValue[];

export class ThriftReader {
  pos: number;
  constructor(readonly bytes: Uint8Array, offset = 0) {
    this.pos = offset;
  }

  readStruct(): ThriftStruct {
    const fields: ThriftStruct = new Map();
    let lastId = 0;
    for (;;) {
      const header = this.byte();
      const type = header & 0x0f;
      if (type === ThriftType.stop) return fields;
      const delta = header >> 4;
      const id = delta === 0 ? this.zigzag32() : lastId + delta;
      lastId = id;
      fields.set(id, this.readValue(type));
    }
  }

  private readValue(type: number): ThriftValue {
    switch (type) {
      case ThriftType.true: return true;
      case ThriftType.false: return false;
      case ThriftType.byte: return (this.byte() << 24) >> 24;
      case ThriftType.i16:
      case ThriftType.i32: return this.zigzag32();
      case ThriftType.i64: return this.zigzag64();
      case ThriftType.double: {
        const value = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 8).getFloat64(0, true);
        this.pos += 8;
        return value;
      }
      case ThriftType.binary: {
        const length = this.varint();
        const value = this.bytes.subarray(this.pos, this.pos + length);
        if (value.length !== length) throw new RangeError('thrift: binary runs past the end of the buffer');
        this.pos += length;
        return value;
      }
      case ThriftType.list:
      case ThriftType.set: return this.readList();
      case ThriftType.struct: return this.readStruct();
      default: throw new RangeError(`thrift: unsupported compact type ${type} at byte ${this.pos}`);
    }
  }

  private readList(): ThriftValue[] {
    const header = this.byte();
    const elementType = header & 0x0f;
    const size = (header >> 4) === 15 ? this.varint() : header >> 4;
    const items: ThriftValue[] = new Array(size);
    for (let i = 0; i < size; i++) {
      // Booleans inside lists are whole bytes (1 true, otherwise false).
      items[i] = elementType === ThriftType.true || elementType === ThriftType.false
        ? this.byte() === 1
        : this.readValue(elementType);
    }
    return items;
  }

  private byte(): number {
    const value = this.bytes[this.pos++];
    if (value === undefined) throw new RangeError('thrift: unexpected end of buffer');
    return value;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 49) throw new RangeError('thrift: varint too long');
    }
  }

  private zigzag32(): number {
    const n = this.varint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  private zigzag64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (shift > 70n) throw new RangeError('thrift: varint too long');
    }
    return (result >> 1n) ^ -(result & 1n);
  }
}

/** Builds compact-protocol bytes; call `beginStruct`/`endStruct` around the fields of a struct. */
export class ThriftWriter {
  private buffer = new Uint8Array(256);
  private length = 0;
  private lastIds: number[] = [];
  private lastId = 0;

  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  beginStruct(): this {
    this.lastIds.push(this.lastId);
    this.lastId = 0;
    return this;
  }

  endStruct(): this {
    this.byte(ThriftType.stop);
    this.lastId = this.lastIds.pop() ?? 0;
    return this;
  }

  i8(id: number, value: number): this {
    this.fieldHeader(id, ThriftType.byte);
    this.byte(value & 0xff);
    return this;
  }

  i32(id: number, value: number): this {
    this.fieldHeader(id, ThriftType.i32);
    this.varint(zigzag(value));
    return this;
  }

  i64(id: number, value: number | bigint): this {
    this.fieldHeader(id, ThriftType.i64);
    // Offsets and counts are small: BigInt arithmetic only where a double could not hold the zigzag.
    if (typeof value === 'number' && Math.abs(value) <= MAX_ZIGZAG_NUMBER) this.varint(zigzag(value));
    else this.varintBig(zigzagBig(BigInt(value)));
    return this;
  }

  bool(id: number, value: boolean): this {
    this.fieldHeader(id, value ? ThriftType.true : ThriftType.false);
    return this;
  }

  binary(id: number, value: Uint8Array | string): this {
    this.fieldHeader(id, ThriftType.binary);
    this.rawBinary(value);
    return this;
  }

  /** A struct field whose fields are written by `body`. */
  struct(id: number, body: (w: this) => void): this {
    this.fieldHeader(id, ThriftType.struct);
    this.beginStruct();
    body(this);
    return this.endStruct();
  }

  listI32(id: number, values: readonly number[]): this {
    this.listHeader(id, ThriftType.i32, values.length);
    for (const v of values) this.varint(zigzag(v));
    return this;
  }

  listBinary(id: number, values: readonly string[]): this {
    this.listHeader(id, ThriftType.binary, values.length);
    for (const v of values) this.rawBinary(v);
    return this;
  }

  listStruct<T>(id: number, items: readonly T[], body: (w: this, item: T) => void): this {
    this.listHeader(id, ThriftType.struct, items.length);
    for (const item of items) {
      this.beginStruct();
      body(this, item);
      this.endStruct();
    }
    return this;
  }

  private listHeader(id: number, elementType: number, size: number): void {
    this.fieldHeader(id, ThriftType.list);
    if (size < 15) this.byte((size << 4) | elementType);
    else {
      this.byte(0xf0 | elementType);
      this.varint(size);
    }
  }

  private rawBinary(value: Uint8Array | string): void {
    if (typeof value === 'string' && isAscii(value)) {
      // Column names of wide frames: no encoder round trip for the common ASCII case.
      this.varint(value.length);
      this.ensure(value.length);
      for (let i = 0; i < value.length; i++) this.buffer[this.length + i] = value.charCodeAt(i);
      this.length += value.length;
      return;
    }
    const bytes = typeof value === 'string' ? utf8.encode(value) : value;
    this.varint(bytes.length);
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  private fieldHeader(id: number, type: number): void {
    const delta = id - this.lastId;
    if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
    else {
      this.byte(type);
      this.varint(zigzag(id));
    }
    this.lastId = id;
  }

  private byte(value: number): void {
    this.ensure(1);
    this.buffer[this.length++] = value;
  }

  private varint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  private varintBig(value: bigint): void {
    let v = value;
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}

const utf8 = new TextEncoder();
/** |v| up to 2^51: 2|v| + 1 stays an exact double. */
const MAX_ZIGZAG_NUMBER = 2 ** 51;

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 127) return false;
  return true;
}

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function zigzagBig(value: bigint): bigint {
  return value >= 0n ? value << 1n : (-value << 1n) - 1n;
}
