/** Key rules: ISF's charset and length, plus the names ISF forgets to refuse. */
import fsSync from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataBase, InvalidKeyError, formatKey, type Key } from '../../src/index.js';
import { caught, cleanupTemp, ls, sandbox, type Sandbox } from './helpers.js';

let sb: Sandbox;
let db: DataBase;
beforeEach(async () => {
  sb = await sandbox();
  db = await DataBase.open(path.join(sb.root, 'db'));
});
afterEach(cleanupTemp);

const CHARSET_REASON = 'only the characters A-Z a-z 0-9 - _ . are allowed';

/** [key, expected reason]; the message is `invalid key '<key>': <reason>`. */
const REFUSED: Array<[string, string]> = [
  ['', 'a key (or tuple key part) must not be empty'],
  ['.', "'.' would leave the key folder"],
  ['..', "'..' would leave the key folder"],
  ['/', CHARSET_REASON],
  ['a/b', CHARSET_REASON],
  ['a\\b', CHARSET_REASON],
  ['a b', CHARSET_REASON],
  ['grüße', CHARSET_REASON],
  ['tab\there', CHARSET_REASON],
  ['colon:key', CHARSET_REASON],
  ['db_state.json', "'db_state.json' is a reserved name"],
  ['Loader.json', "'Loader.json' is a reserved name"],
  ['metadata.json', "'metadata.json' is a reserved name"],
  ['db', "'db' is a reserved name"],
  ['Loader.pickle', "'Loader.pickle' is a reserved name"],
  ['dbcore.pickle', "'dbcore.pickle' is a reserved name"],
  ['sqlitedict.db', "'sqlitedict.db' is a reserved name"],
  ['metadata.db', "'metadata.db' is a reserved name"],
  ['x.lock', "'x.lock' is a reserved name"],
  ['.lock', "'.lock' is a reserved name"],
  ['k.deleting.ABCDE', "names containing '.deleting.' mark folders being removed"],
  ['.isfdb.deleting.staging', "names containing '.deleting.' mark folders being removed"],
];

function escaped(key: string): string {
  return JSON.stringify(key).slice(1, -1);
}

describe('valid keys', () => {
  it('every allowed character and exactly 120 characters are accepted', async () => {
    const all = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    await db.set(all, 1);
    expect(await db.get(all)).toBe(1);
    const longest = 'k'.repeat(120);
    await db.set(longest, 2);
    expect(await db.get(longest)).toBe(2);
    expect(fsSync.existsSync(path.join(db.basedir, longest, 'Loader.json'))).toBe(true);
    await db.set(['x'.repeat(120), 'y'.repeat(120)], 3);
    expect(await db.get(['x'.repeat(120), 'y'.repeat(120)])).toBe(3);
    // Names that merely look like reserved ones are fine.
    for (const k of ['db2', 'lock', 'x.lock2', 'Loader.json.bak', 'deleting', '.hidden', '...']) {
      await db.set(k, k);
      expect(await db.get(k)).toBe(k);
    }
  });
});

describe('refused keys', () => {
  for (const [key, reason] of REFUSED) {
    it(`'${escaped(key)}' is refused with InvalidKeyError naming the key, by every operation, and nothing is written`, async () => {
      const before = ls(db.basedir);
      const err = await caught(() => db.set(key, 1));
      expect(err).toBeInstanceOf(InvalidKeyError);
      expect((err as InvalidKeyError).key).toBe(key);
      expect(err.message).toBe(`invalid key '${escaped(key)}': ${reason}`);
      for (const op of [
        () => db.get(key), () => db.has(key), () => db.delete(key), () => db.metadata(key),
        () => db.createSubDb(key), () => db.createManagedFolder(key), () => db.maybeCalculate(key, () => 1),
        () => db.rename(key, 'fine'), () => db.rename('fine', key), () => db.folderOf(key),
      ]) {
        expect(await caught(op)).toBeInstanceOf(InvalidKeyError);
      }
      expect(ls(db.basedir)).toEqual(before);
    });
  }

  it('a 121-character key is refused; the message shows a shortened key, the error keeps it whole', async () => {
    const key = 'k'.repeat(121);
    const err = await caught(() => db.set(key, 1));
    expect(err).toBeInstanceOf(InvalidKeyError);
    expect((err as InvalidKeyError).key).toBe(key);
    expect(err.message).toBe(`invalid key '${'k'.repeat(77)}...': a key part is 121 characters long, at most 120 are allowed`);
  });

  it('a bad part of a tuple key is refused, naming the whole tuple key', async () => {
    const cases: Array<[Key, string]> = [
      [['ok', 'db'], "invalid key '('ok', 'db')': 'db' is a reserved name"],
      [['ok', ''], "invalid key '('ok', '')': a key (or tuple key part) must not be empty"],
      [['..', 'x'], "invalid key '('..', 'x')': '..' would leave the key folder"],
      [['a', 'b/c'], `invalid key '('a', 'b/c')': ${CHARSET_REASON}`],
    ];
    for (const [key, message] of cases) {
      const err = await caught(() => db.set(key, 1));
      expect(err).toBeInstanceOf(InvalidKeyError);
      expect(err.message).toBe(message);
      expect((err as InvalidKeyError).key).toBe(formatKey(key));
    }
    expect(await db.keys()).toEqual([]);
  });

  it('an empty tuple and non-string keys are refused', async () => {
    const empty = await caught(() => db.set([], 1));
    expect(empty).toBeInstanceOf(InvalidKeyError);
    expect(empty.message).toBe("invalid key '': a tuple key needs at least one part");
    const numeric = await caught(() => db.set(5 as unknown as string, 1));
    expect(numeric).toBeInstanceOf(InvalidKeyError);
    expect(numeric.message).toBe("invalid key '5': a key is a string or an array of strings");
    const numericPart = await caught(() => db.set(['a', 5] as unknown as string[], 1));
    expect(numericPart).toBeInstanceOf(InvalidKeyError);
    expect(await db.keys()).toEqual([]);
  });

  it('folders on disk with refused names are never listed as keys', async () => {
    await db.set('real', 1);
    for (const name of ['x.lock', 'real.deleting.QWERT', 'db', '..dots', 'with space']) {
      fsSync.mkdirSync(path.join(db.basedir, name), { recursive: true });
    }
    expect(await db.keys()).toEqual(['..dots', 'real']);
  });
});

describe('formatKey', () => {
  it('shows keys as ISF prints them', () => {
    expect(formatKey('a')).toBe('a');
    expect(formatKey(['a'])).toBe('a');
    expect(formatKey(['a', 'b', 'c'])).toBe("('a', 'b', 'c')");
  });
});
