/**
 * Child for the EMFILE test: `set` of one key of `<count>` files (durable), run under a low
 * `ulimit -n`. Prints `ok <files>` when the key reads back whole.
 */
import fsSync from 'node:fs';
import path from 'node:path';
import { DataBase, registerLoader, type Loader } from '../../src/index.js';

const [dir, countText] = process.argv.slice(2);
const count = Number(countText);

const manyFiles: Loader<number> = {
  name: 'test_many_files',
  kind: 'data',
  canDump: (value) => typeof value === 'number',
  async dump(n, target, ctx) {
    fsSync.mkdirSync(path.join(target, 'parts'));
    for (let i = 0; i < n; i++) {
      const file = path.join(target, 'parts', `p${i}.txt`);
      // Half through the commit's writer (hashed while written), half behind its back (hashed at commit).
      if (i % 2 === 0 && ctx.writeFile !== undefined) ctx.writeFile(file, `part ${i}\n`);
      else fsSync.writeFileSync(file, `part ${i}\n`);
    }
  },
  async load(target) {
    return fsSync.readdirSync(path.join(target, 'parts')).length;
  },
};
registerLoader(manyFiles);

const db = await DataBase.open(dir!, { fsync: true });
await db.set('many', count, 'test_many_files');
const files = await db.get('many');
const report = await db.verify('many');
process.stdout.write(`ok ${String(files)} ${report.ok ? 'verified' : JSON.stringify(report.findings.slice(0, 3))}\n`);
