/**
 * The console's security properties over HTTP, in-process (no browser needed):
 * the session cookie, CSRF on every form post, the key never in a URL or the
 * page, escaping, CSP, and /docs without any other origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, makeService, type TestService } from '../helpers/service.js';

let s: TestService;
beforeAll(async () => {
  s = await makeService();
});
afterAll(async () => {
  await s.close();
});

const ORIGIN = 'http://localhost';

/** Cookies of a response as name → value. */
function cookies(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const at = pair.indexOf('=');
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

async function signInForm() {
  const res = await s.app.request('/console');
  const html = await res.text();
  const token = /name="csrf" value="([^"]+)"/.exec(html)![1];
  return { token, cookie: `console_signin=${cookies(res).console_signin}` };
}

function post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return s.app.request(path, { method: 'POST', body: new URLSearchParams(fields), headers: { Origin: ORIGIN, ...headers } });
}

async function signIn(key: string) {
  const form = await signInForm();
  const res = await post('/console/sign-in', { csrf: form.token, apiKey: key }, { Cookie: form.cookie });
  const session = cookies(res).console_session;
  const page = await s.app.request(res.headers.get('Location')!, { headers: { Cookie: `console_session=${session}` } });
  const html = await page.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  return { res, session, cookie: `console_session=${session}`, csrf: csrf!, html };
}

describe('console sign-in and session', () => {
  it('signs an operator in with an HttpOnly, SameSite=Strict cookie that does not contain the key', async () => {
    const { res, session } = await signIn(ADMIN_KEY);
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe('/console/review');
    const line = res.headers.getSetCookie().find((l) => l.startsWith('console_session='))!;
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/SameSite=Strict/);
    expect(line).not.toMatch(/Secure/);
    expect(session).not.toContain(ADMIN_KEY);
    expect(Buffer.from(session, 'base64url').toString('latin1')).not.toContain(ADMIN_KEY);
  });

  it('marks cookies Secure (and __Host-) on HTTPS', async () => {
    const res = await s.app.request('https://console.example/console');
    const line = res.headers.getSetCookie()[0];
    expect(line).toMatch(/^__Host-console_signin=/);
    expect(line).toMatch(/Secure/);
    const proxied = await s.app.request('/console', { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(proxied.headers.getSetCookie()[0]).toMatch(/Secure/);
  });

  it('refuses a sign-in without the form token, or from another origin', async () => {
    const form = await signInForm();
    const noToken = await post('/console/sign-in', { apiKey: ADMIN_KEY }, { Cookie: form.cookie });
    expect(noToken.status).toBe(403);
    expect(noToken.headers.getSetCookie().some((l) => l.startsWith('console_session='))).toBe(false);
    const elsewhere = await post(
      '/console/sign-in',
      { csrf: form.token, apiKey: ADMIN_KEY },
      { Cookie: form.cookie, Origin: 'https://evil.example' },
    );
    expect(elsewhere.status).toBe(403);
  });

  it('says when a key is not valid, or is a feed-client key, and never echoes the key', async () => {
    const form = await signInForm();
    const bad = await post('/console/sign-in', { csrf: form.token, apiKey: 'sk_adv_not_a_real_key' }, { Cookie: form.cookie });
    expect(bad.status).toBe(200);
    const html = await bad.text();
    expect(html).toContain('This API key is not valid.');
    expect(html).not.toContain('sk_adv_not_a_real_key');
    const client = await s.newClient();
    const asClient = await post('/console/sign-in', { csrf: form.token, apiKey: client.key }, { Cookie: form.cookie });
    expect(asClient.status).toBe(200);
    expect(await asClient.text()).toContain('feed-client key');
  });

  it('refuses every form post without the session CSRF token, changing nothing', async () => {
    const adv = await s.newAdvertiser('Token Test');
    const { cookie } = await signIn(adv.key);
    const before = await s.call('GET', '/v1/me', adv.key);
    const res = await post('/console/profile', { name: 'Hijacked' }, { Cookie: cookie });
    expect(res.status).toBe(403);
    const forged = await post('/console/profile', { name: 'Hijacked', csrf: 'forged' }, { Cookie: cookie });
    expect(forged.status).toBe(403);
    expect((await s.call('GET', '/v1/me', adv.key)).body.name).toBe(before.body.name);
  });

  it('treats a tampered cookie as signed out, and signing out clears the session', async () => {
    const { cookie, csrf } = await signIn(ADMIN_KEY);
    const tampered = await s.app.request('/console/review', { headers: { Cookie: `${cookie.slice(0, -2)}xx` } });
    expect(tampered.status).toBe(303);
    expect(tampered.headers.get('Location')).toBe('/console');
    const out = await post('/console/sign-out', { csrf }, { Cookie: cookie });
    expect(out.status).toBe(303);
    expect(out.headers.getSetCookie().find((l) => l.startsWith('console_session='))).toMatch(/Max-Age=0/);
  });

  it('keeps an advertiser out of operator pages and the reverse', async () => {
    const adv = await s.newAdvertiser('Role Test');
    const asAdvertiser = await signIn(adv.key);
    expect((await s.app.request('/console/review', { headers: { Cookie: asAdvertiser.cookie } })).status).toBe(303);
    const asOperator = await signIn(ADMIN_KEY);
    expect((await s.app.request('/console/campaigns', { headers: { Cookie: asOperator.cookie } })).status).toBe(303);
  });
});

describe('console pages', () => {
  it('escapes what advertisers typed, and carry a strict CSP with no inline script', async () => {
    const adv = await s.newAdvertiser('<script>alert(1)</script>');
    const { html, res } = await signIn(adv.key);
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const page = await s.app.request(res.headers.get('Location')!, {
      headers: { Cookie: `console_session=${cookies(res).console_session}` },
    });
    const csp = page.headers.get('Content-Security-Policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('Cache-Control')).toBe('no-store');
    for (const tag of html.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/src="\/console\/assets\//);
    expect(html).not.toMatch(/\sstyle="/);
  });

  it('puts the field errors of the API next to the fields they name', async () => {
    const adv = await s.newAdvertiser('Form Test');
    const { cookie, csrf } = await signIn(adv.key);
    const res = await post(
      '/console/campaigns/new',
      { csrf, name: 'Bad targeting', status: 'active', bidType: 'cpm', bidAmount: '1', countries: 'DE, germany', pacing: 'even' },
      { Cookie: cookie },
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/id="countries"[^>]*aria-invalid="true"/);
    expect(html).toMatch(/id="countries-error"[^>]*>[^<]*ISO 3166-1/);
    expect(html).not.toMatch(/id="name"[^>]*aria-invalid/);
  });
});

describe('GET /v1/campaigns/{id}/creatives', () => {
  it("lists one campaign's creatives with their review state, and hides other tenants' campaigns", async () => {
    const { advertiser, campaignId, creativeId } = await s.seedCampaign();
    const own = await s.call('GET', `/v1/campaigns/${campaignId}/creatives`, advertiser.key);
    expect(own.status).toBe(200);
    expect(own.body.creatives.map((c: { id: string; review: string }) => [c.id, c.review])).toEqual([[creativeId, 'approved']]);
    const other = await s.newAdvertiser('Other');
    expect((await s.call('GET', `/v1/campaigns/${campaignId}/creatives`, other.key)).status).toBe(404);
  });
});

describe('GET /docs', () => {
  it('is served with every asset from this origin', async () => {
    const res = await s.app.request('/docs');
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    const csp = res.headers.get('Content-Security-Policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:/);
    for (const path of [...html.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)].map((m) => m[1])) {
      const asset = await s.app.request(path);
      expect(asset.status, path).toBe(200);
      expect((await asset.text()).length, path).toBeGreaterThan(50);
    }
  });
});
