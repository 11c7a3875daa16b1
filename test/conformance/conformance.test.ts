/**
 * The loader conformance suite, on a top-level database and again on a sub-database; the
 * Parquet cases once more on a database with fsync: false and keepVersions: 2.
 */
import path from 'node:path';
import { DataBase } from '../../src/index.js';
import { defineLoaderConformance } from './suite.js';
import { parquetCases } from './parquet-cases.js';

defineLoaderConformance('top-level database', (tmp) => DataBase.open(path.join(tmp, 'top')));

defineLoaderConformance('sub-database', async (tmp) => {
  const top = await DataBase.open(path.join(tmp, 'top'));
  const sub = await top.createSubDb('sub');
  if (sub.basedir !== path.join(tmp, 'top', 'sub', 'db')) throw new Error(`sub-database at ${sub.basedir}`);
  return sub;
});

defineLoaderConformance('fsync false, keepVersions 2 (Parquet)', (tmp) => DataBase.open(path.join(tmp, 'nosync'), { fsync: false, keepVersions: 2 }), parquetCases);
