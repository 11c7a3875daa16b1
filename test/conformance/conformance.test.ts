/** The loader conformance suite, on a top-level database and again on a sub-database. */
import path from 'node:path';
import { DataBase } from '../../src/index.js';
import { defineLoaderConformance } from './suite.js';

defineLoaderConformance('top-level database', (tmp) => DataBase.open(path.join(tmp, 'top')));

defineLoaderConformance('sub-database', async (tmp) => {
  const top = await DataBase.open(path.join(tmp, 'top'));
  const sub = await top.createSubDb('sub');
  if (sub.basedir !== path.join(tmp, 'top', 'sub', 'db')) throw new Error(`sub-database at ${sub.basedir}`);
  return sub;
});
