/**
 * OWASP API4 (unrestricted resource consumption) and API2 (broken
 * authentication): advertiser keys are rate limited (20 rps, bursts of 40,
 * 429 + Retry-After), feed-client keys are not by default, and an address that
 * keeps sending bad keys is throttled before any key is looked at.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readSettings } from '../../src/config.js';
import { FsMediaStorage } from '../../src/media/fs.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { createService } from '../../src/wiring.js';
import { ADMIN_KEY, makeService, SECRET, type TestService } from '../helpers/service.js';

describe('rate limiting (PRODUCT.md: advertiser 20 rps, bursts of 40; clients off by default)', () => {
  let s: TestService;
  afterEach(() => s.close());

  it('an advertiser key gets a burst of 40, then 429 with Retry-After, then 20 per second', async () => {
    s = await makeService({ RATE_LIMIT_ADVERTISER: '20' });
    const a = await s.newAdvertiser('A');
    const b = await s.newAdvertiser('B');
    const statuses: number[] = [];
    for (let i = 0; i < 41; i++) statuses.push((await s.call('GET', '/v1/campaigns', a.key)).status);
    expect(statuses.slice(0, 40).every((x) => x === 200)).toBe(true);
    const limited = await s.call('GET', '/v1/me', a.key);
    expect(statuses[40]).toBe(429);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(limited.body.status).toBe(429);
    // Another advertiser is not affected.
    expect((await s.call('GET', '/v1/me', b.key)).status).toBe(200);
    // One second refills 20 tokens, no more.
    s.clock.advance(1000);
    const after: number[] = [];
    for (let i = 0; i < 21; i++) after.push((await s.call('GET', '/v1/me', a.key)).status);
    expect(after.filter((x) => x === 200)).toHaveLength(20);
    expect(after[20]).toBe(429);
  });

  it('every advertiser route takes exactly one token per request', async () => {
    s = await makeService({ RATE_LIMIT_ADVERTISER: '20' });
    const { advertiser, campaignId, creativeId } = await s.seedCampaign();
    s.clock.advance(10_000); // refill after seeding
    const paths = [
      `/v1/campaigns`,
      `/v1/campaigns/${campaignId}`,
      `/v1/creatives/${creativeId}`,
      `/v1/me`,
      `/v1/reports?campaign=${campaignId}&from=2026-11-01&to=2026-11-30`,
    ];
    for (const path of paths) {
      s.clock.advance(10_000);
      const statuses: number[] = [];
      for (let i = 0; i < 41; i++) statuses.push((await s.call('GET', path, advertiser.key)).status);
      expect(
        statuses.filter((x) => x === 200),
        path,
      ).toHaveLength(40);
    }
  });

  it('feed-client keys are not limited by default, and are when RATE_LIMIT_CLIENT is set', async () => {
    s = await makeService();
    const client = await s.newClient();
    for (let i = 0; i < 300; i++) {
      const res = await s.call('POST', '/v1/users/blocks', client.key, { user: 'u' });
      expect(res.status).toBe(200);
    }
    await s.close();
    s = await makeService({ RATE_LIMIT_CLIENT: '5' });
    const limited = await s.newClient();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await s.call('POST', '/v1/users/blocks', limited.key, { user: 'u' })).status);
    expect(statuses.slice(0, 10).every((x) => x === 200)).toBe(true);
    expect(statuses[10]).toBe(429);
  });

  it('the admin key is not rate limited', async () => {
    s = await makeService({ RATE_LIMIT_ADVERTISER: '1', RATE_LIMIT_CLIENT: '1' });
    for (let i = 0; i < 50; i++) expect((await s.call('GET', '/v1/advertisers', ADMIN_KEY)).status).toBe(200);
  });
});

describe('failed-authentication throttling per client address', () => {
  const dir = mkdtempSync(join(tmpdir(), 'status-ads-throttle-'));
  const clock = { now: Date.UTC(2026, 10, 25, 12) };
  let service: Awaited<ReturnType<typeof createService>>;
  let store: ReturnType<typeof createSqliteStore>;
  let clientKey: string;

  beforeAll(async () => {
    const settings = readSettings({ AUTH_FAILURE_LIMIT: '10', AUTH_FAILURE_WINDOW_SECONDS: '60' });
    store = createSqliteStore({ path: join(dir, 'ads.db'), userCacheSize: 100 });
    service = await createService({
      settings,
      store,
      media: new FsMediaStorage(join(dir, 'media')),
      adminKey: ADMIN_KEY,
      secret: SECRET,
      clock: () => clock.now,
      // Stands in for getConnInfo (Node) or CF-Connecting-IP (Workers).
      clientAddress: (c) => c.req.header('x-test-address'),
    });
    const res = await service.app.request('/v1/clients', {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json', 'x-test-address': '10.0.0.9' },
      body: JSON.stringify({ name: 'App' }),
    });
    clientKey = ((await res.json()) as { apiKey: string }).apiKey;
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const blocks = (key: string | undefined, address: string) =>
    service.app.request('/v1/users/blocks', {
      method: 'POST',
      headers: {
        ...(key ? { Authorization: `Bearer ${key}` } : {}),
        'Content-Type': 'application/json',
        'x-test-address': address,
      },
      body: JSON.stringify({ user: 'u' }),
    });

  it('after N bad keys from one address, further bad keys from it get 429 with Retry-After', async () => {
    for (let i = 0; i < 10; i++) expect((await blocks(`sk_cli_guess${i}`, '203.0.113.7')).status).toBe(401);
    const throttled = await blocks(`sk_cli_guess_more`, '203.0.113.7');
    expect(throttled.status).toBe(429);
    const retryAfter = Number(throttled.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(throttled.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await blocks(undefined, '203.0.113.7')).status).toBe(429);
    // Other addresses are not affected.
    expect((await blocks('sk_cli_guess_elsewhere', '198.51.100.1')).status).toBe(401);
    // The window ends.
    clock.now += 60_000;
    expect((await blocks('sk_cli_guess_after', '203.0.113.7')).status).toBe(401);
  });

  it("a valid key is never refused because of others' failures from its address (operator, advertiser, client)", async () => {
    const address = '203.0.113.8';
    for (let i = 0; i < 300; i++) await blocks(`sk_cli_guess${i}`, address);
    expect((await blocks('sk_cli_one_more', address)).status).toBe(429);
    expect((await blocks(clientKey, address)).status).toBe(200);
    const as = (key: string, path: string) =>
      service.app.request(path, { headers: { Authorization: `Bearer ${key}`, 'x-test-address': address } });
    expect((await as(ADMIN_KEY, '/v1/advertisers')).status).toBe(200);
    const adv = await service.app.request('/v1/advertisers', {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json', 'x-test-address': address },
      body: JSON.stringify({ name: 'Shop' }),
    });
    expect(adv.status).toBe(201);
    expect((await as(((await adv.json()) as { apiKey: string }).apiKey, '/v1/me')).status).toBe(200);
  });

  it('successful requests never count toward the limit', async () => {
    for (let i = 0; i < 50; i++) expect((await blocks(clientKey, '198.51.100.2')).status).toBe(200);
    expect((await blocks('sk_cli_first_failure', '198.51.100.2')).status).toBe(401);
  });

  it('missing keys count as failures too', async () => {
    for (let i = 0; i < 10; i++) expect((await blocks(undefined, '198.51.100.3')).status).toBe(401);
    expect((await blocks(undefined, '198.51.100.3')).status).toBe(429);
    expect((await blocks(clientKey, '198.51.100.3')).status).toBe(200);
  });

  it('CORS preflights and OPTIONS are not failures', async () => {
    for (let i = 0; i < 300; i++) {
      const res = await service.app.request('/v1/slots', {
        method: 'OPTIONS',
        headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'x-test-address': '198.51.100.5' },
      });
      expect(res.status).toBeLessThan(300);
    }
    expect((await blocks('sk_cli_first_failure', '198.51.100.5')).status).toBe(401);
  });

  it('wrong-kind keys (403) are not authentication failures', async () => {
    const res = await service.app.request('/v1/me', {
      headers: { Authorization: `Bearer ${clientKey}`, 'x-test-address': '198.51.100.4' },
    });
    expect(res.status).toBe(403);
    for (let i = 0; i < 20; i++) {
      const again = await service.app.request('/v1/me', {
        headers: { Authorization: `Bearer ${clientKey}`, 'x-test-address': '198.51.100.4' },
      });
      expect(again.status).toBe(403);
    }
  });
});
