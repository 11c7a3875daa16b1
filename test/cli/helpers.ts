/** Running the built isfdb as a real process, and byte-level snapshots of folders. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fsSync, { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../core/helpers.js';

export const ISFDB = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** `isfdb <args>` in `cwd`, with the test file's temp registry (inherited from the environment). */
export function isfdb(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  if (!fsSync.existsSync(ISFDB)) throw new Error(`${ISFDB} is missing: run \`npm run build\` (npm test builds first)`);
  const r = spawnSync(process.execPath, [ISFDB, ...args], { encoding: 'utf8', cwd: options.cwd, env: { ...process.env, ...options.env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A bash pipeline, in which the function `isfdb` runs the built command line. */
export function shell(script: string, env: Record<string, string> = {}): CliResult {
  const r = spawnSync('bash', ['-c', `isfdb() { "$ISFDB_NODE" "$ISFDB_JS" "$@"; }; ${script}`], {
    encoding: 'utf8', env: { ...process.env, ISFDB_NODE: process.execPath, ISFDB_JS: ISFDB, ...env }, timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every entry below `dir` with its kind and content hash (or link target): equal snapshots mean byte-identical trees. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string): void => {
    const full = path.join(dir, rel);
    const stat = fsSync.lstatSync(full);
    if (stat.isSymbolicLink()) out[rel] = `link -> ${fsSync.readlinkSync(full)}`;
    else if (stat.isDirectory()) {
      out[rel] = `dir ${stat.mode.toString(8)}`;
      for (const name of fsSync.readdirSync(full).sort()) visit(path.join(rel, name));
    } else out[rel] = `file ${stat.mode.toString(8)} ${createHash('sha256').update(fsSync.readFileSync(full)).digest('hex')}`;
  };
  visit('');
  return out;
}

const temps: string[] = [];

export async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `isfdb-${prefix}-`));
  temps.push(dir);
  return dir;
}

export async function removeTemps(): Promise<void> {
  const dirs = temps.splice(0);
  await Promise.allSettled(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
}

/** A folder a user cares about: files, a sub-folder, a symbolic link. */
export function userFolder(dir: string): string {
  fsSync.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  fsSync.writeFileSync(path.join(dir, 'file.txt'), 'notes\n');
  fsSync.writeFileSync(path.join(dir, 'sub', 'thesis.tex'), '\\documentclass{article}\n');
  fsSync.symlinkSync('file.txt', path.join(dir, 'link'));
  return dir;
}
