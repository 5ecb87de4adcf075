/** Liveness (/healthz), readiness (/readyz) and Prometheus metrics (/metrics). */
import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { constantTimeEqual, sha256Hex } from '../../privacy/crypto.js';
import type { AppDeps, AppEnv } from '../context.js';
import { ApiError, problemBody } from '../errors.js';
import { type App, jsonResponse, problems, security } from '../openapi.js';

export const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['public'],
  summary: 'Liveness: the process answers (reveals nothing else)',
  responses: { 200: jsonResponse(z.object({ status: z.literal('ok') }), 'Alive'), ...problems() },
});

const Checks = z.object({
  database: z.boolean().openapi({ description: 'The database answers and takes writes' }),
  migrations: z.boolean().openapi({ description: 'Every schema migration is applied' }),
  catalog: z.boolean().openapi({ description: 'The catalog index is loaded' }),
});
export type ReadinessChecks = z.infer<typeof Checks>;

const NotReady = z
  .object({ type: z.string(), title: z.string(), status: z.literal(503), detail: z.string(), checks: Checks })
  .openapi('NotReady', { description: 'A problem (RFC 9457) with the checks as an extension member' });

export const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['public'],
  summary: 'Readiness: database writable, migrations applied, catalog loaded',
  responses: {
    200: jsonResponse(z.object({ status: z.literal('ready'), checks: Checks }), 'Ready to serve'),
    503: {
      description: 'Not ready: the failing checks are false',
      content: { 'application/problem+json': { schema: NotReady } },
    },
    ...problems(),
  },
});

export const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['operator'],
  summary: 'Prometheus metrics (operator key or METRICS_TOKEN)',
  security,
  responses: {
    200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' as const } } } },
    ...problems(401, 403, 429),
  },
});

/** Health and metrics; `requireAdmin` admits the operator key when the caller did not send METRICS_TOKEN. */
export function registerHealthRoutes(app: App, deps: AppDeps, requireAdmin: MiddlewareHandler<AppEnv>) {
  app.openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200));

  app.openapi(readyRoute, async (c) => {
    const store = deps.store.health
      ? await deps.store.health().catch(() => ({ writable: false, migrated: false }))
      : { writable: true, migrated: true };
    const checks = { database: store.writable, migrations: store.migrated, catalog: deps.catalogLoaded() };
    const failing = Object.entries(checks)
      .filter(([, ok]) => !ok)
      .map(([name]) => name);
    if (failing.length === 0) return c.json({ status: 'ready' as const, checks }, 200);
    const problem = { ...problemBody('not_ready', `Failing checks: ${failing.join(', ')}`), status: 503 as const, checks };
    return c.json(problem, 503, { 'Content-Type': 'application/problem+json', 'Retry-After': '5' });
  });

  const tokenHash = deps.metricsToken ? sha256Hex(deps.metricsToken) : undefined;
  const metricsAuth: MiddlewareHandler<AppEnv> = async function metricsAuth(c, next) {
    const sent = /^Bearer\s+(\S{1,256})$/i.exec(c.req.header('Authorization') ?? '')?.[1];
    if (tokenHash && sent !== undefined && constantTimeEqual(await sha256Hex(sent), await tokenHash)) return next();
    return requireAdmin(c, next);
  };
  app.use('/metrics', metricsAuth);
  app.openapi(metricsRoute, async (c) => {
    if (!deps.scrapeMetrics)
      throw new ApiError('not_found', 'This runtime has no /metrics; see docs/deploy.md for where its numbers go');
    const { text, contentType } = await deps.scrapeMetrics();
    return c.body(text, 200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }) as never;
  });
}
