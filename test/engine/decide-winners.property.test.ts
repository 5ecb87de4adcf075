/**
 * The auction's winners and prices (`chooseWinners`: a few passes over the eligible candidates) against the plain
 * model: sort them all by rank, then for each place take the first of an advertiser not yet served, priced by the
 * first after it of another advertiser not yet served. Ties of eCPM, full eCPM and advertisers are made often.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byEcpm, chooseWinners, type Eligible } from '../../src/engine/decide.js';
import type { ServableCampaign, ServableCreative } from '../../src/engine/types.js';

function modelWinners(eligible: Eligible[], wanted: number, floor: number) {
  const sorted = [...eligible].sort(byEcpm);
  const used = new Set<string>();
  const winners: { id: string; price: number }[] = [];
  for (let slot = 0; slot < wanted; slot++) {
    const index = sorted.findIndex((e) => !used.has(e.campaign.advertiserId));
    if (index < 0) break;
    const winner = sorted[index];
    const runnerUp = sorted.find(
      (e, i) => i > index && e.campaign.advertiserId !== winner.campaign.advertiserId && !used.has(e.campaign.advertiserId),
    );
    // Second price, as decide.ts prices it (its own arithmetic here).
    const priceEcpm = Math.min(winner.ecpm, Math.max(floor, runnerUp?.ecpm ?? 0));
    const price =
      winner.campaign.bid.type === 'cpm'
        ? Math.floor(priceEcpm / 1000)
        : Math.min(winner.bidMicros, Math.floor(priceEcpm / (winner.creative.predictedCtr * 1000)));
    winners.push({ id: winner.campaign.id, price });
    used.add(winner.campaign.advertiserId);
  }
  return winners;
}

const eligibleArb = fc
  .array(
    fc.record({
      advertiser: fc.integer({ min: 0, max: 5 }),
      ecpm: fc.integer({ min: 1, max: 8 }).map((x) => x * 500),
      extra: fc.integer({ min: 0, max: 2 }).map((x) => x * 250),
      type: fc.constantFrom('cpm' as const, 'cpc' as const),
      ctr: fc.constantFrom(0.01, 0.02, 0.05),
    }),
    { maxLength: 30 },
  )
  .map((rows) =>
    rows.map((r, i): Eligible => {
      const creative = { id: `k${i}`, predictedCtr: r.ctr } as ServableCreative;
      const campaign = {
        id: `c${(i * 7919) % 31}-${i}`,
        advertiserId: `a${r.advertiser}`,
        bid: { type: r.type, amountMicros: r.ecpm + r.extra },
      } as ServableCampaign;
      return { campaign, creative, ecpm: r.ecpm, remaining: Infinity, bidMicros: r.ecpm, fullEcpm: r.ecpm + r.extra };
    }),
  );

describe('chooseWinners', () => {
  it('picks and prices as sorting every eligible candidate would', () => {
    fc.assert(
      fc.property(eligibleArb, fc.integer({ min: 0, max: 4 }), fc.constantFrom(0, 500, 1500), (eligible, wanted, floor) => {
        const got = chooseWinners(eligible, wanted, floor).map((w) => ({ id: w.winner.campaign.id, price: w.price }));
        expect(got).toEqual(modelWinners(eligible, wanted, floor));
      }),
      { numRuns: 2000 },
    );
  });
});
