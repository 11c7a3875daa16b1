import { DataBase, Registry } from '../../index.js';
import { parseCommandArgs, printJson, UsageError, type CliCommand } from '../command.js';

const usage = `isfdb registry list [--json]
isfdb registry resolve <id> [--json]

The registry maps database ids to folders ($ISFDB_REGISTRY, else ~/.isf-data-base/registry).
  list      every registered id and its folder
  resolve   the folder of one id (checks that the database there carries the id)`;

export const command: CliCommand = {
  name: 'registry',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } }, { min: 1, max: 2, names: 'list | resolve <id>' });
    const registry = Registry.default();
    const [action, id] = positionals;
    if (action === 'list' && id === undefined) {
      const { entries, broken } = await registry.list();
      if (values.json) printJson({ registry: registry.dir, entries, broken: broken.map((err) => err.message) });
      else {
        for (const entry of entries) process.stdout.write(`${entry.id}\t${entry.path}\n`);
        for (const err of broken) process.stderr.write(`unreadable entry: ${err.message}\n`);
      }
      return broken.length > 0 ? 1 : 0;
    }
    if (action === 'resolve' && id !== undefined) {
      const db = await DataBase.byId(id, { readonly: true });
      if (values.json) printJson({ id, path: db.basedir });
      else process.stdout.write(`${db.basedir}\n`);
      return 0;
    }
    throw new UsageError(`unknown registry action '${positionals.join(' ')}'`);
  },
};
