/** Feed-client routes (client key): slots, events, blocks, erase, why. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CatalogIndex } from '../../src/catalog/index.js';
import { createPseudonymizer } from '../../src/privacy/pseudonym.js';
import { TokenSigner } from '../../src/privacy/token.js';
import { png } from '../helpers/media.js';
import { expectContentRejected, expectKeyMatrix, expectProblem, keysOf } from '../helpers/route-checks.js';
import { ADMIN_KEY, makeService, SECRET, type TestService } from '../helpers/service.js';
import { servedClaims } from '../helpers/tokens.js';

const REASONS = [
  'paused',
  'targeting',
  'schedule',
  'budget',
  'pacing',
  'frequency_cap',
  'user_cap',
  'blocked',
  'hidden',
  'not_approved',
  'advertiser_diversity',
  'outranked',
];
const TTL_MS = 900_000;

let s: TestService;
let client: { id: string; key: string };
beforeEach(async () => {
  s = await makeService();
  client = await s.newClient();
});
afterEach(() => s.close());

const slots = (body: Record<string, unknown>, svc = s, key = client.key) => svc.call('POST', '/v1/slots', key, body);
const events = (list: { token: string; type: string }[], svc = s, key = client.key) =>
  svc.call('POST', '/v1/events', key, { events: list });
const statusesOf = (res: { body: any }) => res.body.results.map((r: any) => r.status);

/** Bytes of the SQLite files (main, WAL); `close` first to see everything checkpointed. */
async function databaseBytes(svc: TestService, close = true): Promise<string> {
  if (close) await svc.store.close();
  return readdirSync(svc.dir)
    .filter((f) => f.startsWith('ads.db'))
    .map((f) => readFileSync(join(svc.dir, f)).toString('latin1'))
    .join('');
}

describe('POST /v1/slots', () => {
  it('returns slots with a token and the ad to show', async () => {
    const { advertiser, campaignId, creativeId } = await s.seedCampaign();
    const res = await slots({ user: 'alice', statuses: 10 });
    expect(res.status).toBe(200);
    expect(res.body.explain).toBeUndefined();
    expect(res.body.slots).toEqual([
      {
        after: 2,
        token: expect.any(String),
        ad: {
          creativeId,
          campaignId,
          advertiser: {
            id: advertiser.id,
            name: 'Bakery',
            description: null,
            address: null,
            email: null,
            website: null,
            category: null,
          },
          headline: 'Fresh bread daily',
          cta: { type: 'website', target: 'https://bakery.example' },
          media: { url: expect.stringMatching(/\/media\/[0-9a-f]{64}$/), mime: 'image/png', width: 90, height: 160 },
        },
      },
    ]);
  });

  it('places ads by the defaults: after ≥ 2, gaps ≥ 4, at most 3, one per advertiser', async () => {
    for (let i = 0; i < 5; i++) await s.seedCampaign({ advertiser: await s.newAdvertiser(`Adv ${i}`) });
    const res = await slots({ user: 'u', statuses: 40 });
    expect(res.body.slots.map((x: any) => x.after)).toEqual([2, 6, 10]);
    expect(new Set(res.body.slots.map((x: any) => x.ad.advertiser.id)).size).toBe(3);
    expect((await slots({ user: 'v', statuses: 1 })).body.slots).toEqual([]);
    expect((await slots({ user: 'w', statuses: 0 })).body.slots).toEqual([]);
    expect((await slots({ user: 'x', statuses: 7 })).body.slots.map((x: any) => x.after)).toEqual([2, 6]);
  });

  it('never shows two ads of one advertiser in a response', async () => {
    const advertiser = await s.newAdvertiser('Only one');
    for (let i = 0; i < 3; i++) await s.seedCampaign({ advertiser });
    const res = await slots({ user: 'u', statuses: 40 });
    expect(res.body.slots).toHaveLength(1);
  });

  it('with runs, places ads only at run boundaries', async () => {
    for (let i = 0; i < 4; i++) await s.seedCampaign({ advertiser: await s.newAdvertiser(`Adv ${i}`) });
    expect((await slots({ user: 'a', runs: [3, 1, 2] })).body.slots.map((x: any) => x.after)).toEqual([3]);
    expect((await slots({ user: 'b', runs: [1, 1, 4, 4] })).body.slots.map((x: any) => x.after)).toEqual([2, 6, 10]);
    expect((await slots({ user: 'c', runs: [1, 2, 2, 2, 2, 5] })).body.slots.map((x: any) => x.after)).toEqual([3, 7, 14]);
    expect((await slots({ user: 'd', runs: [10] })).body.slots.map((x: any) => x.after)).toEqual([10]);
    expect((await slots({ user: 'e', runs: [1] })).body.slots).toEqual([]);
    expect((await slots({ user: 'f', runs: [] })).body.slots).toEqual([]);
  });

  it('follows contextual targeting', async () => {
    const { campaignId } = await s.seedCampaign({
      campaign: { targeting: { countries: ['DE'], languages: ['de'], platforms: ['android'] } },
    });
    const ask = (context: Record<string, string>) => slots({ user: `u${Math.random()}`, statuses: 5, context });
    expect(
      (await ask({ country: 'DE', language: 'de', platform: 'android' })).body.slots.map((x: any) => x.ad.campaignId),
    ).toEqual([campaignId]);
    expect((await ask({ country: 'FR', language: 'de', platform: 'android' })).body.slots).toEqual([]);
    expect((await ask({ country: 'DE', language: 'en', platform: 'android' })).body.slots).toEqual([]);
    expect((await ask({ country: 'DE', language: 'de', platform: 'ios' })).body.slots).toEqual([]);
    expect((await ask({})).body.slots).toEqual([]);
  });

  it('explains every candidate with reasons from the product’s list', async () => {
    const served = await s.seedCampaign();
    const targeted = await s.seedCampaign({ campaign: { targeting: { countries: ['JP'] } } });
    const future = await s.seedCampaign({ campaign: { schedule: { start: new Date(s.clock.now + 86_400_000).toISOString() } } });
    const blocked = await s.seedCampaign({ advertiser: await s.newAdvertiser('Blocked') });
    await s.call('POST', '/v1/users/block', client.key, { user: 'u', advertiser: blocked.advertiser.id });
    // Stopped by the advertiser: a reason of its own, not the schedule's (PRODUCT.md), also for a campaign that is
    // both paused and not yet started.
    const paused = await s.seedCampaign({ advertiser: await s.newAdvertiser('Paused') });
    await s.call('PATCH', `/v1/campaigns/${paused.campaignId}`, paused.advertiser.key, { status: 'paused' });
    const pausedFuture = await s.seedCampaign({
      advertiser: await s.newAdvertiser('Paused later'),
      campaign: { status: 'paused', schedule: { start: new Date(s.clock.now + 86_400_000).toISOString() } },
    });
    const res = await slots({ user: 'u', statuses: 10, explain: true });
    expect(res.status).toBe(200);
    const byCampaign = new Map(res.body.explain.map((e: any) => [e.campaignId, e]));
    expect(byCampaign.get(served.campaignId)).toMatchObject({ outcome: 'served', creativeId: served.creativeId });
    expect(byCampaign.get(targeted.campaignId)).toMatchObject({ outcome: 'rejected', reason: 'targeting' });
    expect(byCampaign.get(future.campaignId)).toMatchObject({ outcome: 'rejected', reason: 'schedule' });
    expect(byCampaign.get(blocked.campaignId)).toMatchObject({ outcome: 'rejected', reason: 'blocked' });
    expect(byCampaign.get(paused.campaignId)).toMatchObject({ outcome: 'rejected', reason: 'paused' });
    expect(byCampaign.get(pausedFuture.campaignId)).toMatchObject({ outcome: 'rejected', reason: 'paused' });
    for (const entry of res.body.explain) {
      expect(['served', 'rejected']).toContain(entry.outcome);
      if (entry.outcome === 'rejected') expect(REASONS).toContain(entry.reason);
    }
  });

  it('holds frequency caps across requests: reservations count, expiry releases, impressions keep counting', async () => {
    await s.seedCampaign({ campaign: { caps: [{ impressions: 1, windowSeconds: 3600 }] } });
    const first = await slots({ user: 'u', statuses: 10 });
    expect(first.body.slots).toHaveLength(1);
    // A live reservation counts toward the cap.
    const capped = await slots({ user: 'u', statuses: 10, explain: true });
    expect(capped.body.slots).toEqual([]);
    expect(capped.body.explain[0]).toMatchObject({ outcome: 'rejected', reason: 'frequency_cap' });
    // Another user is not affected.
    expect((await slots({ user: 'v', statuses: 10 })).body.slots).toHaveLength(1);
    // Unviewed, the reservation is released when its token expires.
    s.clock.advance(TTL_MS + 1000);
    const again = await slots({ user: 'u', statuses: 10 });
    expect(again.body.slots).toHaveLength(1);
    expect(statusesOf(await events([{ token: again.body.slots[0].token, type: 'impression' }]))).toEqual(['accepted']);
    // A viewed one keeps counting for the whole window.
    s.clock.advance(TTL_MS + 1000);
    expect((await slots({ user: 'u', statuses: 10 })).body.slots).toEqual([]);
    s.clock.advance(3600_000);
    expect((await slots({ user: 'u', statuses: 10 })).body.slots).toHaveLength(1);
  });

  it('holds a long cap across a pause, a prune and a resume', async () => {
    const { advertiser, campaignId } = await s.seedCampaign({ campaign: { caps: [{ impressions: 1, windowSeconds: 86_400 }] } });
    const first = await slots({ user: 'u', statuses: 5 });
    await events([{ token: first.body.slots[0].token, type: 'impression' }]);
    await s.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, { status: 'paused' });
    s.clock.advance(2 * 3600_000);
    await slots({ user: 'u', statuses: 5 });
    await s.delivery.prune(s.clock.now);
    await s.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, { status: 'active' });
    expect((await slots({ user: 'u', statuses: 5 })).body.slots).toEqual([]);
    s.clock.advance(22 * 3600_000);
    expect((await slots({ user: 'u', statuses: 5 })).body.slots).toHaveLength(1);
  });

  it('a restarted process still keeps history for a paused campaign’s long cap, and never serves it', async () => {
    const { advertiser, campaignId } = await s.seedCampaign({ campaign: { caps: [{ impressions: 1, windowSeconds: 86_400 }] } });
    await s.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, { status: 'paused' });
    // What a fresh process builds from the same database.
    const fresh = new CatalogIndex(s.store.catalog, (sha) => `/media/${sha}`);
    await fresh.refresh(true);
    expect(fresh.longestCapMs()).toBe(86_400_000);
    expect([...fresh.candidates({}, false)].map((c) => c.id)).not.toContain(campaignId);
    const explained = await slots({ user: 'u', statuses: 5, explain: true });
    expect(explained.body.slots).toEqual([]);
    expect(explained.body.explain).toContainEqual(expect.objectContaining({ campaignId, outcome: 'rejected', reason: 'paused' }));
  });

  it('holds a cap of k impressions per window over many requests', async () => {
    await s.seedCampaign({ campaign: { caps: [{ impressions: 3, windowSeconds: 86_400 }] } });
    let shown = 0;
    for (let i = 0; i < 10; i++) {
      const res = await slots({ user: 'u', statuses: 10 });
      for (const slot of res.body.slots) {
        await events([{ token: slot.token, type: 'impression' }]);
        shown++;
      }
      s.clock.advance(60_000);
    }
    expect(shown).toBe(3);
  });

  it('holds the cap when one user’s requests arrive at once', async () => {
    await s.seedCampaign({ campaign: { caps: [{ impressions: 1, windowSeconds: 3600 }] } });
    const all = await Promise.all(Array.from({ length: 6 }, () => slots({ user: 'same', statuses: 10 })));
    expect(all.flatMap((r) => r.body.slots)).toHaveLength(1);
  });

  it('holds the deployment-wide user cap', async () => {
    const capped = await makeService({ USER_CAP_IMPRESSIONS: '2', USER_CAP_WINDOW_SECONDS: '3600' });
    try {
      const c = await capped.newClient();
      for (let i = 0; i < 4; i++) await capped.seedCampaign({ advertiser: await capped.newAdvertiser(`Adv ${i}`) });
      const first = await slots({ user: 'u', statuses: 40 }, capped, c.key);
      expect(first.body.slots).toHaveLength(2);
      const second = await slots({ user: 'u', statuses: 40, explain: true }, capped, c.key);
      expect(second.body.slots).toEqual([]);
      expect(second.body.explain.some((e: any) => e.reason === 'user_cap')).toBe(true);
      expect((await slots({ user: 'other', statuses: 40 }, capped, c.key)).body.slots).toHaveLength(2);
    } finally {
      await capped.close();
    }
  });

  it('names the user cap, not the auction, for a candidate the cap kept from a place it had', async () => {
    // 3 places (statuses 40), a user cap of 2, four advertisers bidding 5, 4, 3 and 2.
    const capped = await makeService({ USER_CAP_IMPRESSIONS: '2', USER_CAP_WINDOW_SECONDS: '3600' });
    try {
      const c = await capped.newClient();
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const seeded = await capped.seedCampaign({
          advertiser: await capped.newAdvertiser(`Adv ${i}`),
          campaign: { bid: { type: 'cpm', amountMicros: (5 - i) * 1_000_000 } },
        });
        ids.push(seeded.campaignId);
      }
      const res = await slots({ user: 'u', statuses: 40, explain: true }, capped, c.key);
      expect(res.body.slots.map((x: any) => x.ad.campaignId)).toEqual(ids.slice(0, 2));
      const reasonOf = (id: string) => res.body.explain.find((e: any) => e.campaignId === id);
      // The third would have had the third place but for the user cap; the fourth had no place at all.
      expect(reasonOf(ids[2])).toMatchObject({ outcome: 'rejected', reason: 'user_cap' });
      expect(reasonOf(ids[3])).toMatchObject({ outcome: 'rejected', reason: 'outranked' });
    } finally {
      await capped.close();
    }
  });

  it('never serves the same creative twice while it is reserved', async () => {
    await s.seedCampaign();
    const first = await slots({ user: 'u', statuses: 10 });
    expect(first.body.slots).toHaveLength(1);
    expect((await slots({ user: 'u', statuses: 10 })).body.slots).toEqual([]);
    await events([{ token: first.body.slots[0].token, type: 'impression' }]);
    expect((await slots({ user: 'u', statuses: 10 })).body.slots).toHaveLength(1);
  });

  it('serves no ad when the user’s state cannot be read (fails closed)', async () => {
    await s.seedCampaign();
    const load = s.store.users.load;
    s.store.users.load = async () => {
      throw new Error('store down');
    };
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      const res = await slots({ user: 'u', statuses: 10 });
      expect(res.status).toBe(200);
      expect(res.body.slots).toEqual([]);
    } finally {
      console.error = original;
      s.store.users.load = load;
    }
    expect(JSON.stringify(errors)).not.toContain('"u"');
  });

  it('never stores the raw user id', async () => {
    await s.seedCampaign();
    const raw = 'alice-raw-identifier-7f3a9c';
    const res = await slots({ user: raw, statuses: 10 });
    await events([{ token: res.body.slots[0].token, type: 'impression' }]);
    await s.call('POST', '/v1/users/block', client.key, { user: raw, advertiser: res.body.slots[0].ad.advertiser.id });
    expect(res.body.slots[0].token).not.toContain(raw);
    expect(Buffer.from(res.body.slots[0].token.split('.')[1], 'base64url').toString('latin1')).not.toContain(raw);
    expect(await databaseBytes(s)).not.toContain(raw);
  });

  it('enforces the request bounds, naming the bound', async () => {
    const bad = async (body: Record<string, unknown>, path: string, bound: RegExp) => {
      const res = await slots(body);
      expectProblem(res, 400, { path });
      expect(res.body.detail).toMatch(bound);
    };
    await bad({ user: '', statuses: 5 }, 'user', /1/);
    await bad({ user: 'x'.repeat(257), statuses: 5 }, 'user', /256/);
    await bad({ user: 5, statuses: 5 }, 'user', /string/);
    await bad({ statuses: 5 }, 'user', /user/);
    await bad({ user: 'u', statuses: -1 }, 'statuses', /0/);
    await bad({ user: 'u', statuses: 1001 }, 'statuses', /1000/);
    await bad({ user: 'u', statuses: 2.5 }, 'statuses', /int/);
    await bad({ user: 'u', statuses: '5' }, 'statuses', /number/);
    await bad({ user: 'u', runs: Array(1001).fill(1) }, 'runs', /1000/);
    await bad({ user: 'u', runs: [2, 0] }, 'runs.1', /1/);
    await bad({ user: 'u', runs: [1001] }, 'runs.0', /1000/);
    await bad({ user: 'u', runs: [600, 401] }, 'runs', /1000/);
    await bad({ user: 'u', runs: 'x' }, 'runs', /array/);
    await bad({ user: 'u' }, 'statuses', /statuses or runs/);
    await bad({ user: 'u', statuses: 3, runs: [3] }, 'statuses', /statuses or runs/);
    await bad({ user: 'u', statuses: 3, context: { country: 'deu' } }, 'context.country', /ISO 3166/);
    await bad({ user: 'u', statuses: 3, context: { language: 'de_AT' } }, 'context.language', /BCP-47/);
    await bad({ user: 'u', statuses: 3, context: { platform: 'symbian' } }, 'context.platform', /android/);
    await bad({ user: 'u', statuses: 3, explain: 'yes' }, 'explain', /boolean/);
    await bad({ user: 'u', statuses: 3, contacts: ['bob'] }, 'contacts', /contacts/);
    // At the bounds it works.
    expect((await slots({ user: 'x'.repeat(256), statuses: 1000 })).status).toBe(200);
    expect((await slots({ user: 'x', runs: Array(1000).fill(1) })).status).toBe(200);
    expect((await slots({ user: 'x', runs: [1000] })).status).toBe(200);
  });

  it('refuses bodies over 1 MiB with 413', async () => {
    const res = await s.app.request('/v1/slots', {
      method: 'POST',
      headers: { Authorization: `Bearer ${client.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'u', statuses: 3, pad: 'x'.repeat(1024 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('rejects message content in any field', async () => {
    for (const field of ['text', 'body', 'caption', 'message', 'content', 'media']) {
      expectContentRejected(await slots({ user: 'u', statuses: 3, [field]: 'hello' }), field);
    }
    expectContentRejected(await slots({ user: 'u', statuses: 3, context: { caption: 'x' } }), 'context.caption');
  });
});

describe('POST /v1/events', () => {
  it('is idempotent per (token, type), in one batch and across batches', async () => {
    await s.seedCampaign();
    const token = (await slots({ user: 'u', statuses: 10 })).body.slots[0].token;
    const first = await events([
      { token, type: 'impression' },
      { token, type: 'impression' },
      { token, type: 'click' },
    ]);
    expect(first.status).toBe(200);
    expect(first.body.results).toEqual([{ status: 'accepted' }, { status: 'duplicate' }, { status: 'accepted' }]);
    expect(
      statusesOf(
        await events([
          { token, type: 'click' },
          { token, type: 'impression' },
        ]),
      ),
    ).toEqual(['duplicate', 'duplicate']);
  });

  it('counts and charges an impression once, whatever is replayed', async () => {
    const { advertiser, campaignId } = await s.seedCampaign();
    const token = (await slots({ user: 'u', statuses: 10 })).body.slots[0].token;
    for (let i = 0; i < 3; i++)
      await events([
        { token, type: 'impression' },
        { token, type: 'impression' },
      ]);
    const day = new Date(s.clock.now).toISOString().slice(0, 10);
    const report = await s.call('GET', `/v1/reports?campaign=${campaignId}&from=${day}&to=${day}`, advertiser.key);
    expect(report.body.rows).toEqual([expect.objectContaining({ impressions: 1, reach: 1 })]);
    expect(report.body.rows[0].spendMicros).toBeLessThanOrEqual(2000);
  });

  it('rejects forged, tampered, expired and malformed tokens item by item', async () => {
    await s.seedCampaign();
    const old = (await slots({ user: 'u', statuses: 10 })).body.slots[0].token as string;
    s.clock.advance(TTL_MS + 1);
    const fresh = (await slots({ user: 'u', statuses: 10 })).body.slots[0].token as string;
    const [kid, body] = fresh.split('.');
    const claims = await servedClaims(SECRET, fresh, client.id, s.clock.now);
    const forged = await new TokenSigner('not-the-secret').slotToken(claims);
    const longer = await new TokenSigner('not-the-secret').slotToken({ ...claims, expiresAt: claims.expiresAt + 86_400_000 });
    const flip = (i: number) => `${kid}.${body.slice(0, i)}${body[i] === 'A' ? 'B' : 'A'}${body.slice(i + 1)}`;
    const res = await events([
      { token: forged, type: 'impression' },
      // Another key's ciphertext presented under our key id.
      { token: `${kid}.${longer.split('.')[1]}`, type: 'impression' },
      { token: flip(20), type: 'impression' },
      // (Not the last character: its low bits are base64 padding and may not change the decoded bytes.)
      { token: flip(body.length - 5), type: 'impression' },
      { token: old, type: 'impression' },
      { token: 'garbage', type: 'impression' },
      { token: '...', type: 'click' },
      { token: fresh, type: 'impression' },
      { token: fresh, type: 'impression' },
    ]);
    expect(res.status).toBe(200);
    expect(statusesOf(res)).toEqual([
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'accepted',
      'duplicate',
    ]);
    for (const r of res.body.results.slice(0, 7)) expect(r.reason).toEqual(expect.any(String));
    expect(res.body.results[4].reason).toMatch(/expired/);
  });

  it('a hide means that creative never serves to that user again', async () => {
    const { advertiser, campaignId, creativeId } = await s.seedCampaign();
    const second = await s.upload(advertiser.key, campaignId, png(90, 160, 99), { headline: 'Second' });
    await s.call('POST', `/v1/creatives/${second.body.id}/review`, ADMIN_KEY, { decision: 'approve' });
    const first = (await slots({ user: 'u', statuses: 10 })).body.slots[0];
    const hidden = first.ad.creativeId;
    expect([creativeId, second.body.id]).toContain(hidden);
    expect(statusesOf(await events([{ token: first.token, type: 'hide' }]))).toEqual(['accepted']);
    for (let i = 0; i < 4; i++) {
      s.clock.advance(TTL_MS + 1);
      const res = await slots({ user: 'u', statuses: 10 });
      expect(res.body.slots).toHaveLength(1);
      expect(res.body.slots[0].ad.creativeId).not.toBe(hidden);
      await events([{ token: res.body.slots[0].token, type: 'impression' }]);
    }
    // Other users still see it.
    const other = await slots({ user: 'v', statuses: 10 });
    expect(other.body.slots).toHaveLength(1);
  });

  it('a block event blocks the advertiser for that user', async () => {
    const blocked = await s.seedCampaign({ advertiser: await s.newAdvertiser('Blocked') });
    const first = (await slots({ user: 'u', statuses: 3 })).body.slots[0];
    expect(first.ad.advertiser.id).toBe(blocked.advertiser.id);
    await s.seedCampaign({ advertiser: await s.newAdvertiser('Other') });
    expect(statusesOf(await events([{ token: first.token, type: 'block' }]))).toEqual(['accepted']);
    expect((await s.call('POST', '/v1/users/blocks', client.key, { user: 'u' })).body.advertisers).toEqual([
      blocked.advertiser.id,
    ]);
    for (let i = 0; i < 3; i++) {
      s.clock.advance(TTL_MS + 1);
      const res = await slots({ user: 'u', statuses: 20 });
      expect(res.body.slots.map((x: any) => x.ad.advertiser.id)).not.toContain(blocked.advertiser.id);
    }
  });

  it('reports from enough distinct users send the creative back to review', async () => {
    const svc = await makeService({ REPORT_THRESHOLD: '2' });
    try {
      const c = await svc.newClient();
      const { advertiser, creativeId } = await svc.seedCampaign();
      const t1 = (await slots({ user: 'u1', statuses: 5 }, svc, c.key)).body.slots[0].token;
      const t2 = (await slots({ user: 'u2', statuses: 5 }, svc, c.key)).body.slots[0].token;
      await events(
        [
          { token: t1, type: 'report' },
          { token: t1, type: 'report' },
        ],
        svc,
        c.key,
      );
      expect((await svc.call('GET', `/v1/creatives/${creativeId}`, advertiser.key)).body.review).toBe('approved');
      expect(statusesOf(await events([{ token: t2, type: 'report' }], svc, c.key))).toEqual(['accepted']);
      expect((await svc.call('GET', `/v1/creatives/${creativeId}`, advertiser.key)).body.review).toBe('pending');
      expect((await svc.call('GET', '/v1/review', ADMIN_KEY)).body.creatives.map((x: any) => x.id)).toEqual([creativeId]);
      expect((await slots({ user: 'u3', statuses: 5 }, svc, c.key)).body.slots).toEqual([]);
    } finally {
      await svc.close();
    }
  });

  it('accepts a token only from the feed client it was served to', async () => {
    await s.seedCampaign();
    const other = await s.newClient('Other messenger');
    const token = (await slots({ user: 'u', statuses: 10 })).body.slots[0].token;
    const stolen = await events([{ token, type: 'impression' }], s, other.key);
    expect(stolen.body.results).toEqual([{ status: 'rejected', reason: 'invalid_token' }]);
    expectProblem(await s.call('POST', '/v1/why', other.key, { token }), 400, { path: 'token' });
    // The owner's event still counts: the stolen attempt changed nothing.
    expect(statusesOf(await events([{ token, type: 'impression' }]))).toEqual(['accepted']);
  });

  it('validates the batch', async () => {
    expectProblem(await s.call('POST', '/v1/events', client.key, { events: [] }), 400, { path: 'events' });
    expectProblem(await s.call('POST', '/v1/events', client.key, {}), 400, { path: 'events' });
    expectProblem(await events(Array(501).fill({ token: 'a.b', type: 'impression' })), 400, { path: 'events' });
    expectProblem(await events([{ token: 'a.b', type: 'view' }]), 400, { path: 'events.0.type' });
    // An empty token is a forged one like any other: rejected item by item.
    const empty = await events([
      { token: '', type: 'impression' },
      { token: 'a.b', type: 'click' },
    ]);
    expect(empty.status).toBe(200);
    expect(empty.body.results).toEqual([
      { status: 'rejected', reason: 'invalid_token' },
      { status: 'rejected', reason: 'invalid_token' },
    ]);
    expectProblem(await s.call('POST', '/v1/events', client.key, { events: [{ token: 'a.b', type: 'click', at: 1 }] }), 400, {
      path: 'events.0.at',
    });
    expectContentRejected(
      await s.call('POST', '/v1/events', client.key, { events: [{ token: 'a.b', type: 'click', message: 'hi' }] }),
      'events.0.message',
    );
    expect((await events(Array(500).fill({ token: 'a.b', type: 'impression' }))).status).toBe(200);
  });
});

describe('POST /v1/users/block, /unblock, /blocks', () => {
  it('blocks and unblocks an advertiser for one user', async () => {
    const a = await s.seedCampaign({ advertiser: await s.newAdvertiser('A') });
    const b = await s.seedCampaign({ advertiser: await s.newAdvertiser('B') });
    const block = await s.call('POST', '/v1/users/block', client.key, { user: 'u', advertiser: a.advertiser.id });
    expect(block.status).toBe(204);
    expect(block.body).toBeUndefined();
    expect((await s.call('POST', '/v1/users/block', client.key, { user: 'u', advertiser: a.advertiser.id })).status).toBe(204);
    expect((await s.call('POST', '/v1/users/blocks', client.key, { user: 'u' })).body).toEqual({
      advertisers: [a.advertiser.id],
      categories: [],
    });
    expect((await s.call('POST', '/v1/users/blocks', client.key, { user: 'v' })).body).toEqual({
      advertisers: [],
      categories: [],
    });
    const served = await slots({ user: 'u', statuses: 20 });
    expect(served.body.slots.map((x: any) => x.ad.advertiser.id)).toEqual([b.advertiser.id]);
    expect((await slots({ user: 'v', statuses: 20 })).body.slots).toHaveLength(2);

    expect((await s.call('POST', '/v1/users/unblock', client.key, { user: 'u', advertiser: a.advertiser.id })).status).toBe(204);
    expect((await s.call('POST', '/v1/users/blocks', client.key, { user: 'u' })).body).toEqual({
      advertisers: [],
      categories: [],
    });
    s.clock.advance(TTL_MS + 1);
    expect((await slots({ user: 'u', statuses: 20 })).body.slots.map((x: any) => x.ad.advertiser.id)).toContain(a.advertiser.id);
  });

  it('is 404 for an unknown advertiser and validates the body', async () => {
    expectProblem(await s.call('POST', '/v1/users/block', client.key, { user: 'u', advertiser: 'adv_missing' }), 404);
    expectProblem(await s.call('POST', '/v1/users/block', client.key, { user: 'u' }), 400, { path: 'advertiser' });
    expectProblem(await s.call('POST', '/v1/users/block', client.key, { advertiser: 'adv_x' }), 400, { path: 'user' });
    expectProblem(await s.call('POST', '/v1/users/block', client.key, { user: 'x'.repeat(257), advertiser: 'adv_x' }), 400, {
      path: 'user',
    });
    expectProblem(await s.call('POST', '/v1/users/unblock', client.key, { user: 'u', advertiser: '' }), 400, {
      path: 'advertiser',
    });
    expectProblem(await s.call('POST', '/v1/users/blocks', client.key, {}), 400, { path: 'user' });
    expectProblem(await s.call('POST', '/v1/users/blocks', client.key, { user: 'u', all: true }), 400, { path: 'all' });
    expectContentRejected(
      await s.call('POST', '/v1/users/block', client.key, { user: 'u', advertiser: 'adv_x', text: 'spam' }),
      'text',
    );
  });
});

describe('POST /v1/users/erase', () => {
  it('removes every trace of the user', async () => {
    const { advertiser } = await s.seedCampaign({ campaign: { caps: [{ impressions: 1, windowSeconds: 86_400 }] } });
    const other = await s.seedCampaign({ advertiser: await s.newAdvertiser('Other') });
    const first = await slots({ user: 'erase-me', statuses: 20 });
    const tokens = first.body.slots.map((x: any) => x.token);
    await events(
      tokens.flatMap((token: string) => [
        { token, type: 'impression' },
        { token, type: 'report' },
      ]),
    );
    await s.call('POST', '/v1/users/block', client.key, { user: 'erase-me', advertiser: other.advertiser.id });
    await slots({ user: 'keep-me', statuses: 20 });

    const erase = await s.call('POST', '/v1/users/erase', client.key, { user: 'erase-me' });
    expect(erase.status).toBe(204);
    expect((await s.call('POST', '/v1/users/blocks', client.key, { user: 'erase-me' })).body.advertisers).toEqual([]);
    // Old tokens have nothing left to attach to.
    expect(statusesOf(await events([{ token: tokens[0], type: 'click' }]))).toEqual(['rejected']);
    // Caps and blocks are gone with the history: the user is new to us.
    const again = await slots({ user: 'erase-me', statuses: 20 });
    expect(again.body.slots.map((x: any) => x.ad.advertiser.id).sort()).toEqual([advertiser.id, other.advertiser.id].sort());
    expect((await s.call('POST', '/v1/users/erase', client.key, { user: 'never-seen' })).status).toBe(204);

    // Nothing carrying the user's pseudonym is left in the database, not even in freed pages.
    await s.call('POST', '/v1/users/erase', client.key, { user: 'erase-me' });
    const uid = await createPseudonymizer(SECRET)('erase-me');
    const kept = await createPseudonymizer(SECRET)('keep-me');
    // While the service runs (WAL and freed pages included) ...
    const live = await databaseBytes(s, false);
    expect(live).toContain(kept);
    expect(live).not.toContain(uid);
    // ... and once it is closed.
    const bytes = await databaseBytes(s);
    expect(bytes).toContain(kept);
    expect(bytes).not.toContain(uid);
  });

  it('validates the body', async () => {
    expectProblem(await s.call('POST', '/v1/users/erase', client.key, {}), 400, { path: 'user' });
    expectProblem(await s.call('POST', '/v1/users/erase', client.key, { user: '' }), 400, { path: 'user' });
    expectContentRejected(await s.call('POST', '/v1/users/erase', client.key, { user: 'u', content: 'x' }), 'content');
  });
});

describe('POST /v1/why', () => {
  it('explains in plain words from the targeting that matched', async () => {
    const { advertiser } = await s.seedCampaign({ campaign: { targeting: { countries: ['DE'], languages: ['de'] } } });
    const token = (await slots({ user: 'u', statuses: 5, context: { country: 'DE', language: 'de' } })).body.slots[0].token;
    const res = await s.call('POST', '/v1/why', client.key, { token });
    expect(res.status).toBe(200);
    expect(res.body.advertiser).toEqual({ id: advertiser.id, name: 'Bakery' });
    expect(res.body.reasons.length).toBeGreaterThan(0);
    const text = res.body.reasons.join(' ');
    expect(text).toContain('DE');
    expect(text).toContain('de');
    expect(text).toMatch(/messages/);
  });

  it('says no targeting was used for an untargeted campaign', async () => {
    await s.seedCampaign();
    const token = (await slots({ user: 'u', statuses: 5 })).body.slots[0].token;
    const res = await s.call('POST', '/v1/why', client.key, { token });
    expect(res.body.reasons.join(' ')).toMatch(/no targeting/i);
  });

  it('rejects invalid and expired tokens, naming the field', async () => {
    await s.seedCampaign();
    const token = (await slots({ user: 'u', statuses: 5 })).body.slots[0].token;
    expectProblem(await s.call('POST', '/v1/why', client.key, { token: 'abc.def' }), 400, { path: 'token' });
    expectProblem(await s.call('POST', '/v1/why', client.key, { token: `${token}x` }), 400, { path: 'token' });
    expectProblem(await s.call('POST', '/v1/why', client.key, {}), 400, { path: 'token' });
    expectContentRejected(await s.call('POST', '/v1/why', client.key, { token, message: 'why?' }), 'message');
    s.clock.advance(TTL_MS + 1);
    expectProblem(await s.call('POST', '/v1/why', client.key, { token }), 400, { path: 'token' });
  });
});

describe('feed routes: keys', () => {
  it('need a client key: 401 without a valid key, 403 for other kinds', async () => {
    const keys = await keysOf(s);
    const { advertiser } = await s.seedCampaign();
    const routes = [
      { method: 'POST', path: '/v1/slots', body: { user: 'u', statuses: 5 } },
      { method: 'POST', path: '/v1/events', body: { events: [{ token: 'a.b', type: 'impression' }] } },
      { method: 'POST', path: '/v1/users/block', body: { user: 'u', advertiser: advertiser.id } },
      { method: 'POST', path: '/v1/users/unblock', body: { user: 'u', advertiser: advertiser.id } },
      { method: 'POST', path: '/v1/users/blocks', body: { user: 'u' } },
      { method: 'POST', path: '/v1/users/erase', body: { user: 'u' } },
      { method: 'POST', path: '/v1/why', body: { token: 'a.b' } },
    ];
    for (const route of routes) await expectKeyMatrix(s, keys, route, 'client');
    expect((await s.call('POST', '/v1/users/blocks', keys.client, { user: 'u' })).body.advertisers).toEqual([]);
  });

  it('keeps user ids out of URLs: there is no route taking one', async () => {
    expectProblem(await s.call('GET', '/v1/users/alice/blocks', client.key), 404);
    // /v1/slots exists, but only for POST with the user in the body.
    expectProblem(await s.call('GET', '/v1/slots?user=alice', client.key), 405);
  });
});
