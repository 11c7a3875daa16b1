import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLOAT_LABELS_DIRECT_ABOVE, markFloatLabels, stageTable, traceDumpOptions } from '../../initializers/simrun/encode.js';
import { INDEX, timeLabels, traceTable } from '../../initializers/simrun/tables.js';
import { cleanup, tempDir } from './helpers.js';

describe('staged encoding', () => {
  it('writing float label types directly gives the same object_meta.json as the columnLabelTypes option', async () => {
    const dir = await tempDir('encode');
    try {
      const n = FLOAT_LABELS_DIRECT_ABOVE + 5;
      const time = Float64Array.from({ length: n }, (_, k) => 100 + k * 0.025);
      const values = Float64Array.from({ length: n * 2 }, (_, k) => -65 + (k % 7));
      const enc = new TextEncoder();
      const ids = enc.encode('a/000001a/000002');
      const index = { data: ids, offsets: Int32Array.from([0, 8, 16]) };
      const labels = timeLabels(time);
      const table = traceTable(index, { time, values, nCols: 2, file: 'x' }, labels);
      const a = await stageTable(table, path.join(dir, 'a'), 'k', traceDumpOptions(labels));
      const b = await stageTable(table, path.join(dir, 'b'), 'k', { index: INDEX });
      await markFloatLabels(b.objectMeta);
      expect(await readFile(b.objectMeta, 'utf8')).toBe(await readFile(a.objectMeta, 'utf8'));
      expect(Buffer.compare(await readFile(a.file), await readFile(b.file))).toBe(0);
      expect([a.first, a.last, a.rows]).toEqual(['a/000001', 'a/000002', 2]);
    } finally {
      await cleanup(dir);
    }
  }, 30_000);
});
