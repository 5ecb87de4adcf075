/** Advertiser routes (advertiser key): own profile, campaigns, creatives, reports; other tenants' resources are 404. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLog } from '../../src/ops/log.js';
import { png } from '../helpers/media.js';
import { expectContentRejected, expectKeyMatrix, expectProblem, keysOf } from '../helpers/route-checks.js';
import { ADMIN_KEY, makeService, type TestService } from '../helpers/service.js';

let s: TestService;
beforeEach(async () => {
  s = await makeService();
});
afterEach(() => s.close());

const minimalCampaign = { name: 'Autumn', bid: { type: 'cpm', amountMicros: 2_000_000 } };

describe('GET/PATCH /v1/me', () => {
  it('shows and updates the business profile', async () => {
    const { key, id } = await s.newAdvertiser('Bakery');
    const me = await s.call('GET', '/v1/me', key);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id, name: 'Bakery', email: null });
    s.clock.advance(5000);
    const patched = await s.call('PATCH', '/v1/me', key, {
      email: 'shop@bakery.example',
      category: 'food-drink',
      website: 'https://bakery.example/de',
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      id,
      name: 'Bakery',
      email: 'shop@bakery.example',
      category: 'food-drink',
      website: 'https://bakery.example/de',
    });
    expect(Date.parse(patched.body.updatedAt)).toBeGreaterThan(Date.parse(me.body.updatedAt));
    expect((await s.call('GET', '/v1/me', key)).body).toEqual(patched.body);
  });

  it('empties a filled field with null (or blank text), and the served card shows null for it', async () => {
    const { advertiser } = await s.seedCampaign();
    const client = await s.newClient();
    const full = {
      description: 'Bread',
      address: '1 Mill Street',
      email: 'shop@bakery.example',
      website: 'https://bakery.example',
      category: 'food-drink',
    };
    expect((await s.call('PATCH', '/v1/me', advertiser.key, full)).body).toMatchObject(full);
    const cleared = await s.call('PATCH', '/v1/me', advertiser.key, {
      description: '  ',
      address: null,
      email: null,
      website: null,
      category: null,
    });
    expect(cleared.status).toBe(200);
    const empty = { description: null, address: null, email: null, website: null, category: null };
    expect(cleared.body).toMatchObject({ name: 'Bakery', ...empty });
    expect((await s.call('GET', '/v1/me', advertiser.key)).body).toEqual(cleared.body);
    const slots = await s.call('POST', '/v1/slots', client.key, { user: 'u', statuses: 5 });
    expect(slots.body.slots[0].ad.advertiser).toEqual({ id: advertiser.id, name: 'Bakery', ...empty });
    // A blank description at creation is not filled in either.
    const created = await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: 'Blank', description: '', address: ' ' });
    expect(created.body.advertiser).toMatchObject({ description: null, address: null });
  });

  it('a new name shows on served ads', async () => {
    const { advertiser } = await s.seedCampaign();
    const client = await s.newClient();
    await s.call('PATCH', '/v1/me', advertiser.key, { name: 'Bakery & Café' });
    const slots = await s.call('POST', '/v1/slots', client.key, { user: 'u', statuses: 5 });
    expect(slots.body.slots[0].ad.advertiser).toMatchObject({ id: advertiser.id, name: 'Bakery & Café' });
  });

  it('validates the patch', async () => {
    const { key } = await s.newAdvertiser();
    expectProblem(await s.call('PATCH', '/v1/me', key, { email: 'nope' }), 400, { path: 'email' });
    expectProblem(await s.call('PATCH', '/v1/me', key, { name: '' }), 400, { path: 'name' });
    expectProblem(await s.call('PATCH', '/v1/me', key, { name: null }), 400, { path: 'name' });
    expectProblem(await s.call('PATCH', '/v1/me', key, { email: '' }), 400, { path: 'email' });
    expectProblem(await s.call('PATCH', '/v1/me', key, { category: 'bakery' }), 400, { path: 'category' });
    expectProblem(await s.call('PATCH', '/v1/me', key, { id: 'adv_other' }), 400, { path: 'id' });
    expectContentRejected(await s.call('PATCH', '/v1/me', key, { body: 'Hello' }), 'body');
  });
});

describe('POST /v1/campaigns', () => {
  it('creates a campaign with the product defaults', async () => {
    const { key, id } = await s.newAdvertiser();
    const res = await s.call('POST', '/v1/campaigns', key, minimalCampaign);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.any(String),
      advertiserId: id,
      name: 'Autumn',
      status: 'active',
      bid: { type: 'cpm', amountMicros: 2_000_000 },
      budget: {},
      pacing: 'even',
      targeting: {},
      caps: [],
      schedule: { start: new Date(s.clock.now).toISOString() },
    });
  });

  it('keeps every field it is given', async () => {
    const { key } = await s.newAdvertiser();
    const input = {
      name: 'Full',
      status: 'paused',
      schedule: { start: '2026-12-01T00:00:00Z', end: '2026-12-24T00:00:00+01:00' },
      bid: { type: 'cpc', amountMicros: 350_000 },
      budget: { dailyMicros: 10_000_000, totalMicros: 100_000_000 },
      pacing: 'asap',
      targeting: { countries: ['DE', 'AT'], languages: ['de'], platforms: ['android', 'ios'] },
      caps: [
        { impressions: 3, windowSeconds: 86_400 },
        { impressions: 1, windowSeconds: 600 },
      ],
    };
    const res = await s.call('POST', '/v1/campaigns', key, input);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      ...input,
      schedule: { start: '2026-12-01T00:00:00.000Z', end: '2026-12-23T23:00:00.000Z' },
    });
    expect((await s.call('GET', `/v1/campaigns/${res.body.id}`, key)).body).toEqual(res.body);
  });

  it('validates every part of a campaign and names the field', async () => {
    const { key } = await s.newAdvertiser();
    const bad = async (patch: Record<string, unknown>, path: string) =>
      expectProblem(await s.call('POST', '/v1/campaigns', key, { ...minimalCampaign, ...patch }), 400, { path });
    await bad({ name: '' }, 'name');
    await bad({ bid: undefined }, 'bid');
    await bad({ bid: { type: 'cpa', amountMicros: 1 } }, 'bid.type');
    await bad({ bid: { type: 'cpm', amountMicros: 1.5 } }, 'bid.amountMicros');
    await bad({ bid: { type: 'cpm', amountMicros: 0 } }, 'bid.amountMicros');
    await bad({ bid: { type: 'cpm', amountMicros: '100' } }, 'bid.amountMicros');
    await bad({ bid: { type: 'cpm', amountMicros: 2 ** 60 } }, 'bid.amountMicros');
    await bad({ budget: { dailyMicros: -1 } }, 'budget.dailyMicros');
    await bad({ budget: { weeklyMicros: 5 } }, 'budget.weeklyMicros');
    await bad({ status: 'running' }, 'status');
    await bad({ pacing: 'fast' }, 'pacing');
    await bad({ targeting: { countries: ['de'] } }, 'targeting.countries.0');
    await bad({ targeting: { countries: ['DEU'] } }, 'targeting.countries.0');
    await bad({ targeting: { countries: ['DE', 'XX'] } }, 'targeting.countries.1');
    await bad({ targeting: { countries: ['UK'] } }, 'targeting.countries.0');
    await bad({ targeting: { languages: ['EN'] } }, 'targeting.languages.0');
    await bad({ targeting: { platforms: ['blackberry'] } }, 'targeting.platforms.0');
    await bad({ targeting: { interests: ['cats'] } }, 'targeting.interests');
    await bad({ caps: [{ impressions: 0, windowSeconds: 60 }] }, 'caps.0.impressions');
    await bad({ caps: [{ impressions: 1, windowSeconds: 0 }] }, 'caps.0.windowSeconds');
    await bad({ caps: [{ impressions: 1 }] }, 'caps.0.windowSeconds');
    await bad({ schedule: { start: 'tomorrow' } }, 'schedule.start');
    await bad({ schedule: { start: '2026-02-30' } }, 'schedule.start');
    await bad({ schedule: { start: '2026-12-02T00:00:00Z', end: '2026-12-01T00:00:00Z' } }, 'schedule.end');
    await bad({ owner: 'adv_x' }, 'owner');
    expectContentRejected(await s.call('POST', '/v1/campaigns', key, { ...minimalCampaign, caption: 'Hi' }), 'caption');
    expect((await s.call('GET', '/v1/campaigns', key)).body.campaigns).toEqual([]);
  });

  it('serves even an extreme (but valid) bid and budget without failing', async () => {
    const { advertiser } = await s.seedCampaign({
      campaign: { bid: { type: 'cpc', amountMicros: Number.MAX_SAFE_INTEGER }, budget: { dailyMicros: Number.MAX_SAFE_INTEGER } },
    });
    await s.seedCampaign({ campaign: { bid: { type: 'cpm', amountMicros: Number.MAX_SAFE_INTEGER } } });
    const client = await s.newClient();
    const slots = await s.call('POST', '/v1/slots', client.key, { user: 'u', statuses: 10, explain: true });
    expect(slots.status).toBe(200);
    expect(slots.body.slots).toHaveLength(2);
    const results = await s.call('POST', '/v1/events', client.key, {
      events: slots.body.slots.flatMap((x: any) => [
        { token: x.token, type: 'impression' },
        { token: x.token, type: 'click' },
      ]),
    });
    expect(results.status).toBe(200);
    expect(results.body.results.every((r: any) => r.status === 'accepted')).toBe(true);
    const today = new Date(s.clock.now).toISOString().slice(0, 10);
    const campaigns = (await s.call('GET', '/v1/campaigns', advertiser.key)).body.campaigns;
    const report = await s.call('GET', `/v1/reports?campaign=${campaigns[0].id}&from=${today}&to=${today}`, advertiser.key);
    expect(report.status).toBe(200);
    expect(Number.isSafeInteger(report.body.rows[0].spendMicros)).toBe(true);
  });
});

describe('GET /v1/campaigns and /v1/campaigns/{id}', () => {
  it('lists and shows only the caller’s own campaigns', async () => {
    const a = await s.newAdvertiser('A');
    const b = await s.newAdvertiser('B');
    const a1 = (await s.call('POST', '/v1/campaigns', a.key, { ...minimalCampaign, name: 'a1' })).body;
    s.clock.advance(1);
    const a2 = (await s.call('POST', '/v1/campaigns', a.key, { ...minimalCampaign, name: 'a2' })).body;
    const b1 = (await s.call('POST', '/v1/campaigns', b.key, { ...minimalCampaign, name: 'b1' })).body;
    const list = await s.call('GET', '/v1/campaigns', a.key);
    expect(list.status).toBe(200);
    expect(list.body.campaigns.map((c: any) => c.id)).toEqual([a1.id, a2.id]);
    expect((await s.call('GET', `/v1/campaigns/${a1.id}`, a.key)).body).toEqual(a1);
    const foreign = await s.call('GET', `/v1/campaigns/${b1.id}`, a.key);
    const missing = await s.call('GET', '/v1/campaigns/cmp_missing', a.key);
    expectProblem(foreign, 404);
    expectProblem(missing, 404);
    // Another tenant's campaign looks exactly like one that does not exist.
    expect(foreign.body.title).toBe(missing.body.title);
    expect(foreign.body.detail).not.toMatch(/belong|another|owner|forbidden/i);
  });
});

describe('PATCH /v1/campaigns/{id}', () => {
  it('changes status, bid, budget, targeting and caps; pausing stops serving', async () => {
    const { advertiser, campaignId } = await s.seedCampaign();
    const client = await s.newClient();
    expect((await s.call('POST', '/v1/slots', client.key, { user: 'u1', statuses: 5 })).body.slots).toHaveLength(1);
    const paused = await s.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, { status: 'paused' });
    expect(paused.status).toBe(200);
    expect(paused.body.status).toBe('paused');
    expect((await s.call('POST', '/v1/slots', client.key, { user: 'u2', statuses: 5 })).body.slots).toEqual([]);
    const changed = await s.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, {
      status: 'active',
      bid: { type: 'cpm', amountMicros: 3_000_000 },
      targeting: { countries: ['FR'] },
      caps: [{ impressions: 1, windowSeconds: 60 }],
      budget: { totalMicros: 50_000 },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      status: 'active',
      bid: { amountMicros: 3_000_000 },
      targeting: { countries: ['FR'] },
      budget: { totalMicros: 50_000 },
    });
    expect(
      (await s.call('POST', '/v1/slots', client.key, { user: 'u3', statuses: 5, context: { country: 'DE' } })).body.slots,
    ).toEqual([]);
    expect(
      (await s.call('POST', '/v1/slots', client.key, { user: 'u3', statuses: 5, context: { country: 'FR' } })).body.slots,
    ).toHaveLength(1);
    expect((await s.call('GET', `/v1/campaigns/${campaignId}`, advertiser.key)).body).toEqual(changed.body);
  });

  it('moving the schedule into the future or past stops serving', async () => {
    const { advertiser, campaignId } = await s.seedCampaign();
    const client = await s.newClient();
    const future = new Date(s.clock.now + 86_400_000).toISOString();
    await s.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, { schedule: { start: future } });
    expect((await s.call('POST', '/v1/slots', client.key, { user: 'u', statuses: 5 })).body.slots).toEqual([]);
    const past = {
      start: new Date(s.clock.now - 2 * 86_400_000).toISOString(),
      end: new Date(s.clock.now - 86_400_000).toISOString(),
    };
    await s.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, { schedule: past });
    expect((await s.call('POST', '/v1/slots', client.key, { user: 'u', statuses: 5 })).body.slots).toEqual([]);
  });

  it('merges object fields (RFC 7396): members not sent are kept, null removes one', async () => {
    const { advertiser } = await s.seedCampaign();
    const created = await s.call('POST', '/v1/campaigns', advertiser.key, {
      bid: { type: 'cpm', amountMicros: 2_000_000 },
      budget: { dailyMicros: 1_000_000, totalMicros: 9_000_000 },
      targeting: { countries: ['DE'], languages: ['de'] },
      schedule: { start: '2030-01-01', end: '2030-02-01' },
    });
    const path = `/v1/campaigns/${created.body.id}`;
    const patch = (body: object) => s.call('PATCH', path, advertiser.key, body);
    const daily = await patch({ budget: { dailyMicros: 2_000_000 }, targeting: { countries: ['FR'] }, bid: { amountMicros: 3 } });
    expect(daily.status).toBe(200);
    expect(daily.body).toMatchObject({
      budget: { dailyMicros: 2_000_000, totalMicros: 9_000_000 },
      targeting: { countries: ['FR'], languages: ['de'] },
      bid: { type: 'cpm', amountMicros: 3 },
    });
    const later = await patch({ schedule: { end: '2030-03-01' } });
    expect(later.body.schedule).toEqual({ start: '2030-01-01T00:00:00.000Z', end: '2030-03-01T00:00:00.000Z' });
    const removed = await patch({ budget: { totalMicros: null }, targeting: { languages: null }, schedule: { end: null } });
    expect(removed.status).toBe(200);
    expect(removed.body.budget).toEqual({ dailyMicros: 2_000_000 });
    expect(removed.body.targeting).toEqual({ countries: ['FR'] });
    expect(removed.body.schedule).toEqual({ start: '2030-01-01T00:00:00.000Z' });
    expect((await s.call('GET', path, advertiser.key)).body).toEqual(removed.body);
    // The end is judged against the stored start, and a start cannot be removed.
    expectProblem(await patch({ schedule: { end: '2029-12-01' } }), 400, { path: 'schedule.end' });
    expectProblem(await patch({ schedule: { start: null } }), 400, { path: 'schedule.start' });
    expectProblem(await patch({ budget: { dailyMicros: -1 } }), 400, { path: 'budget.dailyMicros' });
  });

  it('validates the patch and is 404 for another tenant’s campaign', async () => {
    const { advertiser, campaignId } = await s.seedCampaign();
    const other = await s.newAdvertiser('Other');
    expectProblem(await s.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, { status: 'deleted' }), 400, {
      path: 'status',
    });
    expectProblem(await s.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, { advertiserId: other.id }), 400, {
      path: 'advertiserId',
    });
    expectProblem(
      await s.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, {
        schedule: { start: '2030-01-02', end: '2030-01-01' },
      }),
      400,
      { path: 'schedule.end' },
    );
    expectContentRejected(await s.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, { text: 'x' }), 'text');
    expectProblem(await s.call('PATCH', `/v1/campaigns/${campaignId}`, other.key, { status: 'paused' }), 404);
    expectProblem(await s.call('PATCH', '/v1/campaigns/cmp_missing', advertiser.key, { status: 'paused' }), 404);
    expect((await s.call('GET', `/v1/campaigns/${campaignId}`, advertiser.key)).body.status).toBe('active');
  });
});

describe('POST /v1/campaigns/{id}/creatives', () => {
  it('uploads an image: pending, content-addressed, sniffed by content', async () => {
    const { key } = await s.newAdvertiser();
    const campaign = (await s.call('POST', '/v1/campaigns', key, minimalCampaign)).body;
    const bytes = png(90, 160, 3);
    // Named and declared as JPEG: the bytes say PNG.
    const res = await s.upload(
      key,
      campaign.id,
      bytes,
      { headline: 'Try our rye', ctaType: 'message', ctaTarget: '+4930123' },
      'photo.jpg',
      'image/jpeg',
    );
    expect(res.status).toBe(201);
    const { createHash } = await import('node:crypto');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(res.body).toMatchObject({
      id: expect.any(String),
      campaignId: campaign.id,
      headline: 'Try our rye',
      cta: { type: 'message', target: '+4930123' },
      review: 'pending',
      media: { sha256, mime: 'image/png', bytes: bytes.length, width: 90, height: 160, url: `/media/${sha256}` },
    });
    expect(res.body.media.durationMs).toBeUndefined();
    expect((await s.call('GET', `/v1/creatives/${res.body.id}`, key)).body).toMatchObject({ id: res.body.id, review: 'pending' });
    // Pending creatives do not serve.
    const client = await s.newClient();
    expect((await s.call('POST', '/v1/slots', client.key, { user: 'u', statuses: 5 })).body.slots).toEqual([]);
  });

  it('rejects what is not a supported image, whatever its name says', async () => {
    const { key } = await s.newAdvertiser();
    const campaign = (await s.call('POST', '/v1/campaigns', key, minimalCampaign)).body;
    const text = await s.upload(
      key,
      campaign.id,
      new TextEncoder().encode('hello, this is not an image'),
      {},
      'ad.png',
      'image/png',
    );
    expect(text.status).toBeGreaterThanOrEqual(400);
    expect(text.status).toBeLessThan(500);
    const truncated = await s.upload(key, campaign.id, png(90, 160).subarray(0, 20), {}, 'ad.png');
    expect(truncated.status).toBeGreaterThanOrEqual(400);
    expect(truncated.status).toBeLessThan(500);
    const empty = await s.upload(key, campaign.id, new Uint8Array(0), {}, 'ad.png');
    expect(empty.status).toBeGreaterThanOrEqual(400);
    expect(empty.status).toBeLessThan(500);
    expect((await s.call('GET', '/v1/review', ADMIN_KEY)).body.creatives).toEqual([]);
  });

  it('validates the form fields and names them', async () => {
    const { key } = await s.newAdvertiser();
    const campaign = (await s.call('POST', '/v1/campaigns', key, minimalCampaign)).body;
    const form = async (fields: Record<string, string | File>) => {
      const body = new FormData();
      for (const [k, v] of Object.entries(fields)) body.set(k, v);
      const res = await s.app.request(`/v1/campaigns/${campaign.id}/creatives`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}` },
        body,
      });
      return { status: res.status, headers: res.headers, body: await res.json() };
    };
    const file = new File([new Uint8Array(png(90, 160))], 'ad.png', { type: 'image/png' });
    const ok = { file, headline: 'Hi', ctaType: 'website', ctaTarget: 'https://x.example' };
    expectProblem(await form({ ...ok, headline: '' }), 400, { path: 'headline' });
    expectProblem(await form({ ...ok, headline: 'x'.repeat(91) }), 400, { path: 'headline' });
    expectProblem(await form({ ...ok, ctaType: 'sms' }), 400, { path: 'ctaType' });
    const { file: _file, ...noFile } = ok;
    expectProblem(await form(noFile), 400, { path: 'file' });
    expectProblem(await form({ ...ok, file: 'not a file' }), 400, { path: 'file' });
    expectProblem(await form({ ...ok, priority: 'high' }), 400, { path: 'priority' });
    expectContentRejected(await form({ ...ok, caption: 'Look!' }), 'caption');
    expectContentRejected(await form({ ...ok, media: 'x' }), 'media');
    const json = await s.call('POST', `/v1/campaigns/${campaign.id}/creatives`, key, ok);
    expectProblem(json, 415);
    const garbage = await s.app.request(`/v1/campaigns/${campaign.id}/creatives`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'multipart/form-data; boundary=zzz' },
      body: 'garbage',
    });
    expect(garbage.status).toBe(400);
  });

  it('refuses images over 5 MB', async () => {
    const { key } = await s.newAdvertiser();
    const campaign = (await s.call('POST', '/v1/campaigns', key, minimalCampaign)).body;
    const big = new Uint8Array(5 * 1024 * 1024 + 1);
    big.set(png(90, 160));
    const res = await s.upload(key, campaign.id, big);
    expect(res.status).toBe(413);
    expect(res.body.detail).toMatch(/5 MB/);
  });

  it('is 404 on another tenant’s campaign', async () => {
    const { campaignId } = await s.seedCampaign();
    const other = await s.newAdvertiser('Other');
    const res = await s.upload(other.key, campaignId, png(90, 160));
    expect(res.status).toBe(404);
    const missing = await s.upload(other.key, 'cmp_missing', png(90, 160));
    expect(missing.status).toBe(404);
  });
});

describe('GET /v1/creatives/{id}', () => {
  it('shows the caller’s creative with its review state; 404 for others', async () => {
    const { advertiser, creativeId } = await s.seedCampaign();
    const other = await s.newAdvertiser('Other');
    const own = await s.call('GET', `/v1/creatives/${creativeId}`, advertiser.key);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ id: creativeId, review: 'approved', media: { mime: 'image/png' } });
    expectProblem(await s.call('GET', `/v1/creatives/${creativeId}`, other.key), 404);
    expectProblem(await s.call('GET', '/v1/creatives/crv_missing', advertiser.key), 404);
  });
});

describe('GET /v1/reports', () => {
  it('reports one row per UTC day with activity', async () => {
    const { advertiser, campaignId } = await s.seedCampaign({ campaign: { bid: { type: 'cpm', amountMicros: 2_000_000 } } });
    const client = await s.newClient();
    const day1 = new Date(s.clock.now).toISOString().slice(0, 10);
    for (const user of ['u1', 'u2']) {
      const slot = (await s.call('POST', '/v1/slots', client.key, { user, statuses: 5 })).body.slots[0];
      await s.call('POST', '/v1/events', client.key, { events: [{ token: slot.token, type: 'impression' }] });
      if (user === 'u1') await s.call('POST', '/v1/events', client.key, { events: [{ token: slot.token, type: 'click' }] });
    }
    s.clock.advance(86_400_000);
    const day2 = new Date(s.clock.now).toISOString().slice(0, 10);
    const slot = (await s.call('POST', '/v1/slots', client.key, { user: 'u3', statuses: 5 })).body.slots[0];
    await s.call('POST', '/v1/events', client.key, {
      events: [
        { token: slot.token, type: 'impression' },
        { token: slot.token, type: 'hide' },
      ],
    });

    const res = await s.call('GET', `/v1/reports?campaign=${campaignId}&from=${day1}&to=${day2}`, advertiser.key);
    expect(res.status).toBe(200);
    expect(res.body.rows).toEqual([
      {
        date: day1,
        impressions: 2,
        reach: 2,
        clicks: 1,
        hides: 0,
        reports: 0,
        blocks: 0,
        spendMicros: expect.any(Number),
        videoStarts: 0,
        videoFirstQuartiles: 0,
        videoMidpoints: 0,
        videoThirdQuartiles: 0,
        videoCompletes: 0,
      },
      {
        date: day2,
        impressions: 1,
        reach: 1,
        clicks: 0,
        hides: 1,
        reports: 0,
        blocks: 0,
        spendMicros: expect.any(Number),
        videoStarts: 0,
        videoFirstQuartiles: 0,
        videoMidpoints: 0,
        videoThirdQuartiles: 0,
        videoCompletes: 0,
      },
    ]);
    // cpm: charged per impression, never above the bid (2.00 per thousand = 2000 micros each).
    expect(res.body.rows[0].spendMicros).toBeGreaterThan(0);
    expect(res.body.rows[0].spendMicros).toBeLessThanOrEqual(2 * 2000);
    const onlyDay2 = await s.call('GET', `/v1/reports?campaign=${campaignId}&from=${day2}&to=${day2}`, advertiser.key);
    expect(onlyDay2.body.rows.map((r: any) => r.date)).toEqual([day2]);
  });

  it('validates the query and is 404 for another tenant’s campaign', async () => {
    const { advertiser, campaignId } = await s.seedCampaign();
    const other = await s.newAdvertiser('Other');
    const q = (params: string, key = advertiser.key) => s.call('GET', `/v1/reports?${params}`, key);
    expectProblem(await q(`campaign=${campaignId}&from=2026-11-01`), 400, { path: 'to' });
    expectProblem(await q(`from=2026-11-01&to=2026-11-30`), 400, { path: 'campaign' });
    expectProblem(await q(`campaign=${campaignId}&from=2026-11-31&to=2026-12-01`), 400, { path: 'from' });
    expectProblem(await q(`campaign=${campaignId}&from=20261101&to=2026-12-01`), 400, { path: 'from' });
    expectProblem(await q(`campaign=${campaignId}&from=2026-12-01&to=2026-11-01`), 400, { path: 'from' });
    expectProblem(await q(`campaign=${campaignId}&from=2026-11-01&to=2026-11-30`, other.key), 404);
    expectProblem(await q(`campaign=cmp_missing&from=2026-11-01&to=2026-11-30`), 404);
  });
});

describe('advertiser routes: keys and limits', () => {
  it('need an advertiser key: 401 without a valid key, 403 for other kinds', async () => {
    const keys = await keysOf(s);
    const { campaignId, creativeId } = await s.seedCampaign();
    const routes = [
      { method: 'GET', path: '/v1/me' },
      { method: 'PATCH', path: '/v1/me', body: { name: 'X' } },
      { method: 'POST', path: '/v1/campaigns', body: minimalCampaign },
      { method: 'GET', path: '/v1/campaigns' },
      { method: 'GET', path: `/v1/campaigns/${campaignId}` },
      { method: 'PATCH', path: `/v1/campaigns/${campaignId}`, body: { status: 'paused' } },
      { method: 'POST', path: `/v1/campaigns/${campaignId}/creatives`, body: {} },
      { method: 'GET', path: `/v1/creatives/${creativeId}` },
      { method: 'GET', path: `/v1/reports?campaign=${campaignId}&from=2026-11-01&to=2026-11-30` },
    ];
    for (const route of routes) await expectKeyMatrix(s, keys, route, 'advertiser');
  });

  it('rate limits each advertiser key with 429 and Retry-After, counting a request once', async () => {
    const limited = await makeService({ RATE_LIMIT_ADVERTISER: '2' });
    try {
      const a = await limited.newAdvertiser('A');
      const b = await limited.newAdvertiser('B');
      // Burst of twice the rate; /v1/campaigns must not be counted twice per request.
      for (let i = 0; i < 4; i++) expect((await limited.call('GET', '/v1/campaigns', a.key)).status).toBe(200);
      const over = await limited.call('GET', '/v1/campaigns', a.key);
      expectProblem(over, 429);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await limited.call('GET', '/v1/me', b.key)).status).toBe(200);
      limited.clock.advance(1000);
      expect((await limited.call('GET', '/v1/me', a.key)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('runs one forecast at a time where that is on (Node): another meanwhile is 429 with Retry-After', async () => {
    const node = await makeService({}, undefined, { forecastsOneAtATime: true, log: silentLog });
    try {
      const a = await node.newAdvertiser('A');
      const b = await node.newAdvertiser('B');
      const draft = { bid: { type: 'cpm', amountMicros: 1_000_000 } };
      // The first forecast is held inside the engine's model until released (its CPU, on the engine thread).
      const run = node.forecasts.forecast.bind(node.forecasts);
      let release = () => {};
      const held = new Promise<void>((r) => (release = r));
      const model = vi.spyOn(node.forecasts, 'forecast').mockImplementationOnce(async (...args) => {
        await held;
        return await run(...args);
      });
      const first = node.call('POST', '/v1/forecast', a.key, draft);
      await vi.waitFor(() => expect(model).toHaveBeenCalledTimes(1));
      const busy = await node.call('POST', '/v1/forecast', b.key, draft);
      expectProblem(busy, 429, { detail: /forecast is already running/ });
      expect(busy.headers.get('retry-after')).toBe('1');
      expect(model).toHaveBeenCalledTimes(1);
      release();
      expect((await first).status).toBe(200);
      // Once it has answered, the next one runs; one that fails frees the way too.
      model.mockRejectedValueOnce(new Error('model failed'));
      expect((await node.call('POST', '/v1/forecast', b.key, draft)).status).toBe(500);
      expect((await node.call('POST', '/v1/forecast', b.key, draft)).status).toBe(200);
    } finally {
      await node.close();
    }
  });
});
