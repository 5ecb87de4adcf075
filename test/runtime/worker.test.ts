/**
 * The API's behaviour with the Worker bundle inside workerd (Miniflare 3): D1
 * catalog, user and campaign Durable Objects, R2 media. One Miniflare for the
 * file; each test uses its own advertisers and users, so tests do not interact.
 *
 * Knowingly skipped here (covered on Node, which shares the code): token expiry
 * and cap windows rolling over (workerd's clock cannot be advanced from a test),
 * `ledger.reservation(id)` (not routable to a user object by id alone).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { png } from '../helpers/media.js';
import { ADMIN_KEY, makeWorkerService, type WorkerService } from '../helpers/worker.js';

let w: WorkerService;
let userSeq = 0;
const newUser = () => `user-${process.pid}-${++userSeq}`;

/** Campaigns share one Worker: each test targets its own country so other tests' campaigns never compete. */
const countries = ['IS', 'NZ', 'PT', 'UY', 'FI', 'CL', 'KE', 'VN', 'GH', 'EE'];
let countrySeq = 0;
async function seedAlone(campaign: Record<string, unknown> = {}) {
  const country = countries[countrySeq++];
  const seeded = await w.seedCampaign({ campaign: { targeting: { countries: [country] }, ...campaign } });
  return { ...seeded, country, context: { country } };
}

beforeAll(async () => {
  w = await makeWorkerService();
}, 60_000);

afterAll(async () => {
  await w?.close();
});

describe('Worker in workerd', () => {
  it('is healthy and serves its OpenAPI document', async () => {
    expect((await w.call('GET', '/healthz', undefined)).body.status).toBe('ok');
    const doc = await w.call('GET', '/openapi.json', undefined);
    expect(doc.status).toBe(200);
    expect(doc.body.paths['/v1/slots']).toBeDefined();
  });

  it('checks keys: 401 without, 403 with the wrong kind', async () => {
    const client = await w.newClient();
    expect((await w.call('GET', '/v1/advertisers', undefined)).status).toBe(401);
    expect((await w.call('GET', '/v1/advertisers', client.key)).status).toBe(403);
  });

  it('serves an approved creative and counts its impression once', async () => {
    const { campaignId, advertiser, context } = await seedAlone();
    const client = await w.newClient();
    const slots = await w.call('POST', '/v1/slots', client.key, { user: newUser(), statuses: 10, context });
    expect(slots.status).toBe(200);
    expect(slots.body.slots).toHaveLength(1);
    expect(slots.body.slots[0].ad.campaignId).toBe(campaignId);
    const token = slots.body.slots[0].token;
    const events = await w.call('POST', '/v1/events', client.key, {
      events: [
        { token, type: 'impression' },
        { token, type: 'impression' },
        { token, type: 'click' },
        { token: `${token}x`, type: 'click' },
      ],
    });
    expect(events.body.results.map((r: any) => r.status)).toEqual(['accepted', 'duplicate', 'accepted', 'rejected']);
    const replay = await w.call('POST', '/v1/events', client.key, { events: [{ token, type: 'impression' }] });
    expect(replay.body.results[0].status).toBe('duplicate');

    const day = new Date().toISOString().slice(0, 10);
    const report = await w.call('GET', `/v1/reports?campaign=${campaignId}&from=${day}&to=${day}`, advertiser.key);
    expect(report.status).toBe(200);
    expect(report.body.rows).toHaveLength(1);
    expect(report.body.rows[0]).toMatchObject({ date: day, impressions: 1, clicks: 1, reach: 1 });
    expect(report.body.rows[0].spendMicros).toBeGreaterThan(0);

    const why = await w.call('POST', '/v1/why', client.key, { token });
    expect(why.body.advertiser.id).toBe(advertiser.id);

    // The campaign object adds impression and click counts to D1 for the CTR estimate (first batch at once, then every 30 s).
    const creativeId = slots.body.slots[0].ad.creativeId;
    const stats = await (await w.mf.getD1Database('DB'))
      .prepare('SELECT impressions, clicks FROM creative_stats WHERE creative_id = ?')
      .bind(creativeId)
      .first();
    expect(stats).toEqual({ impressions: 1, clicks: 1 });
  });

  it('lets advertisers edit their profile and campaigns (D1 batch writes)', async () => {
    const { advertiser, campaignId, context } = await seedAlone();
    const client = await w.newClient();
    const renamed = await w.call('PATCH', '/v1/me', advertiser.key, { name: 'Bakery & Sons', website: 'https://bakery.example' });
    expect(renamed.status).toBe(200);
    const me = await w.call('GET', '/v1/me', advertiser.key);
    expect(me.body.name, JSON.stringify(me.body)).toBe('Bakery & Sons');
    const slots = await w.call('POST', '/v1/slots', client.key, { user: newUser(), statuses: 10, context });
    expect(slots.body.slots[0].ad.advertiser.name).toBe('Bakery & Sons');
    const paused = await w.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, { status: 'paused' });
    expect(paused.body.status).toBe('paused');
    expect((await w.call('GET', '/v1/campaigns', advertiser.key)).body.campaigns.map((c: any) => c.id)).toEqual([campaignId]);
    expect((await w.call('POST', '/v1/slots', client.key, { user: newUser(), statuses: 10, context })).body.slots).toHaveLength(
      0,
    );
    const other = await w.newAdvertiser('Other');
    expect((await w.call('GET', `/v1/campaigns/${campaignId}`, other.key)).status).toBe(404);
  });

  it('keeps a frequency cap across requests, counting live reservations', async () => {
    const { campaignId, context } = await seedAlone({ caps: [{ impressions: 2, windowSeconds: 3600 }] });
    const client = await w.newClient();
    const user = newUser();
    const served: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await w.call('POST', '/v1/slots', client.key, { user, statuses: 10, context, explain: true });
      const mine = res.body.slots.filter((s: any) => s.ad.campaignId === campaignId);
      served.push(...mine.map((s: any) => s.token));
      // Viewing converts the reservation, so the creative may come again, within the cap.
      if (mine.length > 0)
        await w.call('POST', '/v1/events', client.key, { events: [{ token: mine[0].token, type: 'impression' }] });
      if (i === 3) expect(res.body.explain.find((e: any) => e.campaignId === campaignId)?.reason).toBe('frequency_cap');
    }
    expect(served).toHaveLength(2);
  });

  it('never serves a blocked advertiser, by call or by event, until unblocked', async () => {
    const { advertiser, campaignId, context } = await seedAlone();
    const client = await w.newClient();
    const user = newUser();
    const ask = () => w.call('POST', '/v1/slots', client.key, { user, statuses: 10, context });
    const mine = (res: any) => res.body.slots.filter((s: any) => s.ad.campaignId === campaignId);

    expect((await w.call('POST', '/v1/users/block', client.key, { user, advertiser: advertiser.id })).status).toBe(204);
    expect(mine(await ask())).toHaveLength(0);
    expect((await w.call('POST', '/v1/users/blocks', client.key, { user })).body.advertisers).toEqual([advertiser.id]);
    expect((await w.call('POST', '/v1/users/unblock', client.key, { user, advertiser: advertiser.id })).status).toBe(204);
    const again = mine(await ask());
    expect(again).toHaveLength(1);

    const blocked = await w.call('POST', '/v1/events', client.key, { events: [{ token: again[0].token, type: 'block' }] });
    expect(blocked.body.results[0].status).toBe('accepted');
    expect(mine(await ask())).toHaveLength(0);
  });

  it('erases a user: blocks gone, old tokens rejected', async () => {
    const { advertiser, context } = await seedAlone();
    const client = await w.newClient();
    const user = newUser();
    const slots = await w.call('POST', '/v1/slots', client.key, { user, statuses: 10, context });
    await w.call('POST', '/v1/users/block', client.key, { user, advertiser: advertiser.id });
    expect((await w.call('POST', '/v1/users/erase', client.key, { user })).status).toBe(204);
    expect((await w.call('POST', '/v1/users/blocks', client.key, { user })).body.advertisers).toEqual([]);
    const token = slots.body.slots[0].token;
    const events = await w.call('POST', '/v1/events', client.key, { events: [{ token, type: 'impression' }] });
    expect(events.body.results[0]).toMatchObject({ status: 'rejected' });
  });

  it('stores media in R2 and serves it with ETag, ranges and 304', async () => {
    const { media } = await seedAlone();
    const full = await w.request(`/media/${media.sha256}`);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('image/png');
    expect(full.headers.get('etag')).toBe(`"${media.sha256}"`);
    expect(full.headers.get('cache-control')).toContain('immutable');
    const bytes = new Uint8Array(await full.arrayBuffer());
    expect(bytes.length).toBe(media.bytes);

    const part = await w.request(`/media/${media.sha256}`, { headers: { Range: 'bytes=1-8' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1-8/${media.bytes}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.slice(1, 9));

    const tail = await w.request(`/media/${media.sha256}`, { headers: { Range: 'bytes=-4' } });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.slice(-4));
    const beyond = await w.request(`/media/${media.sha256}`, { headers: { Range: `bytes=${media.bytes}-` } });
    expect(beyond.status).toBe(416);
    await beyond.arrayBuffer();
    const cached = await w.request(`/media/${media.sha256}`, { headers: { 'If-None-Match': `"${media.sha256}"` } });
    expect(cached.status).toBe(304);
    expect((await w.request(`/media/${'0'.repeat(64)}`)).status).toBe(404);
  });

  it('sends a creative back to review at the report threshold', async () => {
    const { creativeId, context } = await seedAlone();
    const client = await w.newClient();
    for (let i = 0; i < 5; i++) {
      const slots = await w.call('POST', '/v1/slots', client.key, { user: newUser(), statuses: 10, context });
      const slot = slots.body.slots.find((s: any) => s.ad.creativeId === creativeId);
      expect(slot).toBeDefined();
      await w.call('POST', '/v1/events', client.key, { events: [{ token: slot.token, type: 'report' }] });
    }
    expect((await w.call('GET', `/v1/creatives/${creativeId}`, ADMIN_KEY)).status).toBeGreaterThanOrEqual(400); // advertiser-only route
    const review = await w.call('GET', '/v1/review', ADMIN_KEY);
    expect(review.body.creatives.map((c: any) => c.id)).toContain(creativeId);
    const slots = await w.call('POST', '/v1/slots', client.key, { user: newUser(), statuses: 10, context });
    expect(slots.body.slots.find((s: any) => s.ad.creativeId === creativeId)).toBeUndefined();
  });
});

describe('Worker catalog index', () => {
  it('follows catalog changes made in D1 by another isolate (version bump)', async () => {
    const { campaignId, context } = await seedAlone();
    const client = await w.newClient();
    const ask = async () =>
      (await w.call('POST', '/v1/slots', client.key, { user: newUser(), statuses: 10, context })).body.slots;
    expect(await ask()).toHaveLength(1);
    const db = await w.mf.getD1Database('DB');
    await db.batch([
      db.prepare(`UPDATE campaigns SET status = 'paused' WHERE id = ?`).bind(campaignId),
      db.prepare('UPDATE catalog_version SET version = version + 1'),
    ]);
    // CATALOG_REFRESH_MS is 0 in tests: the next decision checks the version.
    expect(await ask()).toHaveLength(0);
  });
});

describe('Worker concurrency', () => {
  it('many parallel slot requests for one user never break its cap', async () => {
    const { campaignId, context, advertiser } = await seedAlone({ caps: [{ impressions: 3, windowSeconds: 3600 }] });
    // Five creatives, so only the cap (not "never the same creative while reserved") limits serving.
    for (let seed = 1; seed <= 4; seed++) {
      const creative = await w.upload(advertiser.key, campaignId, png(90, 160, 7000 + seed));
      await w.call('POST', `/v1/creatives/${creative.body.id}/review`, ADMIN_KEY, { decision: 'approve' });
    }
    const client = await w.newClient();
    const user = newUser();
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => w.call('POST', '/v1/slots', client.key, { user, statuses: 10, context })),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const served = answers.flatMap((a) => a.body.slots).filter((s: any) => s.ad.campaignId === campaignId);
    expect(served).toHaveLength(3);
  });

  it('many parallel slot requests for one small-budget campaign never break its budget', async () => {
    // Bidding the floor (0.10 per thousand), each impression costs and holds 100 micros: 5 fit in 500.
    const totalMicros = 500;
    const { campaignId, advertiser, context } = await seedAlone({
      bid: { type: 'cpm', amountMicros: 100_000 },
      budget: { totalMicros },
    });
    const client = await w.newClient();
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => w.call('POST', '/v1/slots', client.key, { user: newUser(), statuses: 10, context })),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const served = answers.flatMap((a) => a.body.slots).filter((s: any) => s.ad.campaignId === campaignId);
    expect(served.length).toBeGreaterThan(0);
    expect(served.length).toBeLessThanOrEqual(5);
    const events = await w.call('POST', '/v1/events', client.key, {
      events: served.map((s: any) => ({ token: s.token, type: 'impression' })),
    });
    expect(events.body.results.every((r: any) => r.status === 'accepted')).toBe(true);
    const day = new Date().toISOString().slice(0, 10);
    const report = await w.call('GET', `/v1/reports?campaign=${campaignId}&from=${day}&to=${day}`, advertiser.key);
    expect(report.body.rows[0].impressions).toBe(served.length);
    expect(report.body.rows[0].spendMicros).toBeLessThanOrEqual(totalMicros);
  });
});
