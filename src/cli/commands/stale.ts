import { formatKey } from '../../index.js';
import { openExisting } from '../open.js';
import { parseCommandArgs, printJson, type CliCommand } from '../command.js';

const usage = `isfdb stale <db> [--json] [--exit-code]

List every key computed by maybeCalculate whose recorded inputs changed since it was computed,
transitively (a key computed from a stale key is stale), with the reason: which input changed,
disappeared, or is itself stale. Parameters and code cannot be checked here (they are known
only to the calling program); maybeCalculate checks them when it is called.
  --json        print [{ "key": [...], "reasons": [{ "input", "kind", "recorded", "current", "message" }] }]
  --exit-code   exit with 1 when some key is stale (for scripts and CI)`;

export const command: CliCommand = {
  name: 'stale',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' }, 'exit-code': { type: 'boolean' } }, { min: 1, max: 1, names: '<db>' });
    const db = await openExisting(positionals[0]!, 'read');
    const stale = await db.stale();
    if (values.json) printJson(stale);
    else if (stale.length === 0) process.stdout.write('no stale keys\n');
    else {
      const lines: string[] = [];
      for (const entry of stale) {
        lines.push(`${formatKey(entry.key)}`);
        for (const reason of entry.reasons) lines.push(`  ${reason.kind}: ${reason.message}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return values['exit-code'] && stale.length > 0 ? 1 : 0;
  },
};
