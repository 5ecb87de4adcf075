/**
 * What Cloudflare's edge does in front of a Worker, for `npm run start:worker`:
 * a small HTTP proxy on PORT in front of workerd (which listens on loopback only).
 * Miniflare keeps a `CF-Connecting-IP` the client sent, and reads `MF-*`
 * control headers from it, so the proxy drops those and sets `CF-Connecting-IP`
 * from the socket: a client can neither dodge nor aim the failed-auth throttle.
 * It listens through `createHttpServer` with the settings `npm start` uses
 * (HTTP_REQUEST_TIMEOUT, HTTP_UPLOAD_TIMEOUT, KEEP_ALIVE_TIMEOUT), so a slow
 * client is cut off and an early answer (a 413 before the body was read)
 * reaches the client as on Node.
 */
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { JSON_BODY_LIMIT } from '../api/edge.js';
import type { Settings } from '../config.js';
import { createHttpServer, httpServerOptions } from './node-http.js';

/** Headers only the edge may set; a client's are dropped. */
const EDGE_ONLY = /^(cf-|mf-|true-client-ip$|x-real-ip$|x-forwarded-for$)/;
/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authenticate',
  'proxy-authorization',
]);

/**
 * Headers this hop has dealt with, so not copied into fetch: its own `Host` and framing, and `Expect` (node:http
 * has already answered `100 Continue`; fetch refuses the header).
 */
const THIS_HOP = new Set(['host', 'transfer-encoding', 'expect']);

/** The client's URL as it asked for it (`Host` and path); undefined without a Host that makes one. */
function originalUrl(req: IncomingMessage): string | undefined {
  if (!req.headers.host) return undefined;
  try {
    return new URL(req.url ?? '/', `http://${req.headers.host}`).href;
  } catch {
    return undefined;
  }
}

/** The socket's address as the edge would report it: IPv4-mapped IPv6 as plain IPv4. */
export function socketAddress(remote: string | undefined): string {
  return (remote ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

/** Headers to send upstream: the client's, minus edge-only and hop-by-hop ones, plus the socket's address. */
export function edgeHeaders(headers: IncomingHttpHeaders, remote: string | undefined): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  const connectionTokens = new Set(
    String(headers.connection ?? '')
      .toLowerCase()
      .split(',')
      .map((s) => s.trim()),
  );
  for (const [name, value] of Object.entries(headers)) {
    if (EDGE_ONLY.test(name) || (HOP_BY_HOP.has(name) && name !== 'transfer-encoding') || connectionTokens.has(name)) continue;
    out[name] = value;
  }
  out['cf-connecting-ip'] = socketAddress(remote);
  return out;
}

export interface LocalEdgeOptions {
  /** workerd's loopback URL (Miniflare's `ready`). */
  upstream: URL;
  port: number;
  host: string;
  /** The settings' HTTP timeouts (`Settings['http']`), applied as on Node. */
  http: Settings['http'];
}

/**
 * The request body as a web stream. Unlike `Readable.toWeb`, cancelling it (the
 * upstream answered early) does not destroy the client's connection: the rest
 * is read and dropped, and the answer goes out with a lingering close.
 */
function bodyOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  const onData = (chunk: Buffer) => controller?.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        req.pause();
        req.on('data', (chunk: Buffer) => {
          onData(chunk);
          if ((c.desiredSize ?? 0) <= 0) req.pause();
        });
        req.once('end', () => c.close());
        req.once('error', (err) => c.error(err));
      },
      pull() {
        req.resume();
      },
      cancel() {
        controller = undefined;
        req.removeAllListeners('data');
        req.resume();
      },
    },
    { highWaterMark: 4 },
  );
}

/**
 * The whole body of a request that declared a length up to JSON_BODY_LIMIT, so it can be sent twice (`startLocalEdge`
 * retries it); undefined if the client went away first (node:http's request timeout answers it).
 */
function wholeBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('close', () => resolve(undefined));
  });
}

/**
 * workerd closes a connection on which it answered without reading the request's body (a 401, 403 or 415), and
 * fetch's pool may already have sent the next request on it: the kernel resets a connection closed with bytes
 * unread, so that request fails before any answer (ECONNRESET, or "other side closed"), never having been read.
 * Such a request is sent again once, on a new connection.
 */
const CLOSED_UNDER_IT = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
const closedUnderIt = (err: unknown) => CLOSED_UNDER_IT.has((err as { cause?: { code?: string } }).cause?.code ?? '');

/** The proxy's server, and how it stops. */
export interface LocalEdge extends Server {
  /**
   * Stops as `npm start` does: no new connections, idle ones closed at once, each request in flight answered and
   * its connection then closed (`Connection: close`; kept alive, it would hold the close until KEEP_ALIVE_TIMEOUT),
   * every connection cut after `deadlineMs` [5 s]. Resolves once none is left.
   */
  stop(deadlineMs?: number): Promise<void>;
}

/** Starts the proxy; resolves once it listens. */
export function startLocalEdge(options: LocalEdgeOptions): Promise<LocalEdge> {
  const answering = new Set<ServerResponse>();
  let stopping = false;
  const server = createHttpServer(httpServerOptions(options.http), async (req, res) => {
    const socket = req.socket;
    answering.add(res);
    res.once('close', () => {
      answering.delete(res);
      // An answer already under way when the edge began to stop: its connection goes once it is out.
      if (stopping) socket.end();
    });
    if (stopping) res.shouldKeepAlive = false;
    const headers = new Headers();
    for (const [name, value] of Object.entries(edgeHeaders(req.headers, req.socket.remoteAddress))) {
      if (THIS_HOP.has(name) || value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
    }
    // fetch would decode a compressed answer but keep its Content-Encoding: ask for none.
    headers.set('accept-encoding', 'identity');
    // The URL the client asked for, Host included: fetch sends the upstream's Host, and Miniflare rebuilds the
    // Worker's request URL from this header (a client's own MF-* headers were dropped above), so the app sees the
    // host the browser sees (the console's same-origin check compares the two).
    const original = originalUrl(req);
    if (original) headers.set('mf-original-url', original);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const aborted = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) aborted.abort();
    });
    // A body within the JSON limit is read first, so the request can go again; a larger one (an upload, or a body
    // the app refuses with an early 413) streams as it comes, and goes once.
    const length = Number(req.headers['content-length'] ?? Number.NaN);
    const replayable = !hasBody || (length >= 0 && length <= JSON_BODY_LIMIT);
    let whole: Buffer | undefined;
    if (hasBody && replayable) {
      whole = await wholeBody(req);
      if (whole === undefined) return;
    }
    const send = () =>
      // fetch reads an answer that arrives before the body is sent (an early 413), which node:http's client may not.
      fetch(new URL(req.url ?? '/', options.upstream), {
        method: req.method,
        headers,
        body: whole ?? (hasBody ? bodyOf(req) : undefined),
        duplex: 'half',
        redirect: 'manual',
        signal: aborted.signal,
      } as RequestInit);
    let answer: Response;
    try {
      answer = await send().catch((err) => {
        if (!replayable || aborted.signal.aborted || !closedUnderIt(err)) throw err;
        return send();
      });
    } catch {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(502, { 'Content-Type': 'application/problem+json' });
      res.end(
        JSON.stringify({ type: '/problems/internal', title: 'Bad gateway', status: 502, detail: 'workerd did not answer' }),
      );
      return;
    }
    const out: Record<string, string | string[]> = {};
    answer.headers.forEach((value, name) => {
      if (!HOP_BY_HOP.has(name) && name !== 'set-cookie') out[name] = value;
    });
    const cookies = answer.headers.getSetCookie();
    if (cookies.length) out['set-cookie'] = cookies;
    res.writeHead(answer.status, out);
    if (!answer.body || req.method === 'HEAD') {
      res.end();
      return;
    }
    Readable.fromWeb(answer.body as import('node:stream/web').ReadableStream<Uint8Array>)
      .on('error', () => res.destroy())
      .pipe(res);
  });
  const stop = (deadlineMs = 5_000) => {
    stopping = true;
    const closed = new Promise<void>((done) => server.close(() => done()));
    for (const res of answering) if (!res.headersSent) res.shouldKeepAlive = false;
    server.closeIdleConnections();
    const deadline = setTimeout(() => server.closeAllConnections(), deadlineMs);
    deadline.unref();
    return closed.finally(() => clearTimeout(deadline));
  };
  const edge = Object.assign(server, { stop });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(edge));
  });
}
