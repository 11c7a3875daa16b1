/** Sub-databases: a full database in the key folder's `db/`. */
import path from 'node:path';
import { SUBDB_FOLDER } from '../src/ondisk.js';
import type { Loader } from './types.js';


export const loader: Loader<undefined> = {
  name: 'just_create_isf_db',
  kind: 'database',
  canDump: () => false,
  async dump(_value, dir, ctx) {
    await ctx.createDatabase(path.join(dir, SUBDB_FOLDER));
  },
  async load(dir, _loaderJson, ctx) {
    return ctx.openDatabase(path.join(dir, SUBDB_FOLDER));
  },
};
