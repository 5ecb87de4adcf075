/** Bodies must say what they are: JSON routes take application/json, uploads multipart/form-data. */
import type { Context } from 'hono';
import { ApiError } from '../errors.js';

/** A media type as RFC 9110 §8.3.1 writes it: `type/subtype`, then parameters, with optional whitespace around `;`. */
const TYPE = /\s*([a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+)\s*/iy;
const PARAMETER = /;\s*(?:([a-z0-9!#$%&'*+.^_`|~-]+)=("(?:[^"\\]|\\.)*"|[^;"\s]+)\s*)?/iy;

/** The type (lower case) and parameters (names in lower case, values as sent) of a Content-Type header; undefined if malformed. */
export function parseMediaType(header: string): { type: string; parameters: Map<string, string> } | undefined {
  TYPE.lastIndex = 0;
  const type = TYPE.exec(header);
  if (!type) return undefined;
  const parameters = new Map<string, string>();
  for (let at = TYPE.lastIndex; at < header.length; at = PARAMETER.lastIndex) {
    PARAMETER.lastIndex = at;
    const parameter = PARAMETER.exec(header);
    if (!parameter) return undefined;
    const [, name, value] = parameter;
    if (name) parameters.set(name.toLowerCase(), value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value);
  }
  return { type: type[1].toLowerCase(), parameters };
}

/** JSON, or a JSON-based type (`application/vnd.api+json`) of the names @hono/zod-openapi's validator reads. */
const isJsonType = (type: string) => /^application\/([a-z.-]+\+)?json$/.test(type);

/**
 * The header as @hono/zod-openapi's own media-type gate (after this check) accepts it, for a type this check
 * accepted: that gate refuses what RFC 9110 allows and clients send (`application/json ; charset=utf-8`,
 * `multipart/form-data; boundary=x; charset=UTF-8`). Undefined when the header passes it as it is.
 */
function canonicalFor(header: string, type: string, boundary: string | undefined): string | undefined {
  if (type === 'multipart/form-data') {
    if (/^multipart\/form-data(;\s?boundary=[a-zA-Z0-9'"()+_,\-./:=?]+)?$/i.test(header)) return undefined;
    return boundary === undefined ? type : `${type}; boundary=${quotedIfNeeded(boundary)}`;
  }
  return /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i.test(header) ? undefined : type;
}

const quotedIfNeeded = (boundary: string) => (/^[a-zA-Z0-9'()+_,\-./:=?]+$/.test(boundary) ? boundary : `"${boundary}"`);

/**
 * Returns `check(c)`: throws a 415 ApiError when a body-carrying request says the wrong type, and starts reading
 * a JSON body (`readJsonText`).
 */
export function requireContentType(options: { multipartPaths: RegExp }): (c: Context) => void {
  return function contentType(c) {
    const method = c.req.method;
    if (method === 'POST' || method === 'PATCH' || method === 'PUT') {
      const header = c.req.header('Content-Type') ?? '';
      const parsed = parseMediaType(header);
      const wantsMultipart = options.multipartPaths.test(c.req.path);
      if (!parsed || !(wantsMultipart ? parsed.type === 'multipart/form-data' : isJsonType(parsed.type))) {
        throw new ApiError(
          'unsupported_media_type',
          wantsMultipart ? 'Send the upload as multipart/form-data' : 'Send the body as application/json',
        );
      }
      const canonical = canonicalFor(header, parsed.type, parsed.parameters.get('boundary'));
      if (canonical !== undefined) c.req.raw = withContentType(c.req.raw, canonical);
      if (!wantsMultipart) readJsonText(c);
    }
  };
}

/** The same request, its body not yet read, under another Content-Type: a rare path, for headers written unusually. */
function withContentType(request: Request, type: string): Request {
  const headers = new Headers(request.headers);
  headers.set('Content-Type', type);
  return new Request(request, { headers });
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
