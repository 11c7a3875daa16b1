/**
 * The viewer's HTTP application (fastify): GET and HEAD routes only, every request checked
 * (method, raw path, Host, token, sizes) before routing, every file resolved inside the database.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Field, RecordBatch, Schema, Struct, Table, Utf8, makeData, makeVector, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';
import { isDataBaseError } from '../index.js';
import { Catalog } from './catalog.js';
import type { FrameSlice, FrameSource, RowSelection } from './frames.js';
import { sendFile } from './files.js';
import { RefusedError, TOKEN_COOKIE, checkRawUrl, isLoopbackHost, tokenMatches, tokenOf } from './security.js';
import { spikeView, traceView, viewKindOf } from './traces.js';
import { indexHtml } from './page.js';
import { rowSelectionOf, whereSelection } from './query.js';

export interface AppOptions {
  db: string;
  /** Required for a non-loopback bind (checked by startServer); when set, every request must carry it. */
  token?: string | undefined;
  /** The built viewer (app.js, app.css); default dist/viewer of this package. */
  assetsDir: string;
  /** Describe the key tree once in the background at start, so the first page finds it ready (default true). */
  warm?: boolean | undefined;
}

const MAX_URL_LENGTH = 8192;
const ASSETS = new Map([['app.js', 'text/javascript; charset=utf-8'], ['app.css', 'text/css; charset=utf-8']]);
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

type Query = Record<string, string | undefined>;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const catalog = await Catalog.open(options.db);
  const sources = catalog.frames;
  if (options.warm !== false) void catalog.tree().catch(() => undefined);
  const app = Fastify({ logger: false, bodyLimit: 1024, requestTimeout: 60_000, return503OnClosing: true, routerOptions: { maxParamLength: 2048 } });

  app.addHook('onRequest', async (request, reply) => {
    void reply.headers(SECURITY_HEADERS);
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new RefusedError(403, 'the viewer is read-only');
    if (request.url.length > MAX_URL_LENGTH) throw new RefusedError(413, `request target longer than ${MAX_URL_LENGTH} characters`);
    checkRawUrl(request.url);
    if (options.token === undefined) {
      // Loopback without a token: a page of another site must not reach us through DNS rebinding.
      const host = (request.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopbackHost(host)) throw new RefusedError(403, 'Host header is not a loopback name');
      return;
    }
    const given = tokenOf(request.headers, request.query);
    if (!tokenMatches(options.token, given)) throw new RefusedError(401, 'missing or wrong token');
    if ((request.query as Query)['token'] !== undefined) {
      // The page was opened with ?token=: later requests (assets, API) carry it as a cookie.
      void reply.header('set-cookie', `${TOKEN_COOKIE}=${encodeURIComponent(options.token)}; HttpOnly; SameSite=Strict; Path=/`);
    }
  });

  app.setErrorHandler((error, _request, reply) => {
    const [status, message] = statusOf(error);
    void reply.code(status).type('application/json').send({ error: message });
  });
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).type('application/json').send({ error: 'no such route' });
  });

  app.get('/', (_request, reply) => reply.type('text/html; charset=utf-8').send(indexHtml()));
  app.get('/assets/:file', async (request, reply) => {
    const file = (request.params as { file: string }).file;
    const type = ASSETS.get(file);
    if (type === undefined) throw new RefusedError(404, 'no such asset');
    const body = await fs.readFile(path.join(options.assetsDir, file)).catch(() => {
      throw new RefusedError(404, `the viewer is not built (no ${file} in ${options.assetsDir}): run npm run build`);
    });
    return reply.type(type).header('cache-control', 'no-cache').send(body);
  });

  app.get('/api/info', async () => ({ basedir: catalog.db.basedir, id: catalog.db.id, name: path.basename(catalog.db.basedir) }));
  app.get('/api/tree', async () => catalog.tree());
  app.get('/api/key', async (request) => {
    const key = keyOf(request);
    const details = await catalog.details(key);
    const source = details.shape ? await sources.get(key, details.loader) : undefined;
    return { ...details, view: source ? viewKindOf(source) : null, columnLabels: source ? source.labels.slice(0, 20000) : null };
  });
  app.get('/api/shape', async (request) => {
    const source = await sources.forKey(keyOf(request));
    return source.shape();
  });
  app.get('/api/history', async (request) => {
    const key = keyOf(request);
    await catalog.keyFolder(key);
    const versions = await catalog.db.history(key);
    const diffText = (request.query as Query)['diff'];
    if (diffText === undefined) return { key, versions };
    const [a, b] = diffText.split(',').map((v) => (v === 'current' ? 'current' : Number(v)));
    if (a === undefined || b === undefined) throw new RefusedError(400, 'diff takes two versions: diff=1,current');
    return { key, versions, diff: await catalog.db.diff(key, a, b) };
  });
  app.get('/api/lineage', async () => catalog.lineage());

  app.get('/api/frame', async (request, reply) => {
    const query = request.query as Query;
    const source = await sources.forKey(keyOf(request));
    const columns = columnsOf(source, query);
    const slice = await source.slice(await selectionOf(source, query), columns);
    if (query['format'] === 'arrow') {
      return reply.type('application/vnd.apache.arrow.stream').send(Buffer.from(tableToIPC(sliceTable(slice), 'stream')));
    }
    return reply.type('application/json; charset=utf-8').send(sliceJson(source, slice));
  });
  app.get('/api/traces', async (request) => {
    const query = request.query as Query;
    const source = await sources.forKey(keyOf(request));
    return traceView(source, {
      rows: await selectionOf(source, query, { start: 0, stop: 20 }),
      t0: numberParam(query, 't0'), t1: numberParam(query, 't1'), bins: numberParam(query, 'bins') ?? 1000,
    });
  });
  app.get('/api/spikes', async (request) => {
    const query = request.query as Query;
    const source = await sources.forKey(keyOf(request));
    return spikeView(source, await selectionOf(source, query, { start: 0, stop: 10_000 }), numberParam(query, 'bin') ?? 1);
  });

  app.get('/raw/*', async (request, reply) => {
    const relative = (request.params as Record<string, string>)['*'] ?? '';
    return sendFile(catalog.realRoot, relative, request, reply);
  });
  return app;
}

function keyOf(request: FastifyRequest): string[] {
  const text = (request.query as Query)['key'];
  if (text === undefined || text === '') throw new RefusedError(400, 'the key parameter is missing (key=a or key=a/b for a tuple key)');
  return text.split('/');
}

function numberParam(query: Query, name: string): number | undefined {
  const text = query[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new RefusedError(400, `${name} must be a number, not '${text}'`);
  return value;
}

/** Columns by name (columns=a,b), by position (colStart, colStop), or all. */
function columnsOf(source: FrameSource, query: Query): string[] {
  if (query['columns'] !== undefined) return query['columns'] === '' ? [] : query['columns'].split(',');
  const start = numberParam(query, 'colStart') ?? 0;
  const stop = numberParam(query, 'colStop') ?? source.dataColumns.length;
  return source.dataColumns.slice(start, stop);
}

async function selectionOf(source: FrameSource, query: Query, fallback = { start: 0, stop: 100 }): Promise<RowSelection> {
  const where = query['where'];
  if (where !== undefined && where.trim() !== '') return whereSelection(source, where);
  return rowSelectionOf(query, {
    start: numberParam(query, 'start') ?? fallback.start,
    stop: numberParam(query, 'stop') ?? (numberParam(query, 'start') ?? fallback.start) + (fallback.stop - fallback.start),
  });
}

/** A slice as one Arrow record batch (built field by field: tableFromArrays is quadratic in wide frames). */
function sliceTable(slice: FrameSlice): Table {
  const length = slice.index.length;
  const numericIndex = slice.index.every((v) => typeof v === 'number');
  const named: Array<[string, Vector]> = [[slice.indexName, numericIndex ? makeVector(Float64Array.from(slice.index as number[])) : vectorFromArray(slice.index.map(String), new Utf8())]];
  slice.columns.forEach((name, i) => {
    const data = slice.data[i]!;
    named.push([name, data instanceof Float64Array ? makeVector(data) : vectorFromArray(data.map((v) => (v === null ? null : String(v))), new Utf8())]);
  });
  const fields = named.map(([name, vector]) => new Field(name, vector.type, true));
  const struct = makeData({ type: new Struct(fields), length, nullCount: 0, children: named.map(([, vector]) => vector.data[0]!) });
  return new Table([new RecordBatch(new Schema(fields), struct)]);
}

/**
 * A slice as JSON text, written directly: a wide slice has thousands of short columns, and
 * building an array per column for JSON.stringify costs more than the read itself.
 */
function sliceJson(source: FrameSource, slice: FrameSlice): string {
  const columnText = (column: Float64Array | unknown[]): string => {
    if (!(column instanceof Float64Array)) return JSON.stringify(column);
    let text = '[';
    for (let i = 0; i < column.length; i++) {
      const v = column[i]!;
      text += `${i > 0 ? ',' : ''}${Number.isFinite(v) ? String(v) : 'null'}`;
    }
    return `${text}]`;
  };
  const head = JSON.stringify({ key: source.key, indexName: slice.indexName, index: slice.index, positions: slice.positions, columns: slice.columns, totalColumns: source.dataColumns.length });
  return `${head.slice(0, -1)},"data":[${slice.data.map(columnText).join(',')}]}`;
}

function statusOf(error: unknown): [number, string] {
  if (error instanceof RefusedError) return [error.status, error.message];
  if (isDataBaseError(error, 'KeyNotFoundError')) return [404, error.message];
  if (isDataBaseError(error, 'InvalidKeyError', 'InvalidInputError', 'VersionNotFoundError', 'QueryError')) return [400, error.message];
  const status = (error as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return [status, (error as Error).message];
  return [500, error instanceof Error ? error.message : String(error)];
}

