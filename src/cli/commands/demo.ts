import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { DataBase, generateCampaign, initSimrun } from '../../index.js';
import { numberFlag, parseCommandArgs, type CliCommand } from '../command.js';
import { describeValue } from '../describe.js';

const usage = `isfdb demo [<dir>] [--raw <campaign>] [--trials <n>] [--quiet]

The main job, end to end: generate a small synthetic simulation campaign (or use --raw), turn it
into a database in <dir> (default ./demo-db, replaced if it holds a database) with initSimrun,
and list the keys with their shapes and a few figures.`;

interface FrameLike {
  numPartitions: number;
  schema: { fields: { name: string }[] };
  readPartition(i: number, o?: { columns?: string[] }): Promise<{ numRows: number }>;
}

function isFrame(v: unknown): v is FrameLike {
  return typeof v === 'object' && v !== null && 'numPartitions' in v && 'readPartition' in v;
}

async function shapeOf(value: unknown, loader: string): Promise<string> {
  if (isFrame(value)) {
    let rows = 0;
    for (let i = 0; i < value.numPartitions; i++) rows += (await value.readPartition(i, { columns: [] })).numRows;
    return `partitioned table ${rows} rows x ${value.schema.fields.length - 1} columns in ${value.numPartitions} partitions`;
  }
  if (loader === 'just_create_folder' && typeof value === 'string') {
    const files = (await fs.readdir(value, { recursive: true, withFileTypes: true }).catch(() => []))
      .filter((e) => e.isFile() && e.name !== 'Loader.json' && e.name !== 'metadata.json');
    return `managed folder, ${files.length} file(s)`;
  }
  if (typeof value === 'string') return JSON.stringify(value);
  return describeValue(value);
}

export const command: CliCommand = {
  name: 'demo',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      raw: { type: 'string' },
      trials: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
    }, { min: 0, max: 1, names: '[<dir>]' });
    const dir = path.resolve(positionals[0] ?? 'demo-db');
    const trials = numberFlag(values, 'trials', { integer: true, min: 1 }) ?? 60;
    let raw = values.raw as string | undefined;
    let generated: string | undefined;
    if (raw === undefined) {
      generated = await fs.mkdtemp(path.join(os.tmpdir(), 'isfdb-demo-campaign-'));
      const summary = await generateCampaign(generated, { trials, trialsPerFolder: 10, timePoints: 2001, synapsesPerTrial: 300, cellsPerTrial: 150, seed: 1 });
      process.stdout.write(`generated a campaign of ${summary.trials} trials in ${summary.runFolders.length} run folders (${(summary.bytes / 1e6).toFixed(1)} MB) in ${generated}\n`);
      raw = generated;
    }
    try {
      await fs.rm(dir, { recursive: true, force: true });
      const db = await DataBase.open(dir);
      const report = await initSimrun(raw, db, { quiet: values.quiet === true });
      process.stdout.write(`\ndatabase ${db.basedir} (id ${db.id})\n`);
      for (const key of await db.keys({ recurse: true })) {
        process.stdout.write(`  ${key.join('/')}: ${await db.loaderOf(key)}, ${await shapeOf(await db.get(key), await db.loaderOf(key))}\n`);
      }
      const seconds = report.elapsedMs / 1000;
      process.stdout.write(`\n${report.trials} trials from ${report.folders} run folders, ${report.timePoints} time points, ${report.spikes} somatic spikes\n`);
      process.stdout.write(`${(report.bytes / 1e6).toFixed(1)} MB parsed in ${seconds.toFixed(2)} s (${(report.bytes / 1e6 / Math.max(seconds, 0.001)).toFixed(1)} MB/s, parsing: ${report.parsing})\n`);
      if (generated !== undefined) {
        process.stdout.write('the generated campaign is removed now: the database keeps its own copies of the parameter files and what they reference (reldb:// paths)\n');
      }
      return 0;
    } finally {
      if (generated !== undefined) await fs.rm(generated, { recursive: true, force: true });
    }
  },
};
