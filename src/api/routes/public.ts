/** Public routes: media by content address. */
import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../context.js';
import { ApiError, type ErrorCode, problemExplanations, problemSlug, statusOf } from '../errors.js';
import { type App, problems } from '../openapi.js';
import { Problem } from '../schemas.js';

const SHA256 = /^[0-9a-f]{64}$/;

const mediaBytes = {
  content: Object.fromEntries(
    ['image/png', 'image/jpeg', 'image/webp', 'video/mp4'].map((mime) => [
      mime,
      { schema: { type: 'string' as const, format: 'binary' } },
    ]),
  ),
};
const header = (description: string) => ({ schema: { type: 'string' as const }, description });
const cacheHeaders = {
  ETag: header('"<sha256>": the content address, so it never changes'),
  'Cache-Control': header('public, max-age=31536000, immutable'),
  'Accept-Ranges': header('bytes'),
};

export const mediaRoute = createRoute({
  method: 'get',
  path: '/media/{sha256}',
  tags: ['public'],
  summary: 'Creative media by SHA-256 (immutable; supports HEAD, Range, If-Range and If-None-Match)',
  description:
    'Serves the uploaded bytes with their sniffed type. HEAD answers the same headers without a body. ' +
    'One `bytes=` range (first-last, first-, or -suffix) gets a 206 so video players can seek; several ranges or a malformed one get the whole file.',
  request: {
    params: z.object({ sha256: z.string().regex(SHA256, 'a lower-case hex SHA-256') }),
    headers: z.object({
      range: z
        .string()
        .optional()
        .openapi({ description: 'One byte range, e.g. bytes=0-1023, bytes=1024- or bytes=-500', example: 'bytes=0-1023' }),
      'if-none-match': z
        .string()
        .optional()
        .openapi({ description: 'The ETag you hold: 304 if it still matches (it always does)' }),
      'if-range': z.string().optional().openapi({ description: 'Apply Range only if this ETag matches' }),
    }),
  },
  responses: {
    200: {
      description: 'The media bytes',
      headers: { ...cacheHeaders, 'Content-Length': header('Size in bytes') },
      ...mediaBytes,
    },
    206: {
      description: 'A byte range of the media',
      headers: {
        ...cacheHeaders,
        'Content-Range': header('bytes first-last/size'),
        'Content-Length': header('Length of the range'),
      },
      ...mediaBytes,
    },
    304: { description: 'Not modified', headers: cacheHeaders },
    ...problems(400, 404),
    416: {
      description: 'Range not satisfiable: it selects no byte of the file',
      headers: { 'Content-Range': header('bytes */size') },
      content: { 'application/problem+json': { schema: Problem } },
    },
  },
});

export const problemTypeRoute = createRoute({
  method: 'get',
  path: '/problems/{type}',
  tags: ['public'],
  summary: 'What a problem `type` means (every problem+json `type` resolves here)',
  request: { params: z.object({ type: z.string().max(64) }) },
  responses: {
    200: { description: 'A short page about the problem type', content: { 'text/html': { schema: { type: 'string' } } } },
    ...problems(404),
  },
});

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const problemPages = new Map(
  (Object.keys(problemExplanations) as ErrorCode[]).map((code) => {
    const title = `${statusOf(code)} ${problemSlug(code)}`;
    const body = escapeHtml(problemExplanations[code]).replace(/`([^`]+)`/g, '<code>$1</code>');
    const page = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1>\n<p>${body}</p>\n<p>Answers are RFC 9457 problem details (<code>application/problem+json</code>). See <a href="/docs">the API reference</a>.</p></body></html>\n`;
    return [problemSlug(code), page] as const;
  }),
);

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
  app.openapi(problemTypeRoute, (c) => {
    const { type } = c.req.valid('param');
    const page = problemPages.get(type);
    if (!page) throw new ApiError('not_found', `No problem type ${type}`);
    return c.html(page, 200, { 'Cache-Control': 'public, max-age=86400' });
  });

  // Hono answers HEAD with the GET handler (headers, no body); list it in the document too.
  app.openAPIRegistry.registerPath({
    ...mediaRoute,
    method: 'head',
    summary: 'Media headers only (size, type, ETag), e.g. before streaming',
    description: undefined,
  });

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
    // If-None-Match compares weakly (RFC 9110 §13.1.2): W/"x" matches "x".
    const ifNoneMatch = c.req.header('If-None-Match');
    if (ifNoneMatch?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*')) {
      return c.body(null, 304, headers);
    }
    // If-Range: a range only while the client's copy is this one; else the whole file (we send no Last-Modified).
    const ifRange = c.req.header('If-Range');
    const rangeHeader = ifRange === undefined || ifRange.trim() === etag ? c.req.header('Range') : undefined;
    const range = parseRange(rangeHeader, meta.bytes);
    if (range === null) {
      throw new ApiError(
        'range_not_satisfiable',
        `The range ${rangeHeader} selects no byte of this ${meta.bytes}-byte file`,
        undefined,
        {
          'Content-Range': `bytes */${meta.bytes}`,
        },
      );
    }
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
