import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { png } from '../helpers/media.js';
import { ADMIN_KEY, makeService, type TestService } from '../helpers/service.js';

describe('creative review', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await makeService({ REPORT_THRESHOLD: '3' });
  });
  afterEach(() => s.close());

  async function pendingCreative() {
    const advertiser = await s.newAdvertiser('Bakery');
    const campaign = await s.call('POST', '/v1/campaigns', advertiser.key, {
      name: 'Launch',
      bid: { type: 'cpm', amountMicros: 2_000_000 },
      schedule: { start: new Date(s.clock.now - 1000).toISOString() },
    });
    const creative = await s.upload(
      advertiser.key,
      campaign.body.id,
      fixture('vertical-90x160-2s.mp4'),
      {},
      'ad.mp4',
      'video/mp4',
    );
    return { advertiser, campaignId: campaign.body.id as string, creativeId: creative.body.id as string };
  }

  it('lists pending creatives with their advertiser and media, and only those', async () => {
    const { advertiser, creativeId } = await pendingCreative();
    const queue = await s.call('GET', '/v1/review', ADMIN_KEY);
    expect(queue.status).toBe(200);
    expect(queue.body.creatives).toHaveLength(1);
    const item = queue.body.creatives[0];
    expect(item).toMatchObject({ id: creativeId, review: 'pending', advertiser: { id: advertiser.id, name: 'Bakery' } });
    expect(item.media).toMatchObject({ mime: 'video/mp4', width: 90, height: 160, durationMs: 2000 });
    expect((await s.app.request(item.media.url)).status).toBe(200);

    await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, { decision: 'approve' });
    expect((await s.call('GET', '/v1/review', ADMIN_KEY)).body.creatives).toEqual([]);
  });

  it('the review queue and decisions are for operators only', async () => {
    const { advertiser, creativeId } = await pendingCreative();
    expect((await s.call('GET', '/v1/review', advertiser.key)).status).toBe(403);
    expect((await s.call('GET', '/v1/review', undefined)).status).toBe(401);
    expect((await s.call('POST', `/v1/creatives/${creativeId}/review`, advertiser.key, { decision: 'approve' })).status).toBe(
      403,
    );
    expect((await s.call('POST', '/v1/creatives/crv_nope/review', ADMIN_KEY, { decision: 'approve' })).status).toBe(404);
  });

  it('a rejection needs a reason, and the advertiser sees it', async () => {
    const { advertiser, creativeId } = await pendingCreative();
    for (const body of [{ decision: 'reject' }, { decision: 'reject', reason: '   ' }]) {
      const res = await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, body);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ path: 'reason' })]);
    }
    const rejected = await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, {
      decision: 'reject',
      reason: 'Text covers the product',
    });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ review: 'rejected', reviewReason: 'Text covers the product' });

    const seen = await s.call('GET', `/v1/creatives/${creativeId}`, advertiser.key);
    expect(seen.body).toMatchObject({ review: 'rejected', reviewReason: 'Text covers the product' });
    const other = await s.newAdvertiser('Other');
    expect((await s.call('GET', `/v1/creatives/${creativeId}`, other.key)).status).toBe(404);

    // Approving later clears the reason.
    const approved = await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, { decision: 'approve' });
    expect(approved.body.review).toBe('approved');
    expect(approved.body.reviewReason).toBeUndefined();
  });

  it('only approved creatives serve; approval takes effect at once', async () => {
    const { creativeId } = await pendingCreative();
    const client = await s.newClient();
    expect((await s.call('POST', '/v1/slots', client.key, { user: 'u', statuses: 10 })).body.slots).toEqual([]);
    await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, { decision: 'approve' });
    const slots = await s.call('POST', '/v1/slots', client.key, { user: 'u', statuses: 10 });
    expect(slots.body.slots.map((x: any) => x.ad.creativeId)).toEqual([creativeId]);
    expect(slots.body.slots[0].ad.media).toMatchObject({ mime: 'video/mp4', width: 90, height: 160, durationMs: 2000 });
  });

  it(`reports from reportThreshold distinct users send it back to review and stop it serving at once`, async () => {
    const { creativeId, advertiser } = await s.seedCampaign();
    const client = await s.newClient();
    const tokenFor = async (user: string) => {
      const res = await s.call('POST', '/v1/slots', client.key, { user, statuses: 10 });
      expect(res.body.slots.map((x: any) => x.ad.creativeId)).toEqual([creativeId]);
      return res.body.slots[0].token as string;
    };
    const report = async (token: string) =>
      (await s.call('POST', '/v1/events', client.key, { events: [{ token, type: 'report' }] })).body.results[0].status;

    // Two distinct users, one of them reporting twice (through two slots): still two reporters.
    expect(await report(await tokenFor('alice'))).toBe('accepted');
    expect(await report(await tokenFor('bob'))).toBe('accepted');
    s.clock.advance(16 * 60_000); // past the token TTL, so alice's first slot no longer holds the creative
    expect(await report(await tokenFor('alice'))).toBe('accepted');
    expect((await s.call('GET', `/v1/creatives/${creativeId}`, advertiser.key)).body.review).toBe('approved');

    const carolToken = await tokenFor('carol');
    const daveToken = await tokenFor('dave'); // served before the third report
    expect(await report(carolToken)).toBe('accepted');

    const creative = await s.call('GET', `/v1/creatives/${creativeId}`, advertiser.key);
    expect(creative.body.review).toBe('pending');
    expect(creative.body.reviewReason).toMatch(/reported by 3 users/);
    // At once: nobody is served it any more, not even users who never saw it.
    for (const user of ['erin', 'frank', 'alice']) {
      expect((await s.call('POST', '/v1/slots', client.key, { user, statuses: 10 })).body.slots).toEqual([]);
    }
    // It is back in the operator's queue; events on slots already served still count.
    expect((await s.call('GET', '/v1/review', ADMIN_KEY)).body.creatives.map((c: any) => c.id)).toEqual([creativeId]);
    expect(
      (await s.call('POST', '/v1/events', client.key, { events: [{ token: daveToken, type: 'impression' }] })).body.results[0]
        .status,
    ).toBe('accepted');

    // Re-approved, it serves again.
    await s.call('POST', `/v1/creatives/${creativeId}/review`, ADMIN_KEY, { decision: 'approve' });
    expect((await s.call('POST', '/v1/slots', client.key, { user: 'erin', statuses: 10 })).body.slots).toHaveLength(1);
  });

  it('a new upload joins the queue after older ones (oldest first)', async () => {
    const first = await pendingCreative();
    s.clock.advance(1000);
    const form = await s.upload(first.advertiser.key, first.campaignId, png(90, 160, 5));
    const queue = await s.call('GET', '/v1/review', ADMIN_KEY);
    expect(queue.body.creatives.map((c: any) => c.id)).toEqual([first.creativeId, form.body.id]);
  });
});
