import { describe, expect, it } from 'vitest';
import { simulateDay } from '../../bench/pacing/simulation.js';
import { pacingPassRate } from '../../src/engine/eligibility.js';
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
    id: 'c', advertiserId: 'a', advertiserName: 'a', status: 'active', startAt: 0, endAt: null,
    bid: { type: 'cpm', amountMicros: 2_000_000 }, budget: { dailyMicros: 24_000_000 }, pacing: 'even',
    targeting: {}, caps: [], creatives: [], hasCreatives: true,
  } as unknown as ServableCampaign;
  const creative = { predictedCtr: 0.01 } as any;
  const at = (hours: number) => midnight + hours * 3_600_000;

  it('never throttles a campaign at or behind its target (thin demand is not starved)', () => {
    expect(pacingPassRate(campaign, creative, { spentTodayMicros: 0, spentTotalMicros: 0, heldMicros: 0 }, midnight)).toBe(1);
    expect(pacingPassRate(campaign, creative, { spentTodayMicros: 11_000_000, spentTotalMicros: 0, heldMicros: 999_000 }, at(12))).toBe(1);
  });
  it('throttles linearly over the tolerance band when ahead, down to 0', () => {
    const target = 12_000_000;
    const half = pacingPassRate(campaign, creative, { spentTodayMicros: target + 300_000, spentTotalMicros: 0, heldMicros: 0 }, at(12));
    expect(half).toBeCloseTo(0.5, 5);
    expect(pacingPassRate(campaign, creative, { spentTodayMicros: target + 600_000, spentTotalMicros: 0, heldMicros: 0 }, at(12))).toBe(0);
  });
  it('asap and campaigns without a daily budget are never paced', () => {
    const busy = { spentTodayMicros: 23_000_000, spentTotalMicros: 0, heldMicros: 0 };
    expect(pacingPassRate({ ...campaign, pacing: 'asap' }, creative, busy, at(1))).toBe(1);
    expect(pacingPassRate({ ...campaign, budget: { totalMicros: 1e9 } }, creative, busy, at(1))).toBe(1);
  });
});
