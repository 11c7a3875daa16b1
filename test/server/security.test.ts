/**
 * The viewer server's guards: traversal in every spelling, symlinks out of the database, the
 * token (constant-time, 401), the refusal of a non-loopback bind without one, the Host check,
 * and bounded requests. "Reads nothing outside": a marker planted outside never appears in a
 * response, and the outside folder is byte-for-byte unchanged (snapshot before and after).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServeOptionsError, isLoopbackHost, tokenMatches, type RunningServer } from '../../src/server/index.js';
import { cleanupTemp, makeTemp } from '../core/helpers.js';
import { buildDemoDb, originOf, serve, type DemoDb } from './helpers.js';
import { rawRequest } from './http.js';

const MARKER = 'OUTSIDE-SECRET-7f3a9c';
let demo: DemoDb;
let outside: string;
let server: RunningServer;
let origin: string;

async function snapshot(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  const lines: string[] = [];
  for (const entry of entries) {
    const full = path.join(entry.parentPath, entry.name);
    const stat = await fs.lstat(full);
    const content = entry.isFile() ? createHash('sha256').update(await fs.readFile(full)).digest('hex') : '';
    lines.push(`${path.relative(dir, full)} ${stat.mode} ${stat.size} ${stat.mtimeMs} ${content}`);
  }
  return lines.sort();
}

beforeAll(async () => {
  demo = await buildDemoDb(10, 101);
  outside = await makeTemp('isfdb-outside-');
  // Something that looks like a key, and a plain secret, outside the database.
  await fs.mkdir(path.join(outside, 'fake_key'));
  await fs.writeFile(path.join(outside, 'fake_key', 'Loader.json'), '{"Loader": "data_base.isf_data_base.IO.LoaderDumper.value_to_msgpack"}');
  await fs.writeFile(path.join(outside, 'fake_key', 'metadata.json'), `{"dumper": "value_to_msgpack", "secret": "${MARKER}"}`);
  await fs.writeFile(path.join(outside, 'secret.txt'), MARKER);
  // The database's parent holds a file too: `..` from the database root reaches it.
  await fs.writeFile(path.join(path.dirname(demo.dir), 'secret.txt'), MARKER);
  await fs.symlink(path.join(outside, 'fake_key'), path.join(demo.dir, 'evil_key'));
  await fs.symlink(path.join(outside, 'secret.txt'), path.join(demo.dir, 'voltage_traces', 'link.txt'));
  await fs.symlink(outside, path.join(demo.dir, 'spike_times', 'linked_dir'));
  server = await serve(demo.dir);
  origin = originOf(server);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await cleanupTemp();
});

describe('viewer server security', { timeout: 60_000 }, () => {
  it('refuses traversal, encoded traversal, absolute paths and symlinks out (403/404) and reads nothing outside', async () => {
    const before = await snapshot(outside);
    const targets = [
      '/raw/../secret.txt', '/raw/voltage_traces/../../secret.txt', '/raw/%2e%2e/secret.txt', '/raw/%2e%2e%2fsecret.txt',
      '/raw/%2E%2E%2Fsecret.txt', '/raw/..%2fsecret.txt', '/raw/%252e%252e%252fsecret.txt', '/raw/.%2e/secret.txt',
      '/raw/voltage_traces/..%5c..%5csecret.txt', '/raw//etc/passwd', '/raw/%2fetc%2fpasswd', `/raw/${encodeURIComponent(path.join(outside, 'secret.txt'))}`,
      `/raw/${path.join(outside, 'secret.txt')}`, '/raw/C:%5cWindows', '/raw/evil_key/secret.txt', '/raw/evil_key/metadata.json',
      '/raw/voltage_traces/link.txt', '/raw/spike_times/linked_dir/secret.txt', '/raw/spike_times/linked_dir/fake_key/metadata.json',
      '/api/key?key=evil_key', '/api/history?key=evil_key', '/api/frame?key=evil_key', '/api/traces?key=evil_key',
      '/api/key?key=..', '/api/key?key=../secret.txt', '/api/key?key=%2e%2e%2fsecret.txt', `/api/key?key=${encodeURIComponent(outside)}`,
      '/../secret.txt', '/assets/..%2f..%2fpackage.json', '/assets/../../package.json', '/api/../secret.txt',
    ];
    for (const target of targets) {
      const response = await rawRequest(origin, target);
      expect([400, 403, 404], `${target} answered ${response.status}: ${response.body.toString().slice(0, 200)}`).toContain(response.status);
      expect(response.body.toString(), target).not.toContain(MARKER);
    }
    const tree = await rawRequest(origin, '/api/tree');
    expect(tree.status).toBe(200);
    expect(tree.body.toString()).not.toContain(MARKER);
    expect(tree.body.toString()).not.toContain('evil_key');
    expect(await snapshot(outside)).toEqual(before);
  });

  it('refuses requests whose Host is not a loopback name (DNS rebinding) when there is no token', async () => {
    expect((await rawRequest(origin, '/api/info', { headers: { host: 'attacker.example:80' } })).status).toBe(403);
    expect((await rawRequest(origin, '/api/info', { headers: { host: `localhost:${new URL(origin).port}` } })).status).toBe(200);
  });

  it('bounds request sizes', async () => {
    const long = await rawRequest(origin, `/api/frame?key=voltage_traces&ids=${'x'.repeat(9000)}`);
    expect([413, 414, 431]).toContain(long.status);
    const body = await rawRequest(origin, '/api/info', { method: 'POST', body: 'x'.repeat(100_000) });
    expect([403, 413]).toContain(body.status);
  });

  it('refuses a non-loopback host without a token at start, and short tokens', async () => {
    await expect(serve(demo.dir, { host: '0.0.0.0' })).rejects.toThrow(ServeOptionsError);
    await expect(serve(demo.dir, { host: '0.0.0.0' })).rejects.toThrow(/requires --token/);
    await expect(serve(demo.dir, { host: '::' })).rejects.toThrow(/requires --token/);
    await expect(serve(demo.dir, { host: '192.168.1.10' })).rejects.toThrow(/requires --token/);
    await expect(serve(demo.dir, { token: 'short' })).rejects.toThrow(/at least 16/);
    expect(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.org', '128.0.0.1'].some(isLoopbackHost)).toBe(false);
  });

  it('with a token every request must carry it: 401 without or with a wrong one; header, query or cookie pass', async () => {
    const token = 'a-test-token-of-32-characters-xx';
    const guarded = await serve(demo.dir, { token, warm: false });
    try {
      const at = originOf(guarded);
      expect(guarded.url).toBe(`${at}/?token=${token}`);
      for (const target of ['/', '/api/info', '/api/tree', '/assets/app.js', '/raw/voltage_traces/Loader.json', '/api/../x']) {
        expect((await rawRequest(at, target)).status, target).toBe(target.includes('..') ? 403 : 401);
      }
      expect((await rawRequest(at, '/api/info', { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
      expect((await rawRequest(at, '/api/info', { headers: { authorization: `Bearer ${token.slice(0, -1)}` } })).status).toBe(401);
      expect((await rawRequest(at, `/api/info?token=${token.toUpperCase()}`)).status).toBe(401);
      expect((await rawRequest(at, '/api/info', { headers: { cookie: 'isfdb_token=wrong' } })).status).toBe(401);
      expect((await rawRequest(at, '/api/info', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      const page = await rawRequest(at, `/?token=${token}`);
      expect(page.status).toBe(200);
      const cookie = String(page.headers['set-cookie']);
      expect(cookie).toMatch(/^isfdb_token=[^;]+; HttpOnly; SameSite=Strict; Path=\//);
      expect((await rawRequest(at, '/api/tree', { headers: { cookie: cookie.split(';')[0]! } })).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it('compares tokens by digest in constant time', () => {
    expect(tokenMatches('0123456789abcdef', '0123456789abcdef')).toBe(true);
    expect(tokenMatches('0123456789abcdef', '0123456789abcdeF')).toBe(false);
    expect(tokenMatches('0123456789abcdef', '0123456789abcdef0')).toBe(false);
    expect(tokenMatches('0123456789abcdef', '')).toBe(false);
    expect(tokenMatches('0123456789abcdef', undefined)).toBe(false);
  });
});
