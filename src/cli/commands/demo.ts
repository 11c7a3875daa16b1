import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { DataBase, Registry, generateCampaign, initSimrun } from '../../index.js';
import { UsageError, numberFlag, parseCommandArgs, type CliCommand } from '../command.js';
import { summarize } from '../summary.js';

/** Marks a folder as made by this command, so that a later run may replace it (and nothing else). */
const DEMO_MARKER = '.isfdb-demo';

const usage = `isfdb demo [<dir>] [--raw <campaign>] [--trials <n>] [--quiet]

The main job, end to end: generate a small synthetic simulation campaign (or use --raw), turn it
into a database in <dir> (default ./demo-db) with initSimrun, and list the keys with their shapes
and a few figures.

<dir> must be absent, empty, or a database an earlier 'isfdb demo' made (it carries a ${DEMO_MARKER}
file): only that is replaced. Any other folder, the working folder or a folder above it, and
the campaign given with --raw (or a folder inside or around it) are refused.`;

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
    await refuseUnsafeTarget(dir, raw);
    if (raw === undefined) {
      generated = await fs.mkdtemp(path.join(os.tmpdir(), 'isfdb-demo-campaign-'));
      const summary = await generateCampaign(generated, { trials, trialsPerFolder: 10, timePoints: 2001, synapsesPerTrial: 300, cellsPerTrial: 150, seed: 1 });
      process.stdout.write(`generated a campaign of ${summary.trials} trials in ${summary.runFolders.length} run folders (${(summary.bytes / 1e6).toFixed(1)} MB) in ${generated}\n`);
      raw = generated;
    }
    try {
      await replaceEarlierDemo(dir);
      const db = await DataBase.open(dir);
      await fs.writeFile(path.join(dir, DEMO_MARKER), `${JSON.stringify({ made_by: 'isfdb demo', id: db.id, created: new Date().toISOString() })}\n`);
      const report = await initSimrun(raw, db, { quiet: values.quiet === true });
      process.stdout.write(`\ndatabase ${db.basedir} (id ${db.id})\n`);
      for (const key of await db.keys({ recurse: true })) {
        const loader = await db.loaderOf(key);
        process.stdout.write(`  ${key.join('/')}: ${loader}, ${(await summarize(await db.get(key), loader)).shape}\n`);
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

/** Is `inner` the folder `outer` or inside it? (Both absolute and resolved.) */
function isWithin(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest. */
async function realPathOf(p: string): Promise<string> {
  const resolved = path.resolve(p);
  try {
    return await fs.realpath(resolved);
  } catch {
    const parent = path.dirname(resolved);
    return parent === resolved ? resolved : path.join(await realPathOf(parent), path.basename(resolved));
  }
}

/** Refuse targets whose replacement could destroy something the user has (see the usage text). */
async function refuseUnsafeTarget(dir: string, raw: string | undefined): Promise<void> {
  const real = await realPathOf(dir);
  const stat = await fs.lstat(dir).catch(() => undefined);
  if (stat?.isSymbolicLink()) throw new UsageError(`refusing to use ${dir}: it is a symbolic link; name the folder itself`);
  if (isWithin(await realPathOf(process.cwd()), real)) {
    throw new UsageError(`refusing to use ${dir}: it is the working folder or holds it; name a new folder, e.g. ./demo-db`);
  }
  if (raw !== undefined) {
    const campaign = await realPathOf(raw);
    if (isWithin(real, campaign) || isWithin(campaign, real)) {
      throw new UsageError(`refusing to use ${dir}: it is, holds or lies inside the campaign ${path.resolve(raw)} given with --raw; name another folder`);
    }
  }
  if (stat === undefined) return;
  if (!stat.isDirectory()) throw new UsageError(`refusing to use ${dir}: it is a file, not a folder`);
  const entries = await fs.readdir(dir);
  if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
    throw new UsageError(`refusing to replace ${dir}: it is not empty and was not made by isfdb demo (no ${DEMO_MARKER} file in it); name a new or empty folder`);
  }
}

/** Remove the database an earlier demo made in `dir` (refuseUnsafeTarget checked its marker), and its registry entries. */
async function replaceEarlierDemo(dir: string): Promise<void> {
  if (!(await fs.access(path.join(dir, DEMO_MARKER)).then(() => true, () => false))) return;
  const registry = Registry.default();
  const stateFiles = (await fs.readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile() && entry.name === 'db_state.json');
  for (const entry of stateFiles) {
    const db = await DataBase.open(entry.parentPath, { readonly: true }).catch(() => undefined);
    if (db !== undefined && db.id !== '' && (await registry.lookup(db.id).catch(() => undefined)) === db.basedir) {
      await registry.unregister(db.id);
    }
  }
  await fs.rm(dir, { recursive: true, force: true });
}
