/**
 * `npm run start:worker`'s local edge (src/runtime/local-edge.ts) listens with the settings' HTTP timeouts, as
 * `npm start` does: a client that trickles its body is cut off at HTTP_REQUEST_TIMEOUT, and an idle kept-alive
 * connection closes after KEEP_ALIVE_TIMEOUT. A plain Node server stands in for workerd; the timeouts are short ones
 * given as the settings carry them (the settings themselves allow no request timeout under 15 s).
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalEdge, startLocalEdge } from '../../src/runtime/local-edge.js';
import { slowClient } from '../helpers/slow-client.js';

let upstream: Server;
let edge: LocalEdge;
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

describe('the local edge’s stop', () => {
  it('answers the request in flight with Connection: close, closes idle connections at once, and ends', async () => {
    let answerSlow: () => void = () => {};
    let slowArrived: () => void = () => {};
    const arrived = new Promise<void>((done) => (slowArrived = done));
    const slowUpstream = createServer((req, res) => {
      req.resume();
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      };
      if (req.url !== '/slow') return answer();
      answerSlow = answer;
      slowArrived();
    });
    await new Promise<void>((ok) => slowUpstream.listen(0, '127.0.0.1', ok));
    const stopping = await startLocalEdge({
      upstream: new URL(`http://127.0.0.1:${(slowUpstream.address() as { port: number }).port}`),
      port: 0,
      host: '127.0.0.1',
      // A kept-alive connection would hold a plain close() for a minute.
      http: { requestTimeoutMs: 60_000, uploadTimeoutMs: 60_000, keepAliveTimeoutMs: 60_000 },
    });
    const at = (stopping.address() as { port: number }).port;
    /** A raw keep-alive client: what it received, and when the edge closed the connection. */
    const client = (path: string) => {
      const socket = connect(at, '127.0.0.1');
      let received = '';
      socket.on('data', (d) => (received += d));
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${at}\r\n\r\n`);
      const closed = new Promise<void>((done) => socket.once('close', () => done()));
      return { received: () => received, closed };
    };
    try {
      const idle = client('/healthz');
      const slow = client('/slow');
      while (!idle.received().includes('{}')) await new Promise((r) => setTimeout(r, 10));
      // The slow request has reached the upstream: it is in flight.
      await arrived;
      const stopped = stopping.stop();
      await idle.closed;
      expect(idle.received()).toMatch(/^HTTP\/1\.1 200 /);
      answerSlow();
      await slow.closed;
      expect(slow.received()).toMatch(/^HTTP\/1\.1 200 /);
      expect(slow.received()).toMatch(/\r\nconnection: close\r\n/i);
      await stopped;
      expect(stopping.listening).toBe(false);
    } finally {
      stopping.closeAllConnections();
      slowUpstream.closeAllConnections();
      await new Promise((ok) => slowUpstream.close(ok));
    }
  }, 30_000);
});
