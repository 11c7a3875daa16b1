/**
 * Spawning the compiled child scripts of these tests, from the sources or from their compiled
 * copies under dist/ (both are collected when vitest is given a path filter).
 */
import { spawn, spawnSync } from 'node:child_process';
import fsSync from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fsSync.existsSync(path.join(dir, 'package.json')) && fsSync.existsSync(path.join(dir, 'test', 'procs'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root above this test');
    dir = parent;
  }
}

/** Run the compiled isfdb command line to completion. */
export function runCli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const main = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  const r = spawnSync(process.execPath, [main, ...args], { env: process.env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Child {
  ready: Promise<void>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Start dist/test/procs/<name>.js; `ready` resolves when it prints the line 'ready'. */
export function startChild(name: string, args: string[]): Child {
  const script = path.join(repoRoot(), 'dist', 'test', 'procs', `${name}.js`);
  if (!fsSync.existsSync(script)) throw new Error(`${script} is missing: run \`npx tsc -p tsconfig.json\` first`);
  const child = spawn(process.execPath, [script, ...args], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => { markReady = resolve; });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.split('\n').includes('ready')) markReady();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => { markReady(); resolve({ code, stdout, stderr }); });
  });
  return { ready, done };
}
