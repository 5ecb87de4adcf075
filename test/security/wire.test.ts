/**
 * On the wire, against the real processes: `npm start` (Node) and
 * `npm run start:worker` (workerd behind the local edge). Oversized bodies are
 * answered with a readable 413 and nothing after them fails on the client's
 * pool; on the Worker, a client-sent CF-Connecting-IP neither dodges nor aims
 * the failed-authentication throttle.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { png } from '../helpers/media.js';
import { ADMIN, type RealServer, removeDir, seed, startServer, stopServer } from '../helpers/server.js';

const MiB = 1024 * 1024;

/** A PNG signature and header followed by zeros up to `bytes`: the size rule (413) is judged first. */
function bigPng(bytes: number): Uint8Array {
  const small = png(9, 16, 5);
  const out = Buffer.alloc(bytes);
  small.copy(out, 0, 0, small.length - 12);
  return out;
}

describe.each([
  ['Node (npm start)', false],
  ['Worker (npm run start:worker)', true],
] as const)('%s', (_name, worker) => {
  let server: RealServer;
  let keys: Awaited<ReturnType<typeof seed>>;
  beforeAll(async () => {
    server = await startServer({ worker, env: { AUTH_FAILURE_LIMIT: '5' } });
    keys = await seed(server, png(90, 160, 4));
  }, 90_000);
  afterAll(async () => {
    // SIGTERM: the Worker's process must stop its workerd child itself.
    await stopServer(server, 'SIGTERM');
    removeDir(server?.dir);
  });

  const slots = (body: string) =>
    fetch(`${server.url}/v1/slots`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${keys.clientKey}`, 'Content-Type': 'application/json' },
      body,
    });

  it('an 8 MiB JSON body to /v1/slots is a readable 413, and the next requests on the pool succeed', async () => {
    for (const size of [3 * MiB, 8 * MiB, 8 * MiB, 30 * MiB]) {
      const res = await slots(JSON.stringify({ user: 'x'.repeat(size), statuses: 1 }));
      expect(res.status, `${size} bytes`).toBe(413);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect((await res.json()).detail).toMatch(/1 MiB/);
      for (let i = 0; i < 3; i++) {
        const next = await slots(JSON.stringify({ user: 'after-413', statuses: 5 }));
        expect(next.status).toBe(200);
        await next.arrayBuffer();
      }
    }
  }, 60_000);

  it('6 MiB+ image uploads under load are each a readable 413, and nothing after them fails', async () => {
    const file = bigPng(6.5 * MiB);
    const upload = async () => {
      const form = new FormData();
      form.set('file', new File([file as Uint8Array<ArrayBuffer>], 'big.png', { type: 'image/png' }));
      form.set('headline', 'Big');
      form.set('ctaType', 'website');
      form.set('ctaTarget', 'https://bakery.example');
      const res = await fetch(`${server.url}/v1/campaigns/${keys.campaignId}/creatives`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${keys.advertiserKey}` },
        body: form,
      });
      return { status: res.status, body: await res.json() };
    };
    const feed = async () => {
      const res = await slots(JSON.stringify({ user: `load-${Math.random()}`, statuses: 5 }));
      await res.arrayBuffer();
      return res.status;
    };
    const results = await Promise.all([...Array.from({ length: 6 }, upload), ...Array.from({ length: 30 }, feed)]);
    for (const r of results.slice(0, 6) as { status: number; body: { detail: string } }[]) {
      expect(r.status).toBe(413);
      expect(r.body.detail).toMatch(/5 MB/);
    }
    expect(results.slice(6)).toEqual(Array(30).fill(200));
    expect(await feed()).toBe(200);
  }, 90_000);

  it('a body over the upload limit (20 MiB) is a readable 413', async () => {
    const res = await fetch(`${server.url}/v1/campaigns/${keys.campaignId}/creatives`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${keys.advertiserKey}`, 'Content-Type': 'multipart/form-data; boundary=x' },
      body: new Uint8Array(20 * MiB),
    });
    expect(res.status).toBe(413);
    expect((await res.json()).status).toBe(413);
    const next = await slots(JSON.stringify({ user: 'after-upload-413', statuses: 5 }));
    expect(next.status).toBe(200);
    await next.arrayBuffer();
  }, 60_000);

  it.runIf(worker)('a client-sent CF-Connecting-IP neither dodges nor aims the failed-authentication throttle', async () => {
    /** A request from a chosen loopback source address, with the headers given. */
    const from = (localAddress: string, key: string, headers: Record<string, string> = {}) =>
      new Promise<number>((done, fail) => {
        const req = request(
          `${server.url}/v1/me`,
          { localAddress, headers: { Authorization: `Bearer ${key}`, ...headers } },
          (res) => {
            res.resume();
            res.on('end', () => done(res.statusCode!));
          },
        );
        req.on('error', fail);
        req.end();
      });
    // Dodge: five failures, each claiming another address, still count against the socket's.
    for (let i = 0; i < 5; i++)
      expect(await from('127.0.0.3', `sk_adv_guess_${i}`, { 'CF-Connecting-IP': `198.51.100.${i}` })).toBe(401);
    expect(await from('127.0.0.3', 'sk_adv_guess_more', { 'CF-Connecting-IP': '198.51.100.77' })).toBe(429);
    // Aim: failures sent from 127.0.0.4 naming 127.0.0.5 do not throttle 127.0.0.5 ...
    for (let i = 0; i < 8; i++)
      await from('127.0.0.4', `sk_adv_aim_${i}`, { 'CF-Connecting-IP': '127.0.0.5', 'MF-CF-Blob': '{"clientIp":"127.0.0.5:1"}' });
    expect(await from('127.0.0.5', 'sk_adv_victim_typo')).toBe(401);
    // ... and a valid key is never refused anyway.
    expect(await from('127.0.0.3', keys.advertiserKey)).toBe(200);
  });
});

describe('Node (npm start) throttle address', () => {
  let server: RealServer;
  beforeAll(async () => {
    server = await startServer({ env: { AUTH_FAILURE_LIMIT: '3' } });
  }, 30_000);
  afterAll(async () => {
    await stopServer(server);
    removeDir(server?.dir);
  });

  it('ignores CF-Connecting-IP and X-Forwarded-For: the socket address counts', async () => {
    const attempt = (ip: string) =>
      fetch(`${server.url}/v1/me`, {
        headers: { Authorization: 'Bearer sk_adv_guess', 'CF-Connecting-IP': ip, 'X-Forwarded-For': ip },
      });
    for (let i = 0; i < 3; i++) expect((await attempt(`203.0.113.${i}`)).status).toBe(401);
    expect((await attempt('203.0.113.99')).status).toBe(429);
    expect((await fetch(`${server.url}/v1/advertisers`, { headers: { Authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
  });
});
