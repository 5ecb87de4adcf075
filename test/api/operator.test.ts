/** Operator routes (admin key): advertisers, feed-client keys, creative review. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { png } from '../helpers/media.js';
import { expectContentRejected, expectKeyMatrix, expectProblem, keysOf } from '../helpers/route-checks.js';
import { ADMIN_KEY, makeService, type TestService } from '../helpers/service.js';

let s: TestService;
beforeEach(async () => {
  s = await makeService();
});
afterEach(() => s.close());

/** An advertiser with a campaign and one uploaded (pending) creative. */
async function pendingCreative() {
  const advertiser = await s.newAdvertiser('Florist');
  const campaign = await s.call('POST', '/v1/campaigns', advertiser.key, {
    name: 'Spring',
    bid: { type: 'cpm', amountMicros: 2_000_000 },
  });
  const creative = await s.upload(advertiser.key, campaign.body.id, png(90, 160, 7));
  expect(creative.status).toBe(201);
  return { advertiser, campaignId: campaign.body.id as string, creativeId: creative.body.id as string };
}

describe('POST /v1/advertisers', () => {
  it('creates an advertiser with its profile and a working key', async () => {
    const profile = {
      name: 'Bakery Müller',
      description: 'Bread since 1920',
      address: 'Hauptstr. 1, Berlin',
      email: 'hello@bakery.example',
      website: 'https://bakery.example',
      category: 'food-drink',
    };
    const res = await s.call('POST', '/v1/advertisers', ADMIN_KEY, profile);
    expect(res.status).toBe(201);
    expect(res.body.advertiser).toMatchObject({
      ...profile,
      id: expect.any(String),
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(res.body.apiKey).toEqual(expect.any(String));
    const me = await s.call('GET', '/v1/me', res.body.apiKey);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: res.body.advertiser.id, ...profile });
  });

  it('needs only a name; absent profile fields are null', async () => {
    const res = await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: 'Solo' });
    expect(res.status).toBe(201);
    expect(res.body.advertiser).toMatchObject({
      name: 'Solo',
      description: null,
      address: null,
      email: null,
      website: null,
      category: null,
    });
  });

  it('validates the profile and names the field', async () => {
    expectProblem(await s.call('POST', '/v1/advertisers', ADMIN_KEY, {}), 400, { path: 'name' });
    expectProblem(await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: '   ' }), 400, { path: 'name' });
    expectProblem(await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: 42 }), 400, { path: 'name' });
    expectProblem(await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: 'x'.repeat(201) }), 400, { path: 'name' });
    expectProblem(await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: 'A', email: 'not-an-email' }), 400, {
      path: 'email',
    });
    expectProblem(await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: 'A', website: 'javascript:alert(1)' }), 400, {
      path: 'website',
    });
    expectProblem(await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: 'A', description: 'x'.repeat(2001) }), 400, {
      path: 'description',
    });
  });

  it('rejects unknown fields by name and content-like fields as message content', async () => {
    const unknown = await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: 'A', slogan: 'best' });
    expectProblem(unknown, 400, { path: 'slogan', detail: /slogan/ });
    expectContentRejected(await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: 'A', message: 'hi' }), 'message');
  });

  it('rejects bodies that are not JSON objects', async () => {
    const send = (body: string, type = 'application/json') =>
      s.app.request('/v1/advertisers', {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': type },
        body,
      });
    for (const body of ['{"name":', '', 'null', '[]', '"name"']) {
      const res = await send(body);
      expect(res.status, body).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    }
    expect((await send('name=A', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await send('{"name":"A"}', 'text/plain')).status).toBe(415);
    // Every type the JSON routes refuse gets the same answer, whichever check refuses it.
    for (const type of ['text/plain', 'application/json;charset', 'application/json x', 'application/v2+json', 'json']) {
      const refused = await send('{"name":"A"}', type);
      expect(refused.status, type).toBe(415);
      expect(((await refused.json()) as { detail: string }).detail, type).toBe('Send the body as application/json');
    }
    // RFC 9110 §8.3.1: whitespace around ";", empty and quoted parameters.
    for (const type of [
      'application/json',
      'application/json; charset=UTF-8',
      'Application/JSON',
      'application/vnd.api+json',
      'application/json ; charset=utf-8',
      'application/json;',
      'application/json;charset="utf-8"',
    ]) {
      expect((await send('{"name":"A"}', type)).status, type).toBe(201);
    }
  });

  it('stores API keys hashed, never as given', async () => {
    const { apiKey } = (await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: 'Hashed' })).body;
    const client = (await s.call('POST', '/v1/clients', ADMIN_KEY, { name: 'Hashed client' })).body.apiKey;
    await s.store.close();
    const files = readdirSync(s.dir).filter((f) => f.startsWith('ads.db'));
    const bytes = files.map((f) => readFileSync(join(s.dir, f)).toString('latin1')).join('');
    expect(bytes).not.toContain(apiKey);
    expect(bytes).not.toContain(client);
  });
});

describe('GET /v1/advertisers', () => {
  it('lists every advertiser, oldest first', async () => {
    const a = await s.newAdvertiser('First');
    s.clock.advance(1000);
    const b = await s.newAdvertiser('Second');
    const res = await s.call('GET', '/v1/advertisers', ADMIN_KEY);
    expect(res.status).toBe(200);
    expect(res.body.advertisers.map((x: any) => x.id)).toEqual([a.id, b.id]);
    expect(res.body.advertisers[0]).toMatchObject({ name: 'First' });
    expect(JSON.stringify(res.body)).not.toMatch(/apiKey|keyHash/);
  });
});

describe('POST /v1/clients', () => {
  it('creates a feed-client key that can fetch slots', async () => {
    const res = await s.call('POST', '/v1/clients', ADMIN_KEY, { name: 'Messenger EU' });
    expect(res.status).toBe(201);
    expect(res.body.client).toMatchObject({ id: expect.any(String), name: 'Messenger EU', createdAt: expect.any(String) });
    const slots = await s.call('POST', '/v1/slots', res.body.apiKey, { user: 'u1', statuses: 5 });
    expect(slots.status).toBe(200);
  });

  it('validates the body', async () => {
    expectProblem(await s.call('POST', '/v1/clients', ADMIN_KEY, {}), 400, { path: 'name' });
    expectProblem(await s.call('POST', '/v1/clients', ADMIN_KEY, { name: '' }), 400, { path: 'name' });
    expectProblem(await s.call('POST', '/v1/clients', ADMIN_KEY, { name: 'A', region: 'eu' }), 400, { path: 'region' });
    expectContentRejected(await s.call('POST', '/v1/clients', ADMIN_KEY, { name: 'A', content: 'x' }), 'content');
  });
});

describe('GET /v1/review', () => {
  it('lists pending creatives with their advertiser, and not reviewed ones', async () => {
    const first = await pendingCreative();
    s.clock.advance(1000);
    const second = await pendingCreative();
    const res = await s.call('GET', '/v1/review', ADMIN_KEY);
    expect(res.status).toBe(200);
    expect(res.body.creatives.map((c: any) => c.id)).toEqual([first.creativeId, second.creativeId]);
    expect(res.body.creatives[0]).toMatchObject({
      review: 'pending',
      campaignId: first.campaignId,
      advertiser: { id: first.advertiser.id, name: 'Florist' },
      media: { mime: 'image/png', width: 90, height: 160, url: expect.stringMatching(/^\/?.*\/media\/[0-9a-f]{64}$/) },
    });
    await s.call('POST', `/v1/creatives/${first.creativeId}/review`, ADMIN_KEY, { decision: 'approve' });
    const after = await s.call('GET', '/v1/review', ADMIN_KEY);
    expect(after.body.creatives.map((c: any) => c.id)).toEqual([second.creativeId]);
  });
});

describe('POST /v1/creatives/{id}/review', () => {
  it('approves a creative, which then serves', async () => {
    const { creativeId } = await pendingCreative();
    const client = await s.newClient();
    expect((await s.call('POST', '/v1/slots', client.key, { user: 'u', statuses: 5 })).body.slots).toEqual([]);
    const res = await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, { decision: 'approve' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: creativeId, review: 'approved' });
    const slots = await s.call('POST', '/v1/slots', client.key, { user: 'u', statuses: 5 });
    expect(slots.body.slots.map((x: any) => x.ad.creativeId)).toEqual([creativeId]);
  });

  it('rejects a creative with a reason, which stops it serving', async () => {
    const { creativeId, advertiser } = await pendingCreative();
    await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, { decision: 'approve' });
    const res = await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, {
      decision: 'reject',
      reason: 'Misleading claim',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ review: 'rejected', reviewReason: 'Misleading claim' });
    const client = await s.newClient();
    expect((await s.call('POST', '/v1/slots', client.key, { user: 'u', statuses: 5 })).body.slots).toEqual([]);
    const seen = await s.call('GET', `/v1/creatives/${creativeId}`, advertiser.key);
    expect(seen.body).toMatchObject({ review: 'rejected', reviewReason: 'Misleading claim' });
  });

  it('validates the decision and needs a reason to reject', async () => {
    const { creativeId } = await pendingCreative();
    expectProblem(await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, { decision: 'reject' }), 400, {
      path: 'reason',
    });
    expectProblem(await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, { decision: 'maybe' }), 400, {
      path: 'decision',
    });
    expectProblem(await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, {}), 400, { path: 'decision' });
    expectProblem(await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, { decision: 'approve', note: 1 }), 400, {
      path: 'note',
    });
    expectContentRejected(
      await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, { decision: 'approve', text: 'ok' }),
      'text',
    );
  });

  it('is 404 for an unknown creative', async () => {
    expectProblem(await s.call('POST', '/v1/creatives/crv_nope/review', ADMIN_KEY, { decision: 'approve' }), 404);
  });
});

describe('operator routes: keys', () => {
  it('need the admin key: 401 without a valid key, 403 for other kinds', async () => {
    const keys = await keysOf(s);
    const { creativeId } = await pendingCreative();
    const routes = [
      { method: 'POST', path: '/v1/advertisers', body: { name: 'X' } },
      { method: 'GET', path: '/v1/advertisers' },
      { method: 'POST', path: '/v1/clients', body: { name: 'X' } },
      { method: 'GET', path: '/v1/review' },
      { method: 'POST', path: `/v1/creatives/${creativeId}/review`, body: { decision: 'approve' } },
    ];
    for (const route of routes) await expectKeyMatrix(s, keys, route, 'admin');
    // Nothing was changed by the refused calls.
    expect((await s.call('GET', '/v1/review', ADMIN_KEY)).body.creatives.map((c: any) => c.review)).toEqual(['pending']);
  });

  it('answers 401 before looking at the body', async () => {
    const res = await s.app.request('/v1/advertisers', { method: 'POST', body: 'not json' });
    expect(res.status).toBe(401);
  });
});
