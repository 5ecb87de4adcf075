/**
 * Spend never exceeds the budget in force (issue 11, item 2), through the API on Node and
 * on the Worker: serve slots under a large budget, lower it, then post every impression.
 * The catalog use case cuts the outstanding holds and the ledger charges no more than fits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeService } from '../helpers/service.js';
import { makeWorkerService } from '../helpers/worker.js';

type Service = Awaited<ReturnType<typeof makeService>> | Awaited<ReturnType<typeof makeWorkerService>>;

for (const [name, make, now] of [
  ['node', () => makeService(), () => Date.UTC(2026, 10, 25, 12, 0, 0)],
  ['worker', () => makeWorkerService(), () => Date.now()],
] as const) {
  describe(`a lowered budget (${name})`, () => {
    let s: Service;
    let clientKey: string;
    beforeAll(async () => {
      s = await make();
      clientKey = (await s.newClient()).key;
    }, 60_000);
    afterAll(() => s?.close());

    it('cuts outstanding holds: spend never exceeds the new budget', async () => {
      const { advertiser, campaignId } = await s.seedCampaign({
        campaign: { bid: { type: 'cpm', amountMicros: 200_000 }, budget: { totalMicros: 5000 } },
      });
      const tokens: string[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await s.call('POST', '/v1/slots', clientKey, { user: `user-${i}`, statuses: 5 });
        tokens.push(...res.body.slots.map((slot: { token: string }) => slot.token));
      }
      expect(tokens.length).toBe(10);
      const patched = await s.call('PATCH', `/v1/campaigns/${campaignId}`, advertiser.key, { budget: { totalMicros: 300 } });
      expect(patched.status).toBe(200);
      const events = await s.call('POST', '/v1/events', clientKey, {
        events: tokens.map((token) => ({ token, type: 'impression' })),
      });
      expect(events.status).toBe(200);
      const day = new Date(now()).toISOString().slice(0, 10);
      const report = await s.call('GET', `/v1/reports?campaign=${campaignId}&from=${day}&to=${day}`, advertiser.key);
      expect(report.body.rows[0]).toMatchObject({ impressions: 10, spendMicros: 300 });
    });
  });
}
