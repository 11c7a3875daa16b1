/** A frame `get` opens its Parquet file once and decodes its footer once. */
import fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DataBase, Registry } from '../../src/index.js';

const roots: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('frame get opens', () => {
  it('opens a pandas_to_parquet file once per get, with or without a column selection', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'isfdb-opens-'));
    roots.push(root);
    const db = await DataBase.open(path.join(root, 'db'), { registry: new Registry(path.join(root, 'registry')) });
    const frame = tableFromArrays({ a: Float64Array.from([1, 2, 3]), b: Int32Array.from([4, 5, 6]) });
    await db.set('frame', frame, 'pandas_to_parquet');
    const open = vi.spyOn(fs.promises, 'open');
    const parquetOpens = (): number => open.mock.calls.filter(([file]) => String(file).endsWith('.parquet')).length;

    const back = (await db.get('frame')) as typeof frame;
    expect(back.getChild('a')?.toArray()).toEqual(Float64Array.from([1, 2, 3]));
    expect(parquetOpens()).toBe(1);

    const only = (await db.get('frame', { columns: ['b'] })) as typeof frame;
    expect(only.schema.fields.map((f) => f.name)).toEqual(['b']);
    expect(parquetOpens()).toBe(2);
  });
});
