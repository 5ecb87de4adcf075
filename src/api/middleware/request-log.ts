/**
 * The request envelope, in one middleware (one timing, one await per request):
 * the request id (X-Request-Id), the security headers every answer carries, one
 * metrics observation and one structured log line. Logs the route pattern, never
 * the raw path (ids in paths stay out of logs and metric labels), the key's kind
 * and owner id, never the key, a user id or a body. An error answered with a 5xx
 * is logged here, once, with its id.
 *
 * A hot route can answer through `envelopedJson`, which builds its response with
 * every envelope header already in a plain header object: the Node adapter then
 * writes it as is, instead of materialising a WHATWG `Headers` for a dozen `set`s.
 */
import type { Context, MiddlewareHandler } from 'hono';
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
const VALID_REQUEST_ID = new RegExp(`^[\\w\\-=]{1,${REQUEST_ID_MAX}}$`);

/**
 * The headers of every answer (what hono/secure-headers set with our options): a locked-down CSP
 * (a page that needs more, e.g. /docs, sets its own, which is kept), resources usable cross-origin.
 */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['cross-origin-resource-policy', 'cross-origin'],
  ['cross-origin-opener-policy', 'same-origin'],
  ['origin-agent-cluster', '?1'],
  ['referrer-policy', 'no-referrer'],
  ['strict-transport-security', 'max-age=15552000; includeSubDomains'],
  ['x-content-type-options', 'nosniff'],
  ['x-dns-prefetch-control', 'off'],
  ['x-download-options', 'noopen'],
  ['x-frame-options', 'SAMEORIGIN'],
  ['x-permitted-cross-domain-policies', 'none'],
  ['x-xss-protection', '0'],
  ['content-security-policy', "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"],
];
const SECURITY_HEADER_OBJECT: Record<string, string> = Object.fromEntries(SECURITY_HEADERS);

export interface RequestLogOptions {
  log: Log;
  metrics: Metrics;
  /** Milliseconds, monotonic where the runtime has it. */
  now?: () => number;
}

/** Responses built by `envelopedJson`: they already carry every envelope header. */
const complete = new WeakSet<Response>();

/**
 * A JSON answer (already serialised) carrying the envelope's headers in one plain object (the hot
 * routes' fast way out).
 */
export function envelopedJson(c: Context<AppEnv>, json: string, status = 200): Response {
  const headers: Record<string, string> = {
    ...SECURITY_HEADER_OBJECT,
    'content-type': 'application/json',
    'x-request-id': c.get('requestId'),
  };
  const res = new Response(json, { status, headers });
  complete.add(res);
  return res;
}

/** The pattern of the route that answered, or `unmatched` (a 404 from no route: the raw path is not a bounded label). */
function routeOf(c: Context): string {
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
  /** One metrics observation and one log line for an answered request. */
  function recordRequest(c: Context<AppEnv>, reqId: string, ms: number) {
    const route = routeOf(c);
    const status = c.res.status;
    metrics.request(route, c.req.method, status, ms / 1000);
    const line = {
      reqId,
      method: c.req.method,
      route,
      status,
      ms: Math.round(ms * 10) / 10,
      key: keyOf(c.get('principal')),
    };
    if (status >= 500 && c.error) log.error({ ...line, ...errorFields(c.error) }, 'request failed');
    else log.info(line, 'request');
  }
  return async function envelope(c, next) {
    const started = now();
    let reqId = c.req.header('X-Request-Id');
    if (reqId === undefined || !VALID_REQUEST_ID.test(reqId)) reqId = crypto.randomUUID();
    c.set('requestId', reqId);
    await next();
    const res = c.res;
    if (!complete.has(res)) {
      const headers = res.headers;
      headers.set('x-request-id', reqId);
      // A header the handler set itself (a page's own CSP) is kept.
      for (const [name, value] of SECURITY_HEADERS) if (!headers.has(name)) headers.set(name, value);
      headers.delete('x-powered-by');
    }
    recordRequest(c, reqId, now() - started);
  };
}
