import path from 'node:path';
import { promises as fs } from 'node:fs';
import { DataBase } from '../../index.js';
import { parseCommandArgs, type CliCommand } from '../command.js';
import { describeValue } from '../describe.js';

const usage = `isfdb demo [<dir>]

Create a small database in <dir> (default ./demo-db, replaced if it holds a database),
store an array, a small value and a sub-database, and list them.`;

export const command: CliCommand = {
  name: 'demo',
  summary: 'build a small example database and list it',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {}, { min: 0, max: 1, names: '[<dir>]' });
    if (values.help) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    const dir = path.resolve(positionals[0] ?? 'demo-db');
    await fs.rm(dir, { recursive: true, force: true });
    const db = await DataBase.open(dir);
    await db.set('voltage', { dtype: 'float64', shape: [2, 3], data: new Float64Array([-65, -64.5, -63.9, -70, -69.2, -68.8]) });
    await db.set('params', { tau_ms: 20, seed: 7, cell: 'L5PT' });
    await db.set(['trials', '000001', 'spike_times'], new Float64Array([102.5, 140.25]));
    process.stdout.write(`database ${db.basedir} (id ${db.id})\n`);
    for (const key of await db.keys({ recurse: true })) {
      process.stdout.write(`  ${key.join('/')}: ${await db.loaderOf(key)}, ${describeValue(await db.get(key))}\n`);
    }
    return 0;
  },
};
