/**
 * Raw files of the database over HTTP, with single byte ranges (RFC 9110), so that a browser-side
 * Parquet reader fetches a footer or one column chunk instead of the whole file.
 */
import { createReadStream, promises as fs } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RefusedError, resolveInside } from './security.js';

export async function sendFile(realRoot: string, relative: string, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const file = await resolveInside(realRoot, relative);
  const stat = await fs.stat(file);
  if (!stat.isFile()) throw new RefusedError(404, 'not a file');
  void reply.header('accept-ranges', 'bytes').header('last-modified', stat.mtime.toUTCString()).type('application/octet-stream');
  const range = parseRange(request.headers.range, stat.size);
  if (range === undefined) {
    void reply.header('content-length', stat.size);
    return reply.send(request.method === 'HEAD' ? '' : createReadStream(file));
  }
  const [start, end] = range;
  void reply.code(206).header('content-range', `bytes ${start}-${end}/${stat.size}`).header('content-length', end - start + 1);
  return reply.send(request.method === 'HEAD' ? '' : createReadStream(file, { start, end }));
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n`; undefined without a Range header; 416 when unsatisfiable. */
export function parseRange(header: string | undefined, size: number): [number, number] | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null || (match[1] === '' && match[2] === '')) throw new RefusedError(416, `unsupported Range '${header.slice(0, 40)}' (one range of bytes)`);
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) throw new RefusedError(416, `range ${header} is outside the file (${size} bytes)`);
  return [start, end];
}
