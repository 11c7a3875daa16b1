/** Helpers of the runs tests: the compiled steps module (worker processes import it), counting side files. */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../services.js';

export const STEPS_FILE = path.join(REPO_ROOT, 'dist', 'test', 'runs', 'steps.js');

/** The compiled steps module, imported as worker processes import it. */
export async function compiledSteps(): Promise<typeof import('./steps.js')> {
  if (!fs.existsSync(STEPS_FILE)) throw new Error(`${STEPS_FILE} is missing: run npx tsc -p tsconfig.json (npm test does)`);
  return import(STEPS_FILE) as Promise<typeof import('./steps.js')>;
}

/** Invocations per record from a side file of "<record> <pid>" lines. */
export function invocations(file: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!fs.existsSync(file)) return counts;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const record = line.split(' ')[0]!;
    counts.set(record, (counts.get(record) ?? 0) + 1);
  }
  return counts;
}
