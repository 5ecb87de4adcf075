/** Auction properties of the pure engine: ranking by eCPM, second price from the right runner-up, never above the bid. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { advertiserCard } from '../../src/engine/card.js';
import { decide } from '../../src/engine/decide.js';
import { ecpmUpperBound, maxCostMicros } from '../../src/engine/eligibility.js';
import { placementCapacity } from '../../src/engine/placement.js';
import type { BudgetState, EngineSettings, ServableCampaign, UserState } from '../../src/engine/types.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const settings: EngineSettings = {
  placement: { firstAfter: 2, minGap: 4, maxPerResponse: 3 },
  userCap: { impressions: 8, windowSeconds: 3600 },
  floorCpmMicros: 100_000,
  tokenTtlMs: 900_000,
};
const emptyUser = (): UserState => ({ history: [], blocks: new Set(), hides: new Set(), mutes: new Set() });

const campaignArb = fc.record({
  advertiser: fc.integer({ min: 0, max: 4 }),
  bidType: fc.constantFrom('cpm' as const, 'cpc' as const),
  // cpm bids per thousand, cpc bids per click; both around the floor so some fall below it.
  cpmMicros: fc.integer({ min: 50_000, max: 5_000_000 }),
  cpcMicros: fc.integer({ min: 5_000, max: 500_000 }),
  ctrs: fc.array(fc.double({ min: 0.0005, max: 0.2, noNaN: true }), { minLength: 1, maxLength: 3 }),
  // Remaining budget as a multiple of the most one event costs: < 1 means it can only afford part of its bid.
  budgetEvents: fc.option(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.double({ min: 0, max: 2, noNaN: true })), {
    nil: undefined,
  }),
});

type Spec = typeof campaignArb extends fc.Arbitrary<infer T> ? T : never;

function build(specs: Spec[]) {
  const campaigns: ServableCampaign[] = specs.map((s, i) => {
    const id = `c${String(i).padStart(2, '0')}`;
    const campaign: ServableCampaign = {
      id,
      advertiserId: `a${s.advertiser}`,
      advertiser: advertiserCard({ id: `a${s.advertiser}`, name: `A${s.advertiser}` }),
      status: 'active',
      startAt: 0,
      endAt: null,
      bid: { type: s.bidType, amountMicros: s.bidType === 'cpm' ? s.cpmMicros : s.cpcMicros },
      budget: {},
      pacing: 'asap',
      targeting: {},
      caps: [],
      creatives: s.ctrs.map((ctr, j) => ({
        id: `${id}-k${j}`,
        headline: 'h',
        cta: { type: 'website', target: 'https://x.example' },
        media: { url: '/m', mime: 'image/png', width: 9, height: 16 },
        predictedCtr: ctr,
      })),
      hasCreatives: true,
    };
    if (s.budgetEvents !== undefined)
      campaign.budget.totalMicros = Math.floor(s.budgetEvents * maxCostMicros(campaign)) + 1_000_000;
    return campaign;
  });
  const budgets = new Map<string, BudgetState>(
    campaigns.map((c) => [
      c.id,
      { spentTodayMicros: 0, spentTotalMicros: c.budget.totalMicros !== undefined ? 1_000_000 : 0, heldMicros: 0 },
    ]),
  );
  campaigns.sort((a, b) => ecpmUpperBound(b) - ecpmUpperBound(a) || (a.id < b.id ? -1 : 1));
  return { campaigns, budgetOf: (id: string) => budgets.get(id)! };
}

/** The brute-force auction the engine must agree with. */
function oracle(campaigns: ServableCampaign[], budgetOf: (id: string) => BudgetState, wanted: number) {
  const eligible = campaigns
    .map((c) => {
      // An empty history: rotation falls back to the best predicted CTR (first on ties).
      const creative = c.creatives.reduce((best, k) => (k.predictedCtr > best.predictedCtr ? k : best));
      const ecpmAt = (bid: number) => (c.bid.type === 'cpm' ? bid : Math.floor(bid * creative.predictedCtr * 1000));
      const b = budgetOf(c.id);
      const remaining = c.budget.totalMicros === undefined ? Infinity : c.budget.totalMicros - b.spentTotalMicros - b.heldMicros;
      // Short of one full event's cost, a campaign bids only what it has left.
      const bid =
        remaining >= maxCostMicros(c)
          ? c.bid.amountMicros
          : c.bid.type === 'cpm'
            ? Math.min(c.bid.amountMicros, remaining * 1000)
            : remaining;
      const ecpm = ecpmAt(bid);
      return {
        c,
        creative,
        ecpm,
        full: ecpmAt(c.bid.amountMicros),
        bid,
        remaining,
        ok: ecpmAt(c.bid.amountMicros) >= settings.floorCpmMicros && ecpm >= settings.floorCpmMicros && ecpm > 0,
      };
    })
    .filter((e) => e.ok)
    .sort((a, b) => b.ecpm - a.ecpm || b.full - a.full || (a.c.id < b.c.id ? -1 : 1));
  const used = new Set<string>();
  const slots: { campaignId: string; ecpm: number; bid: number; remaining: number; priceEcpm: number; runnerUp?: string }[] = [];
  for (let i = 0; i < wanted; i++) {
    const winner = eligible.find((e) => !used.has(e.c.advertiserId));
    if (!winner) break;
    const runnerUp = eligible.find((e) => !used.has(e.c.advertiserId) && e.c.advertiserId !== winner.c.advertiserId);
    slots.push({
      campaignId: winner.c.id,
      ecpm: winner.ecpm,
      bid: winner.bid,
      remaining: winner.remaining,
      priceEcpm: Math.min(winner.ecpm, Math.max(settings.floorCpmMicros, runnerUp?.ecpm ?? 0)),
      runnerUp: runnerUp?.c.id,
    });
    used.add(winner.c.advertiserId);
  }
  return { eligible, slots };
}

describe('second-price auction', () => {
  it('ranks by eCPM, prices from the runner-up of another advertiser (or the floor), never above the bid', () => {
    fc.assert(
      fc.property(fc.array(campaignArb, { minLength: 0, maxLength: 12 }), fc.integer({ min: 0, max: 20 }), (specs, statuses) => {
        const { campaigns, budgetOf } = build(specs);
        const input = { now: NOW, settings, campaigns, user: emptyUser(), budgetOf };
        const decision = decide({ ...input, request: { statuses, context: {}, explain: false } });
        const explained = decide({ ...input, request: { statuses, context: {}, explain: true } });
        // Pruning candidates never changes the outcome.
        expect(explained.slots.map((s) => [s.campaign.id, s.priceMicros])).toEqual(
          decision.slots.map((s) => [s.campaign.id, s.priceMicros]),
        );

        const wanted = placementCapacity({ statuses }, settings.placement);
        const expected = oracle(campaigns, budgetOf, wanted);
        expect(decision.slots.map((s) => s.campaign.id)).toEqual(expected.slots.map((s) => s.campaignId));

        decision.slots.forEach((slot, i) => {
          const want = expected.slots[i];
          expect(slot.ecpmMicros).toBe(want.ecpm);
          // The winner has the highest eCPM among advertisers still in the running.
          for (const e of expected.eligible) {
            if (!decision.slots.slice(0, i).some((s) => s.campaign.advertiserId === e.c.advertiserId))
              expect(slot.ecpmMicros).toBeGreaterThanOrEqual(e.ecpm);
          }
          // Price: second price per billable event, never above the bid.
          const perEvent =
            slot.campaign.bid.type === 'cpm'
              ? Math.floor(want.priceEcpm / 1000)
              : Math.min(want.bid, Math.floor(want.priceEcpm / (slot.creative.predictedCtr * 1000)));
          expect(slot.priceMicros).toBe(perEvent);
          // The hold for this price always fits what is left of the budget.
          expect(slot.priceMicros).toBeLessThanOrEqual(want.remaining);
          expect(slot.priceMicros).toBeLessThanOrEqual(maxCostMicros(slot.campaign));
          expect(slot.ecpmMicros).toBeGreaterThanOrEqual(settings.floorCpmMicros);
        });
        // Explain agrees: served entries carry their price; every eligible loser says why with its eCPM.
        for (const entry of explained.explain!) {
          if (entry.outcome === 'served') expect(entry.priceMicros).toBeDefined();
          if (entry.reason === 'outranked' || entry.reason === 'budget') expect(entry.ecpmMicros).toBeDefined();
          if (entry.reason === 'budget') expect(entry.remainingBudgetMicros).toBeDefined();
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a bid below the floor never serves, even alone', () => {
    const { campaigns, budgetOf } = build([
      { advertiser: 0, bidType: 'cpm', cpmMicros: 99_999, cpcMicros: 0, ctrs: [0.01], budgetEvents: undefined },
    ]);
    const decision = decide({
      now: NOW,
      settings,
      campaigns,
      user: emptyUser(),
      budgetOf,
      request: { statuses: 10, context: {}, explain: true },
    });
    expect(decision.slots).toEqual([]);
    expect(decision.explain).toEqual([
      {
        campaignId: campaigns[0].id,
        creativeId: campaigns[0].creatives[0].id,
        outcome: 'rejected',
        reason: 'outranked',
        ecpmMicros: 99_999,
      },
    ]);
  });

  it('a lone bidder pays the floor; with competition, the runner-up’s eCPM', () => {
    const spec = (advertiser: number, cpmMicros: number) => ({
      advertiser,
      bidType: 'cpm' as const,
      cpmMicros,
      cpcMicros: 0,
      ctrs: [0.01],
      budgetEvents: undefined,
    });
    const alone = build([spec(0, 2_000_000)]);
    const one = decide({
      now: NOW,
      settings,
      ...alone,
      user: emptyUser(),
      request: { statuses: 3, context: {}, explain: false },
    });
    expect(one.slots[0].priceMicros).toBe(100); // 0.10 per thousand = 100 micros per impression
    // Same-advertiser campaigns do not set each other's price.
    const market = build([spec(0, 2_000_000), spec(0, 1_900_000), spec(1, 1_500_000)]);
    const two = decide({
      now: NOW,
      settings,
      ...market,
      user: emptyUser(),
      request: { statuses: 3, context: {}, explain: true },
    });
    expect(two.slots.map((s) => [s.campaign.advertiserId, s.priceMicros])).toEqual([['a0', 1500]]);
    expect(two.explain!.find((e) => e.reason === 'advertiser_diversity')).toBeDefined();
    expect(two.explain!.find((e) => e.reason === 'outranked')).toMatchObject({ ecpmMicros: 1_500_000 });
  });
});
