/** The two setMany entry fields that batched runs need: per-key metadata, and a check under the key's lock. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { cleanupTemp, sandbox } from '../core/helpers.js';

afterAll(cleanupTemp);

describe('setMany entry extras', () => {
  it('extraMetadata lands in each key\'s metadata.json, beside the provenance', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    await db.setMany([
      { key: 'a', value: 1, extraMetadata: { isfdb_recipe: { hash: 'sha256:aa', params: null, code: '1', inputs: [] } } },
      { key: ['sub', 'b'], value: 2, extraMetadata: { note: 'b' } },
      { key: 'c', value: 3 },
    ]);
    expect((await db.metadata('a'))['isfdb_recipe']).toEqual({ hash: 'sha256:aa', params: null, code: '1', inputs: [] });
    expect((await db.metadata(['sub', 'b']))['note']).toBe('b');
    expect(await db.metadata('c')).not.toHaveProperty('note');
    expect((await db.metadata('a'))['hostname']).toBeTypeOf('string');
    expect((await db.verify()).ok).toBe(true);
  });

  it('skipIf runs under the key\'s lock; true keeps the key as it was and writes the others', async () => {
    const sb = await sandbox();
    const db = await DataBase.open(path.join(sb.root, 'db'), { registry: sb.registry });
    await db.set('kept', 'old');
    const lockSeen: boolean[] = [];
    await db.setMany([
      { key: 'kept', value: 'new', skipIf: () => { lockSeen.push(fs.existsSync(path.join(db.basedir, 'kept.lock'))); return true; } },
      { key: 'written', value: 'new', skipIf: async () => false },
    ]);
    expect(await db.get('kept')).toBe('old');
    expect(await db.get('written')).toBe('new');
    expect(lockSeen).toEqual([true]);
  });
});

