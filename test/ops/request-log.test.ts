/**
 * Request ids and request logs, in-process: every answer carries X-Request-Id
 * (the caller's when valid, else a fresh UUID); each request is one log line with
 * its id, route pattern, status, duration and key kind/id, and never the key, a
 * user id or a body; a 500 is logged once, at error level, with its id.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Log } from '../../src/ops/log.js';
import { FLUSH_MS } from '../../src/ops/node-log.js';
import { startServer } from '../helpers/server.js';
import { ADMIN_KEY, makeService, type TestService } from '../helpers/service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Line {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, any>;
  message?: string;
}

let lines: Line[] = [];
const log: Log = {
  info: (fields, message) => lines.push({ level: 'info', fields: fields as Record<string, any>, message }),
  warn: (fields, message) => lines.push({ level: 'warn', fields: fields as Record<string, any>, message }),
  error: (fields, message) => lines.push({ level: 'error', fields: fields as Record<string, any>, message }),
};
let s: TestService;

beforeAll(async () => {
  s = await makeService({}, undefined, { log });
});
afterAll(() => s.close());

describe('X-Request-Id', () => {
  it('echoes a valid caller id and replaces a missing or invalid one with a UUID', async () => {
    expect(
      (await s.call('GET', '/healthz', undefined, undefined, { 'X-Request-Id': 'trace-42_abc=' })).headers.get('x-request-id'),
    ).toBe('trace-42_abc=');
    expect((await s.call('GET', '/healthz', undefined)).headers.get('x-request-id')).toMatch(UUID);
    for (const bad of ['has space', 'semi;colon', 'a'.repeat(129), 'ünïcode', '<script>']) {
      const res = await s.app.request('/healthz', { headers: { 'X-Request-Id': bad } });
      expect(res.headers.get('x-request-id'), bad).toMatch(UUID);
    }
    expect(
      (await s.call('GET', '/healthz', undefined, undefined, { 'X-Request-Id': 'a'.repeat(128) })).headers.get('x-request-id'),
    ).toBe('a'.repeat(128));
  });

  it('is on every answer: 401, 403, 400, 404, 413 and problem answers', async () => {
    const client = await s.newClient();
    const answers = [
      await s.call('GET', '/v1/campaigns', undefined),
      await s.call('GET', '/v1/campaigns', client.key),
      await s.call('POST', '/v1/slots', client.key, { user: 'u', statuses: 'many' }),
      await s.call('GET', '/no/such/route', undefined),
      await s.call('POST', '/v1/slots', client.key, { user: 'u', statuses: 3, pad: 'x'.repeat(1_100_000) }),
    ];
    expect(answers.map((a) => a.status)).toEqual([401, 403, 400, 404, 413]);
    for (const a of answers) expect(a.headers.get('x-request-id')).toMatch(UUID);
  });
});

describe('request log', () => {
  it('writes one line per request with id, route pattern, status, duration and key kind and id', async () => {
    const { advertiser, campaignId } = await s.seedCampaign();
    lines = [];
    const res = await s.call('GET', `/v1/campaigns/${campaignId}`, advertiser.key, undefined, { 'X-Request-Id': 'req-1' });
    expect(res.status).toBe(200);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line.level).toBe('info');
    expect(line.fields).toMatchObject({
      reqId: 'req-1',
      method: 'GET',
      route: '/v1/campaigns/:id',
      status: 200,
      key: { kind: 'advertiser', id: advertiser.id },
    });
    expect(line.fields.ms).toBeGreaterThanOrEqual(0);
    // The pattern, never the raw path (ids in paths are not labels).
    expect(JSON.stringify(line)).not.toContain(campaignId);

    lines = [];
    await s.call('GET', '/v1/advertisers', ADMIN_KEY);
    await s.call('GET', '/nowhere/at/all', undefined);
    expect(lines.map((l) => [l.fields.route, l.fields.status, l.fields.key])).toEqual([
      ['/v1/advertisers', 200, { kind: 'admin' }],
      ['unmatched', 404, undefined],
    ]);
  });

  it('names the key kind and id of a valid key refused for its kind (403), and none for a bad key (401)', async () => {
    const client = await s.newClient();
    const advertiser = await s.newAdvertiser();
    lines = [];
    expect((await s.call('GET', '/v1/campaigns', client.key)).status).toBe(403);
    expect((await s.call('POST', '/v1/slots', advertiser.key, { user: 'u', statuses: 3 })).status).toBe(403);
    expect((await s.call('GET', '/v1/review', advertiser.key)).status).toBe(403);
    expect((await s.call('GET', '/v1/me', ADMIN_KEY)).status).toBe(403);
    expect((await s.call('GET', '/metrics', client.key)).status).toBe(403);
    expect((await s.call('GET', '/v1/me', 'not-a-key')).status).toBe(401);
    expect(lines.map((l) => [l.fields.route, l.fields.status, l.fields.key])).toEqual([
      ['/v1/campaigns', 403, { kind: 'client', id: client.id }],
      ['/v1/slots', 403, { kind: 'advertiser', id: advertiser.id }],
      ['/v1/review', 403, { kind: 'advertiser', id: advertiser.id }],
      ['/v1/me', 403, { kind: 'admin' }],
      ['/metrics', 403, { kind: 'client', id: client.id }],
      ['/v1/me', 401, undefined],
    ]);
    expect(JSON.stringify(lines)).not.toContain(client.key);
  });

  it('logs a console page view as one line, with the key kind and id of its session, however many API calls it makes', async () => {
    const { advertiser } = await s.seedCampaign();
    const start = await s.app.request('/console');
    const signInCookie = start.headers.getSetCookie()[0].split(';')[0];
    const csrf = /name="csrf" value="([^"]+)"/.exec(await start.text())![1];
    const lineOf = (id: string) =>
      lines.filter((l) => l.fields.reqId === id).map((l) => [l.fields.route, l.fields.status, l.fields.key]);
    lines = [];
    const signIn = await s.app.request('/console/sign-in', {
      method: 'POST',
      body: new URLSearchParams({ csrf, apiKey: advertiser.key }),
      headers: { Cookie: signInCookie, Origin: 'http://localhost', 'X-Request-Id': 'console-sign-in' },
    });
    expect(signIn.status).toBe(303);
    const session = signIn.headers
      .getSetCookie()
      .find((l) => l.startsWith('console_session='))!
      .split(';')[0];
    // The campaign list reads /v1/campaigns and each campaign's spend: still one request of the person.
    const list = await s.app.request('/console/campaigns', { headers: { Cookie: session, 'X-Request-Id': 'console-list' } });
    expect(list.status).toBe(200);
    const operator = await s.app.request('/console/sign-in', {
      method: 'POST',
      body: new URLSearchParams({ csrf, apiKey: ADMIN_KEY }),
      headers: { Cookie: signInCookie, Origin: 'http://localhost', 'X-Request-Id': 'console-operator' },
    });
    expect(operator.status).toBe(303);
    const adv = { kind: 'advertiser', id: advertiser.id };
    expect(lineOf('console-sign-in')).toEqual([['/console/sign-in', 303, adv]]);
    expect(lineOf('console-list')).toEqual([['/console/*', 200, adv]]);
    // Its /v1/me is refused for the admin key (403), then /v1/advertisers admits it: one line, the admin's.
    expect(lineOf('console-operator')).toEqual([['/console/sign-in', 303, { kind: 'admin' }]]);
    expect(lines).toHaveLength(3);
    expect(JSON.stringify(lines)).not.toContain(advertiser.key);
  });

  it('never logs a key, a user id or a body', async () => {
    const client = await s.newClient();
    await s.seedCampaign();
    lines = [];
    const user = 'user-4f1b9c-private';
    const slots = await s.call('POST', '/v1/slots', client.key, { user, statuses: 10 });
    expect(slots.status).toBe(200);
    await s.call('POST', '/v1/events', client.key, {
      events: slots.body.slots.map((x: { token: string }) => ({ token: x.token, type: 'impression' })),
    });
    await s.call('POST', '/v1/users/block', client.key, { user, advertiser: 'adv_nobody' });
    await s.call('POST', '/v1/slots', 'wrong-key-value-xyz', { user, statuses: 10 });
    expect(lines).toHaveLength(4);
    expect(lines[0].fields.key).toEqual({ kind: 'client', id: client.id });
    const text = JSON.stringify(lines);
    for (const secret of [user, client.key, 'wrong-key-value-xyz', slots.body.slots[0].token, '"statuses"'])
      expect(text).not.toContain(secret);
  });

  it('logs a 500 once, at error level, with the request id and the error', async () => {
    const broken = await makeService({}, undefined, { log });
    const advertiser = await broken.newAdvertiser();
    await broken.store.close(); // every SQL call now throws
    lines = [];
    const res = await broken.call('GET', '/v1/campaigns', advertiser.key, undefined, { 'X-Request-Id': 'boom-1' });
    expect(res.status).toBe(500);
    expect(res.headers.get('x-request-id')).toBe('boom-1');
    expect(lines).toHaveLength(1);
    expect(lines[0].level).toBe('error');
    expect(lines[0].fields).toMatchObject({
      reqId: 'boom-1',
      route: '/v1/campaigns',
      status: 500,
      err: { message: expect.any(String) },
    });
    await broken.close();
  });
});

describe('request log on Node (npm start)', () => {
  it('buffers lines yet writes each within a fraction of a second, and SIGTERM flushes the last ones', async () => {
    const server = await startServer();
    try {
      const line = (id: string) => server.logs().includes(`"reqId":"${id}"`);
      // The start-up line is written at once (it was waited for); then a request's line follows within FLUSH_MS.
      expect(server.logs()).toContain('serving on');
      await fetch(`${server.url}/healthz`, { headers: { 'X-Request-Id': 'buffered-1' } });
      const deadline = Date.now() + 5_000;
      while (!line('buffered-1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, FLUSH_MS / 4));
      expect(line('buffered-1')).toBe(true);
      // A burst, then SIGTERM at once: every line is on stdout when the process has exited.
      const ids = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
      await Promise.all(ids.map((id) => fetch(`${server.url}/healthz`, { headers: { 'X-Request-Id': id } })));
      server.proc.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
      for (const id of ids) expect(line(id), id).toBe(true);
      expect(server.logs()).toContain('stopped cleanly');
    } finally {
      server.proc.kill('SIGKILL');
      rmSync(server.dir, { recursive: true, force: true });
    }
  });
});
