/**
 * `npm run start:worker`'s local edge (src/runtime/local-edge.ts) listens with the settings' HTTP timeouts, as
 * `npm start` does: a client that trickles its body is cut off at HTTP_REQUEST_TIMEOUT, and an idle kept-alive
 * connection closes after KEEP_ALIVE_TIMEOUT. A plain Node server stands in for workerd; the timeouts are short ones
 * given as the settings carry them (the settings themselves allow no request timeout under 15 s).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalEdge } from '../../src/runtime/local-edge.js';
import { slowClient } from '../helpers/slow-client.js';

let upstream: Server;
let edge: Server;
let port: number;

beforeAll(async () => {
  // Answers once the whole body has arrived, as the Worker does for a JSON route.
  upstream = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((ok) => upstream.listen(0, '127.0.0.1', ok));
  const upstreamPort = (upstream.address() as { port: number }).port;
  edge = await startLocalEdge({
    upstream: new URL(`http://127.0.0.1:${upstreamPort}`),
    port: 0,
    host: '127.0.0.1',
    http: { requestTimeoutMs: 1_000, uploadTimeoutMs: 1_000, keepAliveTimeoutMs: 1_000 },
  });
  port = (edge.address() as { port: number }).port;
});

afterAll(async () => {
  for (const server of [edge, upstream]) {
    server?.closeAllConnections();
    await new Promise((ok) => server?.close(ok));
  }
});

/** `slowClient` on the edge. */
const slowEdgeClient = (head: string, trickle = '') => slowClient(port, head, trickle);

describe('the local edge’s timeouts', () => {
  it('HTTP_REQUEST_TIMEOUT: a body that trickles is answered 408 and cut off', async () => {
    const body = JSON.stringify({ user: 'slow-user', events: [] }).padEnd(400, ' ');
    const head =
      `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length}\r\n\r\n`;
    // Never idle (a byte every 50 ms), but the whole body would take ~20 s against the 1 s allowed (Node's check runs
    // every second, so the cut comes 1–2 s in; the default 30 s would come after the body).
    const { received, sentOfTrickle, ms } = await slowEdgeClient(head, body);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(received).toContain('/problems/request-timeout');
    expect(sentOfTrickle).toBeLessThan(body.length);
    expect(ms).toBeGreaterThanOrEqual(900);
  }, 15_000);

  it('KEEP_ALIVE_TIMEOUT: an idle kept-alive connection closes after it', async () => {
    const { received, ms } = await slowEdgeClient(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    // Answered, kept alive (no Connection: close), then closed by the edge while idle (the default is 65 s).
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).not.toMatch(/\r\nconnection: close\r\n/i);
    expect(ms).toBeGreaterThanOrEqual(900);
  }, 15_000);
});
