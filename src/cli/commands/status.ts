import { DataBase } from '../../index.js';
import { statusRows, summarize } from '../../runs/index.js';
import { parseCommandArgs, printJson, type CliCommand } from '../command.js';

const usage = `isfdb status <db> [step] [--json]

The status of every record of a step (or of every step that ran in the database): ready,
missing-input, running, done, stale or error (with the message and the attempts).

Options:
  --all     list every record, not only those that are not done
  --json    every record as JSON`;

export const command: CliCommand = {
  name: 'status',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' }, all: { type: 'boolean' } }, { min: 1, max: 2, names: '<db> [step]' });
    const db = await DataBase.open(positionals[0]!, { readonly: true });
    const rows = await statusRows(db, positionals[1]);
    if (values.json) {
      printJson(rows);
      return 0;
    }
    const steps = [...new Set(rows.map((r) => r.step))];
    if (steps.length === 0) process.stdout.write('no step ran in this database\n');
    for (const step of steps) {
      const mine = rows.filter((r) => r.step === step);
      const counts = summarize(mine);
      process.stdout.write(`${step}: ${mine.length} records: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ')}\n`);
      for (const r of mine) {
        if (!values.all && r.status === 'done') continue;
        process.stdout.write(`  ${r.record}  ${r.status}${r.attempts > 0 ? ` (${r.attempts} attempt${r.attempts === 1 ? '' : 's'})` : ''}${r.message ? `: ${r.message.split('\n')[0]}` : ''}\n`);
      }
    }
    return 0;
  },
};
