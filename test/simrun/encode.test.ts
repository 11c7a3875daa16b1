import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stageTrace } from '../../initializers/simrun/encode.js';
import { timeLabels } from '../../initializers/simrun/tables.js';
import { cleanup, tempDir } from './helpers.js';

describe('staged encoding', () => {
  it('a wide voltage partition: float time labels in object_meta.json, index bounds for the divisions', async () => {
    const dir = await tempDir('encode');
    try {
      const n = 1500;
      const time = Float64Array.from({ length: n }, (_, k) => 100 + k * 0.025);
      const values = Float64Array.from({ length: n * 2 }, (_, k) => -65 + (k % 7));
      const ids = new TextEncoder().encode('a/000001a/000002');
      const index = { data: ids, offsets: Int32Array.from([0, 8, 16]) };
      const labels = timeLabels(time);
      const staged = await stageTrace(index, { time, values, nCols: 2, file: "x" }, path.join(dir, "a"), "k", labels);
      const meta = JSON.parse(staged.objectMeta) as { columns: string[]; column_name_dtypes: string[] };
      expect(meta.columns).toEqual(labels);
      expect(new Set(meta.column_name_dtypes)).toEqual(new Set(['float64']));
      expect([staged.first, staged.last, staged.rows]).toEqual(['a/000001', 'a/000002', 2]);
    } finally {
      await cleanup(dir);
    }
  }, 30_000);
});
