/**
 * The suite never writes to the user's registry: test/setup/registry.ts points $ISFDB_REGISTRY at a
 * temp folder before every test file, and test/setup/global.ts fails the run when the user's
 * registry gained an entry pointing into the run's temp folder. This file sets up nothing itself.
 */
import { spawnSync } from 'node:child_process';
import fsSync, { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataBase, Registry } from '../../src/index.js';
import { userRegistryDir } from '../setup/registry-paths.js';
import { entriesPointingInto } from '../setup/global.js';

const isfdb = path.resolve(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
const temps: string[] = [];
afterAll(async () => {
  await Promise.allSettled(temps.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

describe('registry hygiene of the test suite', () => {
  it('every test file starts with $ISFDB_REGISTRY at a temp folder, not the user registry', () => {
    const registry = process.env['ISFDB_REGISTRY'];
    expect(registry, '$ISFDB_REGISTRY is not set: the vitest setup file did not run').toBeDefined();
    expect(path.resolve(registry!)).not.toBe(userRegistryDir());
    expect(path.resolve(registry!).startsWith(`${os.tmpdir()}${path.sep}`)).toBe(true);
    expect(Registry.default().dir).toBe(path.resolve(registry!));
  });

  it('a database opened without a registry option, here and in a child process, registers in the temp registry only', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'isfdb-hygiene-'));
    temps.push(dir);
    const db = await DataBase.open(path.join(dir, 'here'));
    expect(await Registry.default().lookup(db.id)).toBe(db.basedir);
    const child = spawnSync(process.execPath, [isfdb, 'fsck', path.join(dir, 'here'), '--repair'], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    const userRegistry = userRegistryDir();
    expect(fsSync.existsSync(path.join(userRegistry, `${db.id}.json`))).toBe(false);
    expect(entriesPointingInto(userRegistry, dir)).toEqual([]);
  });
});
