/** Version history: kept, listed, read, restored, pruned to N; Python ISF still sees one folder per key. */
import fsSync from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataBase, HISTORY_FOLDER, isDataBaseError } from '../../src/index.js';
import { settleBackgroundRemovals } from '../../src/store/keyfolder.js';
import { caught, cleanupTemp, ls, sandbox, type Sandbox } from '../core/helpers.js';

let sb: Sandbox;
beforeEach(async () => { sb = await sandbox(); });
afterEach(async () => {
  await settleBackgroundRemovals();
  await cleanupTemp();
});

async function open(keepVersions?: number): Promise<DataBase> {
  return DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry, keepVersions });
}

/** What Python ISF's keys() lists: folders whose name has no '.deleting.' (and is no state file). */
function isfKeys(dir: string): string[] {
  return fsSync.readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.includes('.deleting.') && !e.name.endsWith('.lock'))
    .map((e) => e.name).sort();
}

describe('version history', () => {
  it('keeps nothing by default (ISF behaviour)', async () => {
    const db = await open();
    await db.set('a', { x: 1 });
    await db.set('a', { x: 2 });
    await settleBackgroundRemovals();
    expect(await db.history('a')).toMatchObject([{ version: 'current', current: true }]);
    expect(ls(db.basedir)).not.toContain(HISTORY_FOLDER);
  });

  it('keeps, lists and reads earlier values, and prunes to N', async () => {
    const db = await open(2);
    for (let x = 1; x <= 4; x++) await db.set('a', { x });
    const history = await db.history('a');
    expect(history.map((v) => v.version)).toEqual([2, 3, 'current']);
    expect(await db.get('a')).toEqual({ x: 4 });
    expect(await db.get('a', { version: 2 })).toEqual({ x: 2 });
    expect(await db.get('a', { version: 3 })).toEqual({ x: 3 });
    expect(await db.get('a', { version: 'current' })).toEqual({ x: 4 });
    const err = await caught(() => db.get('a', { version: 1 }));
    expect(isDataBaseError(err, 'VersionNotFoundError')).toBe(true);
    expect(err.message).toBe(`key 'a' in ${db.basedir} has no version 1: versions in its history: 2, 3 (see db.history)`);
    for (const v of history) {
      expect(v.loader).toBe('to_msgpack');
      expect(v.size).toBeGreaterThan(0);
      expect(v.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(v.time).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(v).toHaveProperty('gitCommit');
      expect(v).toHaveProperty('dirty');
    }
    expect(new Set(history.map((v) => v.checksum)).size).toBe(3);
  });

  it('keeps each version with its own metadata.json intact', async () => {
    const db = await open(3);
    await db.set('a', { x: 1 });
    const before = fsSync.readFileSync(path.join(db.basedir, 'a', 'metadata.json'), 'utf8');
    await db.set('a', { x: 2 });
    expect(fsSync.readFileSync(path.join(db.basedir, HISTORY_FOLDER, 'a', '1', 'metadata.json'), 'utf8')).toBe(before);
  });

  it('Python layout: exactly one current key folder with Loader.json and metadata.json; history elsewhere', async () => {
    const db = await open(5);
    for (let x = 1; x <= 4; x++) await db.set('a', { x });
    await db.set(['sub', 'b'], { y: 1 });
    await db.set(['sub', 'b'], { y: 2 });
    await settleBackgroundRemovals();
    expect(isfKeys(db.basedir)).toEqual(['a', 'sub']);
    expect(ls(path.join(db.basedir, 'a'))).toEqual(expect.arrayContaining(['Loader.json', 'metadata.json']));
    expect(await db.keys()).toEqual(['a', 'sub']);
    const subDir = path.join(db.basedir, 'sub', 'db');
    expect(isfKeys(subDir)).toEqual(['b']);
    expect(ls(path.join(subDir, HISTORY_FOLDER, 'b'))).toEqual(['1', 'last-version']);
    expect(HISTORY_FOLDER).toContain('.deleting.');
    expect(await db.get(['sub', 'b'], { version: 1 })).toEqual({ y: 1 });
  });

  it('restores a version atomically, the current value going into history', async () => {
    const db = await open(3);
    for (let x = 1; x <= 3; x++) await db.set('a', { x });
    expect((await db.history('a')).map((v) => v.version)).toEqual([1, 2, 'current']);
    const previous = await db.restore('a', 1);
    expect(previous).toBe(3);
    expect(await db.get('a')).toEqual({ x: 1 });
    expect((await db.history('a')).map((v) => v.version)).toEqual([2, 3, 'current']);
    expect(await db.get('a', { version: 3 })).toEqual({ x: 3 });
    expect(isfKeys(db.basedir)).toEqual(['a']);
    // numbers are never reused
    await db.set('a', { x: 9 });
    expect((await db.history('a')).map((v) => v.version)).toEqual([2, 3, 4, 'current']);
    expect(await db.get('a', { version: 4 })).toEqual({ x: 1 });
    const err = await caught(() => db.restore('a', 1));
    expect(isDataBaseError(err, 'VersionNotFoundError')).toBe(true);
  });

  it('keepVersions per write overrides the database setting', async () => {
    const db = await open();
    await db.set('a', { x: 1 });
    await db.set('a', { x: 2 }, undefined, undefined, { keepVersions: 1 });
    await db.set('a', { x: 3 }, undefined, undefined, { keepVersions: 1 });
    expect((await db.history('a')).map((v) => v.version)).toEqual([2, 'current']);
    expect(await db.get('a', { version: 2 })).toEqual({ x: 2 });
  });

  it('a readonly database lists and reads versions but cannot restore', async () => {
    const db = await open(2);
    await db.set('a', { x: 1 });
    await db.set('a', { x: 2 });
    const ro = await DataBase.open(db.basedir, { readonly: true, registry: sb.registry });
    expect(await ro.get('a', { version: 1 })).toEqual({ x: 1 });
    expect(isDataBaseError(await caught(() => ro.restore('a', 1)), 'ReadonlyError')).toBe(true);
  });

  it('history survives delete, and restore brings a deleted key back', async () => {
    const db = await open(2);
    await db.set('a', { x: 1 });
    await db.set('a', { x: 2 });
    await db.delete('a');
    expect(await db.has('a')).toBe(false);
    expect((await db.history('a')).map((v) => v.version)).toEqual([1]);
    expect(await db.restore('a', 1)).toBeUndefined();
    expect(await db.get('a')).toEqual({ x: 1 });
  });
});
