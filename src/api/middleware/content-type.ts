/** Bodies must say what they are: JSON routes take application/json, uploads multipart/form-data. */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.js';

export function requireContentType(options: { multipartPaths: RegExp }): MiddlewareHandler {
  return async function contentType(c, next) {
    const method = c.req.method;
    if (method === 'POST' || method === 'PATCH' || method === 'PUT') {
      const type = (c.req.header('Content-Type') ?? '').toLowerCase();
      const wantsMultipart = options.multipartPaths.test(c.req.path);
      const ok = wantsMultipart
        ? type.startsWith('multipart/form-data')
        : /^application\/([a-z0-9.+-]*\+)?json(\s*;|$)/.test(type);
      if (!ok) {
        throw new ApiError(
          'unsupported_media_type',
          wantsMultipart ? 'Send the upload as multipart/form-data' : 'Send the body as application/json',
        );
      }
    }
    await next();
  };
}
