/** Spawning the compiled child scripts (dist/test/procs/<name>.js), from vitest or from dist. */
import { spawn } from 'node:child_process';
import fsSync from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fsSync.existsSync(path.join(dir, 'package.json')) && fsSync.existsSync(path.join(dir, 'tsconfig.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root');
    dir = up;
  }
}

export const REPO_ROOT = findRepoRoot();

export function procPath(name: string): string {
  const script = path.join(REPO_ROOT, 'dist', 'test', 'procs', `${name}.js`);
  if (!fsSync.existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);
  return script;
}

export interface Child {
  pid: number;
  kill(signal: NodeJS.Signals): boolean;
  /** Resolves when stdout holds the line. */
  line(text: string, timeoutMs?: number): Promise<void>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  exited(): boolean;
}

export function startProc(name: string, args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [procPath(name), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; for (const w of [...waiters]) w(); });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => { exited = true; for (const w of [...waiters]) w(); resolve({ code, signal, stdout, stderr }); });
  });
  return {
    pid: child.pid ?? -1,
    kill: (signal) => child.kill(signal),
    exited: () => exited,
    done,
    line: (text, timeoutMs = 30_000) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`${name}: no '${text}' within ${timeoutMs} ms; stderr: ${stderr}`)); }, timeoutMs);
      const check = (): void => {
        if (stdout.split('\n').includes(text)) { cleanup(); resolve(); } else if (exited) { cleanup(); reject(new Error(`${name} exited before '${text}'; stderr: ${stderr}`)); }
      };
      const cleanup = (): void => { clearTimeout(timer); const i = waiters.indexOf(check); if (i >= 0) waiters.splice(i, 1); };
      waiters.push(check);
      check();
    }),
  };
}
