/**
 * The outside programs some tests use (a Python with pandas, a Redis server, Chromium), found in
 * one place. A developer machine without one gets a skip with the reason; under CI (`CI=true`,
 * where `.ci/run` installs and starts them) an absent service is a failure, not a skip.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from test/ or from dist/test/. */
export const REPO_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('test/services.ts: no package.json above this file');
    dir = up;
  }
  return dir;
})();

/** A service a test needs: where it is, or why it is absent. */
export type Service<T> = { ok: true; value: T } | { ok: false; reason: string };

const inCi = (): boolean => process.env['CI'] === 'true';

/**
 * Vitest's skip message for an absent service; throws under CI, where an absent service means
 * `.ci/run` is broken and a silent skip would hide it.
 */
export function skipReason<T>(service: Service<T>, what: string): string | undefined {
  if (service.ok) return undefined;
  const message = `${what} skipped: ${service.reason}`;
  if (inCi()) throw new Error(`${message} (CI must provide it: see .ci/run)`);
  return message;
}

const pythonCache = new Map<string, Service<string>>();

/**
 * A Python interpreter that imports every module in `modules`: $ISFDB_PYTHON, then the
 * repository's `.venv` (made by `.ci/run`), then python3 on the PATH.
 */
export function pythonWith(modules: readonly string[]): Service<string> {
  const wanted = [...modules].sort().join(',');
  const cached = pythonCache.get(wanted);
  if (cached) return cached;
  const candidates = [process.env['ISFDB_PYTHON'], path.join(REPO_ROOT, '.venv', 'bin', 'python'), 'python3', '/usr/bin/python3']
    .filter((c): c is string => Boolean(c));
  const script = modules.map((m) => `import ${m}`).join('\n') || 'pass';
  let found: Service<string> = {
    ok: false,
    reason: `no Python that imports ${wanted} (tried ${candidates.join(', ')}; set ISFDB_PYTHON or run the venv step of .ci/run)`,
  };
  for (const candidate of candidates) {
    if (candidate.includes(path.sep) && !existsSync(candidate)) continue;
    const r = spawnSync(candidate, ['-c', script], { encoding: 'utf8' });
    if (r.status === 0) { found = { ok: true, value: candidate }; break; }
  }
  pythonCache.set(wanted, found);
  return found;
}

/**
 * Run a Python script with the interpreter found by `pythonWith`; throws with stderr on failure.
 * An interpreter killed by a signal is run once more: pyarrow's thread pool has aborted it at exit
 * on this loaded machine (`terminate called without an active exception`, SIGABRT; once in a full suite),
 * after the script had done its work. A script that fails, or a second abort, is the test's error.
 */
export function runPython(interpreter: string, script: string, args: readonly string[] = [], input?: string): string {
  let r = spawnSync(interpreter, ['-c', script, ...args], { encoding: 'utf8', input, maxBuffer: 1 << 28 });
  if (r.status === null && r.signal !== null) r = spawnSync(interpreter, ['-c', script, ...args], { encoding: 'utf8', input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${interpreter} failed (${String(r.status ?? r.signal)}): ${r.stderr}`);
  return r.stdout;
}

/** The Redis server of the tests: $ISFDB_TEST_REDIS_URL (a loopback URL; `.ci/run` starts one). */
export function testRedisUrl(): Service<string> {
  const url = process.env['ISFDB_TEST_REDIS_URL'];
  if (!url) return { ok: false, reason: 'no Redis server: set ISFDB_TEST_REDIS_URL=redis://127.0.0.1:<port> (see .ci/run)' };
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') {
    return { ok: false, reason: `ISFDB_TEST_REDIS_URL must be a loopback address, not ${host}` };
  }
  return { ok: true, value: url };
}

/** Debian's Chromium: $ISFDB_CHROMIUM, else /usr/bin/chromium. */
export function chromiumPath(): Service<string> {
  const candidate = process.env['ISFDB_CHROMIUM'] ?? '/usr/bin/chromium';
  return existsSync(candidate)
    ? { ok: true, value: candidate }
    : { ok: false, reason: `no Chromium at ${candidate} (apt-get install chromium, or set ISFDB_CHROMIUM)` };
}

/** The flags Chromium needs here: root, no GPU, no network beyond loopback. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
] as const;
