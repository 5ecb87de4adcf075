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

/** How deep, and over how many keys, a refused value is searched for content-like fields (bodies nest 200,000 deep). */
const CONTENT_SEARCH_DEPTH = 32;
const CONTENT_SEARCH_KEYS = 10_000;

/**
 * Adds the paths of content-like fields inside a refused value (an unknown field's object, an object where a
 * string was due): content is refused as content however deep it was sent, not only as an unknown field.
 */
function contentInside(value: unknown, path: string, found: Set<string>, budget: { keys: number }, depth = 0): void {
  if (depth >= CONTENT_SEARCH_DEPTH || value === null || typeof value !== 'object') return;
  for (const key of Object.keys(value)) {
    if (--budget.keys < 0) return;
    const inner = path ? `${path}.${key}` : key;
    if (CONTENT_FIELDS.has(key)) found.add(inner);
    contentInside((value as Record<string, unknown>)[key], inner, found, budget, depth + 1);
  }
}

/** The value at a path of the body, if it is there. */
function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let value = body;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * Turns schema issues into one problem: content-like fields get their own answer, wherever they are in the
 * body (`body`, the request's parsed input, is searched below each refused field).
 */
export function validationError(error: z.ZodError, body?: unknown): ApiError {
  const errors: FieldError[] = [];
  const content = new Set<string>();
  const budget = { keys: CONTENT_SEARCH_KEYS };
  for (const issue of error.issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const at = valueAt(body, issue.path);
      for (const key of issue.keys) {
        const path = base ? `${base}.${key}` : key;
        if (CONTENT_FIELDS.has(key)) content.add(path);
        contentInside(valueAt(at, [key]), path, content, budget);
        errors.push({ path, message: `unknown field "${key}"` });
      }
    } else {
      contentInside(valueAt(body, issue.path), base, content, budget);
      errors.push({ path: base || '(body)', message: issue.message });
    }
  }
  if (content.size > 0) {
    return new ApiError(
      'content_rejected',
      `This service takes no message content: remove ${[...content].map((p) => `"${p}"`).join(', ')}. It only accepts ad metadata and opaque ids.`,
      errors,
    );
  }
  return new ApiError('validation', errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
}

export function createOpenApiHono(): App {
  return new OpenAPIHono<AppEnv>({
    router: new StaticMatchRouter(),
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, (result as { data?: unknown }).data);
    },
  });
}
