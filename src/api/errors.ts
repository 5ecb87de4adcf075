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
  | 'unsupported_media_type'
  | 'unprocessable'
  | 'rate_limited'
  | 'internal';

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
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'unprocessable':
      return 422;
    case 'rate_limited':
      return 429;
    case 'internal':
      return 500;
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
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  unprocessable: 'Unprocessable content',
  rate_limited: 'Too many requests',
  internal: 'Internal server error',
};

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
  const body: Problem = { type: `/problems/${code.replaceAll('_', '-')}`, title: titles[code], status: statusOf(code), detail };
  if (errors) body.errors = errors;
  return body;
}

export function problemResponse(c: Context, error: ApiError): Response {
  const status = statusOf(error.code);
  const res = c.json(problemBody(error.code, error.message, error.errors), status, {
    'Content-Type': 'application/problem+json',
    ...error.headers,
  });
  return res;
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

/** The app's onError: own errors as-is, Hono's HTTPExceptions mapped, anything else a logged 500. */
export function handleError(err: Error, c: Context): Response {
  if (err instanceof ApiError) return problemResponse(c, err);
  if (err instanceof HTTPException) return problemResponse(c, fromHttpException(err));
  // The client hung up mid-body: nobody will read this answer, and it is not our fault, so no error log.
  if (c.req.raw.signal?.aborted || (err as { code?: unknown }).code === 'ECONNRESET') {
    return problemResponse(c, new ApiError('bad_request', 'The client closed the connection before the request was read'));
  }
  // Logged once, with the request id, by the request-log middleware (never with the body: it may carry user ids).
  return problemResponse(c, new ApiError('internal', 'Something went wrong on our side; the request was not applied'));
}
