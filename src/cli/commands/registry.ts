import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataBase, Registry, type RegistryEntry } from '../../index.js';
import { parseCommandArgs, printJson, UsageError, type CliCommand } from '../command.js';

const usage = `isfdb registry list [--json]
isfdb registry resolve <id> [--json]
isfdb registry prune [--dry-run] [--json]

The registry maps database ids to folders ($ISFDB_REGISTRY, else ~/.isf-data-base/registry).
  list        every registered id and its folder
  resolve     the folder of one id (checks that the database there carries the id)
  prune       remove dead entries: the folder is gone, holds no database, or holds a database
              with another id; and unreadable entry files. Entries of databases that exist but
              cannot be read now (permissions, a damaged db_state.json) are kept and reported.
  --dry-run   (prune) print what would be removed, remove nothing
Exit code of list: 1 when some entry file is unreadable.`;

interface PruneRow { id: string; path: string | null; reason: string }

export const command: CliCommand = {
  name: 'registry',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' }, 'dry-run': { type: 'boolean' } }, { min: 1, max: 2, names: 'list | resolve <id> | prune' });
    const registry = Registry.default();
    const [action, id] = positionals;
    if (values['dry-run'] && action !== 'prune') throw new UsageError('--dry-run goes with prune only');
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
    if (action === 'prune' && id === undefined) return prune(registry, values['dry-run'] === true, values.json === true);
    throw new UsageError(`unknown registry action '${positionals.join(' ')}'`);
  },
};

async function prune(registry: Registry, dryRun: boolean, json: boolean): Promise<number> {
  const { entries, broken } = await registry.list();
  const removed: PruneRow[] = broken.map((err) => ({ id: path.basename(err.file, '.json'), path: null, reason: `unreadable entry file: ${err.reason}` }));
  const kept: PruneRow[] = [];
  for (const entry of entries) {
    try {
      const reason = await deadReason(entry, registry);
      if (reason !== undefined) removed.push({ id: entry.id, path: entry.path, reason });
    } catch (err) {
      kept.push({ id: entry.id, path: entry.path, reason: `kept, cannot check it now: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  if (!dryRun) {
    for (const row of removed) {
      // Registered again (moved, re-opened) since we looked: no longer dead.
      const now = await registry.lookup(row.id).catch(() => null);
      if (row.path !== null && now !== row.path) continue;
      await registry.unregister(row.id);
    }
  }
  if (json) {
    printJson({ registry: registry.dir, dryRun, removed, kept, entriesLeft: entries.length + broken.length - (dryRun ? 0 : removed.length) });
    return 0;
  }
  const verb = dryRun ? 'would remove' : 'removed';
  for (const row of removed) process.stdout.write(`${verb} ${row.id}\t${row.path ?? '-'}\t(${row.reason})\n`);
  for (const row of kept) process.stderr.write(`${row.id}\t${row.path ?? '-'}\t(${row.reason})\n`);
  process.stdout.write(`${registry.dir}: ${removed.length} dead entr${removed.length === 1 ? 'y' : 'ies'} ${dryRun ? 'found (--dry-run: nothing removed)' : 'removed'}, ${entries.length + broken.length - removed.length} left\n`);
  return 0;
}

/**
 * Why an entry is dead, or undefined when its database is there. Only a definite answer counts as
 * dead: a folder that cannot be read now (permissions, an unmounted share) throws, and is kept.
 */
async function deadReason(entry: RegistryEntry, registry: Registry): Promise<string | undefined> {
  const missing = (err: NodeJS.ErrnoException): undefined => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  };
  if ((await fs.stat(entry.path).catch(missing)) === undefined) return 'the folder is gone';
  if ((await fs.stat(path.join(entry.path, 'db_state.json')).catch(missing)) === undefined) return 'the folder holds no database (no db_state.json)';
  const db = await DataBase.open(entry.path, { readonly: true, registry });
  return db.id === entry.id ? undefined : `the database there has another id, '${db.id}'`;
}
