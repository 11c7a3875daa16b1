/** `npm run bench`: every benchmark of the project, each printing its figures and ratios. */
import { benchCore } from './core.js';
import { benchDataFrames } from './dataframes.js';
import { benchSimrun } from './simrun.js';
import { benchRuns } from './runs.js';
import { benchQuery } from './query.js';
import { benchViewer } from './viewer.js';

const quick = process.argv.includes('--quick');
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);

const BENCHMARKS: Array<[string, (opts: { quick: boolean }) => Promise<void>]> = [
  ['core', benchCore],
  ['dataframes', benchDataFrames],
  ['simrun', benchSimrun],
  ['runs', benchRuns],
  ['query', benchQuery],
  ['viewer', benchViewer],
];

for (const [name, run] of BENCHMARKS) {
  if (only !== undefined && only !== name) continue;
  await run({ quick });
}
