/** Bodies must say what they are: JSON routes take application/json, uploads multipart/form-data. */
import type { Context } from 'hono';
import { ApiError } from '../errors.js';

/**
 * The JSON types a JSON route reads (of a lower-cased header): the test @hono/zod-openapi's own gate makes after this
 * one, so every type it would refuse is refused here first, with this check's answer.
 */
const JSON_TYPE = /^application\/([a-z.-]+\+)?json(;\s*[a-z0-9-]+=([^;]+))*$/;

/**
 * Returns `check(c)`: throws a 415 ApiError when a body-carrying request says the wrong type, and starts reading
 * a JSON body (`readJsonText`).
 */
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
      if (!wantsMultipart) readJsonText(c);
    }
  };
}

/**
 * Puts a JSON body's text in Hono's body cache, where every reader finds it (`c.req.text()`, `c.req.json()`, the
 * zod validator), decoded by TextDecoder: it drops one leading byte order mark (RFC 8259 lets a parser ignore
 * one) on every runtime, where workerd's `Request.text()` keeps it and JSON.parse then fails. Node's slot lane
 * decodes its bodies the same way (node-slots.ts).
 */
function readJsonText(c: Context): void {
  const text = c.req.raw.arrayBuffer().then(jsonBodyText);
  // A route that never reads its body (a 404 under a guarded path) must not leave a rejection unhandled.
  text.catch(() => undefined);
  (c.req.bodyCache as { text?: Promise<string> }).text = text;
}

// Fatal: a byte sequence that is not UTF-8 is refused, not read as U+FFFD, which would make two different user ids
// one pseudonym (as a lone surrogate would; such ids are refused too).
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A JSON body's bytes as text: UTF-8 (RFC 8259), one leading byte order mark dropped; anything that is not
 * UTF-8 is a 400 "Malformed JSON in request body", as on every route and runtime.
 */
export function jsonBodyText(bytes: ArrayBuffer | Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ApiError('bad_request', 'Malformed JSON in request body');
  }
}
