/**
 * One structured log line and one metrics observation per request, with its
 * request id. Logs the route pattern, never the raw path (ids in paths stay out
 * of logs and metric labels), the key's kind and owner id, never the key, a user
 * id or a body. An error answered with a 5xx is logged here, once, with its id.
 */
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Log } from '../../ops/log.js';
import { errorFields } from '../../ops/log.js';
import type { Metrics } from '../../ops/metrics.js';
import type { AppEnv, Principal } from '../context.js';

/**
 * A caller's X-Request-Id is kept when it is 1–128 characters of A–Z, a–z, 0–9, `_`, `-`
 * or `=` (hono/request-id's check); otherwise a random UUID replaces it.
 */
export const REQUEST_ID_MAX = 128;

export interface RequestLogOptions {
  log: Log;
  metrics: Metrics;
  /** Milliseconds, monotonic where the runtime has it. */
  now?: () => number;
}

/** The pattern of the route that answered, or `unmatched` (a 404 from no route: the raw path is not a bounded label). */
function routeOf(c: Parameters<MiddlewareHandler>[0]): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i].method !== 'ALL') return routes[i].path;
  return 'unmatched';
}

function keyOf(principal: Principal | undefined): { kind: string; id?: string } | undefined {
  if (!principal) return undefined;
  if (principal.kind === 'advertiser') return { kind: 'advertiser', id: principal.advertiserId };
  if (principal.kind === 'client') return { kind: 'client', id: principal.clientId };
  return { kind: principal.kind };
}

export function requestLog(options: RequestLogOptions): MiddlewareHandler<AppEnv> {
  const { log, metrics } = options;
  const now = options.now ?? (() => performance.now());
  return async function logRequest(c, next) {
    const started = now();
    await next();
    const ms = now() - started;
    const route = routeOf(c);
    const status = c.res.status;
    metrics.request(route, c.req.method, status, ms / 1000);
    const line = {
      reqId: c.get('requestId'),
      method: c.req.method,
      route,
      status,
      ms: Math.round(ms * 10) / 10,
      key: keyOf(c.get('principal')),
    };
    if (status >= 500 && c.error) log.error({ ...line, ...errorFields(c.error) }, 'request failed');
    else log.info(line, 'request');
  };
}
