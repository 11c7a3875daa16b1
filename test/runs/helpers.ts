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

export const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface Child {
  proc: import('node:child_process').ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `isfdb <args>` as a real process. */
export async function spawnCli(args: string[], env: Record<string, string>): Promise<Child> {
  const { spawn } = await import('node:child_process');
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return { proc, output: () => out, exited };
}

/** Remove every Redis key under `prefix:` (the queues of one test). */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Wait until `check()` holds, polling. */
export async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
