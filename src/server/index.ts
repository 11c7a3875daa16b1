/**
 * isf-data-base/server: a read-only HTTP viewer of a database (the JSON API and the single-page
 * app of src/viewer). Loopback by default; any other host needs a token, which every request
 * must then carry.
 *
 * @example
 * ```ts
 * import { startServer } from 'isf-data-base/server';
 * const server = await startServer({ db: './demo-db', port: 0 });
 * console.log(server.url);     // http://127.0.0.1:<port>/
 * await server.close();
 * ```
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from './app.js';
import { ServeOptionsError, checkServeOptions } from './security.js';

export { ServeOptionsError, isLoopbackHost, tokenMatches } from './security.js';
export { parseRange } from './files.js';

export interface ServeOptions {
  /** The database folder (opened read-only; never created). */
  db: string;
  /** 0 (default 8765 in the CLI) picks a free port. */
  port?: number;
  /** Default 127.0.0.1; anything else than a loopback address requires `token`. */
  host?: string;
  token?: string;
  /** The built viewer; default dist/viewer of this package. */
  assetsDir?: string;
  /** Describe the key tree in the background at start (default true; benchmarks turn it off to time a cold tree). */
  warm?: boolean;
}

export interface RunningServer {
  /** The address to open; with a token it carries it (`?token=`), so it opens the app once. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  checkServeOptions(host, options.token);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ServeOptionsError(`port must be 0..65535, not ${port}`);
  const app = await buildApp({ db: options.db, token: options.token, assetsDir: options.assetsDir ?? defaultAssetsDir(), warm: options.warm });
  await app.listen({ host, port });
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${bound}/${options.token === undefined ? '' : `?token=${encodeURIComponent(options.token)}`}`;
  return { url, port: bound, close: () => app.close() };
}

/** dist/viewer of the package this file belongs to (from src/server or dist/src/server). */
export function defaultAssetsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return path.join(dir, 'dist', 'viewer');
}
