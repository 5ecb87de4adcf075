/**
 * The request envelope, in one middleware (one timing, one await per request):
 * the request id (X-Request-Id), the security headers every answer carries (a JSON
 * answer the API's set, any other the set for documents), one metrics observation and one structured log line. Logs the route pattern, never
 * the raw path (ids in paths stay out of logs and metric labels), the key's kind
 * and owner id, never the key, a user id or a body. An error answered with a 5xx
 * is logged here, once, with its id.
 *
 * A hot route can answer through `envelopedJson`, which builds its response with
 * every envelope header already in a plain header object: the Node adapter then
 * writes it as is, instead of materialising a WHATWG `Headers` for a dozen `set`s.
 * The request id, the headers and the record are plain functions (`requestIdOf`,
 * `envelopeHeaders`, `requestRecorder`): the Node slot lane answers through them too.
 */
import type { Context, MiddlewareHandler, TypedResponse } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { JSONParsed } from 'hono/utils/types';
import type { Json } from '../../delivery/slots-json.js';
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

/** The locked-down CSP every answer carries unless its handler sets its own (a page that needs more, e.g. /docs). */
const CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const HSTS = 'max-age=15552000; includeSubDomains';

/**
 * The security headers of an answer that is not JSON — HTML pages, docs, media, CSV, text (what
 * hono/secure-headers sets with our options): the locked-down CSP, resources usable cross-origin, and the
 * headers that only mean something to a browser rendering a document.
 */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['cross-origin-resource-policy', 'cross-origin'],
  ['cross-origin-opener-policy', 'same-origin'],
  ['origin-agent-cluster', '?1'],
  ['referrer-policy', 'no-referrer'],
  ['strict-transport-security', HSTS],
  ['x-content-type-options', 'nosniff'],
  ['x-dns-prefetch-control', 'off'],
  ['x-download-options', 'noopen'],
  ['x-frame-options', 'SAMEORIGIN'],
  ['x-permitted-cross-domain-policies', 'none'],
  ['x-xss-protection', '0'],
  ['content-security-policy', CSP],
];

/**
 * The security headers of a JSON answer (`application/json`, `application/problem+json`): the set OWASP's
 * REST Security Cheat Sheet asks of every API response — not cached (slot tokens, API keys), not framed, not
 * sniffed, HTTPS only, under a CSP that allows nothing. The other eight of SECURITY_HEADERS steer a browser
 * rendering a document, which a JSON answer never is, and cost node:http a validation each per answer
 * (SECURITY.md, "Misconfiguration: headers and CORS").
 */
export const API_SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['cache-control', 'no-store'],
  ['content-security-policy', CSP],
  ['strict-transport-security', HSTS],
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'SAMEORIGIN'],
];
const API_HEADER_OBJECT: Record<string, string> = Object.fromEntries(API_SECURITY_HEADERS);

/** A JSON media type (with or without parameters): such an answer gets API_SECURITY_HEADERS. */
const JSON_TYPE = /^application\/(problem\+)?json\s*(;|$)/i;

/** The request's id: the caller's X-Request-Id when valid, else a fresh UUID. */
export function requestIdOf(header: string | undefined): string {
  return header !== undefined && VALID_REQUEST_ID.test(header) ? header : crypto.randomUUID();
}

const REQUEST_ID = Symbol('requestId');

/** A request node:http read (an IncomingMessage), as far as its id needs. */
export interface NodeMessage {
  headers: Record<string, string | string[] | undefined>;
  [REQUEST_ID]?: string;
}

/**
 * The id of a request node:http read (`requestIdOf` its X-Request-Id), drawn once and kept on it: the Node slot
 * lane, the app and the answer to a client error cut in its body (node-http.ts) then all name it by the same id.
 */
export function messageRequestId(req: NodeMessage): string {
  let id = req[REQUEST_ID];
  if (id === undefined) req[REQUEST_ID] = id = requestIdOf(req.headers['x-request-id'] as string | undefined);
  return id;
}

/**
 * Every header of a JSON answer whose own headers are `own` (its content type first; names in lower case but
 * for the error's own): the API security headers, its own, and the request id. Built with `Object.assign`
 * and stores: an object spread over these hyphenated names costs V8 microseconds, this ~0.1 µs.
 */
export function envelopeHeaders(reqId: string, own: Record<string, string>): Record<string, string> {
  const headers = Object.assign({}, API_HEADER_OBJECT);
  for (const name in own) headers[name] = own[name];
  headers['x-request-id'] = reqId;
  return headers;
}

/** The one observation and log line of an answered request. */
export interface RequestRecord {
  reqId: string;
  method: string;
  /** The matched route pattern, or `unmatched`. */
  route: string;
  status: number;
  ms: number;
  principal: Principal | undefined;
  /** What was thrown, for a 5xx. */
  error: unknown;
}

/** Returns `record(request)`: one metrics observation and one log line (a 5xx with its error at error level). */
export function requestRecorder(options: { log: Log; metrics: Metrics }): (request: RequestRecord) => void {
  const { log, metrics } = options;
  return function recordRequest({ reqId, method, route, status, ms, principal, error }) {
    metrics.request(route, method, status, ms / 1000);
    const line = { reqId, method, route, status, ms: Math.round(ms * 10) / 10, key: keyOf(principal) };
    if (status >= 500 && error) log.error({ ...line, ...errorFields(error) }, 'request failed');
    else log.info(line, 'request');
  };
}

/** A JSON answer's own header. */
export const JSON_ANSWER: Record<string, string> = { 'content-type': 'application/json' };

/** `envelopeHeaders(reqId, JSON_ANSWER)` but the request id, as node:http's flat list (name, value, …). */
const JSON_ANSWER_LIST: readonly string[] = Object.entries(envelopeHeaders('', JSON_ANSWER))
  .filter(([name]) => name !== 'x-request-id')
  .flat();

/**
 * The headers of a 200 JSON answer — `envelopeHeaders(reqId, JSON_ANSWER)`, in its order — as node:http's flat
 * list (name, value, …) for `writeHead`, which walks a list by index instead of an object's keys (the Node slot
 * lane's answer; the caller may push more, e.g. its Content-Length).
 */
export function jsonAnswerHeaderList(reqId: string): string[] {
  const list = JSON_ANSWER_LIST.slice();
  list.push('x-request-id', reqId);
  return list;
}

/** Responses built by `envelopedJson`: they already carry every envelope header. */
const complete = new WeakSet<Response>();

/**
 * A JSON answer (already serialised) carrying the envelope's headers in one plain object (the hot
 * routes' fast way out).
 */
export function envelopedJson(c: Context<AppEnv>, json: string, status = 200): Response {
  const res = new Response(json, { status, headers: envelopeHeaders(c.get('requestId'), JSON_ANSWER) });
  complete.add(res);
  return res;
}

/**
 * `envelopedJson` typed as `c.json(value, 200)` types its answer: a zod-openapi route's handler check then holds
 * `T` to the route's 200 schema, as it does for `c.json`.
 */
export function typedJson<T>(c: Context<AppEnv>, json: Json<T>): Response & TypedResponse<JSONParsed<T>, 200, 'json'> {
  return envelopedJson(c, json) as Response & TypedResponse<JSONParsed<T>, 200, 'json'>;
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

/** In-process API requests a page makes (the console's calls), each to the context of the page's request. */
const pageOf = new WeakMap<Request, Context<AppEnv>>();

/**
 * Marks an in-process API request as part of the request `page` (a console page view): it is not a request
 * of its own in the log and metrics, and the key it was admitted with (or refused for its kind) is the page's
 * line's key. A 5xx inside it is still logged, at error level with its error, under the page's request id.
 */
export function partOfRequest(request: Request, page: Context<AppEnv>): Request {
  pageOf.set(request, page);
  return request;
}

/** The envelope as Hono middleware; `record` is `requestRecorder`'s, shared with the Node slot lane. */
export function requestLog(record: (request: RequestRecord) => void): MiddlewareHandler<AppEnv> {
  return async function envelope(c, next) {
    const started = performance.now();
    // On Node, `c.env.incoming` is the request node:http read (@hono/node-server's HttpBindings).
    const incoming = (c.env as { incoming?: NodeMessage } | undefined)?.incoming;
    const reqId = incoming ? messageRequestId(incoming) : requestIdOf(c.req.header('X-Request-Id'));
    c.set('requestId', reqId);
    await next();
    const res = c.res;
    if (!complete.has(res)) {
      const headers = res.headers;
      headers.set('x-request-id', reqId);
      // A header the handler set itself (a page's own CSP, the media's caching) is kept.
      const security = JSON_TYPE.test(headers.get('content-type') ?? '') ? API_SECURITY_HEADERS : SECURITY_HEADERS;
      for (const [name, value] of security) if (!headers.has(name)) headers.set(name, value);
      headers.delete('x-powered-by');
    }
    const page = pageOf.get(c.req.raw);
    if (page) {
      const principal = c.get('principal');
      if (principal && !page.get('principal')) page.set('principal', principal);
      if (res.status < 500) return;
    }
    record({
      reqId,
      method: c.req.method,
      route: routeOf(c),
      status: res.status,
      ms: performance.now() - started,
      principal: c.get('principal'),
      error: c.error,
    });
  };
}
