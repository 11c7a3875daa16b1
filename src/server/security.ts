/**
 * The viewer server's guards, in one place: which hosts it may bind, the token check, and the
 * resolution of request paths inside the database folder. Every file the server reads goes
 * through `resolveInside`; every request goes through `checkToken` when a token is set.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';

/** A request the server refuses: the HTTP status and a one-line reason (never a path outside). */
export class RefusedError extends Error {
  constructor(readonly status: 400 | 401 | 403 | 404 | 413 | 416, message: string) {
    super(message);
  }
}

/** Bad serve options (host without token, bad port): refused before anything listens. */
export class ServeOptionsError extends Error {}

const LOOPBACK_NAMES = new Set(['localhost', 'ip6-localhost', 'ip6-loopback']);

/** 127.0.0.0/8, ::1 (and its IPv4-mapped form), or the name localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (LOOPBACK_NAMES.has(bare.toLowerCase())) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare.toLowerCase().startsWith('::ffff:127.');
  return false;
}

/** Refuse a non-loopback bind without a token, and tokens too short to resist guessing. */
export function checkServeOptions(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < 16) {
    throw new ServeOptionsError('--token must be at least 16 characters (try: openssl rand -hex 16)');
  }
  if (!isLoopbackHost(host) && token === undefined) {
    throw new ServeOptionsError(`--host ${host} makes the database readable from other machines: it requires --token`);
  }
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Constant-time token comparison (digests first, so the length leaks nothing either). */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(expected), digest(given));
}

export const TOKEN_COOKIE = 'isfdb_token';

/** The token a request carries: `Authorization: Bearer`, the `token` query parameter, or the cookie. */
export function tokenOf(headers: { authorization?: string | undefined; cookie?: string | undefined }, query: unknown): string | undefined {
  const auth = headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length);
  const fromQuery = (query as Record<string, unknown> | undefined)?.['token'];
  if (typeof fromQuery === 'string') return fromQuery;
  for (const part of (headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === TOKEN_COOKIE) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/**
 * Refuses raw request targets that try to climb out, before any routing or decoding: `..` and
 * `.` segments, in any percent-encoding, and encoded slashes or backslashes in the path.
 */
export function checkRawUrl(url: string): void {
  const pathPart = url.split('?')[0] ?? '';
  let decoded = pathPart;
  // Decoding twice catches %252e%252e as well as %2e%2e.
  for (let i = 0; i < 2; i++) {
    try { decoded = decodeURIComponent(decoded); } catch { throw new RefusedError(400, 'malformed percent-encoding in the path'); }
  }
  if (decoded.includes('\0')) throw new RefusedError(400, 'NUL in the path');
  if (decoded.split(/[/\\]/).some((segment) => segment === '..' || segment === '.')) {
    throw new RefusedError(403, 'the path leaves the database');
  }
  if (/%(2f|5c)/i.test(pathPart) || pathPart.includes('\\')) throw new RefusedError(403, 'encoded slashes are not allowed in the path');
}

/**
 * The real path of `relative` (a '/'-separated path inside the database), refused unless it
 * stays inside `realRoot` (the database folder's own real path) after symlinks are followed.
 */
export async function resolveInside(realRoot: string, relative: string): Promise<string> {
  const segments = relative.split('/');
  if (relative === '' || path.isAbsolute(relative) || /^[A-Za-z]:/.test(relative)) throw new RefusedError(403, 'absolute paths are refused');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || segment.includes('\\') || segment.includes('\0')) {
      throw new RefusedError(403, 'the path leaves the database');
    }
  }
  let real: string;
  try {
    real = await fs.realpath(path.join(realRoot, ...segments));
  } catch {
    throw new RefusedError(404, 'no such file in the database');
  }
  if (!isInside(realRoot, real)) throw new RefusedError(403, 'the path leads outside the database');
  return real;
}

export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
