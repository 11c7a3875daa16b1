import { DataBase } from '../../index.js';
import { openExisting } from '../open.js';
import { numberFlag, parseCommandArgs, printJson, type CliCommand } from '../command.js';

const usage = `isfdb ls <db> [--depth N] [--json]

List a database's keys as a tree, with each key's loader (like ISF's db.ls()).
  --depth N   descend at most N sub-database levels (default: all)
  --json      print [{ "key": [...], "loader": "..." }, ...]`;

interface Node { name: string; loader: string; children: Node[] }

export const command: CliCommand = {
  name: 'ls',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { depth: { type: 'string' }, json: { type: 'boolean' } }, { min: 1, max: 1, names: '<db>' });
    const depth = numberFlag(values, 'depth', { integer: true, min: 0 }) ?? Infinity;
    const db = await openExisting(positionals[0]!, 'read');
    const tree = await collect(db, depth);
    if (values.json) printJson(flatten(tree, []));
    else process.stdout.write(`${db.basedir}\n${render(tree, '')}`);
    return 0;
  },
};

async function collect(db: DataBase, depth: number): Promise<Node[]> {
  const nodes: Node[] = [];
  for (const name of await db.keys()) {
    const loader = await db.loaderOf(name).catch((err: Error) => `unreadable: ${err.message}`);
    const isSubDb = loader === 'just_create_isf_db';
    if (!isSubDb || depth <= 0) {
      nodes.push({ name, loader: isSubDb ? 'sub-database' : loader, children: [] });
      continue;
    }
    // A damaged sub-database (or one refused, like a symbolic link) is shown as such; the rest is listed.
    const sub = await db.get(name).then((value) => value as DataBase, (err: Error) => err);
    if (sub instanceof Error) nodes.push({ name, loader: `sub-database, unreadable: ${sub.message}`, children: [] });
    else nodes.push({ name, loader: 'sub-database', children: await collect(sub, depth - 1) });
  }
  return nodes;
}

function render(nodes: Node[], indent: string): string {
  return nodes.map((node, i) => {
    const last = i === nodes.length - 1;
    return `${indent}${last ? '└── ' : '├── '}${node.name}  (${node.loader})\n${render(node.children, indent + (last ? '    ' : '│   '))}`;
  }).join('');
}

function flatten(nodes: Node[], prefix: string[]): Array<{ key: string[]; loader: string }> {
  return nodes.flatMap((node) => [{ key: [...prefix, node.name], loader: node.loader }, ...flatten(node.children, [...prefix, node.name])]);
}
