/**
 * Keys (OWASP API2): 128+ random bits, stored only as hashes, compared in
 * constant time, never logged. Headers (API8): nosniff and a CSP everywhere,
 * CORS off unless CORS_ORIGINS names the origin.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { constantTimeEqual, sha256Hex } from '../../src/privacy/crypto.js';
import { newApiKey } from '../../src/privacy/keys.js';
import { ADMIN_KEY, makeService, type TestService } from '../helpers/service.js';

describe('API keys', () => {
  it('carry at least 128 random bits (256 in fact) and never repeat', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      for (const kind of ['advertiser', 'client'] as const) {
        const key = newApiKey(kind);
        const random = key.replace(/^sk_(adv|cli)_/, '');
        expect(random).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(random.length * 6).toBeGreaterThanOrEqual(256);
        keys.add(key);
      }
    }
    expect(keys.size).toBe(4000);
  });

  it('compare in constant time: every position is examined', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('xbc', 'abc')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    // The loop runs over the whole string whatever differs: it reads every char code of both inputs.
    const a = 'a'.repeat(64);
    const b = `b${'a'.repeat(63)}`;
    let reads = 0;
    const spy = (s: string) =>
      new Proxy(new String(s), {
        get(target, prop, receiver) {
          if (prop === 'charCodeAt') return (i: number) => (reads++, s.charCodeAt(i));
          if (prop === 'length') return s.length;
          return Reflect.get(target, prop, receiver);
        },
      }) as unknown as string;
    expect(constantTimeEqual(spy(a), spy(b))).toBe(false);
    expect(reads).toBe(128);
  });
});

describe('keys at rest and in logs', () => {
  let s: TestService;
  const logged: string[] = [];
  beforeAll(async () => {
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));
    }
    s = await makeService();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await s.close();
  });

  it('are stored only as SHA-256, and appear in no log line, even on errors', async () => {
    const { advertiser } = await s.seedCampaign();
    const client = await s.newClient();
    // Exercise failure paths that log: bad keys, wrong kinds, a forced internal error.
    await s.call('GET', '/v1/me', `${advertiser.key}x`);
    await s.call('GET', '/v1/me', client.key);
    const original = s.store.catalog.listCampaigns;
    s.store.catalog.listCampaigns = async () => {
      throw new Error('disk on fire');
    };
    const boom = await s.call('GET', '/v1/campaigns', advertiser.key);
    s.store.catalog.listCampaigns = original;
    expect(boom.status).toBe(500);
    expect(boom.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(JSON.stringify(boom.body)).not.toContain('disk on fire');
    expect(logged.join('\n')).toContain('disk on fire');

    const bytes = readFileSync(join(s.dir, 'ads.db')).toString('latin1') + readWal(s.dir);
    for (const key of [advertiser.key, client.key, ADMIN_KEY]) {
      expect(bytes.includes(key), `key found in the database files`).toBe(false);
      expect(logged.join('\n')).not.toContain(key);
    }
    expect(bytes.includes(await sha256Hex(advertiser.key))).toBe(true);
  });
});

function readWal(dir: string): string {
  try {
    return readFileSync(join(dir, 'ads.db-wal')).toString('latin1');
  } catch {
    return '';
  }
}

describe('security headers', () => {
  let s: TestService;
  let sha: string;
  beforeAll(async () => {
    s = await makeService();
    const { advertiser, creativeId } = await s.seedCampaign();
    sha = (await s.call('GET', `/v1/creatives/${creativeId}`, advertiser.key)).body.media.sha256;
  });
  afterAll(() => s.close());

  it('every kind of response says nosniff and carries a locked-down CSP', async () => {
    const responses = [
      await s.app.request('/healthz'),
      await s.app.request('/openapi.json'),
      await s.app.request(`/media/${sha}`),
      await s.app.request('/v1/me'),
      await s.app.request('/no/such/page'),
      await s.app.request('/v1/slots', {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
        body: '{',
      }),
    ];
    for (const res of responses) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  it("JSON answers carry OWASP's API headers (no-store); documents and media the browser's whole set", async () => {
    const json = [
      await s.app.request('/healthz'),
      await s.app.request('/openapi.json'),
      await s.app.request('/v1/me'),
      await s.app.request('/no/such/page'),
      await s.app.request('/v1/advertisers', {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'Headers' }),
      }),
    ];
    const documentOnly = [
      'cross-origin-resource-policy',
      'cross-origin-opener-policy',
      'origin-agent-cluster',
      'referrer-policy',
      'x-dns-prefetch-control',
      'x-download-options',
      'x-permitted-cross-domain-policies',
      'x-xss-protection',
    ];
    for (const res of json) {
      expect(res.headers.get('content-type')).toMatch(/^application\/(problem\+)?json/);
      expect(res.headers.get('cache-control'), res.url).toBe('no-store');
      expect(res.headers.get('strict-transport-security')).toContain('max-age=');
      for (const name of documentOnly) expect(res.headers.get(name), name).toBeNull();
    }
    const media = await s.app.request(`/media/${sha}`);
    const page = await s.app.request('/problems/not-found');
    expect(page.headers.get('content-type')).toContain('text/html');
    for (const res of [media, page]) for (const name of documentOnly) expect(res.headers.get(name), name).toBeTruthy();
    expect(media.headers.get('cache-control')).toContain('immutable');
  });

  it('HTML pages always carry a CSP: the locked-down one unless the page sets its own', async () => {
    // A fresh app: routes can only be added before its first request.
    const fresh = await makeService();
    try {
      fresh.app.get('/__test/page.html', (c) => c.html('<p>hi</p>'));
      fresh.app.get('/__test/own-csp.html', (c) => c.html('<p>hi</p>', 200, { 'Content-Security-Policy': "default-src 'self'" }));
      const locked = await fresh.app.request('/__test/page.html');
      expect(locked.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(locked.headers.get('x-content-type-options')).toBe('nosniff');
      const own = await fresh.app.request('/__test/own-csp.html');
      expect(own.headers.get('content-security-policy')).toBe("default-src 'self'");
    } finally {
      await fresh.close();
    }
    const docs = await s.app.request('/docs');
    if ((docs.headers.get('content-type') ?? '').includes('text/html'))
      expect(docs.headers.get('content-security-policy')).toBeTruthy();
  });

  it('media is served with its sniffed type, nosniff and immutable caching', async () => {
    const res = await s.app.request(`/media/${sha}`);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toContain('immutable');
  });
});

describe('CORS', () => {
  const preflight = (s: TestService, origin: string) =>
    s.app.request('/v1/slots', {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });

  it('is off unless CORS_ORIGINS is set: no Access-Control-* headers at all', async () => {
    const s = await makeService();
    try {
      const res = await preflight(s, 'https://evil.example');
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      const get = await s.app.request('/healthz', { headers: { Origin: 'https://evil.example' } });
      expect(get.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await s.close();
    }
  });

  it('allows only the configured origins', async () => {
    const s = await makeService({ CORS_ORIGINS: 'https://app.example, https://admin.example' });
    try {
      const ok = await preflight(s, 'https://app.example');
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
      const evil = await preflight(s, 'https://evil.example');
      expect(evil.headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
      expect(evil.headers.get('access-control-allow-origin')).not.toBe('*');
    } finally {
      await s.close();
    }
  });
});
