/** Key validation and the mapping of (tuple) keys to folders. */
import path from 'node:path';
import { InvalidKeyError } from './errors.js';

export type Key = string | readonly string[];

const MAX_KEY_PART_LENGTH = 120;
const KEY_PART_PATTERN = /^[A-Za-z0-9_.-]+$/;
const RESERVED_NAMES = new Set([
  'db_state.json', 'Loader.json', 'metadata.json', 'db', 'Loader.pickle',
  'dbcore.pickle', 'sqlitedict.db', 'metadata.db',
]);

/** Marks folders that are never keys: ISF's removal prefix, also used by our temporary writes. */
export const DELETING_MARK = '.deleting.';

/** Refuse anything that is not a key ISF could write and we could read back unambiguously. */
export function validateKeyPart(part: string, wholeKey: string = part): void {
  if (typeof part !== 'string') throw new InvalidKeyError(String(wholeKey), 'key parts must be strings');
  if (part === '') throw new InvalidKeyError(wholeKey, 'a key (or tuple key part) must not be empty');
  if (part === '.' || part === '..') throw new InvalidKeyError(wholeKey, `'${part}' would leave the key folder`);
  if (part.length > MAX_KEY_PART_LENGTH) {
    throw new InvalidKeyError(wholeKey, `a key part is ${part.length} characters long, at most ${MAX_KEY_PART_LENGTH} are allowed`);
  }
  if (!KEY_PART_PATTERN.test(part)) {
    throw new InvalidKeyError(wholeKey, 'only the characters A-Z a-z 0-9 - _ . are allowed');
  }
  if (RESERVED_NAMES.has(part) || part.endsWith('.lock')) {
    throw new InvalidKeyError(wholeKey, `'${part}' is a reserved name`);
  }
  if (part.includes(DELETING_MARK)) {
    throw new InvalidKeyError(wholeKey, `names containing '${DELETING_MARK}' mark folders being removed`);
  }
}

/** Normalise a key to its parts, validating each. */
export function keyParts(key: Key): string[] {
  const parts = typeof key === 'string' ? [key] : Array.isArray(key) ? [...key] : null;
  if (parts === null) throw new InvalidKeyError(String(key), 'a key is a string or an array of strings');
  if (parts.length === 0) throw new InvalidKeyError('', 'a tuple key needs at least one part');
  const shown = formatKey(parts);
  for (const part of parts) validateKeyPart(part, shown);
  return parts;
}

/** How keys appear in messages: 'a' or ('a', 'b') like ISF's tuples. */
export function formatKey(key: Key): string {
  if (typeof key === 'string') return key;
  if (key.length === 1) return String(key[0]);
  return `(${key.map((k) => `'${String(k)}'`).join(', ')})`;
}

/** The folder of a key relative to its database: ['A','1','B'] -> A/db/1/db/B. */
export function relativeKeyFolder(parts: readonly string[]): string {
  return parts.join(`${path.sep}db${path.sep}`);
}

/** Linux's PATH_MAX (bytes, with the terminating NUL); macOS has 1024, refused there by the system itself. */
const PATH_MAX = 4096;
/**
 * Room kept beyond a key folder's path for what is written in it and beside it: the staging
 * folder's longer name, loader files (partition names), `db/db_state.json`, kept versions.
 */
const ROOM_FOR_KEY_CONTENTS = 160;

/** Refuse a key whose folder below `basedir` would be too long a path, before anything is created. */
export function checkKeyFolderLength(basedir: string, parts: readonly string[]): void {
  const folder = path.join(basedir, relativeKeyFolder(parts));
  const bytes = Buffer.byteLength(folder);
  const limit = PATH_MAX - 1 - ROOM_FOR_KEY_CONTENTS;
  if (bytes > limit) {
    throw new InvalidKeyError(formatKey(parts), `its folder would be a path of ${bytes} bytes, and at most ${limit} fit (PATH_MAX ${PATH_MAX} less room for the files in it); use fewer or shorter key parts`);
  }
}

/** True when a directory entry of a database folder can be a key. */
export function isKeyFolderName(name: string): boolean {
  if (name.includes(DELETING_MARK) || name.endsWith('.lock')) return false;
  return !RESERVED_NAMES.has(name) && KEY_PART_PATTERN.test(name) && name !== '.' && name !== '..';
}
