/**
 * Tried as a new user would, over HTTP in-process: a small-budget campaign under
 * many parallel slot requests stops exactly at its budget, pays a second price
 * below its bid, and its report agrees.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeService, type TestService } from '../helpers/service.js';

describe('a small budget under concurrent load', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await makeService();
  });
  afterEach(() => s.close());

  it('stops exactly at the budget, never above, and charges the second price', async () => {
    // 2.00 per thousand bid; the competitor's 1.50 sets the price: 1500 micros per impression, so 20 impressions fit.
    const small = await s.seedCampaign({
      advertiser: await s.newAdvertiser('Small shop'),
      campaign: {
        bid: { type: 'cpm', amountMicros: 2_000_000 },
        budget: { dailyMicros: 30_000, totalMicros: 30_000 },
        pacing: 'asap',
      },
    });
    await s.seedCampaign({
      advertiser: await s.newAdvertiser('Big chain'),
      campaign: { bid: { type: 'cpm', amountMicros: 1_500_000 }, pacing: 'asap' },
    });
    const client = await s.newClient();

    const responses = await Promise.all(
      Array.from({ length: 120 }, (_, i) => s.call('POST', '/v1/slots', client.key, { user: `user-${i}`, statuses: 3 })),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const slots = responses.flatMap((r) => r.body.slots);
    expect(slots).toHaveLength(120);
    const smallSlots = slots.filter((slot: any) => slot.ad.campaignId === small.campaignId);
    expect(smallSlots).toHaveLength(20);

    // Every token is seen, some twice, in parallel batches.
    const events = slots.map((slot: any) => ({ token: slot.token, type: 'impression' }));
    const results = await Promise.all(
      [events.slice(0, 60), events.slice(60), events.slice(0, 30)].map((batch) =>
        s.call('POST', '/v1/events', client.key, { events: batch }),
      ),
    );
    expect(results.flatMap((r) => r.body.results).filter((r: any) => r.status === 'accepted')).toHaveLength(120);

    const report = await s.call(
      'GET',
      `/v1/reports?campaign=${small.campaignId}&from=2026-11-25&to=2026-11-25`,
      small.advertiser.key,
    );
    expect(report.body.rows).toHaveLength(1);
    const [row] = report.body.rows;
    expect(row.impressions).toBe(20);
    expect(row.spendMicros).toBe(30_000); // exactly the budget
    expect(row.spendMicros / row.impressions).toBe(1500); // second price, below the 2000 bid

    // Spent out: later requests go elsewhere, and explain says why, with the numbers.
    const after = await s.call('POST', '/v1/slots', client.key, { user: 'late-user', statuses: 3, explain: true });
    expect(after.body.slots.map((slot: any) => slot.ad.campaignId)).not.toContain(small.campaignId);
    expect(after.body.explain.find((e: any) => e.campaignId === small.campaignId)).toMatchObject({
      outcome: 'rejected',
      reason: 'budget',
      remainingBudgetMicros: 0,
      ecpmMicros: 2_000_000,
    });
    const served = after.body.explain.find((e: any) => e.outcome === 'served');
    expect(served).toMatchObject({ ecpmMicros: 1_500_000, priceMicros: 100 }); // alone now: the floor
  });

  it('a budget that does not divide evenly still ends within one event of it, never above', async () => {
    const small = await s.seedCampaign({
      advertiser: await s.newAdvertiser('Odd budget'),
      campaign: { bid: { type: 'cpm', amountMicros: 2_000_000 }, budget: { totalMicros: 10_700 }, pacing: 'asap' },
    });
    await s.seedCampaign({
      advertiser: await s.newAdvertiser('Rival'),
      campaign: { bid: { type: 'cpm', amountMicros: 1_500_000 }, pacing: 'asap' },
    });
    const client = await s.newClient();
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => s.call('POST', '/v1/slots', client.key, { user: `u${i}`, statuses: 3 })),
    );
    const events = responses.flatMap((r) => r.body.slots).map((slot: any) => ({ token: slot.token, type: 'impression' }));
    await s.call('POST', '/v1/events', client.key, { events });
    const report = await s.call(
      'GET',
      `/v1/reports?campaign=${small.campaignId}&from=2026-11-25&to=2026-11-25`,
      small.advertiser.key,
    );
    // 7 × 1500 = 10 500, then a budget-capped bid of 0.20 per thousand wins one more impression at the floor.
    expect(report.body.rows[0].spendMicros).toBeLessThanOrEqual(10_700);
    expect(10_700 - report.body.rows[0].spendMicros).toBeLessThan(1500);
  });
});
