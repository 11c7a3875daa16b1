/** Partitions read together keep one correct range index (each file describes its own rows only). */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import { DataBase, Registry } from '../../src/index.js';
import { PartitionedFrame, frameIndexOf } from '../../src/frames.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

async function partitionedRange(): Promise<PartitionedFrame> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'isfdb-range-'));
  dirs.push(root);
  const db = await DataBase.open(path.join(root, 'db'), { registry: new Registry(path.join(root, 'registry')) });
  const parts = [0, 1, 2].map((i) => tableFromArrays({ v: new Float64Array([10 * i, 10 * i + 1]) }));
  await db.set('frame', parts, 'dask_to_parquet');
  return (await db.get('frame')) as PartitionedFrame;
}

describe('PartitionedFrame.read with a range index', () => {
  it('describes the rows of all partitions, not those of the first', async () => {
    const frame = await partitionedRange();
    expect(frame.divisions).toEqual([0, 2, 4, 5]);
    const all = await frame.read();
    expect(all.numRows).toBe(6);
    expect(frameIndexOf(all)).toEqual({ kind: 'range', name: null, start: 0, stop: 6, step: 1 });
  });

  it('starts at the first selected partition when an index range skips the first ones', async () => {
    const frame = await partitionedRange();
    const tail = await frame.read({ indexRange: [2, 5] });
    expect(tail.getChild('v')?.toArray()).toEqual(new Float64Array([10, 11, 20, 21]));
    expect(frameIndexOf(tail)).toEqual({ kind: 'range', name: null, start: 2, stop: 6, step: 1 });
  });
});
