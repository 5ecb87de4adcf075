/**
 * The Node HTTP server `npm start` listens with: the app behind @hono/node-server's
 * request listener, a lane that answers some requests first (node-slots.ts), and
 * corrections of what the adapter does on the wire.
 * - A 204 carries no Content-Type (the adapter adds text/plain to any response
 *   without one).
 * - An answer sent before the request body was read (a 413, a 401 on an
 *   upload) says `Connection: close`, and the connection then closes
 *   *lingering*: our side is shut (FIN) while the rest of the body is read and
 *   discarded, up to a bound, so the client reads the answer instead of a reset
 *   and never reuses a connection that still carries half a body.
 * - But a 429 (a client over its rate, which will be back within a second) for
 *   a body of a declared length within `KEEP_DISCARDING_BYTES`, on a request
 *   that did not ask to close, keeps the connection: the rest of the body is read and discarded, and the next
 *   request on it is parsed after it, as after any answered request. On the
 *   app's path @hono/node-server closes the socket (`destroySoon`) when an
 *   unread body has not ended 500 ms after the answer; for a kept 429 that
 *   close is ignored until the body ends (or LINGER.ms pass: then it closes),
 *   so the connection the answer kept stays kept however slowly the body comes.
 * - What Node answers itself on a client error (a 408 at a timeout, a 431 for an oversized header block, a 400 for
 *   what it cannot parse) is a problem+json answer with the API's headers, as the app's problems are, not Node's
 *   bare status line.
 */
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerOptions,
  ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Socket } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { ApiError, nodeClientError, problemBody, problemHeaders, statusOf } from '../api/errors.js';
import { UPLOAD_PATH } from '../api/middleware/body-limit.js';
import { envelopeHeaders, messageRequestId, type NodeMessage, requestIdOf } from '../api/middleware/request-log.js';
import type { Settings } from '../config.js';
import type { NodeLane } from './node-slots.js';

/** How long, and for how many bytes, a closing connection keeps reading what the client still sends. */
export const LINGER = { ms: 10_000, bytes: 64 * 1024 * 1024 };

/**
 * How long a client may take, set here rather than left to Node's defaults (which changed between versions; Node
 * 20's are 60 s, 300 s and 5 s, checked every 30 s): a request's headers must have arrived within `headersMs` of
 * its first byte and its whole body within `requestMs` (HTTP_REQUEST_TIMEOUT; bodies other than uploads are at
 * most 1 MiB: ~0.28 Mbit/s), or within `uploadMs` for a creative upload (HTTP_UPLOAD_TIMEOUT; 17 MiB needs
 * ~0.24 Mbit/s), or the server answers 408 when it has not answered yet and closes the connection. A kept-alive
 * connection closes after `keepAliveMs` (KEEP_ALIVE_TIMEOUT) without a new request: longer than the idle timeout
 * of the proxies usually in front (AWS ALB, nginx: 60 s), which must be the side that closes an idle connection.
 * Node checks the first two every `checkEveryMs`, so a client is cut off at most that much later. SECURITY.md
 * ("Resource exhaustion") states them.
 */
export const HTTP_TIMEOUTS = {
  headersMs: 15_000,
  requestMs: 30_000,
  uploadMs: 600_000,
  keepAliveMs: 65_000,
  checkEveryMs: 1_000,
};

/** Whether a request line's target (its query left out) is the creative upload route. */
function isUpload(url: string): boolean {
  const query = url.indexOf('?');
  return UPLOAD_PATH.test(query < 0 ? url : url.slice(0, query));
}

/** The most a rate-limited request may still have to send for its connection to stay open (the JSON body limit). */
export const KEEP_DISCARDING_BYTES = 1024 * 1024;

const lingering = new WeakSet<Socket>();
/** Sockets reading and dropping the rest of a kept 429's body (discardRest): LINGER bounds them. */
const discarding = new WeakSet<Socket>();

/** A 429 whose request declared a body small enough to read and drop: the connection can carry the next request. */
function keepsConnection(status: number, req: ServerResponse['req']): boolean {
  if (status !== 429 || req.headers['transfer-encoding'] !== undefined) return false;
  const length = req.headers['content-length'];
  return length !== undefined && /^\d{1,16}$/.test(length) && Number(length) <= KEEP_DISCARDING_BYTES;
}

/**
 * Reads and drops the rest of a kept 429's body. Until it has ended, the socket ignores `destroySoon` (the
 * adapter's clean-up of an unread body, 500 ms after the answer; Node itself calls it only after an answer that
 * closes); a body that has not ended within LINGER.ms closes the connection.
 */
function discardRest(req: ServerResponse['req']) {
  const socket = req.socket;
  const own = Object.hasOwn(socket, 'destroySoon') ? socket.destroySoon : undefined;
  socket.destroySoon = function keptWhileDiscarding() {};
  discarding.add(socket);
  const timer = setTimeout(() => socket.destroy(), LINGER.ms);
  timer.unref();
  const done = () => {
    clearTimeout(timer);
    discarding.delete(socket);
    req.off('end', done);
    req.off('close', done);
    if (own) socket.destroySoon = own;
    else delete (socket as Partial<Socket>).destroySoon;
  };
  req.once('end', done);
  req.once('close', done);
  req.resume();
}

/** Replaces the socket's close-after-response with a lingering close. */
function lingerOnClose(socket: Socket) {
  if (lingering.has(socket)) return;
  lingering.add(socket);
  let closing = false;
  socket.destroySoon = function lingeringClose(this: Socket) {
    if (closing) return;
    closing = true;
    // Our answer is flushed and followed by FIN; what the client still sends is read and dropped.
    this.end();
    let read = 0;
    const timer = setTimeout(() => this.destroy(), LINGER.ms);
    timer.unref();
    this.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read > LINGER.bytes) this.destroy();
    });
    this.once('end', () => this.destroy());
    this.once('close', () => clearTimeout(timer));
    this.resume();
  };
}

/**
 * The response class of our server: the corrections above in `writeHead`, once on the prototype
 * rather than wrapped around every response.
 */
class CorrectedResponse extends ServerResponse {
  // Named parameters, not a rest array: ServerResponse.writeHead(status, reason?, headers?) takes an object in
  // either place, and this runs once per answer.
  override writeHead(status: number, reason?: unknown, obj?: unknown): this {
    if (status === 204) {
      const headers = (reason && typeof reason === 'object' ? reason : obj) as Record<string, unknown> | undefined;
      if (headers && typeof headers === 'object' && !Array.isArray(headers))
        for (const key of Object.keys(headers)) if (key.toLowerCase() === 'content-type') delete headers[key];
      this.removeHeader('content-type');
    }
    // Answering before the body arrived: this connection cannot carry another request cleanly, unless the rest is
    // small enough to read and drop (a 429). A request that asked to close (Connection: close, HTTP/1.0) is closed
    // after the answer, as asked: lingering, as any other answer before the body, not while the client still sends.
    if (!this.req.complete && !this.headersSent) {
      if (this.shouldKeepAlive && keepsConnection(status, this.req)) discardRest(this.req);
      else {
        this.setHeader('Connection', 'close');
        lingerOnClose(this.req.socket);
      }
    }
    return (super.writeHead as (status: number, reason?: unknown, obj?: unknown) => this)(status, reason, obj);
  }
}

/**
 * A client error's answer as the app answers any problem (`nodeClientError`'s, else a 400), with the envelope's
 * headers — the id of the request being read (`messageRequestId`: the one it is logged with), or a fresh one
 * before its headers were read — a `Date` and `Connection: close`, as the raw bytes written to the socket.
 */
function clientErrorAnswer(error: ApiError, req: NodeMessage | undefined): string {
  const status = statusOf(error.code);
  const body = JSON.stringify(problemBody(error.code, error.message));
  const headers = envelopeHeaders(req ? messageRequestId(req) : requestIdOf(undefined), problemHeaders(error));
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n`;
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
  // The Date every answer Node writes carries (RFC 9110 §6.6.1), in the same form.
  head += `Date: ${new Date().toUTCString()}\r\n`;
  return `${head}content-length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * Node's own handling of a client error, but answered as a problem (`clientErrorAnswer`) when nothing was answered
 * yet; then the close. A request cut off while still being read with an answer other than a 400 (a 408 at the
 * request timeout, a 413 for chunk extensions) ends with that error itself, so whoever reads it (the app, the
 * lane) records what was written here (src/api/errors.ts `cutOff`), not a client that went away (a 400).
 */
function closeOnClientError(err: NodeJS.ErrnoException, socket: Socket) {
  const res = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  const error = nodeClientError(err.code);
  if (socket.writable && !res?.headersSent)
    socket.write(clientErrorAnswer(error ?? new ApiError('bad_request', 'The request could not be read as HTTP/1.1'), res?.req));
  if (error && res && !res.req.complete) res.req.destroy(err);
  socket.destroy(err);
}

/**
 * Node's client errors, handled as Node does, except a request timeout (Node's `requestTimeout`, the short one):
 * - on a connection answered before its body ended (a lingering close, a kept 429's discard), LINGER bounds what
 *   is still read, and the answer is not cut by a reset;
 * - a creative upload still sending gets `uploadMs` from its start instead (one timer, only for such an upload).
 */
function clientErrors(requestMs: number, uploadMs: number) {
  const uploads = new WeakSet<IncomingMessage>();
  return function onClientError(err: NodeJS.ErrnoException, socket: Socket) {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      if (lingering.has(socket) || discarding.has(socket)) return;
      const req = (socket as { _httpMessage?: ServerResponse | null })._httpMessage?.req;
      if (req && !req.complete && isUpload(req.url ?? '')) {
        if (uploads.has(req)) return;
        uploads.add(req);
        const timer = setTimeout(() => {
          if (!req.complete) closeOnClientError(err, socket);
        }, uploadMs - requestMs);
        timer.unref();
        const done = () => clearTimeout(timer);
        req.once('end', done).once('close', done);
        return;
      }
    }
    closeOnClientError(err, socket);
  };
}

/** The timeouts `createHttpServer` takes beside node:http's own options (HTTP_TIMEOUTS' are the defaults). */
export type HttpServerOptions = ServerOptions & { keepAliveTimeout?: number; uploadTimeout?: number };

/**
 * The settings HTTP_REQUEST_TIMEOUT, HTTP_UPLOAD_TIMEOUT and KEEP_ALIVE_TIMEOUT as `createHttpServer`'s options: for
 * `npm start`'s server and `start:worker`'s local edge alike.
 */
export function httpServerOptions(http: Settings['http']): HttpServerOptions {
  return {
    requestTimeout: http.requestTimeoutMs,
    uploadTimeout: http.uploadTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
  };
}

/** `http.createServer` with the corrections above and HTTP_TIMEOUTS (options given win; tests shorten them). */
export const createHttpServer = ((options: HttpServerOptions, listener?: RequestListener) => {
  const {
    keepAliveTimeout = HTTP_TIMEOUTS.keepAliveMs,
    uploadTimeout = HTTP_TIMEOUTS.uploadMs,
    requestTimeout = HTTP_TIMEOUTS.requestMs,
    ...rest
  } = options;
  const server = createServer(
    {
      // Node refuses a headers timeout longer than the request's: a shorter request timeout (only tests set one below
      // 15 s) shortens it too.
      headersTimeout: requestTimeout > 0 ? Math.min(HTTP_TIMEOUTS.headersMs, requestTimeout) : HTTP_TIMEOUTS.headersMs,
      connectionsCheckingInterval: HTTP_TIMEOUTS.checkEveryMs,
      ...rest,
      requestTimeout,
      ServerResponse: CorrectedResponse,
    },
    listener,
  );
  server.keepAliveTimeout = keepAliveTimeout;
  server.on('clientError', clientErrors(requestTimeout, Math.max(uploadTimeout, requestTimeout)));
  return server;
}) as (options: HttpServerOptions, listener?: RequestListener) => Server;

/**
 * The server `npm start` runs: each request goes to `lane` first (when there is one) and, unless the lane
 * answers it, to the app through @hono/node-server's listener (what its `createAdaptorServer` builds).
 */
export function createNodeServer(
  fetch: Parameters<typeof getRequestListener>[0],
  lane?: NodeLane,
  options: HttpServerOptions = {},
): Server {
  const app = getRequestListener(fetch);
  const listener: RequestListener = lane
    ? function laneFirst(req, res) {
        if (!lane(req, res)) app(req, res);
      }
    : app;
  return createHttpServer(options, listener);
}
