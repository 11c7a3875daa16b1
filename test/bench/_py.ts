import { Table, vectorFromArray, Utf8, makeVector } from "apache-arrow";
import { mkdirSync } from 'node:fs';
import { loader } from '../../loaders/pandas_to_parquet.js';
import { withIndex } from '../../loaders/parquet/frame.js';
const dir = '/tmp/pyk'; mkdirSync(dir, { recursive: true });
const n = 5000;
const t = withIndex(new Table({
  sim_trial_index: vectorFromArray(Array.from({ length: n }, (_, i) => `run/${String(i).padStart(6, '0')}`), new Utf8()),
  '0.0': makeVector(Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? NaN : i % 17))),
  '0.025': makeVector(Float64Array.from({ length: n }, (_, i) => Math.sin(i))),
  '0.05': makeVector(Int32Array.from({ length: n }, (_, i) => i % 4)),
}), 'sim_trial_index');
const ctx = { key: 'k', basedir: dir, readonly: false, createDatabase: async () => undefined, openDatabase: async () => undefined };
await loader.dump(t, dir, ctx, { columnLabelTypes: { '0.0': 'float', '0.025': 'float', '0.05': 'float' } });
