/**
 * What advertisers and users of status ads expect beyond the basics (issue 15),
 * as one suite run unchanged against Node (test/api/expectations.test.ts) and the
 * Worker in workerd (test/runtime/worker-expectations.test.ts): the business card
 * with every ad, fixed categories, topic mutes, video metrics, report breakdowns
 * and CSV, and forecasts. One service per file; each test targets its own
 * country so campaigns of other tests never compete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { apiHelpers } from '../helpers/api.js';
import { ADMIN_KEY } from '../helpers/api.js';
import { fixture } from '../helpers/fixtures.js';
import { png } from '../helpers/media.js';

/** `wait`: lets `ms` pass on the service's clock (Node's test clock moves; workerd's real one is waited for). */
type Service = ReturnType<typeof apiHelpers> & { close(): Promise<void>; now(): number; wait(ms: number): Promise<void> };

const COUNTRIES = [
  'IS',
  'NZ',
  'PT',
  'UY',
  'FI',
  'CL',
  'KE',
  'VN',
  'GH',
  'EE',
  'LT',
  'LV',
  'SI',
  'SK',
  'HR',
  'RS',
  'BA',
  'MK',
  'AL',
  'MT',
];

export function describeExpectations(runtime: string, make: () => Promise<Service>) {
  let s: Service;
  let client: { id: string; key: string };
  let countrySeq = 0;
  let userSeq = 0;
  // Fixed ids (no process id): reach is a HyperLogLog estimate, and three random pseudonyms share a register now and then.
  const newUser = () => `user-${runtime}-${++userSeq}`;
  const today = () => new Date(s.now()).toISOString().slice(0, 10);

  beforeAll(async () => {
    s = await make();
    client = await s.newClient();
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  });

  /** An advertiser with a full profile and one approved campaign, alone in its own country. */
  async function seedAlone(
    profile: Record<string, unknown> = {},
    { targeting, ...campaign }: Record<string, unknown> = {},
    file?: Uint8Array,
  ) {
    const country = COUNTRIES[countrySeq++];
    const created = await s.call('POST', '/v1/advertisers', ADMIN_KEY, {
      name: 'Corner Bakery',
      description: 'Bread and rolls, baked at dawn',
      address: '1 Mill Street, Reykjavik',
      email: 'hello@bakery.example',
      website: 'https://bakery.example',
      category: 'food-drink',
      ...profile,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const advertiser = { id: created.body.advertiser.id as string, key: created.body.apiKey as string };
    const seeded = await s.seedCampaign({
      advertiser,
      campaign: { targeting: { countries: [country], ...(targeting as object) }, ...campaign },
    });
    let creativeId = seeded.creativeId;
    if (file) {
      const up = await s.upload(advertiser.key, seeded.campaignId, file, {}, 'ad.mp4', 'video/mp4');
      expect(up.status, JSON.stringify(up.body)).toBe(201);
      // The image creative goes back to review, so only the video serves.
      await s.call('POST', `/v1/creatives/${seeded.creativeId}/review`, ADMIN_KEY, {
        decision: 'reject',
        reason: 'use the video',
      });
      await s.call('POST', `/v1/creatives/${up.body.id}/review`, ADMIN_KEY, { decision: 'approve' });
      creativeId = up.body.id;
    }
    return { ...seeded, creativeId, advertiser, country, context: { country, platform: 'android' as const } };
  }

  const slots = (body: Record<string, unknown>) => s.call('POST', '/v1/slots', client.key, body);
  /** A 400 problem whose only error names `path`. */
  function expectField(res: { status: number; body: any }, path: string, sent: unknown) {
    expect(res.status, JSON.stringify(sent)).toBe(400);
    expect(
      res.body.errors.map((e: { path: string }) => e.path),
      JSON.stringify(sent),
    ).toEqual([path]);
  }
  const events = (list: { token: string; type: string }[]) => s.call('POST', '/v1/events', client.key, { events: list });

  describe(`${runtime}: the business card with every ad`, () => {
    it('carries the advertiser’s public profile in each slot, and profile changes reach new slots', async () => {
      const { advertiser, context } = await seedAlone();
      const res = await slots({ user: newUser(), statuses: 10, context });
      expect(res.status).toBe(200);
      expect(res.body.slots[0].ad.advertiser).toEqual({
        id: advertiser.id,
        name: 'Corner Bakery',
        description: 'Bread and rolls, baked at dawn',
        address: '1 Mill Street, Reykjavik',
        email: 'hello@bakery.example',
        website: 'https://bakery.example',
        category: 'food-drink',
      });
      const patched = await s.call('PATCH', '/v1/me', advertiser.key, { description: 'Now with pastries', category: 'shopping' });
      expect(patched.status).toBe(200);
      const after = await slots({ user: newUser(), statuses: 10, context });
      expect(after.body.slots[0].ad.advertiser).toMatchObject({ description: 'Now with pastries', category: 'shopping' });
    });

    it('shows absent profile fields as null', async () => {
      const { advertiser, context } = await seedAlone({
        description: undefined,
        address: undefined,
        email: undefined,
        website: undefined,
        category: undefined,
      });
      const res = await slots({ user: newUser(), statuses: 10, context });
      expect(res.body.slots[0].ad.advertiser).toEqual({
        id: advertiser.id,
        name: 'Corner Bakery',
        description: null,
        address: null,
        email: null,
        website: null,
        category: null,
      });
    });
  });

  describe(`${runtime}: frequency caps count every live reservation`, () => {
    it('counts a reservation still live toward the cap even once it was served longer ago than the window', async () => {
      // 1 ad per 1 s; two creatives, so only the cap (not "never the same creative while reserved") can say no.
      const { campaignId, advertiser, context } = await seedAlone({}, { caps: [{ impressions: 1, windowSeconds: 1 }] });
      const second = await s.upload(advertiser.key, campaignId, png(90, 160, 4242));
      await s.call('POST', `/v1/creatives/${second.body.id}/review`, ADMIN_KEY, { decision: 'approve' });
      const user = newUser();
      const first = await slots({ user, statuses: 10, context });
      expect(first.body.slots).toHaveLength(1);
      await s.wait(1_500);
      // The first slot's reservation is past the window but not viewed and not expired: the user may see it now.
      const again = await slots({ user, statuses: 10, context, explain: true });
      expect(again.body.slots).toEqual([]);
      expect(again.body.explain.find((e: any) => e.campaignId === campaignId)).toMatchObject({ reason: 'frequency_cap' });
      // As an impression it counts in the windows of the time it was served, 1.5 s ago: one more now.
      expect((await events([{ token: first.body.slots[0].token, type: 'impression' }])).body.results).toEqual([
        { status: 'accepted' },
      ]);
      expect((await slots({ user, statuses: 10, context })).body.slots).toHaveLength(1);
    });
  });

  describe(`${runtime}: categories are a fixed list`, () => {
    it('refuses free text with a clear message, suggesting the category it probably means', async () => {
      const res = await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: 'Cafe', category: 'food' });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.errors).toEqual([{ path: 'category', message: expect.stringContaining('did you mean "food-drink"') }]);
      const odd = await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: 'Cafe', category: 'artisan things' });
      expect(odd.status).toBe(400);
      expect(odd.body.detail).toContain('docs/api.md#categories');
      const me = await s.newAdvertiser('Shop');
      expect((await s.call('PATCH', '/v1/me', me.key, { category: 'Retail' })).body.errors[0].message).toContain('"shopping"');
      expect((await s.call('PATCH', '/v1/me', me.key, { category: 'shopping' })).body.category).toBe('shopping');
    });

    it('lists the categories in the OpenAPI document', async () => {
      const doc = await s.call('GET', '/openapi.json', undefined);
      expect(doc.body.components.schemas.Category.enum).toContain('food-drink');
      expect(doc.body.components.schemas.Category.enum).toHaveLength(32);
    });
  });

  describe(`${runtime}: topic controls`, () => {
    it('never serves a muted category to that user, names the rule in explain, lists and erases it', async () => {
      const { campaignId, context } = await seedAlone();
      const user = newUser();
      expect((await s.call('POST', '/v1/users/mute', client.key, { user, category: 'food-drink' })).status).toBe(204);
      const muted = await slots({ user, statuses: 10, context, explain: true });
      expect(muted.body.slots).toEqual([]);
      expect(muted.body.explain.find((e: any) => e.campaignId === campaignId)).toMatchObject({
        outcome: 'rejected',
        reason: 'muted',
      });
      // Another user still sees it.
      expect((await slots({ user: newUser(), statuses: 10, context })).body.slots).toHaveLength(1);
      expect((await s.call('POST', '/v1/users/blocks', client.key, { user })).body).toEqual({
        advertisers: [],
        categories: ['food-drink'],
      });

      expect((await s.call('POST', '/v1/users/unmute', client.key, { user, category: 'food-drink' })).status).toBe(204);
      expect((await slots({ user, statuses: 10, context })).body.slots).toHaveLength(1);

      await s.call('POST', '/v1/users/mute', client.key, { user, category: 'travel' });
      expect((await s.call('POST', '/v1/users/erase', client.key, { user })).status).toBe(204);
      expect((await s.call('POST', '/v1/users/blocks', client.key, { user })).body).toEqual({ advertisers: [], categories: [] });
    });

    it('refuses a category outside the list and content-like fields', async () => {
      const bad = await s.call('POST', '/v1/users/mute', client.key, { user: newUser(), category: 'gambling' });
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].path).toBe('category');
      const content = await s.call('POST', '/v1/users/mute', client.key, { user: newUser(), category: 'travel', text: 'hi' });
      expect(content.status).toBe(400);
      expect((await s.call('POST', '/v1/users/mute', undefined, { user: 'u', category: 'travel' })).status).toBe(401);
    });

    it('says in /v1/why, in plain words, the targeting that matched: the request’s country and platform', async () => {
      const { advertiser, campaignId, country, context } = await seedAlone(
        {},
        { targeting: { languages: ['de', 'pl'], platforms: ['ios', 'android'] } },
      );
      const patched = await s.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, {
        targeting: { countries: ['FR', country, 'AT'], languages: ['de', 'pl'], platforms: ['ios', 'android'] },
      });
      expect(patched.status).toBe(200);
      const res = await slots({ user: newUser(), statuses: 10, context: { ...context, language: 'de-AT' } });
      const why = await s.call('POST', '/v1/why', client.key, { token: res.body.slots[0].token });
      const text = why.body.reasons.join(' ');
      const countryName = new Intl.DisplayNames(['en'], { type: 'region' }).of(country);
      expect(text).toContain(`people in ${countryName} (${country}), and your app reported you are there`);
      expect(text).toContain('people whose app is in German (de) or Polish (pl)');
      expect(text).toContain('people on Android, as your app reported');
      // Not the targeting that did not match.
      expect(text).not.toMatch(/France|Austria|\bFR\b|\bAT\b|iOS|\bios\b/);
    });

    it('says in /v1/why which category the ad is in and that it can be muted', async () => {
      const { context } = await seedAlone();
      const res = await slots({ user: newUser(), statuses: 10, context });
      const why = await s.call('POST', '/v1/why', client.key, { token: res.body.slots[0].token });
      expect(why.body.reasons.join(' ')).toContain('"Food & Drink"');
      expect(why.body.reasons.join(' ')).toContain('mute');
    });
  });

  describe(`${runtime}: video metrics`, () => {
    it('counts playback progress for video creatives, once per token and type', async () => {
      const { campaignId, advertiser, context } = await seedAlone({}, {}, fixture('vertical-90x160-2s.mp4'));
      const res = await slots({ user: newUser(), statuses: 10, context });
      expect(res.body.slots[0].ad.media.mime).toBe('video/mp4');
      const token = res.body.slots[0].token;
      const all = ['impression', 'start', 'first_quartile', 'midpoint', 'third_quartile', 'complete'];
      const first = await events([...all, 'start', 'complete'].map((type) => ({ token, type })));
      expect(first.body.results.map((r: any) => r.status)).toEqual([...all.map(() => 'accepted'), 'duplicate', 'duplicate']);
      const report = await s.call('GET', `/v1/reports?campaign=${campaignId}&from=${today()}&to=${today()}`, advertiser.key);
      expect(report.body.rows[0]).toMatchObject({
        impressions: 1,
        videoStarts: 1,
        videoFirstQuartiles: 1,
        videoMidpoints: 1,
        videoThirdQuartiles: 1,
        videoCompletes: 1,
      });
    });

    it('refuses playback events for image creatives, item by item', async () => {
      const { campaignId, advertiser, context } = await seedAlone();
      const res = await slots({ user: newUser(), statuses: 10, context });
      const token = res.body.slots[0].token;
      const out = await events([
        { token, type: 'impression' },
        { token, type: 'start' },
        { token, type: 'complete' },
      ]);
      expect(out.body.results).toEqual([
        { status: 'accepted' },
        { status: 'rejected', reason: 'not_video' },
        { status: 'rejected', reason: 'not_video' },
      ]);
      const report = await s.call('GET', `/v1/reports?campaign=${campaignId}&from=${today()}&to=${today()}`, advertiser.key);
      expect(report.body.rows[0]).toMatchObject({ impressions: 1, videoStarts: 0, videoCompletes: 0 });
      const unknown = await events([{ token, type: 'pause' }]);
      expect(unknown.status).toBe(400);
    });
  });

  describe(`${runtime}: report breakdowns and CSV`, () => {
    it('breaks rows down by hour, creative, country and platform, as the feed client sent them', async () => {
      const { campaignId, creativeId, advertiser, country } = await seedAlone();
      const base = `/v1/reports?campaign=${campaignId}&from=${today()}&to=${today()}`;
      for (const platform of ['android', 'ios', 'ios']) {
        const res = await slots({ user: newUser(), statuses: 10, context: { country, platform } });
        await events([{ token: res.body.slots[0].token, type: 'impression' }]);
      }
      const hour = new Date(s.now()).toISOString().slice(0, 13);
      const byHour = (await s.call('GET', `${base}&by=hour`, advertiser.key)).body.rows;
      // The hour may roll over between the requests; all impressions are in this hour or the one before.
      expect(byHour.reduce((n: number, r: any) => n + r.impressions, 0)).toBe(3);
      expect(byHour.at(-1).hour).toBe(hour);
      expect((await s.call('GET', `${base}&by=creative`, advertiser.key)).body.rows).toEqual([
        expect.objectContaining({ creativeId, impressions: 3, reach: 3 }),
      ]);
      expect((await s.call('GET', `${base}&by=country`, advertiser.key)).body.rows).toEqual([
        expect.objectContaining({ country, impressions: 3 }),
      ]);
      const platforms = (await s.call('GET', `${base}&by=platform`, advertiser.key)).body.rows;
      expect(platforms.map((r: any) => [r.platform, r.impressions, r.reach])).toEqual([
        ['android', 1, 1],
        ['ios', 2, 2],
      ]);
      const day = (await s.call('GET', base, advertiser.key)).body.rows;
      expect(day).toEqual([expect.objectContaining({ date: today(), impressions: 3, reach: 3 })]);
    });

    it('answers text/csv with a header row', async () => {
      const { campaignId, advertiser, context } = await seedAlone();
      const res = await slots({ user: newUser(), statuses: 10, context });
      await events([
        { token: res.body.slots[0].token, type: 'impression' },
        { token: res.body.slots[0].token, type: 'click' },
      ]);
      const csv = await s.call(
        'GET',
        `/v1/reports?campaign=${campaignId}&from=${today()}&to=${today()}&by=platform&format=csv`,
        advertiser.key,
      );
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      // A report is never kept by a browser or proxy, CSV included.
      expect(csv.headers.get('cache-control')).toBe('no-store');
      const lines = (csv.body as string).trim().split('\r\n');
      expect(lines[0]).toBe(
        'platform,impressions,reach,clicks,hides,reports,blocks,spendMicros,videoStarts,videoFirstQuartiles,videoMidpoints,videoThirdQuartiles,videoCompletes',
      );
      expect(lines[1]).toMatch(/^android,1,1,1,0,0,0,\d+,0,0,0,0,0$/);
      expect(lines).toHaveLength(2);
    });

    it('refuses an unknown breakdown or format', async () => {
      const { campaignId, advertiser } = await seedAlone();
      const bad = await s.call('GET', `/v1/reports?campaign=${campaignId}&from=${today()}&to=${today()}&by=week`, advertiser.key);
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].path).toBe('by');
      expect(
        (await s.call('GET', `/v1/reports?campaign=${campaignId}&from=${today()}&to=${today()}&format=xml`, advertiser.key))
          .status,
      ).toBe(400);
    });
  });

  describe(`${runtime}: the request context as devices name it`, () => {
    it('takes any BCP-47 language tag and a country code in either case, and matches on the primary language', async () => {
      const { campaignId, advertiser, country } = await seedAlone({}, { targeting: { languages: ['de'] } });
      const served = async (context: Record<string, unknown>) => {
        const res = await slots({ user: newUser(), statuses: 10, context });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return res.body.slots.map((slot: any) => slot.ad.campaignId);
      };
      const lower = country.toLowerCase();
      for (const language of ['de', 'de-AT', 'DE', 'de-at', 'De-Latn-AT-1996', 'de-CH-u-co-phonebk-x-mine'])
        expect(await served({ country: lower, language, platform: 'android' }), language).toEqual([campaignId]);
      expect(await served({ country, language: 'fr-FR' })).toEqual([]);
      expect(await served({ country, language: 'deu' })).toEqual([]);
      // The slot's country is recorded as compared: upper-cased in reports.
      const token = (await slots({ user: newUser(), statuses: 10, context: { country: lower, language: 'de-AT' } })).body.slots[0]
        .token;
      expect((await events([{ token, type: 'impression' }])).body.results).toEqual([{ status: 'accepted' }]);
      const rows = (
        await s.call('GET', `/v1/reports?campaign=${campaignId}&from=${today()}&to=${today()}&by=country`, advertiser.key)
      ).body.rows;
      expect(rows.map((r: any) => [r.country, r.impressions])).toEqual([[country, 1]]);
    });

    it('still refuses what is no language tag or country code, naming the field', async () => {
      for (const language of ['de_AT', 'german!', '', 'd', 'de-', 'de--AT', 'x-private', 'de-AT-x', 'de-a', 'de AT', 7])
        expectField(await slots({ user: newUser(), statuses: 1, context: { language } }), 'context.language', language);
      for (const country of ['DEU', 'd', '', 'D1', 'ö', 49])
        expectField(await slots({ user: newUser(), statuses: 1, context: { country } }), 'context.country', country);
    });
  });

  describe(`${runtime}: PRODUCT.md's fields, read literally`, () => {
    it('creates a campaign from the fields PRODUCT.md lists, without a name', async () => {
      const { key } = await s.newAdvertiser('Nameless');
      const created = await s.call('POST', '/v1/campaigns', key, { bid: { type: 'cpm', amountMicros: 500_000 } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body).toMatchObject({ name: 'Untitled campaign', status: 'active', pacing: 'even', caps: [] });
      expect((await s.call('GET', `/v1/campaigns/${created.body.id}`, key)).body).toEqual(created.body);
      // A name sent is still a name: blank or too long is refused.
      expectField(await s.call('POST', '/v1/campaigns', key, { name: ' ', bid: { type: 'cpm', amountMicros: 1 } }), 'name', ' ');
    });

    it('creates an advertiser whose unfilled profile fields are sent as null, as answers show them', async () => {
      const empty = { description: null, address: null, email: null, website: null, category: null };
      const created = await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: 'Nulls', ...empty });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.advertiser).toMatchObject({ name: 'Nulls', ...empty });
      expectField(await s.call('POST', '/v1/advertisers', ADMIN_KEY, { name: null }), 'name', null);
    });

    it('says what a schedule date must look like, and names a bid’s bound once', async () => {
      const { key } = await s.newAdvertiser('Dates');
      for (const start of ['tomorrow', '2026-01-01T09:00Z', '2026-01-01T09:00:00', undefined]) {
        const sent = { bid: { type: 'cpm', amountMicros: 1 }, schedule: { start } };
        const res = await s.call('POST', '/v1/campaigns', key, sent);
        expectField(res, 'schedule.start', sent);
        expect(res.body.errors[0].message).toMatch(/ISO-8601 date-time with seconds and an offset.*or a date/);
      }
      const negative = await s.call('POST', '/v1/campaigns', key, { bid: { type: 'cpm', amountMicros: -1 } });
      expect(negative.body.errors).toEqual([{ path: 'bid.amountMicros', message: expect.stringMatching(/at least 1\b/) }]);
    });

    it('resolves the type of every problem it answers, /readyz’s not-ready included', async () => {
      const page = await s.call('GET', '/problems/not-ready', undefined);
      expect(page.status).toBe(200);
      expect(page.body).toContain('503 not-ready');
    });
  });

  describe(`${runtime}: forecasts`, () => {
    it('forecasts a draft from the traffic served so far, never more than the traffic', async () => {
      const { advertiser, country } = await seedAlone();
      for (let i = 0; i < 6; i++)
        await slots({ user: newUser(), statuses: 10, context: { country, platform: 'android', language: 'en' } });
      const draft = {
        bid: { type: 'cpm', amountMicros: 5_000_000 },
        targeting: { countries: [country] },
        caps: [{ impressions: 1, windowSeconds: 86_400 }],
      };
      const res = await s.call('POST', '/v1/forecast', advertiser.key, draft);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const f = res.body;
      expect(f.basis.days).toBeGreaterThanOrEqual(1);
      expect(f.matchingRequests.expected).toBeGreaterThan(0);
      expect(f.reachableUsers.expected).toBeGreaterThan(0);
      for (const key of ['matchingRequests', 'reachableUsers', 'impressions', 'winRate', 'averagePriceMicros', 'spendMicros']) {
        expect(f[key].low).toBeLessThanOrEqual(f[key].expected);
        expect(f[key].expected).toBeLessThanOrEqual(f[key].high);
      }
      expect(f.winRate.high).toBeLessThanOrEqual(1);
      // Capped at one a day: never more impressions than users.
      expect(f.impressions.expected).toBeLessThanOrEqual(f.reachableUsers.expected);
      expect(f.averagePriceMicros.expected).toBeLessThanOrEqual(5_000_000);

      const elsewhere = await s.call('POST', '/v1/forecast', advertiser.key, { ...draft, targeting: { countries: ['AQ'] } });
      expect(elsewhere.body.matchingRequests.expected).toBe(0);
      expect(elsewhere.body.impressions.expected).toBe(0);
    });

    it('takes a whole campaign body as the draft: its name and status are not used', async () => {
      const { advertiser, country } = await seedAlone();
      const draft = { bid: { type: 'cpm', amountMicros: 5_000_000 }, targeting: { countries: [country] } };
      const bare = await s.call('POST', '/v1/forecast', advertiser.key, draft);
      const whole = await s.call('POST', '/v1/forecast', advertiser.key, { name: 'Spring', status: 'paused', ...draft });
      expect(whole.status, JSON.stringify(whole.body)).toBe(200);
      expect(whole.body).toEqual(bare.body);
    });

    it('refuses a bad draft and keys of the wrong kind', async () => {
      const { advertiser } = await seedAlone();
      const bad = await s.call('POST', '/v1/forecast', advertiser.key, { bid: { type: 'cpx', amountMicros: 1 } });
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].path).toBe('bid.type');
      const unknown = await s.call('POST', '/v1/forecast', advertiser.key, {
        bid: { type: 'cpm', amountMicros: 1 },
        audience: 'x',
      });
      expect(unknown.status).toBe(400);
      expect(unknown.body.errors.map((e: { path: string }) => e.path)).toEqual(['audience']);
      expect((await s.call('POST', '/v1/forecast', client.key, { bid: { type: 'cpm', amountMicros: 1 } })).status).toBe(403);
      expect((await s.call('POST', '/v1/forecast', undefined, { bid: { type: 'cpm', amountMicros: 1 } })).status).toBe(401);
    });
  });
}
