/**
 * The Node fast lane for `POST /v1/slots`: served at the node:http request, without a WHATWG
 * Request/Response, Hono context or middleware chain, through the same rules as the app's route (the
 * edge's key cache, rate buckets and request record; `slotsInputFrom`, `slotsAnswer`; the envelope's
 * headers and problem answers). It takes only requests whose every earlier step is known to pass in the
 * app: a well-formed Host, a single Content-Type of JSON_MEDIA_TYPE, a declared length within the JSON
 * limit, a single Authorization naming a cached client key; anything else (and anything while CORS is
 * configured) goes to the app untouched, before the lane changed any state.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../api/context.js';
import { type Edge, JSON_BODY_LIMIT } from '../api/edge.js';
import { asApiError, clientGone, cutOff, problemBody, problemHeaders, statusOf } from '../api/errors.js';
import { declaredOver } from '../api/middleware/body-limit.js';
import { jsonBodyText } from '../api/middleware/content-type.js';
import { envelopeHeaders, jsonAnswerHeaderList, messageRequestId } from '../api/middleware/request-log.js';
import { JSON_MEDIA_TYPE, slotsAnswer, slotsInputFrom } from '../api/routes/feed.js';
import type { Settings } from '../config.js';
import type { DeliveryApi } from '../wiring.js';

/** Answers the request itself (true), or leaves it untouched for the app (false). */
export type NodeLane = (req: IncomingMessage, res: ServerResponse) => boolean;

const ROUTE = '/v1/slots';
const CLIENT = ['client'] as const;
/** @hono/node-server's own check of a Host it takes as is. */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;
const NAME_AND_PORT = /^([a-z0-9._-]+):(\d{1,5})$/;

/**
 * A Host the adapter takes: as is (PLAIN_HOST), or — a name and any other port, from 60000 or below 1000 — when the
 * URL it then builds reads the same name (else it refuses the request, which is then the app's to answer).
 */
function plainHost(host: string): boolean {
  if (PLAIN_HOST.test(host)) return true;
  const named = NAME_AND_PORT.exec(host);
  if (!named) return false;
  try {
    return new URL(`http://${host}`).hostname === named[1];
  } catch {
    return false;
  }
}
const ignore = () => {};

/**
 * The Authorization value a connection's last lane request was admitted with, and its principal, on the
 * socket: a feed client sends the same key on every request of a keep-alive connection, and the same value
 * admits the same principal (the edge's key cache keeps a key's principal as long as the process runs), so
 * the lane hashes a key once per connection rather than once per request. A different value goes through
 * `authenticate` again. The raw value lives as long as the connection, as node:http's request headers do.
 */
const ADMITTED = Symbol('admitted');
type Admitting = { [ADMITTED]?: { authorization: string; principal: Principal } };

/**
 * Whether Authorization, Content-Type or Content-Length came more than once: Node keeps the first, the app
 * sees them joined (and refuses them), so such a request is the app's.
 */
function repeatsAHeader(raw: string[]): boolean {
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const bit =
      name.length === 13 && name.toLowerCase() === 'authorization'
        ? 1
        : name.length === 12 && name.toLowerCase() === 'content-type'
          ? 2
          : name.length === 14 && name.toLowerCase() === 'content-length'
            ? 4
            : 0;
    if (seen & bit) return true;
    seen |= bit;
  }
  return false;
}

/** The whole body as text (decoded as the app decodes it), or a rejection if the client hung up first. */
function bodyText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      try {
        resolve(jsonBodyText(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(clientGone());
    });
  });
}

/** The lane, or undefined where it cannot answer as the app does (CORS headers are the app's middleware). */
export function createSlotsLane(deps: { edge: Edge; delivery: DeliveryApi; settings: Settings }): NodeLane | undefined {
  if (deps.settings.corsOrigins.length > 0) return undefined;
  const { edge, delivery } = deps;

  // A 200's headers come as node:http's flat list (jsonAnswerHeaderList, the hot answer); a problem's as an object,
  // since `problemHeaders` merges its own (Retry-After, …) into the envelope's by name.
  function write(res: ServerResponse, status: number, headers: Record<string, string> | string[], body: string) {
    const length = String(Buffer.byteLength(body));
    if (Array.isArray(headers)) headers.push('content-length', length);
    else headers['content-length'] = length;
    res.writeHead(status, headers);
    res.end(body);
  }

  async function serve(req: IncomingMessage, res: ServerResponse, principal: Principal, started: number) {
    const reqId = messageRequestId(req);
    let json: string;
    try {
      edge.limitRate(principal);
      json = await slotsAnswer(delivery, slotsInputFrom(await bodyText(req)), principal);
    } catch (err) {
      // Gone as the app's request signal counts it: the answer's connection closed before the answer; cut off
      // at the request timeout as the app's error handler tells it.
      const error = asApiError(err, () => res.destroyed, cutOff(req));
      const status = statusOf(error.code);
      edge.record({ reqId, method: 'POST', route: ROUTE, status, ms: performance.now() - started, principal, error: err });
      const body = JSON.stringify(problemBody(error.code, error.message, error.errors));
      write(res, status, envelopeHeaders(reqId, problemHeaders(error)), body);
      return;
    }
    edge.record({
      reqId,
      method: 'POST',
      route: ROUTE,
      status: 200,
      ms: performance.now() - started,
      principal,
      error: undefined,
    });
    write(res, 200, jsonAnswerHeaderList(reqId), json);
  }

  return function slotsLane(req, res) {
    if (req.method !== 'POST' || req.url !== ROUTE) return false;
    const started = performance.now();
    const headers = req.headers;
    const type = headers['content-type'];
    const length = headers['content-length'];
    const host = headers.host;
    if (
      type === undefined ||
      !JSON_MEDIA_TYPE.test(type) ||
      length === undefined ||
      headers['transfer-encoding'] !== undefined ||
      declaredOver(length, JSON_BODY_LIMIT) ||
      host === undefined ||
      !plainHost(host) ||
      repeatsAHeader(req.rawHeaders)
    )
      return false;
    const authorization = headers.authorization;
    const socket = req.socket as Admitting;
    const admitted = socket[ADMITTED];
    let principal: Principal | Promise<Principal>;
    if (admitted !== undefined && admitted.authorization === authorization) principal = admitted.principal;
    else {
      try {
        principal = edge.authenticate(authorization, CLIENT);
      } catch {
        // 401 and 403 are the app's: it also counts failed keys per address.
        return false;
      }
      if (principal instanceof Promise) {
        // A key not yet cached: the app looks it up (and caches it for the next request).
        principal.catch(ignore);
        return false;
      }
      socket[ADMITTED] = { authorization: authorization as string, principal };
    }
    // Every error is answered inside; what could still throw is the write to a socket already gone.
    serve(req, res, principal, started).catch(() => res.destroy());
    return true;
  };
}
