import { loadSteps, startQueueWorkers } from '../../runs/index.js';
import { UsageError, numberFlag, parseCommandArgs, type CliCommand } from '../command.js';

const usage = `isfdb worker <steps.js> --redis <url> [options]

Process the queued records of every step in a steps module (enqueued by \`isfdb run --redis\`),
until SIGINT or SIGTERM. Run any number of workers, on any machines that see the database folder
at the same path. A record is reserved by one worker at a time; a killed worker's record is
retried by another after the lease.

Options:
  --redis <url>        the Redis server (required)
  --prefix <p>         Redis key prefix of the queues (default isfdb)
  --concurrency <n>    records run at once by this process (default 1)
  --lease-ms <ms>      how long a record stays reserved without renewal (default 30000)
  --quiet              no line per record`;

const flags = {
  redis: { type: 'string' },
  prefix: { type: 'string' },
  concurrency: { type: 'string' },
  'lease-ms': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

export const command: CliCommand = {
  name: 'worker',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, flags, { min: 1, max: 1, names: '<steps.js>' });
    if (typeof values.redis !== 'string') throw new UsageError('--redis <url> is required');
    const concurrency = numberFlag(values, 'concurrency', { integer: true, min: 1 });
    const leaseMs = numberFlag(values, 'lease-ms', { integer: true, min: 1000 });
    const steps = await loadSteps(positionals[0]!);
    const workers = await startQueueWorkers(steps, {
      url: values.redis,
      ...(typeof values.prefix === 'string' ? { prefix: values.prefix } : {}),
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(leaseMs === undefined ? {} : { leaseMs }),
      ...(values.quiet ? {} : { onJob: (line: string) => process.stdout.write(`${line}\n`) }),
    });
    await workers.ready();
    process.stdout.write(`worker ${process.pid}: steps ${steps.map((s) => s.name).join(', ')} on ${values.redis}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await workers.close();
    return 0;
  },
};
