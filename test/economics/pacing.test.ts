import { describe, expect, it } from 'vitest';
import { simulateDay } from '../../bench/pacing/simulation.js';
import { advertiserCard } from '../../src/engine/card.js';
import { decide } from '../../src/engine/decide.js';
import { pacingAllows, pacingPassRate } from '../../src/engine/eligibility.js';
import type { ServableCampaign } from '../../src/engine/types.js';

describe('pacing simulation (one day, seeded)', () => {
  it('even follows the target curve within ±10% every hour and ends within 5% of its budget; asap runs out early', async () => {
    for (const seed of [1, 2]) {
      const day = await simulateDay({ seed, requestsPerDay: 40_000, evenDailyMicros: 5_000_000, asapDailyMicros: 5_000_000 });
      for (const point of day.hours) {
        expect(Math.abs(point.evenMicros / point.targetMicros - 1), `hour ${point.hour}`).toBeLessThanOrEqual(0.1);
        expect(point.evenMicros).toBeLessThanOrEqual(day.options.evenDailyMicros);
        expect(point.asapMicros).toBeLessThanOrEqual(day.options.asapDailyMicros);
      }
      expect(day.evenSpentMicros).toBeGreaterThanOrEqual(0.95 * day.options.evenDailyMicros);
      expect(day.asapExhaustedAtMinute).not.toBeNull();
      expect(day.asapExhaustedAtMinute!).toBeLessThan(12 * 60);
      // Second price: both pay less than they bid because others compete.
      expect(day.meanPriceMicros.even).toBeLessThan(2000);
      expect(day.meanPriceMicros.asap).toBeLessThan(3000);
    }
  });

  it('does not starve a thin-demand campaign: it spends what it would unpaced', async () => {
    const thin = { seed: 3, requestsPerDay: 1_500, evenDailyMicros: 5_000_000, asapDailyMicros: 5_000_000 };
    const paced = await simulateDay(thin);
    const unpaced = await simulateDay({ ...thin, evenPacing: 'asap' });
    expect(paced.evenSpentMicros).toBeLessThan(0.9 * thin.evenDailyMicros);
    expect(paced.evenSpentMicros).toBeGreaterThanOrEqual(0.95 * unpaced.evenSpentMicros);
  });
});

describe('pacingPassRate', () => {
  const midnight = Date.UTC(2026, 10, 25);
  const campaign = {
    id: 'c',
    advertiserId: 'a',
    advertiser: advertiserCard({ id: 'a', name: 'a' }),
    status: 'active',
    startAt: 0,
    endAt: null,
    bid: { type: 'cpm', amountMicros: 2_000_000 },
    budget: { dailyMicros: 24_000_000 },
    pacing: 'even',
    targeting: {},
    caps: [],
    creatives: [],
    hasCreatives: true,
  } as unknown as ServableCampaign;
  const creative = { predictedCtr: 0.01 } as any;
  const at = (hours: number) => midnight + hours * 3_600_000;

  it('never throttles a campaign behind its target by half the band or more (thin demand is not starved)', () => {
    expect(pacingPassRate(campaign, creative, { spentTodayMicros: 0, spentTotalMicros: 0, heldMicros: 0 }, midnight)).toBe(1);
    expect(
      pacingPassRate(campaign, creative, { spentTodayMicros: 11_000_000, spentTotalMicros: 0, heldMicros: 700_000 }, at(12)),
    ).toBe(1);
  });
  it('throttles linearly across a band centred on the target: 0.5 on target, 0 half the band ahead', () => {
    const target = 12_000_000; // tolerance band: 5% of target = 600 000
    const rate = (spent: number) =>
      pacingPassRate(campaign, creative, { spentTodayMicros: spent, spentTotalMicros: 0, heldMicros: 0 }, at(12));
    expect(rate(target - 300_000)).toBe(1);
    expect(rate(target - 150_000)).toBeCloseTo(0.75, 5);
    expect(rate(target)).toBeCloseTo(0.5, 5);
    expect(rate(target + 300_000)).toBe(0);
  });
  it('pacingAllows (for a budget authority) refuses only past the top of the band', () => {
    const state = (spent: number) => ({ spentTodayMicros: spent, spentTotalMicros: 0, heldMicros: 0 });
    expect(pacingAllows(campaign, state(12_299_999), at(12))).toBe(true);
    expect(pacingAllows(campaign, state(12_300_000), at(12))).toBe(false);
  });
  it('weights cpc holds by predicted CTR', () => {
    const cpc = { ...campaign, bid: { type: 'cpc' as const, amountMicros: 50_000 } };
    // 10 000 000 held for clicks at 1% CTR is 100 000 of expected spend: still behind.
    expect(
      pacingPassRate(cpc, creative, { spentTodayMicros: 11_000_000, spentTotalMicros: 0, heldMicros: 10_000_000 }, at(12)),
    ).toBe(1);
  });
  it('asap and campaigns without a daily budget are never paced', () => {
    const busy = { spentTodayMicros: 23_000_000, spentTotalMicros: 0, heldMicros: 0 };
    expect(pacingPassRate({ ...campaign, pacing: 'asap' }, creative, busy, at(1))).toBe(1);
    expect(pacingPassRate({ ...campaign, budget: { totalMicros: 1e9 } }, creative, busy, at(1))).toBe(1);
  });

  it('decide throttles with the passed-in randomness and explains pacing with its numbers', () => {
    const withCreative = {
      ...campaign,
      creatives: [
        {
          id: 'k',
          headline: 'h',
          cta: { type: 'website' as const, target: 'x' },
          media: { url: 'u', mime: 'image/png', width: 1, height: 1 },
          predictedCtr: 0.01,
        },
      ],
    };
    const input = (random: () => number) => ({
      now: at(12),
      settings: {
        placement: { firstAfter: 2, minGap: 4, maxPerResponse: 3 },
        userCap: { impressions: 8, windowSeconds: 3600 },
        floorCpmMicros: 100_000,
        tokenTtlMs: 900_000,
      },
      campaigns: [withCreative],
      user: { history: [], blocks: new Set<string>(), hides: new Set<string>(), mutes: new Set<string>() },
      // Exactly on target: pass rate 0.5.
      budgetOf: () => ({ spentTodayMicros: 12_000_000, spentTotalMicros: 12_000_000, heldMicros: 0 }),
      request: { statuses: 3, context: {}, explain: true },
      random,
    });
    expect(decide(input(() => 0.49)).slots).toHaveLength(1);
    const throttled = decide(input(() => 0.5));
    expect(throttled.slots).toHaveLength(0);
    expect(throttled.explain).toEqual([
      {
        campaignId: 'c',
        creativeId: 'k',
        outcome: 'rejected',
        reason: 'pacing',
        ecpmMicros: 2_000_000,
        remainingBudgetMicros: 12_000_000,
      },
    ]);
  });
});
