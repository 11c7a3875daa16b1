import type { VersionRef } from '../../index.js';
import { openExisting } from '../open.js';
import { parseCliKey, parseCommandArgs, printJson, UsageError, type CliCommand } from '../command.js';

const usage = `isfdb diff <db> <key> <v1> <v2> [--json]

Compare two values of a key: which provenance fields of their metadata.json differ (time, git
commit, dirty flag, host, recipe params/inputs/code, ...) and whether the content changed
(compared by checksums). <v1> and <v2> are version numbers from 'isfdb history' or 'current'.
Tuple keys are written with slashes: A/1/B is the key ('A', '1', 'B').
  --json   print { "key", "a", "b", "fields": [{ "field", "a", "b" }], "contentChanged" }
Exit code 0 either way; 2 when a version does not exist.`;

/** Long values (module_list, history) shortened for the table. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const oneLine = text.replace(/\n/g, ' | ');
  return oneLine.length > 70 ? `${oneLine.slice(0, 67)}...` : oneLine;
}

export const command: CliCommand = {
  name: 'diff',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } }, { min: 4, max: 4, names: '<db> <key> <v1> <v2>' });
    const db = await openExisting(positionals[0]!, 'read');
    const key = parseCliKey(positionals[1]!);
    const refs = [positionals[2]!, positionals[3]!].map((text): VersionRef => {
      if (text === 'current') return text;
      if (!/^[1-9][0-9]*$/.test(text)) throw new UsageError(`'${text}' is not a version: use a number from 'isfdb history' or 'current'`);
      return Number(text);
    });
    const [a, b] = refs as [VersionRef, VersionRef];
    const diff = await db.diff(key, a, b);
    if (values.json) {
      printJson({ key: Array.isArray(key) ? key : [key], ...diff });
      return 0;
    }
    const lines = [`${positionals[1]}: version ${String(a)} -> version ${String(b)}`];
    lines.push(`content: ${diff.contentChanged ? 'changed' : 'unchanged'}`);
    if (diff.fields.length === 0) lines.push('provenance: identical');
    else {
      lines.push('provenance fields that differ:');
      for (const f of diff.fields) lines.push(`  ${f.field}:`, `    - ${shown(f.a)}`, `    + ${shown(f.b)}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
