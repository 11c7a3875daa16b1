import path from 'node:path';
import { readdir } from 'node:fs/promises';
import { UsageError, numberFlag, parseCommandArgs, printJson, type CliCommand } from '../command.js';

const usage = `isfdb gen-simrun <dir> [options]

Write a seeded, deterministic synthetic simulation campaign in ISF's raw simrun format
(run folders nested and at the root, old and new folder names, non-consecutive trial numbers,
parameter files with their referenced files, dendritic traces, a _running folder to skip).

Options:
  --trials <n>             number of trials (default 20)
  --trials-per-folder <n>  trials per run folder (default 5)
  --time-points <n>        time points per trace (default 400)
  --synapses <n>           active synapses per trial, on average (default 40)
  --cells <n>              spiking presynaptic cells per trial, on average (default 20)
  --sites <n>              dendritic recording sites (default 2)
  --seed <n>               random seed (default 1)
  --activations <kind>     realistic (default: one fixed network, as real ISF output) or
                           random (every time and distance distinct: the worst case for size)
  --npz                    the NPZ variant (*_vm_all_traces.npz instead of CSV)
  --json                   print the summary as JSON`;

const flags = {
  trials: { type: 'string' },
  'trials-per-folder': { type: 'string' },
  'time-points': { type: 'string' },
  synapses: { type: 'string' },
  cells: { type: 'string' },
  sites: { type: 'string' },
  seed: { type: 'string' },
  activations: { type: 'string' },
  npz: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export const command: CliCommand = {
  name: 'gen-simrun',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, flags, { min: 1, max: 1, names: '<dir>' });
    const dir = path.resolve(positionals[0]!);
    const existing = await readdir(dir).catch(() => []);
    if (existing.length > 0) throw new UsageError(`${dir} is not empty`);
    const activations = values.activations;
    if (activations !== undefined && activations !== 'realistic' && activations !== 'random') {
      throw new UsageError(`--activations is realistic or random, not '${activations}'`);
    }
    const opts = {
      trials: numberFlag(values, 'trials', { integer: true, min: 1 }),
      trialsPerFolder: numberFlag(values, 'trials-per-folder', { integer: true, min: 1 }),
      timePoints: numberFlag(values, 'time-points', { integer: true, min: 2 }),
      synapsesPerTrial: numberFlag(values, 'synapses', { integer: true, min: 1 }),
      cellsPerTrial: numberFlag(values, 'cells', { integer: true, min: 1 }),
      dendriticSites: numberFlag(values, 'sites', { integer: true, min: 0 }),
      seed: numberFlag(values, 'seed', { integer: true, min: 0 }),
    };
    const { generateCampaign } = await import('../../simrun.js');
    const summary = await generateCampaign(dir, {
      ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
      format: values.npz ? 'npz' : 'csv',
      ...(activations !== undefined ? { activations } : {}),
    });
    if (values.json) printJson(summary);
    else process.stdout.write(`${dir}: ${summary.trials} trials in ${summary.runFolders.length} run folders, ${(summary.bytes / 1e6).toFixed(1)} MB of traces and activations\n`);
    return 0;
  },
};
