/** Public routes: media by content address, health, the OpenAPI document. */
import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { type App, jsonResponse, problems } from '../openapi.js';

const SHA256 = /^[0-9a-f]{64}$/;

export const mediaRoute = createRoute({
  method: 'get',
  path: '/media/{sha256}',
  tags: ['public'],
  summary: 'Creative media by SHA-256 (immutable; supports Range and If-None-Match)',
  request: { params: z.object({ sha256: z.string().regex(SHA256, 'a lower-case hex SHA-256') }) },
  responses: {
    200: { description: 'The media bytes' },
    206: { description: 'A byte range of the media' },
    304: { description: 'Not modified' },
    416: { description: 'Range not satisfiable' },
    ...problems(400, 404),
  },
});

export const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['public'],
  summary: 'Liveness and readiness',
  responses: { 200: jsonResponse(z.object({ status: z.literal('ok'), campaigns: z.number().int() }), 'Healthy') },
});

/** Parses a single `bytes=` range against a size; undefined for none, null for unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { offset: number; length: number } | undefined | null {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined; // multi-range or malformed: serve the whole file
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return null;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || end < start) return null;
  return { offset: start, length: end - start + 1 };
}

export function registerPublicRoutes(app: App, deps: AppDeps) {
  app.openapi(healthRoute, (c) => c.json({ status: 'ok' as const, campaigns: deps.index.size }, 200));

  app.openapi(mediaRoute, async (c) => {
    const { sha256 } = c.req.valid('param');
    const meta = await deps.store.catalog.getMedia(sha256);
    if (!meta) throw new ApiError('not_found', `No media ${sha256}`);
    const etag = `"${sha256}"`;
    const headers: Record<string, string> = {
      'Content-Type': meta.mime,
      ETag: etag,
      'Cache-Control': 'public, max-age=31536000, immutable',
      'Accept-Ranges': 'bytes',
      'X-Content-Type-Options': 'nosniff',
    };
    const ifNoneMatch = c.req.header('If-None-Match');
    if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
      return c.body(null, 304, headers);
    }
    const range = parseRange(c.req.header('Range'), meta.bytes);
    if (range === null) return c.body(null, 416, { ...headers, 'Content-Range': `bytes */${meta.bytes}` });
    const head = c.req.method === 'HEAD';
    if (range) {
      headers['Content-Range'] = `bytes ${range.offset}-${range.offset + range.length - 1}/${meta.bytes}`;
      headers['Content-Length'] = String(range.length);
      if (head) return c.body(null, 206, headers);
      const stored = await deps.media.get(sha256, range);
      if (!stored) throw new ApiError('not_found', `No media ${sha256}`);
      return c.body(stored.body as ReadableStream, 206, headers);
    }
    headers['Content-Length'] = String(meta.bytes);
    if (head) return c.body(null, 200, headers);
    const stored = await deps.media.get(sha256);
    if (!stored) throw new ApiError('not_found', `No media ${sha256}`);
    return c.body(stored.body as ReadableStream, 200, headers);
  });
}
