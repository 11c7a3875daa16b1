import { UsageError, numberFlag, parseCommandArgs, printJson, type CliCommand } from '../command.js';

const usage = `isfdb init-simrun <raw> <db> [options]

Turn a raw simulation campaign (ISF simrun output) into a self-contained database: every key
ISF's load_simrun_general.init builds, as Parquet. Parsing runs in the main thread and in worker
threads, one per idle core.

Options:
  --workers <n>                  worker threads; 0 parses in the main thread (default: full workers
                                 where the idle cores and the campaign's size pay for two or more,
                                 else one thread that parses beside the main thread, which encodes)
  --worker-heap-mb <n>           heap limit of each worker thread: lower peak memory, slower
  --no-core                      skip simresult_path, filelist, sim_trial_index, metadata
  --no-voltage-traces            skip voltage_traces
  --no-synapse-activation        skip synapse_activation and cell_activation
  --no-dendritic-voltage-traces  skip dendritic_recordings
  --no-parameterfiles            skip parameterfiles and the managed folders
  --no-spike-times               skip spike_times
  --no-dendritic-spike-times     skip dendritic_spike_times
  --dendritic-threshold <mV>     dendritic spike threshold (default -30)
  --record-failed-runs           record run folders that cannot be imported (cut-off or
                                 missing files, no trials, broken parameter files) in
                                 failed_runs and import the rest, instead of failing
  --path-map <OLD=NEW>           read the absolute paths parameter files name under OLD from
                                 NEW instead (a campaign copied from a cluster); repeatable

The database is created only once the campaign has been scanned and checked.
  --quiet                        no progress bar
  --json                         print the report as JSON`;

const flags = {
  workers: { type: 'string' },
  'worker-heap-mb': { type: 'string' },
  'no-core': { type: 'boolean' },
  'no-voltage-traces': { type: 'boolean' },
  'no-synapse-activation': { type: 'boolean' },
  'no-dendritic-voltage-traces': { type: 'boolean' },
  'no-parameterfiles': { type: 'boolean' },
  'no-spike-times': { type: 'boolean' },
  'no-dendritic-spike-times': { type: 'boolean' },
  'dendritic-threshold': { type: 'string' },
  'record-failed-runs': { type: 'boolean' },
  'path-map': { type: 'string', multiple: true },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
} as const;

export const command: CliCommand = {
  name: 'init-simrun',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, flags, { min: 2, max: 2, names: '<raw> <db>' });
    const workers = numberFlag(values, 'workers', { integer: true, min: 0 });
    const heap = numberFlag(values, 'worker-heap-mb', { integer: true, min: 0 });
    const threshold = numberFlag(values, 'dendritic-threshold');
    const pathMap = ((values['path-map'] ?? []) as unknown as string[]).map((m) => {
      const at = m.indexOf('=');
      if (at <= 0 || at === m.length - 1) throw new UsageError(`--path-map takes OLD=NEW, got '${m}'`);
      return [m.slice(0, at), m.slice(at + 1)] as [string, string];
    });
    // the simrun subpath, loaded only by the commands that need it
    const { initSimrun } = await import('../../simrun.js');
    const report = await initSimrun(positionals[0]!, positionals[1]!, {
      pathMap,
      core: !values['no-core'],
      voltageTraces: !values['no-voltage-traces'],
      synapseActivation: !values['no-synapse-activation'],
      dendriticVoltageTraces: !values['no-dendritic-voltage-traces'],
      parameterfiles: !values['no-parameterfiles'],
      spikeTimes: !values['no-spike-times'],
      dendriticSpikeTimes: !values['no-dendritic-spike-times'],
      recordFailedRuns: values['record-failed-runs'] === true,
      quiet: values.quiet === true,
      ...(workers === undefined ? {} : { workers }),
      ...(heap === undefined ? {} : { workerHeapMb: heap }),
      ...(threshold === undefined ? {} : { dendriticSpikeTimesThreshold: threshold }),
    });
    if (values.json) printJson(report);
    else {
      process.stdout.write(`${report.campaign} -> ${positionals[1]!}: ${report.folders} run folders, ${report.trials} trials, `
        + `${(report.bytes / 1e6).toFixed(1)} MB in ${(report.elapsedMs / 1000).toFixed(2)} s `
        + `(${(report.bytes / 1e6 / Math.max(0.001, report.elapsedMs / 1000)).toFixed(1)} MB/s, ${report.parsing}${report.parsingReason ? `: ${report.parsingReason}` : ''})\n`);
      if (report.failedRuns > 0) process.stdout.write(`${report.failedRuns} run folder(s) recorded in failed_runs\n`);
      if (report.missingFiles.length > 0) {
        process.stdout.write('referenced files still missing (add --path-map OLD=NEW for their prefix):\n');
        for (const g of report.missingFiles) process.stdout.write(`  ${g.prefix}/: ${g.files.join(', ')}\n`);
      }
    }
    return 0;
  },
};
