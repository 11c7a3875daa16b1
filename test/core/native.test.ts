/** `npm ci` must have given working prebuilt native binaries: lmdb opens an env, msgpackr's accelerator loaded. */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { open } from 'lmdb';
import { Packr, isNativeAccelerationEnabled } from 'msgpackr';
import { cleanupTemp, makeTemp } from './helpers.js';

afterEach(cleanupTemp);

describe('native modules', () => {
  it('lmdb opens a temp environment, writes, reads back and closes', async () => {
    const dir = await makeTemp('isfdb-lmdb-');
    const db = open({ path: path.join(dir, 'env'), compression: false });
    try {
      await db.put('key', { a: 1, list: [1, 2, 3] });
      await db.put(['tuple', 2], 'second');
      expect(db.get('key')).toEqual({ a: 1, list: [1, 2, 3] });
      expect(db.get(['tuple', 2])).toBe('second');
      expect([...db.getKeys()].length).toBe(2);
    } finally {
      await db.close();
    }
  });

  it("msgpackr's native accelerator (msgpackr-extract) is loaded", () => {
    // Unpacking a string-heavy buffer goes through the native extractor when enabled.
    const packr = new Packr({ useRecords: false });
    const value = { words: Array.from({ length: 100 }, (_, i) => `word-${i}-${'x'.repeat(i % 40)}`) };
    expect(packr.unpack(packr.pack(value))).toEqual(value);
    expect(isNativeAccelerationEnabled).toBe(true);
  });
});
