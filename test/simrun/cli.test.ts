import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cleanup, tempDir } from './helpers.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.basename(path.resolve(here, '..', '..')) === 'dist' ? path.resolve(here, '..', '..', '..') : path.resolve(here, '..', '..');
const MAIN = path.join(repo, 'dist', 'src', 'cli', 'main.js');
const haveBuild = existsSync(MAIN);
if (!haveBuild) console.warn(`skipped: ${MAIN} is missing (run \`npx tsc -p tsconfig.json\`)`);

async function isfdb(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe.skipIf(!haveBuild)('isfdb gen-simrun / init-simrun', () => {
  it('--help, bad input (exit 2, one line), and the whole job', async () => {
    const help = await isfdb('init-simrun', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/isfdb init-simrun <raw> <db>/);
    expect((await isfdb('gen-simrun', '--help')).code).toBe(0);
    const bad = await isfdb('init-simrun', 'only-one-arg');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const badNum = await isfdb('gen-simrun', '/tmp/x', '--trials', 'many');
    expect(badNum.code).toBe(2);
    expect(badNum.stderr).toMatch(/--trials takes a whole number >= 1/);

    const huge = await isfdb('gen-simrun', path.join(os.tmpdir(), 'isfdb-never-written'), '--trials', '1e9');
    expect(huge.code).toBe(2);
    expect(huge.stderr).toMatch(/1,000,000,000 trials would write about [\d.]+ TB/);
    expect(existsSync(path.join(os.tmpdir(), 'isfdb-never-written'))).toBe(false);

    const raw = await tempDir('cli');
    const dbDir = await tempDir('cli-db');
    try {
      await cleanup(raw);
      const gen = await isfdb('gen-simrun', raw, '--trials', '6', '--time-points', '40', '--json');
      expect(gen.code).toBe(0);
      expect(JSON.parse(gen.stdout).trials).toBe(6);
      const init = await isfdb('init-simrun', raw, dbDir, '--workers', '1', '--json');
      expect(init.code).toBe(0);
      expect(JSON.parse(init.stdout).trials).toBe(6);
      const missing = await isfdb('init-simrun', path.join(raw, 'nope'), path.join(dbDir, 'new-db'));
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/nope.*does not exist/);
      expect(existsSync(path.join(dbDir, 'new-db'))).toBe(false);
      const badMap = await isfdb('init-simrun', raw, dbDir, '--path-map', '/gpfs/x');
      expect(badMap.code).toBe(2);
      expect(badMap.stderr).toMatch(/--path-map takes OLD=NEW, got '\/gpfs\/x'/);
      const mapped = await isfdb('init-simrun', raw, path.join(dbDir, 'mapped'), '--workers', '1', '--path-map', '/gpfs/old=/data/new', '--path-map', '/a=/b', '--json');
      expect(mapped.code, mapped.stderr).toBe(0);
      expect(JSON.parse(mapped.stdout).missingFiles).toEqual([]);
    } finally {
      await cleanup(raw, dbDir);
    }
  }, 60_000);

  it('--activations random writes what the API writes for that kind; an unknown kind is exit 2 and writes nothing', async () => {
    const root = await tempDir('cli-activations');
    try {
      const viaCli = path.join(root, 'cli');
      const gen = await isfdb('gen-simrun', viaCli, '--trials', '4', '--time-points', '20', '--seed', '3', '--activations', 'random');
      expect(gen.code, gen.stderr).toBe(0);
      const { generateCampaign } = await import('../../initializers/index.js');
      const viaApi = path.join(root, 'api');
      const realistic = path.join(root, 'realistic');
      const summary = await generateCampaign(viaApi, { trials: 4, timePoints: 20, seed: 3, activations: 'random' });
      await generateCampaign(realistic, { trials: 4, timePoints: 20, seed: 3 });
      const synapseFiles = (await readdirRecursive(viaApi)).filter((f) => f.endsWith('_synapses.csv'));
      expect(synapseFiles.length).toBeGreaterThanOrEqual(summary.trials); // and the _running folder's
      let differsFromRealistic = false;
      for (const file of synapseFiles) {
        expect(readFileSync(path.join(viaCli, file), 'utf8')).toBe(readFileSync(path.join(viaApi, file), 'utf8'));
        if (readFileSync(path.join(realistic, file), 'utf8') !== readFileSync(path.join(viaApi, file), 'utf8')) differsFromRealistic = true;
      }
      expect(differsFromRealistic).toBe(true);
      const bad = await isfdb('gen-simrun', path.join(root, 'bad'), '--activations', 'noisy');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--activations is realistic or random, not 'noisy'/);
      expect(existsSync(path.join(root, 'bad'))).toBe(false);
    } finally {
      await cleanup(root);
    }
  }, 60_000);
});

async function readdirRecursive(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)));
}
