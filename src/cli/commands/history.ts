import { KeyNotFoundError, formatKey } from '../../index.js';
import { openExisting } from '../open.js';
import { parseCliKey, parseCommandArgs, printJson, type CliCommand } from '../command.js';

const usage = `isfdb history <db> <key> [--json]

List the kept versions of a key (oldest first) and its current value, with their provenance:
version number, write time (UTC), git commit and dirty flag of the writing code, loader,
size, and content checksum. Versions are kept when the database (or the write) uses
keepVersions: N; read one with db.get(key, { version }) and bring it back with db.restore.
Tuple keys are written with slashes: A/1/B is the key ('A', '1', 'B').
  --json   print [{ "version", "current", "time", "gitCommit", "gitVersion", "dirty", "loader", "size", "checksum", "recipe", "folder" }, ...]
Exit code 1 when the key has neither a current value nor kept versions.`;

export const command: CliCommand = {
  name: 'history',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } }, { min: 2, max: 2, names: '<db> <key>' });
    const db = await openExisting(positionals[0]!, 'read');
    const key = parseCliKey(positionals[1]!);
    const versions = await db.history(key);
    // No current value and no kept version: the key does not exist (a typo, most often).
    if (versions.length === 0) throw new KeyNotFoundError(formatKey(key), db.basedir);
    if (values.json) {
      printJson(versions);
      return 0;
    }
    const rows = versions.map((v) => [
      String(v.version),
      v.time ?? '-',
      v.gitCommit === null ? '-' : v.gitCommit.slice(0, 12),
      v.dirty === null ? '-' : v.dirty ? 'dirty' : 'clean',
      v.loader,
      String(v.size),
      v.checksum === null ? '-' : v.checksum.slice(0, 19),
    ]);
    const header = ['version', 'time (UTC)', 'commit', 'tree', 'loader', 'bytes', 'checksum'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
    return 0;
  },
};
