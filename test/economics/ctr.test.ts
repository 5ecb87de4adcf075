/** Predicted CTR comes from real events: counters kept by the ledger, folded into the index on a cadence. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSettings } from '../../src/config.js';
import { CTR_PRIOR, deploymentPrior, predictedCtr } from '../../src/engine/ctr.js';
import { makeService, type TestService } from '../helpers/service.js';

describe('predicted CTR', () => {
  it('is the Beta posterior mean around the prior, and the prior follows the deployment', () => {
    expect(predictedCtr(0, 0)).toBeCloseTo(CTR_PRIOR.mean, 12);
    // α = 2, β = 198: 10 clicks in 100 impressions → 12 / 300.
    expect(predictedCtr(10, 100)).toBeCloseTo(12 / 300, 12);
    expect(deploymentPrior(0, 0).mean).toBeCloseTo(0.01, 12);
    expect(deploymentPrior(500, 10_000).mean).toBeCloseTo((500 + 10) / (10_000 + 1000), 12);
    expect(predictedCtr(5, 0)).toBeLessThanOrEqual(1);
  });

  describe('from events', () => {
    let s: TestService;
    beforeEach(async () => {
      s = await makeService();
    });
    afterEach(() => s.close());

    it('counts impressions and clicks once per token and reaches the index after the refresh cadence', async () => {
      const { campaignId, creativeId } = await s.seedCampaign({
        campaign: { bid: { type: 'cpc', amountMicros: 50_000 }, pacing: 'asap' },
      });
      const client = await s.newClient();
      const tokens: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await s.call('POST', '/v1/slots', client.key, { user: `u${i}`, statuses: 3 });
        tokens.push(r.body.slots[0].token);
      }
      const events = [
        ...tokens.map((token) => ({ token, type: 'impression' })),
        ...tokens.slice(0, 4).map((token) => ({ token, type: 'click' })),
        { token: tokens[0], type: 'click' }, // a replay counts once
      ];
      await s.call('POST', '/v1/events', client.key, { events });
      // Not yet folded in: the estimate is still the prior.
      expect(s.index.campaign(campaignId)!.creatives[0].predictedCtr).toBeCloseTo(CTR_PRIOR.mean, 12);

      s.clock.advance(readSettings({}).ctrRefreshMs);
      const r = await s.call('POST', '/v1/slots', client.key, { user: 'late', statuses: 3 });
      await s.call('POST', '/v1/events', client.key, { events: [{ token: r.body.slots[0].token, type: 'impression' }] });
      await s.index.refresh(); // joins the rebuild the events call started
      const prior = deploymentPrior(4, 21);
      const creative = s.index.campaign(campaignId)!.creatives.find((c) => c.id === creativeId)!;
      expect(creative.predictedCtr).toBeCloseTo(predictedCtr(4, 21, prior), 12);
      expect(creative.predictedCtr).toBeGreaterThan(CTR_PRIOR.mean);
    });
  });
});
