/** `npm run bench`: every benchmark of the project, each printing its figures and ratios. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

// The benchmarks' databases are temporary: they register in a temporary registry (inherited by
// their child processes), never in the user's, unless $ISFDB_REGISTRY says otherwise.
const ownRegistry = process.env['ISFDB_REGISTRY'] === undefined ? mkdtempSync(path.join(tmpdir(), 'isfdb-bench-registry-')) : undefined;
if (ownRegistry !== undefined) process.env['ISFDB_REGISTRY'] = ownRegistry;
try {
  for (const [name, run] of BENCHMARKS) {
    if (only !== undefined && only !== name) continue;
    await run({ quick });
  }
} finally {
  if (ownRegistry !== undefined) rmSync(ownRegistry, { recursive: true, force: true });
}
