/**
 * The Node server's timeouts (src/runtime/node-http.ts HTTP_TIMEOUTS, the settings HTTP_REQUEST_TIMEOUT,
 * HTTP_UPLOAD_TIMEOUT and KEEP_ALIVE_TIMEOUT): set on the server `npm start` builds rather than left to Node's
 * defaults, and they cut off a client that sends its headers or its body too slowly, on the slot lane and on the
 * app's path, even one that keeps trickling bytes; a creative upload has the longer upload deadline. Real servers
 * on real sockets; the cut-offs are run with short timeouts given to the same constructor, and `npm start` with a
 * short KEEP_ALIVE_TIMEOUT.
 */
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSettings } from '../../src/config.js';
import type { Log } from '../../src/ops/log.js';
import { type Metrics, noopMetrics } from '../../src/ops/metrics.js';
import { createNodeServer, HTTP_TIMEOUTS } from '../../src/runtime/node-http.js';
import { createSlotsLane } from '../../src/runtime/node-slots.js';
import { creativeForm, png } from '../helpers/media.js';
import { ADMIN, startServer } from '../helpers/server.js';
import { makeService, type TestService } from '../helpers/service.js';
import { slowClient } from '../helpers/slow-client.js';

let s: TestService;
let client: { id: string; key: string };
const servers: Server[] = [];
/** Each request's record as the metrics and the log saw it: `<method> <route> <status>`. */
const measured: string[] = [];
const logged: string[] = [];
/** The same records as logged, each followed by its request id: `<method> <route> <status> <reqId>`. */
const loggedIds: string[] = [];

beforeAll(async () => {
  s = await makeService({}, undefined, recording());
  client = await s.newClient();
  await s.seedCampaign({ seed: 3 });
});

/** Who waits for a record (`recorded`), checked after each record noted. */
const waiting = new Set<() => void>();

/** A service's log and metrics, noting each request's record in `measured` and `logged`. */
function recording(): { log: Log; metrics: Metrics } {
  const note = (into: string[], record: string) => {
    into.push(record);
    for (const check of waiting) check();
  };
  const line = (fields: object, message?: string) => {
    const { method, route, status } = fields as Record<string, unknown>;
    if (message === 'request') {
      loggedIds.push(`${method} ${route} ${status} ${(fields as Record<string, unknown>).reqId}`);
      note(logged, `${method} ${route} ${status}`);
    }
  };
  return {
    log: { info: line, warn: line, error: line },
    metrics: { ...noopMetrics, request: (route, method, status) => note(measured, `${method} ${route} ${status}`) },
  };
}

/**
 * Waits until the request's record (it comes when the server sees the close) is both measured and logged: settled
 * by the log and metrics callbacks, so only the test's own timeout bounds the wait.
 */
function recorded(record: string): Promise<void> {
  return new Promise((done) => {
    const check = () => {
      if (!measured.includes(record) || !logged.includes(record)) return;
      waiting.delete(check);
      done();
    };
    waiting.add(check);
    check();
  });
}

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  }
  await s.close();
});

async function listen(
  options: Parameters<typeof createNodeServer>[2] = {},
  service: TestService = s,
): Promise<{ server: Server; port: number }> {
  const server = createNodeServer(
    service.app.fetch,
    createSlotsLane({ edge: service.edge, delivery: service.delivery, settings: service.settings }),
    options,
  );
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, port: (server.address() as { port: number }).port };
}

/** A raw answer's status, headers (names in lower case) and body read as JSON. */
function problemOf(received: string): { status: number; headers: Record<string, string>; body: Record<string, unknown> } {
  const [head, body] = [received.slice(0, received.indexOf('\r\n\r\n')), received.slice(received.indexOf('\r\n\r\n') + 4)];
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  expect(Buffer.byteLength(body)).toBe(Number(headers['content-length']));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) };
}

/** What every problem answer that Node's client errors get carries: the problem's type and status, the API's headers, a Date, the close. */
function expectProblem(received: string, status: number, type: string, requestId?: string) {
  const answer = problemOf(received);
  expect(answer.status).toBe(status);
  expect(answer.body).toMatchObject({ type, status });
  expect(answer.headers).toMatchObject({
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'close',
  });
  expect(answer.headers['content-security-policy']).toContain("default-src 'none'");
  // A Date as on every other answer, in the form Node writes it (RFC 9110's IMF-fixdate), and about now.
  expect(answer.headers.date).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  expect(Math.abs(Date.parse(answer.headers.date) - Date.now())).toBeLessThan(60_000);
  if (requestId) expect(answer.headers['x-request-id']).toBe(requestId);
  else expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
}

const slotsHead = (port: number, key: string, length: number) =>
  `POST /v1/slots HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${key}\r\n` +
  `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

const promptSlots = (port: number) =>
  fetch(`http://127.0.0.1:${port}/v1/slots`, {
    method: 'POST',
    headers: { authorization: `Bearer ${client.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'prompt-user', statuses: 12 }),
  });

/**
 * A valid creative upload (multipart, a PNG) sent on a raw socket in `pieces` equal pieces, one every `everyMs`
 * (or a byte at a time when `pieces` is 0): whether all was sent before the server closed, and what it answered.
 */
async function slowUpload(port: number, pieces: number, everyMs: number) {
  const advertiser = await s.newAdvertiser();
  const campaign = await s.call('POST', '/v1/campaigns', advertiser.key, {
    name: 'Slow uplink',
    bid: { type: 'cpm', amountMicros: 2_000_000 },
  });
  const encoded = new Response(creativeForm(png(90, 160, 7)));
  const body = Buffer.from(await encoded.arrayBuffer());
  const pieceBytes = pieces === 0 ? 1 : Math.ceil(body.length / pieces);
  const head =
    `POST /v1/campaigns/${campaign.body.id}/creatives HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    `Authorization: Bearer ${advertiser.key}\r\nContent-Type: ${encoded.headers.get('content-type')}\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  const split: Uint8Array[] = [];
  for (let at = 0; at < body.length; at += pieceBytes) split.push(body.subarray(at, at + pieceBytes));
  const { received, sentOfTrickle } = await slowClient(port, head, split, everyMs);
  return { status: sentOfTrickle >= split.length ? ('sent' as const) : ('cut' as const), received };
}

describe('the Node server’s timeouts', () => {
  it('are the documented ones, not Node’s defaults', async () => {
    const { server } = await listen();
    expect(server.headersTimeout).toBe(HTTP_TIMEOUTS.headersMs);
    expect(server.requestTimeout).toBe(HTTP_TIMEOUTS.requestMs);
    expect(server.keepAliveTimeout).toBe(HTTP_TIMEOUTS.keepAliveMs);
    // Node 20's: 60 s for headers, 300 s for a request, 5 s keep-alive; ours are shorter, headers within the
    // request's, uploads given longer, and keep-alive longer than the 60 s of the proxies usually in front.
    expect(HTTP_TIMEOUTS.headersMs).toBeLessThan(60_000);
    expect(HTTP_TIMEOUTS.requestMs).toBeLessThan(300_000);
    expect(HTTP_TIMEOUTS.headersMs).toBeLessThanOrEqual(HTTP_TIMEOUTS.requestMs);
    expect(HTTP_TIMEOUTS.uploadMs).toBeGreaterThan(HTTP_TIMEOUTS.requestMs);
    expect(HTTP_TIMEOUTS.keepAliveMs).toBeGreaterThan(60_000);
    // The settings' defaults are these.
    expect(readSettings({}).http).toEqual({
      requestTimeoutMs: HTTP_TIMEOUTS.requestMs,
      uploadTimeoutMs: HTTP_TIMEOUTS.uploadMs,
      keepAliveTimeoutMs: HTTP_TIMEOUTS.keepAliveMs,
    });
  });

  it('given ones reach the server', async () => {
    const { server } = await listen({ requestTimeout: 20_000, keepAliveTimeout: 1234 });
    expect(server.requestTimeout).toBe(20_000);
    expect(server.keepAliveTimeout).toBe(1234);
  });

  it('KEEP_ALIVE_TIMEOUT reaches the server npm start runs: an idle kept-alive connection closes after it', async () => {
    // 1 s instead of the default 65 s: the connection below closes within the test's time only if it is applied.
    const real = await startServer({ env: { KEEP_ALIVE_TIMEOUT: '1000' } });
    try {
      const socket = connect(real.port, '127.0.0.1');
      await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString('latin1')));
      socket.on('error', () => {});
      socket.write(`GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN}\r\n\r\n`);
      await new Promise<void>((ok) => socket.once('close', () => ok()));
      // Answered, kept alive (no Connection: close), then closed by the server while idle.
      expect(received).toMatch(/^HTTP\/1\.1 \d{3} /);
      expect(received).not.toMatch(/\r\nconnection: close\r\n/i);
    } finally {
      real.proc.kill('SIGTERM');
      await real.exited;
    }
  }, 30_000);

  describe('with short ones', () => {
    let port: number;
    beforeAll(async () => {
      ({ port } = await listen({ headersTimeout: 300, requestTimeout: 800, connectionsCheckingInterval: 50 }));
      // A prompt request first: the client's key is then cached and the slot lane takes its requests.
      expect((await promptSlots(port)).status).toBe(200);
    });

    it('a client still sending its headers (a byte at a time) is answered 408 and cut off', async () => {
      const head = slotsHead(port, client.key, 2);
      // The whole head would take ~4 s at this pace, far past the 300 ms allowed.
      const { received, sentOfTrickle } = await slowClient(port, head.slice(0, 10), head.slice(10), 50);
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expectProblem(received, 408, '/problems/request-timeout');
      expect(sentOfTrickle).toBeLessThan(head.length - 10);
    });

    it('a slot request whose body trickles is answered 408 and cut off', async () => {
      const body = JSON.stringify({ user: 'slow-user', statuses: 12 }).padEnd(400, ' ');
      // Never idle (a byte every 50 ms), but the whole body would take ~20 s against the 800 ms allowed.
      const head = slotsHead(port, client.key, body.length).replace('\r\n\r\n', '\r\nX-Request-Id: slow-42\r\n\r\n');
      const { received, sentOfTrickle } = await slowClient(port, head, body, 50);
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      // A problem as any other, with the request's own id.
      expectProblem(received, 408, '/problems/request-timeout', 'slow-42');
      expect(sentOfTrickle).toBeLessThan(body.length);
      // Recorded as what it was answered, not as a client that closed the connection (400).
      await recorded('POST /v1/slots 408');
      expect(measured).not.toContain('POST /v1/slots 400');
    });

    it('a header block over Node’s limit is answered 431 as a problem, and one Node cannot parse 400', async () => {
      const big = await slowClient(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`);
      expectProblem(big.received, 431, '/problems/header-too-large');
      const garbled = await slowClient(port, 'NOT HTTP AT ALL\r\n\r\n');
      expectProblem(garbled.received, 400, '/problems/bad-request');
    });

    it('so does a body on the app’s path', async () => {
      const body = JSON.stringify({ user: 'slow-user', events: [] }).padEnd(400, ' ');
      const head =
        `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${client.key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      const { received, sentOfTrickle } = await slowClient(port, head, body, 50);
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(sentOfTrickle).toBeLessThan(body.length);
      await recorded('POST /v1/events 408');
      expect(measured).not.toContain('POST /v1/events 400');
    });

    it.each([
      { path: '/v1/slots', body: { user: 'slow-user', statuses: 12 }, route: 'the slot lane' },
      { path: '/v1/events', body: { user: 'slow-user', events: [] }, route: 'the app’s path' },
    ])(
      'a 408 cut in the body without X-Request-Id carries the id its request is logged with ($route)',
      async ({ path, body }) => {
        const padded = JSON.stringify(body).padEnd(400, ' ');
        const head =
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${client.key}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${padded.length}\r\n\r\n`;
        const { received } = await slowClient(port, head, padded, 50);
        expectProblem(received, 408, '/problems/request-timeout');
        await recorded(`POST ${path} 408`);
        expect(loggedIds).toContain(`POST ${path} 408 ${problemOf(received).headers['x-request-id']}`);
      },
    );

    it('chunk extensions over Node’s limit mid-body are answered 413 and recorded as the 413', async () => {
      const head =
        `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${client.key}\r\n` +
        `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5;${'e'.repeat(20_000)}\r\n`;
      const { received } = await slowClient(port, head);
      expectProblem(received, 413, '/problems/payload-too-large');
      await recorded('POST /v1/events 413');
      expect(measured).not.toContain('POST /v1/events 400');
      expect(loggedIds).toContain(`POST /v1/events 413 ${problemOf(received).headers['x-request-id']}`);
    });

    it('a creative upload slower than the request timeout but within the upload timeout is read and stored', async () => {
      const { port: uploadPort } = await listen({
        headersTimeout: 300,
        requestTimeout: 800,
        uploadTimeout: 20_000,
        connectionsCheckingInterval: 50,
      });
      const { status, received } = await slowUpload(uploadPort, 30, 100);
      // ~3 s of steady sending: past 800 ms, within 20 s.
      expect(received).toMatch(/^HTTP\/1\.1 201 /);
      expect(status).toBe('sent');
    });

    it('a creative upload past the upload timeout is answered 408 and cut off', async () => {
      const { port: uploadPort } = await listen({
        headersTimeout: 300,
        requestTimeout: 800,
        uploadTimeout: 2_000,
        connectionsCheckingInterval: 50,
      });
      // A byte every 20 ms: the upload would take minutes.
      const { status, received } = await slowUpload(uploadPort, 0, 20);
      expectProblem(received, 408, '/problems/request-timeout');
      expect(status).toBe('cut');
      await recorded('POST /v1/campaigns/:id/creatives 408');
    });

    it('an answer sent before the body (a 401) closes lingering, not cut by the request timeout', async () => {
      const head =
        `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer not-a-key\r\n` +
        `Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n`;
      // ~3 s of trickling, far past the 800 ms request timeout and within LINGER's 10 s: all of it is read.
      const { received, sentOfTrickle } = await slowClient(port, head, 'x'.repeat(150), 20, true);
      expect(received).toMatch(/^HTTP\/1\.1 401 /);
      expect(received).toMatch(/\r\nconnection: close\r\n/i);
      expect(sentOfTrickle).toBe(150);
    }, 30_000);

    it('a prompt request on the same server is still served', async () => {
      expect((await promptSlots(port)).status).toBe(200);
    });
  });

  describe('a kept 429 (the connection kept, the rest of the body read and dropped)', () => {
    let limited: TestService;
    let limitedClient: { id: string; key: string };
    let port: number;
    beforeAll(async () => {
      // One request per second, bursts of two, on a clock that stands still: a client's third request is a 429.
      limited = await makeService({ RATE_LIMIT_CLIENT: '1' }, undefined, recording());
      limitedClient = await limited.newClient();
      ({ port } = await listen({ headersTimeout: 300, requestTimeout: 800, connectionsCheckingInterval: 50 }, limited));
    });
    afterAll(async () => {
      await limited?.close();
    });

    it.each([
      { path: '/v1/slots', route: 'the slot lane' },
      { path: '/v1/events', route: 'the app’s path' },
    ])(
      'is not cut by the request timeout while the body trickles ($route)',
      async ({ path }) => {
        const head = (length: number, close = false) =>
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${limitedClient.key}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
        const body = '{}';
        // The bucket emptied (the first request also caches the key, so the lane takes the next ones).
        for (let i = 0; i < 2; i++) await limited.call('POST', path, limitedClient.key, {});
        const socket = connect(port, '127.0.0.1');
        await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString('latin1')));
        socket.on('error', () => {});
        const closed = new Promise<void>((ok) => socket.once('close', () => ok()));
        // Answered 429 at once; its 150 bytes then take ~3 s, far past the 800 ms request timeout, within LINGER's 10 s.
        socket.write(head(150));
        const trickle = ' '.repeat(150);
        let at = 0;
        await new Promise<void>((done) => {
          const timer = setInterval(() => {
            if (at < trickle.length && !socket.destroyed && socket.writable) socket.write(trickle[at++]);
            else {
              clearInterval(timer);
              done();
            }
          }, 20);
        });
        // Then the next request on the same connection, answered after the dropped body.
        if (!socket.destroyed) socket.write(head(body.length, true) + body);
        await closed;
        expect(at).toBe(trickle.length);
        // (A status line follows the answer before it, right after its body.)
        expect(received.match(/HTTP\/1\.1 \d{3} /g)).toEqual(['HTTP/1.1 429 ', 'HTTP/1.1 429 ']);
      },
      30_000,
    );

    it.each([
      { path: '/v1/slots', route: 'the slot lane' },
      { path: '/v1/events', route: 'the app’s path' },
    ])(
      'for a request that asked to close, closes lingering: the rest of the body is read, not reset ($route)',
      async ({ path }) => {
        for (let i = 0; i < 2; i++) await limited.call('POST', path, limitedClient.key, {});
        const head =
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${limitedClient.key}\r\n` +
          `Content-Type: application/json\r\nContent-Length: 150\r\nConnection: close\r\n\r\n`;
        // Answered 429 at once; the client keeps sending its 150 bytes (~3 s) after the server's FIN, then ends.
        const { received, sentOfTrickle } = await slowClient(port, head, ' '.repeat(150), 20, true);
        expect(received).toMatch(/^HTTP\/1\.1 429 /);
        expect(received).toMatch(/\r\nconnection: close\r\n/i);
        expect(sentOfTrickle).toBe(150);
      },
      30_000,
    );
  });
});
