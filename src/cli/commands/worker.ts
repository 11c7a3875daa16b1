import { loadSteps, startQueueWorkers } from '../../runs/index.js';
import { UsageError, numberFlag, parseCommandArgs, type CliCommand } from '../command.js';

const usage = `isfdb worker [<steps.js>] --redis <url> [--simrun] [options]

Process the queued records of every step in a steps module (enqueued by \`isfdb run --redis\`),
and with --simrun the run folders of initSimrun(raw, db, { redis }) coordinators, until SIGINT or
SIGTERM. Run any number of workers, on any machines that see the database folder (and the raw
campaign) at the same paths. A record is reserved by one worker at a time; a killed worker's record is
retried by another after the lease.

Options:
  --redis <url>        the Redis server (required)
  --prefix <p>         Redis key prefix of the queues (default isfdb)
  --concurrency <n>    records computed at once by this process (default 1)
  --batch <n|auto>     jobs held at once: finished ones are committed together while the next
                       compute; a killed worker's held jobs all run again. auto (the default)
                       holds about 0.5 s of computing (1 job for long records, up to 16 for short)
  --lease-ms <ms>      how long a record stays reserved without renewal (default 30000)
  --simrun             also parse and encode run folders for initSimrun coordinators
  --quiet              no line per record`;

const flags = {
  redis: { type: 'string' },
  prefix: { type: 'string' },
  concurrency: { type: 'string' },
  batch: { type: 'string' },
  'lease-ms': { type: 'string' },
  simrun: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

export const command: CliCommand = {
  name: 'worker',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, flags, { min: 0, max: 1, names: '[<steps.js>]' });
    if (typeof values.redis !== 'string') throw new UsageError('--redis <url> is required');
    const concurrency = numberFlag(values, 'concurrency', { integer: true, min: 1 });
    const leaseMs = numberFlag(values, 'lease-ms', { integer: true, min: 1000 });
    const batch = values.batch === 'auto' ? 'auto' : numberFlag(values, 'batch', { integer: true, min: 1 });
    if (positionals[0] === undefined && !values.simrun) throw new UsageError('give a steps module, or --simrun, or both');
    const steps = positionals[0] === undefined ? [] : await loadSteps(positionals[0]);
    const simrun = values.simrun
      ? await (await import('../../simrun.js')).startSimrunWorker({
        url: values.redis,
        ...(typeof values.prefix === 'string' ? { prefix: values.prefix } : {}),
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(leaseMs === undefined ? {} : { leaseMs }),
      })
      : undefined;
    const workers = await startQueueWorkers(steps, {
      url: values.redis,
      ...(typeof values.prefix === 'string' ? { prefix: values.prefix } : {}),
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(batch === undefined ? {} : { batch }),
      ...(leaseMs === undefined ? {} : { leaseMs }),
      ...(values.quiet ? {} : { onJob: (line: string) => process.stdout.write(`${line}\n`) }),
    });
    await Promise.all([workers.ready(), simrun?.ready()]);
    process.stdout.write(`worker ${process.pid}: steps ${steps.map((s) => s.name).join(', ') || '(none)'}${simrun ? ', initSimrun run folders' : ''} on ${values.redis}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await Promise.all([workers.close(), simrun?.close()]);
    return 0;
  },
};
