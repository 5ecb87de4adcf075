/** Shared pieces of route definitions: JSON bodies, problem responses, the bearer scheme. */
import { OpenAPIHono, type z } from '@hono/zod-openapi';
import type { ZodType } from 'zod';
import type { AppEnv } from './context.js';
import { ApiError, type FieldError } from './errors.js';
import { StaticMatchRouter } from './router.js';
import { Problem } from './schemas.js';

export type App = OpenAPIHono<AppEnv>;

const problemStatuses = {
  400: 'Invalid request (problem+json names each field)',
  401: 'Missing or invalid API key',
  403: 'Key of the wrong kind for this route',
  404: 'Not found (or another tenant’s)',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Media rejected (limit or unreadable)',
  429: 'Rate limited (an advertiser key over its rate, or repeated failed keys from one address); see Retry-After',
  500: 'Unexpected error on our side; the request was not applied',
} as const;

/** Problem responses for a route's OpenAPI entry; every route may also answer 500. */
export function problems(...statuses: (keyof typeof problemStatuses)[]) {
  return Object.fromEntries(
    [...new Set([...statuses, 500 as const])].map((s) => [
      s,
      { description: problemStatuses[s], content: { 'application/problem+json': { schema: Problem } } },
    ]),
  );
}

export function jsonBody<T extends ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } };
}

export function jsonResponse<T extends ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

export const security = [{ bearer: [] }];

/** Fields that could carry message or status content; this service never takes them. */
const CONTENT_FIELDS = new Set(['text', 'body', 'caption', 'message', 'content', 'media']);

/** Turns schema issues into one problem: content-like fields get their own answer. */
export function validationError(error: z.ZodError): ApiError {
  const errors: FieldError[] = [];
  const content: string[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = base ? `${base}.${key}` : key;
        if (CONTENT_FIELDS.has(key)) content.push(path);
        errors.push({ path, message: `unknown field "${key}"` });
      }
    } else {
      errors.push({ path: base || '(body)', message: issue.message });
    }
  }
  if (content.length > 0) {
    return new ApiError(
      'content_rejected',
      `This service takes no message content: remove ${content.map((p) => `"${p}"`).join(', ')}. It only accepts ad metadata and opaque ids.`,
      errors,
    );
  }
  return new ApiError('validation', errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
}

export function createOpenApiHono(): App {
  return new OpenAPIHono<AppEnv>({
    router: new StaticMatchRouter(),
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error);
    },
  });
}
