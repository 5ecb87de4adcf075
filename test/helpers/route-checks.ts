/** Checks every route must pass: problem+json errors, and the key matrix (401 without a valid key, 403 for the wrong kind). */
import { expect } from 'vitest';
import type { PrincipalKind } from '../../src/api/middleware/auth.js';
import { ADMIN_KEY, type TestService } from './service.js';

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

/** An RFC 9457 problem with this status; `path` must be named in `errors`, `detail` matched against the detail. */
export function expectProblem(res: Reply, status: number, options: { path?: string; detail?: RegExp } = {}) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
  if (options.path !== undefined) {
    expect(res.body.errors, JSON.stringify(res.body)).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: options.path })]),
    );
  }
  if (options.detail) expect(res.body.detail).toMatch(options.detail);
}

/** A 400 that names the field and says this service takes no message content. */
export function expectContentRejected(res: Reply, path: string) {
  expectProblem(res, 400, { path, detail: /takes no message content/ });
}

/** One key of each kind. */
export async function keysOf(s: TestService): Promise<Record<PrincipalKind, string>> {
  const advertiser = await s.newAdvertiser('Key matrix advertiser');
  const client = await s.newClient('Key matrix client');
  return { admin: ADMIN_KEY, advertiser: advertiser.key, client: client.key };
}

/** No key, a malformed header and an unknown key are 401; every other kind of key is 403. */
export async function expectKeyMatrix(
  s: TestService,
  keys: Record<PrincipalKind, string>,
  route: { method: string; path: string; body?: unknown },
  allowed: PrincipalKind,
) {
  const noKey = await s.call(route.method, route.path, undefined, route.body);
  expectProblem(noKey, 401);
  expect(noKey.headers.get('www-authenticate')).toMatch(/Bearer/);
  const res = await s.app.request(route.path, {
    method: route.method,
    headers: { Authorization: 'Basic dXNlcjpwYXNz', 'Content-Type': 'application/json' },
    body: route.body === undefined ? undefined : JSON.stringify(route.body),
  });
  expect(res.status).toBe(401);
  expectProblem(await s.call(route.method, route.path, 'sk_adv_not-a-real-key', route.body), 401);
  expectProblem(await s.call(route.method, route.path, `${keys[allowed]}x`, route.body), 401);
  for (const kind of ['admin', 'advertiser', 'client'] as const) {
    if (kind === allowed) continue;
    expectProblem(await s.call(route.method, route.path, keys[kind], route.body), 403);
  }
}
