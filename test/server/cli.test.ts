/** isfdb serve as a process: refused options exit 2 before listening; SIGINT (Ctrl-C) stops it cleanly. */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../services.js';
import { cleanupTemp } from '../core/helpers.js';
import { buildDemoDb, type DemoDb } from './helpers.js';

const MAIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
let demo: DemoDb;

beforeAll(async () => { demo = await buildDemoDb(5, 51); }, 120_000);
afterAll(cleanupTemp);

describe('isfdb serve', { timeout: 60_000 }, () => {
  it('--help, and a non-loopback --host without --token is refused with exit code 2', () => {
    const help = spawnSync(process.execPath, [MAIN, 'serve', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^isfdb serve <db> \[--port N\] \[--host 127\.0\.0\.1\] \[--token T\] \[--open\]/);
    const refused = spawnSync(process.execPath, [MAIN, 'serve', demo.dir, '--host', '0.0.0.0', '--port', '0'], { encoding: 'utf8', env: { ...process.env, ISFDB_SERVE_TOKEN: '' } });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toBe('isfdb serve: --host 0.0.0.0 makes the database readable from other machines: it requires --token (see isfdb serve --help)\n');
    expect(spawnSync(process.execPath, [MAIN, 'serve', demo.dir, '--port', 'x'], { encoding: 'utf8' }).status).toBe(2);
  });

  it('prints the URL, answers, and stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, [MAIN, 'serve', demo.dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${stdout}`)), 20_000);
      child.stdout.on('data', () => {
        const match = /http:\/\/127\.0\.0\.1:\d+\//.exec(stdout);
        if (match) { clearTimeout(timer); resolve(match[0]); }
      });
    });
    expect((await fetch(`${url}api/info`)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/stopped\n$/);
    await expect(fetch(`${url}api/info`)).rejects.toThrow();
  });
});
