/** Bodies must say what they are: JSON routes take application/json, uploads multipart/form-data. */
import type { Context } from 'hono';
import { ApiError } from '../errors.js';

/**
 * The JSON types a JSON route reads (of a lower-cased header): the test @hono/zod-openapi's own gate makes after this
 * one, so every type it would refuse is refused here first, with this check's answer.
 */
const JSON_TYPE = /^application\/([a-z.-]+\+)?json(;\s*[a-z0-9-]+=([^;]+))*$/;

/** Returns `check(c)`: throws a 415 ApiError when a body-carrying request says the wrong type. */
export function requireContentType(options: { multipartPaths: RegExp }): (c: Context) => void {
  return function contentType(c) {
    const method = c.req.method;
    if (method === 'POST' || method === 'PATCH' || method === 'PUT') {
      const type = (c.req.header('Content-Type') ?? '').toLowerCase();
      const wantsMultipart = options.multipartPaths.test(c.req.path);
      const ok = wantsMultipart ? type.startsWith('multipart/form-data') : JSON_TYPE.test(type);
      if (!ok) {
        throw new ApiError(
          'unsupported_media_type',
          wantsMultipart ? 'Send the upload as multipart/form-data' : 'Send the body as application/json',
        );
      }
    }
  };
}
