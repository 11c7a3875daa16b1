/**
 * The writer's value encodings against plain reference implementations: the RLE / bit-packed
 * hybrid (integer and float arithmetic paths) and string dictionaries (their shortcuts for a
 * repeated value and for a few distinct values in any order).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_DICTIONARY_LIMITS, encodeHybrid } from '../../loaders/parquet/encodings.js';
import { StringDictionary, dictionaryOfStrings } from '../../loaders/parquet/string-dictionary.js';

/** A seeded generator, so failures reproduce. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The hybrid encoding as the format describes it: runs of 8+ as RLE, the rest bit-packed by 8. */
function referenceHybrid(values: number[], bitWidth: number): number[] {
  const out: number[] = [];
  const varint = (v: number): void => { let x = v; while (x >= 0x80) { out.push((x % 0x80) | 0x80); x = Math.floor(x / 0x80); } out.push(x); };
  const packed = (start: number, count: number): void => {
    const groups = Math.ceil(count / 8);
    varint(groups * 2 + 1);
    let bits = '';
    for (let k = 0; k < groups * 8; k++) {
      const v = k < count ? values[start + k]! : 0;
      for (let b = 0; b < bitWidth; b++) bits += Math.floor(v / 2 ** b) % 2 === 1 ? '1' : '0';
    }
    for (let i = 0; i < bits.length; i += 8) {
      let byte = 0;
      for (let b = 0; b < 8; b++) if (bits[i + b] === '1') byte |= 1 << b;
      out.push(byte);
    }
  };
  let literalStart = 0;
  let i = 0;
  while (i < values.length) {
    let run = 1;
    while (i + run < values.length && values[i + run] === values[i]) run++;
    if (run < 8) { i += run; continue; }
    const literal = i - literalStart;
    const lend = (8 - (literal % 8)) % 8;
    if (literal + lend > 0) packed(literalStart, literal + lend);
    if (run - lend > 0) {
      varint((run - lend) * 2);
      for (let b = 0; b < Math.ceil(bitWidth / 8); b++) out.push(Math.floor(values[i]! / 2 ** (8 * b)) % 256);
    }
    i += run;
    literalStart = i;
  }
  if (literalStart < values.length) packed(literalStart, values.length - literalStart);
  return out;
}

describe('RLE / bit-packed hybrid', () => {
  for (const bitWidth of [1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 23, 24, 25, 31]) {
    it(`bit width ${bitWidth}: random values and runs`, () => {
      const next = random(bitWidth);
      const values: number[] = [];
      while (values.length < 3000) {
        const v = Math.floor(next() * 2 ** bitWidth);
        const run = next() < 0.2 ? 1 + Math.floor(next() * 40) : 1;
        for (let k = 0; k < run; k++) values.push(v);
      }
      values.push(2 ** bitWidth - 1);
      expect([...encodeHybrid(values, values.length, bitWidth)])
        .toEqual(referenceHybrid(values, bitWidth));
    });
  }
});

describe('string dictionaries', () => {
  const enc = new TextEncoder();
  const dec = new TextDecoder();

  function check(strings: string[]): void {
    const bytes = strings.map((x) => enc.encode(x));
    const offsets = new Int32Array(strings.length + 1);
    bytes.forEach((b, i) => { offsets[i + 1] = offsets[i]! + b.length; });
    const data = new Uint8Array(offsets[strings.length]!);
    bytes.forEach((b, i) => data.set(b, offsets[i]!));
    const builder = new StringDictionary(strings.length, true, DEFAULT_DICTIONARY_LIMITS);
    expect(builder.addRange(data, offsets, 0, strings.length)).toBe(true);
    const result = builder.result()!;
    // the page: each distinct value once, in order of first appearance, as PLAIN BYTE_ARRAY
    const entries: string[] = [];
    const view = new DataView(result.page.buffer, result.page.byteOffset, result.page.byteLength);
    for (let pos = 0; pos < result.page.length;) {
      const length = view.getUint32(pos, true);
      entries.push(dec.decode(result.page.subarray(pos + 4, pos + 4 + length)));
      pos += 4 + length;
    }
    expect(entries).toEqual([...new Set(strings)]);
    expect(result.count).toBe(entries.length);
    expect(Array.from(result.indices, (i) => entries[i])).toEqual(strings);
    // the visitor form gives the same dictionary
    const visited = dictionaryOfStrings((visit) => { strings.forEach((_, i) => visit(data, offsets[i]!, offsets[i + 1]!)); }, strings.length, true)!;
    expect([...visited.page]).toEqual([...result.page]);
    expect([...visited.indices]).toEqual([...result.indices]);
  }

  it('a few distinct values in any order, with look-alikes (same length and end bytes)', () => {
    const next = random(7);
    const alphabet = ['L4ss_C2', 'L5tt_C2', 'L4sp_C2', 'VPM_C2', 'VPM_D2', '', 'a', 'b', 'BasalDendrite', 'ApicalDendrite', 'é_unicode_é'];
    check(Array.from({ length: 5000 }, () => alphabet[Math.floor(next() * alphabet.length)]!));
  });

  it('runs of one value (an index column), then many distinct values', () => {
    const strings: string[] = [];
    for (let t = 0; t < 20; t++) for (let k = 0; k < 100; k++) strings.push(`C2/run/${String(t).padStart(6, '0')}`);
    for (let k = 0; k < 3000; k++) strings.push(`id${k}`);
    check(strings);
  });

  it('gives up when most values are distinct (not forced)', () => {
    const strings = Array.from({ length: 4000 }, (_, k) => `v${k}`);
    const data = enc.encode(strings.join(''));
    const offsets = new Int32Array(strings.length + 1);
    strings.forEach((x, i) => { offsets[i + 1] = offsets[i]! + x.length; });
    const builder = new StringDictionary(strings.length, false, DEFAULT_DICTIONARY_LIMITS);
    expect(builder.addRange(data, offsets, 0, strings.length)).toBe(false);
    expect(builder.result()).toBeUndefined();
  });
});
