/**
 * The Node server's timeouts (src/runtime/node-http.ts HTTP_TIMEOUTS): set on the server `npm start` builds rather
 * than left to Node's defaults, and they cut off a client that sends its headers or its body too slowly, on the slot
 * lane and on the app's path, even one that keeps trickling bytes. Real servers on real sockets; the cut-offs are
 * run with short timeouts given to the same constructor.
 */
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeServer, HTTP_TIMEOUTS } from '../../src/runtime/node-http.js';
import { createSlotsLane } from '../../src/runtime/node-slots.js';
import { makeService, type TestService } from '../helpers/service.js';

let s: TestService;
let client: { id: string; key: string };
const servers: Server[] = [];

beforeAll(async () => {
  s = await makeService();
  client = await s.newClient();
  await s.seedCampaign({ seed: 3 });
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  }
  await s.close();
});

async function listen(options: Parameters<typeof createNodeServer>[2] = {}): Promise<{ server: Server; port: number }> {
  const server = createNodeServer(
    s.app.fetch,
    createSlotsLane({ edge: s.edge, delivery: s.delivery, settings: s.settings }),
    options,
  );
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, port: (server.address() as { port: number }).port };
}

/** Writes `first`, then `trickle` one byte every `everyMs` until the server closes; what it answered and whether it closed. */
async function slowClient(port: number, first: string, trickle = '', everyMs = 50) {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  socket.write(first);
  let at = 0;
  const timer = setInterval(() => {
    if (at < trickle.length && !socket.destroyed && socket.writable) socket.write(trickle[at++]);
  }, everyMs);
  await new Promise<void>((ok) => socket.once('close', () => ok()));
  clearInterval(timer);
  return { received, sentOfTrickle: at };
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

describe('the Node server’s timeouts', () => {
  it('are the documented ones, not Node’s defaults', async () => {
    const { server } = await listen();
    expect(server.headersTimeout).toBe(HTTP_TIMEOUTS.headersMs);
    expect(server.requestTimeout).toBe(HTTP_TIMEOUTS.requestMs);
    expect(server.keepAliveTimeout).toBe(HTTP_TIMEOUTS.keepAliveMs);
    // Node 20's: 60 s for headers, 300 s for a request; ours are shorter, and headers within the request's.
    expect(HTTP_TIMEOUTS.headersMs).toBeLessThan(60_000);
    expect(HTTP_TIMEOUTS.requestMs).toBeLessThan(300_000);
    expect(HTTP_TIMEOUTS.headersMs).toBeLessThanOrEqual(HTTP_TIMEOUTS.requestMs);
  });

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
      expect(sentOfTrickle).toBeLessThan(head.length - 10);
    });

    it('a slot request whose body trickles is answered 408 and cut off', async () => {
      const body = JSON.stringify({ user: 'slow-user', statuses: 12 }).padEnd(400, ' ');
      // Never idle (a byte every 50 ms), but the whole body would take ~20 s against the 800 ms allowed.
      const { received, sentOfTrickle } = await slowClient(port, slotsHead(port, client.key, body.length), body, 50);
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(sentOfTrickle).toBeLessThan(body.length);
    });

    it('so does a body on the app’s path', async () => {
      const body = JSON.stringify({ user: 'slow-user', events: [] }).padEnd(400, ' ');
      const head =
        `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${client.key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      const { received, sentOfTrickle } = await slowClient(port, head, body, 50);
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(sentOfTrickle).toBeLessThan(body.length);
    });

    it('a prompt request on the same server is still served', async () => {
      expect((await promptSlots(port)).status).toBe(200);
    });
  });
});
