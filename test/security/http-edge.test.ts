/**
 * Malformed HTTP straight onto the real server's socket (what app.request
 * cannot send): odd Host headers, absolute and odd request targets, broken
 * chunking, unknown methods, non-ASCII headers. Never a 5xx; the server lives on.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RealServer, removeDir, startServer, stopServer } from '../helpers/server.js';

function raw(port: number, request: string | Buffer): Promise<string> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => {
      answer += d;
      // Got an answer: give the rest of it a moment, then hang up.
      setTimeout(() => socket.end(), 20);
    });
    socket.on('error', () => done(answer));
    socket.on('close', () => done(answer));
    socket.setTimeout(3000, () => socket.destroy());
    socket.write(request);
    setTimeout(() => socket.end(), 500);
  });
}

const REQUESTS: string[] = [
  'GET /healthz HTTP/1.1\r\nHost: bad host name\r\n\r\n',
  'GET /healthz HTTP/1.1\r\nHost: [::1\r\n\r\n',
  'GET /healthz HTTP/1.1\r\nHost: a:b:c\r\n\r\n',
  'GET /healthz HTTP/1.1\r\nHost: x/../../y\r\n\r\n',
  'GET /healthz HTTP/1.1\r\n\r\n',
  'GET http://evil.example/healthz HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /% HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /media/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /media/..%2f..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /media/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET * HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET //healthz HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /healthz?%ZZ=%ZZ HTTP/1.1\r\nHost: x\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
  'FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
  'PROPFIND /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /healthz HTTP/1.0\r\n\r\n',
  'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n',
  'POST /v1/slots HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nAuthorization: Bearer k\r\n\r\nZZ\r\n\r\n',
  'POST /v1/slots HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}',
  'POST /v1/slots HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
  `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: ${'a'.repeat(20_000)}\r\n\r\n`,
  `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
];

describe('malformed HTTP on the real server', () => {
  let server: RealServer;
  beforeAll(async () => {
    server = await startServer({ env: { AUTH_FAILURE_LIMIT: '20' } });
  });
  afterAll(async () => {
    await stopServer(server);
    removeDir(server?.dir);
  });

  it.each(REQUESTS.map((r) => [r.split('\r\n')[0].slice(0, 60), r]))('%s → never 5xx', async (_name, request) => {
    const answer = await raw(server.port, request);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1];
    if (status) expect(Number(status), answer.slice(0, 300)).toBeLessThan(500);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('non-ASCII bytes in the Authorization header are a 401, not a crash', async () => {
    const answer = await raw(
      server.port,
      Buffer.concat([
        Buffer.from(
          'POST /v1/slots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nAuthorization: Bearer ',
        ),
        Buffer.from([0xff, 0xfe, 0xc3, 0xa9]),
        Buffer.from('\r\n\r\n{}'),
      ]),
    );
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
  });

  it('throttles failed authentication by socket address on Node (getConnInfo), 429 with Retry-After', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 25; i++) {
      const res = await fetch(`${server.url}/v1/me`, { headers: { Authorization: `Bearer sk_adv_guess_${i}` } });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
      await res.arrayBuffer();
    }
    expect(statuses.filter((x) => x === 401).length).toBeLessThanOrEqual(20);
    expect(statuses.at(-1)).toBe(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  it('the server logged no unhandled error', () => {
    expect(server.logs(), server.logs()).not.toMatch(/\[error\]|Unhandled|TypeError/);
  });
});
