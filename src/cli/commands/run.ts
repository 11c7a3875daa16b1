import fs from 'node:fs';
import { DataBase } from '../../index.js';
import { lastRecords, loadStep, type RecordValue } from '../../runs/index.js';
import { UsageError, numberFlag, parseCliKey, parseCommandArgs, printJson, type CliCommand } from '../command.js';
import { progressLine } from '../progress-line.js';

const usage = `isfdb run <db> <steps.js> [step] [options]

Run a step of a steps module (a file exporting defineStep(...) values) over records: the records
whose result is missing or stale run in worker processes; each result is committed as its own key.
A second run does only what is left. The step may be omitted when the module defines one.

Options:
  --records <a,b,c | @file>  the records: a comma-separated list, or a file with one per line
  --records-key <key>        a key whose value lists the records (e.g. sim_trial_index; A/1/B for tuple keys)
                             (default: the records of the step's last run in this database)
  --workers <n>              worker processes (default: cores, at most 8; 0: in this process)
  --batch <n>                records handed to each worker at once, committed together (default 16)
  --force                    recompute every record
  --ignore-missing           skip records whose inputs are missing instead of refusing the run
  --attempts <n>             tries per record before it is marked error (default 3)
  --redis <url>              enqueue on a BullMQ queue at this Redis instead; \`isfdb worker\` processes run it
  --prefix <p>               Redis key prefix of the queue (default isfdb)
  --quiet                    no progress line
  --json                     print the report as JSON`;

const flags = {
  records: { type: 'string' },
  'records-key': { type: 'string' },
  workers: { type: 'string' },
  batch: { type: 'string' },
  force: { type: 'boolean' },
  'ignore-missing': { type: 'boolean' },
  attempts: { type: 'string' },
  redis: { type: 'string' },
  prefix: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
} as const;

function recordsFrom(text: string): string[] {
  const list = text.startsWith('@') ? fs.readFileSync(text.slice(1), 'utf8').split('\n') : text.split(',');
  return list.map((r) => r.trim()).filter((r) => r !== '');
}

export const command: CliCommand = {
  name: 'run',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, flags, { min: 2, max: 3, names: '<db> <steps.js> [step]' });
    const workers = numberFlag(values, 'workers', { integer: true, min: 0 });
    const attempts = numberFlag(values, 'attempts', { integer: true, min: 1 });
    const batch = numberFlag(values, 'batch', { integer: true, min: 1 });
    if (values.records !== undefined && values['records-key'] !== undefined) throw new UsageError('give --records or --records-key, not both');
    const db = await DataBase.open(positionals[0]!, { nocreate: true });
    const step = await loadStep(positionals[1]!, positionals[2]);
    let records: readonly RecordValue[] | { key: string | string[] } | undefined;
    if (typeof values.records === 'string') records = recordsFrom(values.records);
    else if (typeof values['records-key'] === 'string') records = { key: parseCliKey(values['records-key']) };
    else {
      records = await lastRecords(db, step.name);
      if (records === undefined) throw new UsageError(`step '${step.name}' never ran in ${db.basedir}: give --records or --records-key`);
    }
    const bar = progressLine(values.quiet === true || values.json === true);
    const redis = typeof values.redis === 'string' ? { url: values.redis, ...(typeof values.prefix === 'string' ? { prefix: values.prefix } : {}) } : undefined;
    const report = await db.run(step, {
      records,
      force: values.force === true,
      ignoreMissing: values['ignore-missing'] === true,
      onProgress: (p) => bar.update(p),
      ...(workers === undefined ? {} : { workers }),
      ...(attempts === undefined ? {} : { attempts }),
      ...(batch === undefined ? {} : { batch }),
      ...(redis === undefined ? {} : { redis }),
    }).finally(() => bar.end());
    if (values.json) printJson(report);
    else {
      process.stdout.write(`${step.name}: ${report.total} records, ${report.alreadyDone} already done, ${report.done} done now (${report.computed} computed), `
        + `${report.errors} error, ${report.missingInput} missing input, in ${(report.elapsedMs / 1000).toFixed(2)} s (${report.rate.toFixed(1)} records/s)\n`);
      for (const f of report.failures.slice(0, 10)) process.stdout.write(`  error ${f.record} after ${f.attempts} attempt(s): ${f.message}\n`);
      if (report.failures.length > 10) process.stdout.write(`  ... ${report.failures.length - 10} more (isfdb status ${positionals[0]} ${step.name})\n`);
    }
    return report.errors > 0 ? 1 : 0;
  },
};
