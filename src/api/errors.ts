/**
 * RFC 9457 problem details: one error class with a closed set of codes, one
 * exhaustive mapping to HTTP statuses, and one handler for everything thrown.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorCode =
  | 'validation'
  | 'content_rejected'
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'request_timeout'
  | 'header_too_large'
  | 'unsupported_media_type'
  | 'unprocessable'
  | 'range_not_satisfiable'
  | 'rate_limited'
  | 'internal'
  | 'not_ready';

export interface FieldError {
  path: string;
  message: string;
}

export function statusOf(code: ErrorCode): ContentfulStatusCode {
  switch (code) {
    case 'validation':
    case 'content_rejected':
    case 'bad_request':
      return 400;
    case 'unauthorized':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'method_not_allowed':
      return 405;
    case 'request_timeout':
      return 408;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'header_too_large':
      return 431;
    case 'unprocessable':
      return 422;
    case 'range_not_satisfiable':
      return 416;
    case 'rate_limited':
      return 429;
    case 'internal':
      return 500;
    case 'not_ready':
      return 503;
  }
}

const titles: Record<ErrorCode, string> = {
  validation: 'Invalid request',
  content_rejected: 'Message content is not accepted',
  bad_request: 'Bad request',
  unauthorized: 'Missing or invalid API key',
  forbidden: 'This key may not use this route',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  request_timeout: 'Request timeout',
  payload_too_large: 'Payload too large',
  header_too_large: 'Request header fields too large',
  unsupported_media_type: 'Unsupported media type',
  unprocessable: 'Unprocessable content',
  range_not_satisfiable: 'Range not satisfiable',
  rate_limited: 'Too many requests',
  internal: 'Internal server error',
  not_ready: 'Not ready',
};

/** What each problem type means and what to do about it: served at its `type` URI (/problems/<slug>). */
export const problemExplanations: Record<ErrorCode, string> = {
  validation:
    'A field of the request is missing, has the wrong type, is out of bounds, is not well-formed text (NUL or a lone UTF-16 surrogate), or is unknown. `errors` lists each field by its path with what is wrong.',
  content_rejected:
    'The request carried a field that looks like message or status content (text, body, caption, message, content, media). This service takes ad metadata and opaque ids only: remove the field.',
  bad_request: 'The request could not be read (for example invalid JSON, or the connection closed before the body arrived).',
  unauthorized: 'Send `Authorization: Bearer <key>` with a valid key. Repeated failures from one address are throttled (429).',
  forbidden: 'The key is valid but of the wrong kind for this route (operator, advertiser or feed-client routes).',
  not_found: 'There is no such route or object, or it belongs to another tenant (existence is not revealed).',
  method_not_allowed: 'The path exists but does not take this method; the `Allow` header lists the methods it takes.',
  request_timeout:
    "Node server only (`npm start`, and `start:worker`'s local edge): the request's headers did not arrive within 15 s (fixed), or its body not within the server's request timeout (`HTTP_REQUEST_TIMEOUT`, 30 s by default; for a creative upload `HTTP_UPLOAD_TIMEOUT`, 600 s by default). The server answered 408 and closed the connection; nothing was applied. Send the request again over a faster link or, for a slow body, ask the operator for a longer timeout.",
  payload_too_large:
    "The body exceeds the limit: 1 MiB for JSON, 17 MiB for an upload, 5 MB for an image, 16 MB for a video. On the Node server (`npm start`, and `start:worker`'s local edge), a chunked body's chunk extensions over Node's limit (16 KiB) are answered 413 too, and the connection closes.",
  header_too_large:
    "Node server only (`npm start`, and `start:worker`'s local edge): the request's header block exceeds what the server reads (Node's limit, 16 KiB by default). The server answered 431 and closed the connection; nothing was applied. Send fewer or shorter headers.",
  unsupported_media_type:
    'JSON routes take `application/json`, uploads `multipart/form-data`; an upload must be a PNG, JPEG, WebP image or an MP4 video, recognised by its bytes.',
  unprocessable: 'The uploaded media breaks a limit (duration, pixel count, dimensions) or is truncated or corrupt.',
  range_not_satisfiable:
    'The `Range` of a media request selects no byte of the file (it starts at or past the end, or ends before it starts); `Content-Range: bytes */<size>` gives the size. Ask for a range within it, or for the whole file.',
  rate_limited:
    'Too many requests (or too many failed authentications from this address); retry after the `Retry-After` seconds.',
  internal: 'Something went wrong on our side; the request was not applied. Retrying is safe.',
  not_ready:
    '`GET /readyz`: this instance cannot serve yet (its database is not writable, a migration is not applied, or the catalog is not loaded); `checks` says which. Retry after the `Retry-After` seconds; a load balancer should send traffic elsewhere meanwhile.',
};

export const problemSlug = (code: ErrorCode) => code.replaceAll('_', '-');

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

export function problemBody(code: ErrorCode, detail: string, errors?: FieldError[]): Problem {
  const body: Problem = { type: `/problems/${problemSlug(code)}`, title: titles[code], status: statusOf(code), detail };
  if (errors) body.errors = errors;
  return body;
}

/** A problem answer's own headers: its media type and what the error adds (Retry-After, Allow, WWW-Authenticate). */
export function problemHeaders(error: ApiError): Record<string, string> {
  return { 'content-type': 'application/problem+json', ...error.headers };
}

export function problemResponse(c: Context, error: ApiError): Response {
  return c.json(problemBody(error.code, error.message, error.errors), statusOf(error.code), problemHeaders(error));
}

/** What a request whose body could not be read (the client hung up, or never finished) is answered. */
export const clientGone = () => new ApiError('bad_request', 'The client closed the connection before the request was read');

/**
 * The problem the Node server (src/runtime/node-http.ts) answers one of node:http's own client errors with, by the
 * error's code (the statuses Node itself answers: 431, 413, 408), or undefined for any other (answered 400).
 */
export function nodeClientError(code: unknown): ApiError | undefined {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError('header_too_large', "The request's headers exceed the size the server reads");
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new ApiError('payload_too_large', "The request's chunk extensions exceed the size the server reads");
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError('request_timeout', 'The request did not arrive within the time allowed');
  }
  return undefined;
}

/**
 * What the Node server already answered this request (an IncomingMessage) when it cut it off while reading it (at
 * the request timeout, chunk extensions over Node's limit): it ends such a request's stream with Node's own error,
 * which then stays its `errored`. Otherwise, and elsewhere (Workers, `app.request`), undefined.
 */
export function cutOff(incoming: { errored?: unknown } | undefined): ApiError | undefined {
  const errored = incoming?.errored as { code?: unknown } | null | undefined;
  return errored ? nodeClientError(errored.code) : undefined;
}

function fromHttpException(e: HTTPException): ApiError {
  switch (e.status) {
    case 400:
      return new ApiError('bad_request', e.message || 'The request could not be read');
    case 401:
      return new ApiError('unauthorized', e.message || 'Send Authorization: Bearer <key>');
    case 413:
      return new ApiError('payload_too_large', 'Request body exceeds the 1 MiB limit');
    case 415:
      return new ApiError('unsupported_media_type', e.message);
    default:
      return new ApiError(e.status >= 500 ? 'internal' : 'bad_request', e.message);
  }
}

/**
 * What anything thrown is answered as: a request the server cut off while reading it (`cut`, from `cutOff`) what
 * the server answered it (a 408, a 413) whatever failed after, own errors as they are, Hono's HTTPExceptions
 * mapped, a client that hung up (`aborted()`) a 400, anything else a 500 (logged once, with the request id, by the
 * request record; never with the body: it may carry user ids). An error thrown after the cut (one a handler would
 * have failed with anyway) is recorded as the cut's answer too, and so not logged: the request log logs errors of
 * a 5xx only.
 */
export function asApiError(err: unknown, aborted: () => boolean, cut?: ApiError): ApiError {
  // Node has already answered and closed: this answer goes nowhere, but is what the request is recorded as.
  if (cut) return cut;
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) return fromHttpException(err);
  // Nobody will read this answer, and it is not our fault, so no error log.
  if (aborted() || (err as { code?: unknown } | null)?.code === 'ECONNRESET') return clientGone();
  return new ApiError('internal', 'Something went wrong on our side; the request was not applied');
}

/** The app's onError (on Node, `c.env.incoming` is the request node:http read: @hono/node-server's HttpBindings). */
export function handleError(err: Error, c: Context): Response {
  const incoming = (c.env as { incoming?: { errored?: unknown } } | undefined)?.incoming;
  return problemResponse(
    c,
    asApiError(err, () => c.req.raw.signal?.aborted === true, cutOff(incoming)),
  );
}
