/** Shared test helpers: temp folders, a per-test registry, directory listings, child processes. */
import { spawn } from 'node:child_process';
import fsSync, { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from '../../src/index.js';
import { pythonWith, runPython } from '../services.js';

const created: string[] = [];

/** A fresh folder under os.tmpdir(); removed by `cleanupTemp`. */
export async function makeTemp(prefix = 'isfdb-core-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export async function cleanupTemp(): Promise<void> {
  const dirs = created.splice(0);
  await Promise.allSettled(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
}

export interface Sandbox {
  /** A temp folder for databases (does not exist as a database yet: use `path.join(root, ...)`). */
  root: string;
  /** A temp registry, also set as $ISFDB_REGISTRY. */
  registry: Registry;
  registryDir: string;
}

/** A temp root plus a temp registry installed as $ISFDB_REGISTRY. */
export async function sandbox(): Promise<Sandbox> {
  const root = await makeTemp('isfdb-root-');
  const registryDir = await makeTemp('isfdb-registry-');
  process.env['ISFDB_REGISTRY'] = registryDir;
  return { root, registry: new Registry(registryDir), registryDir };
}

/** Sorted names in a folder. */
export function ls(dir: string): string[] {
  return fsSync.readdirSync(dir).sort();
}

/** Every path below `dir` (relative), sorted. */
export function walk(dir: string): string[] {
  const out: string[] = [];
  const visit = (sub: string): void => {
    for (const entry of fsSync.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub === '' ? entry.name : `${sub}/${entry.name}`;
      out.push(entry.isDirectory() ? `${rel}/` : rel);
      if (entry.isDirectory()) visit(rel);
    }
  };
  visit('');
  return out.sort();
}

/** Wait until `check` holds (polling), or fail with `what`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (await check()) return;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Run `fn` and return what it threw (fails when it does not throw). */
export async function caught(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`threw a non-Error: ${String(err)}`);
  }
  throw new Error('expected the call to throw, it returned normally');
}

/** The repository root: the nearest folder above this file with the project's package.json (works from dist/ too). */
function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fsSync.existsSync(pkg) && (JSON.parse(fsSync.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'isf-data-base') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the isf-data-base package.json above the tests');
    dir = parent;
  }
}
export const repoRoot = findRepoRoot();

/** The compiled child-process script dist/test/procs/<name>.js; a clear failure when dist is stale or missing. */
export function procScript(name: string): string {
  const script = path.join(repoRoot, 'dist', 'test', 'procs', `${name}.js`);
  if (!fsSync.existsSync(script)) {
    throw new Error(`${script} is missing: run \`npm run build\` (or \`npm test\`, which builds first) before the multi-process tests`);
  }
  const source = path.join(repoRoot, 'test', 'procs', `${name}.ts`);
  if (fsSync.existsSync(source) && fsSync.statSync(source).mtimeMs > fsSync.statSync(script).mtimeMs + 1000) {
    throw new Error(`${script} is older than ${source}: run \`npm run build\` before the multi-process tests`);
  }
  return script;
}

export interface ProcResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Run a compiled child script to completion. */
export function runProc(name: string, args: string[], env: Record<string, string> = {}): Promise<ProcResult> {
  const child = spawnProc(name, args, env);
  return child.done;
}

export interface RunningProc {
  pid: number;
  kill(signal: NodeJS.Signals): void;
  done: Promise<ProcResult>;
  /** Resolves when the child prints a line equal to `line` on stdout. */
  waitForLine(line: string, timeoutMs?: number): Promise<void>;
}

export function spawnProc(name: string, args: string[], env: Record<string, string> = {}): RunningProc {
  const script = procScript(name);
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const lineWaiters: Array<{ line: string; resolve: () => void }> = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const waiter of [...lineWaiters]) {
      if (stdout.split('\n').includes(waiter.line)) {
        lineWaiters.splice(lineWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const done = new Promise<ProcResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    pid: child.pid ?? -1,
    kill: (signal) => { child.kill(signal); },
    done,
    waitForLine: (line, timeoutMs = 15_000) => new Promise<void>((resolve, reject) => {
      if (stdout.split('\n').includes(line)) { resolve(); return; }
      const timer = setTimeout(() => reject(new Error(`child ${name} did not print '${line}' within ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`)), timeoutMs);
      lineWaiters.push({ line, resolve: () => { clearTimeout(timer); resolve(); } });
      void done.then((r) => { clearTimeout(timer); if (!r.stdout.split('\n').includes(line)) reject(new Error(`child ${name} exited (${String(r.code)}/${String(r.signal)}) before printing '${line}'; stderr: ${r.stderr}`)); });
    }),
  };
}

/** Whether a Python with numpy is usable here (found once, by test/services.ts). */
export function hasNumpy(): boolean {
  return pythonWith(['numpy']).ok;
}

/** Run a Python script with numpy available; throws with stderr on failure. */
export function python(script: string, args: string[] = []): string {
  const found = pythonWith(['numpy']);
  if (!found.ok) throw new Error(found.reason);
  return runPython(found.value, script, args);
}

/** A database folder's db_state.json, parsed. */
export function readState(dir: string): Record<string, unknown> {
  return JSON.parse(fsSync.readFileSync(path.join(dir, 'db_state.json'), 'utf8')) as Record<string, unknown>;
}
