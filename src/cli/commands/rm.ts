import { openExisting } from '../open.js';
import { parseCliKey, parseCommandArgs, type CliCommand } from '../command.js';

const usage = `isfdb rm <db> <key> [<key> ...]

Delete keys (a sub-database with everything in it). Tuple keys are written A/1/B.`;

export const command: CliCommand = {
  name: 'rm',
  usage,
  async run(args) {
    const { positionals } = parseCommandArgs(args, {}, { min: 2, max: Infinity, names: '<db> <key> [<key> ...]' });
    const db = await openExisting(positionals[0]!, 'write');
    for (const text of positionals.slice(1)) {
      await db.delete(parseCliKey(text));
      process.stdout.write(`deleted ${text}\n`);
    }
    return 0;
  },
};
