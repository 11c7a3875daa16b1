/**
 * Once per `vitest run`: every temp folder of the run goes below one folder (TMPDIR, inherited by
 * the test workers and the processes they spawn), and at the end the user's real registry must
 * hold no entry pointing into it: a test that registered a database there failed to use the temp
 * registry of test/setup/registry.ts.
 */
import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { userRegistryDir } from './registry-paths.js';

export default function setup(): () => void {
  const runDir = fsSync.mkdtempSync(path.join(os.tmpdir(), 'isfdb-test-run-'));
  const userRegistry = userRegistryDir();
  process.env['ISFDB_TEST_RUN_DIR'] = runDir;
  process.env['ISFDB_TEST_USER_REGISTRY'] = userRegistry;
  process.env['TMPDIR'] = runDir;
  return () => {
    const leaked = entriesPointingInto(userRegistry, runDir);
    fsSync.rmSync(runDir, { recursive: true, force: true });
    if (leaked.length > 0) {
      // vitest reports a teardown error but keeps exit code 0: set it.
      process.exitCode = 1;
      throw new Error(`the test run registered ${leaked.length} database(s) in the real registry ${userRegistry}: ${leaked.slice(0, 5).join(', ')}`);
    }
  };
}

/** Registry files (one JSON file per id) whose path lies in `dir`. */
export function entriesPointingInto(registry: string, dir: string): string[] {
  let names: string[];
  try {
    names = fsSync.readdirSync(registry).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.filter((name) => {
    try {
      const entry = JSON.parse(fsSync.readFileSync(path.join(registry, name), 'utf8')) as { path?: unknown };
      return typeof entry.path === 'string' && (entry.path === dir || entry.path.startsWith(`${dir}${path.sep}`));
    } catch {
      return false;
    }
  });
}
