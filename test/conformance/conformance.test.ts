/**
 * The loader conformance suite, on a top-level database, on a sub-database, and on databases
 * opened with the options that change the write path: `fsync: false` and `keepVersions: 2`.
 */
import path from 'node:path';
import { DataBase } from '../../src/index.js';
import { defineLoaderConformance } from './suite.js';
// Registers the Parquet loaders' cases (and the to_msgpack default) into the suite.
import './parquet-cases.js';

defineLoaderConformance('top-level database', (tmp) => DataBase.open(path.join(tmp, 'top')));

defineLoaderConformance('sub-database', async (tmp) => {
  const top = await DataBase.open(path.join(tmp, 'top'));
  const sub = await top.createSubDb('sub');
  if (sub.basedir !== path.join(tmp, 'top', 'sub', 'db')) throw new Error(`sub-database at ${sub.basedir}`);
  return sub;
});

defineLoaderConformance('database opened with fsync: false', (tmp) => DataBase.open(path.join(tmp, 'nosync'), { fsync: false }));

defineLoaderConformance('database opened with keepVersions: 2', (tmp) => DataBase.open(path.join(tmp, 'versions'), { keepVersions: 2 }), undefined, { keepVersions: 2 });
