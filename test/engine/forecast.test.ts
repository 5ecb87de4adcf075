/** The forecast model's properties over random traffic and competition. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { advertiserCard } from '../../src/engine/card.js';
import { type CampaignDraft, Competition, type ForecastInput, forecast } from '../../src/engine/forecast.js';
import type { ServableCampaign } from '../../src/engine/types.js';
import { trafficDay } from '../helpers/traffic-day.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const FLOOR = 100_000;

function rival(i: number, bidMicros: number, countries?: string[]): ServableCampaign {
  return {
    id: `c${i}`,
    advertiserId: `a${i}`,
    advertiser: advertiserCard({ id: `a${i}`, name: `A${i}` }),
    status: 'active',
    startAt: 0,
    endAt: null,
    bid: { type: 'cpm', amountMicros: bidMicros },
    budget: {},
    pacing: 'asap',
    targeting: countries ? { countries } : {},
    caps: [],
    creatives: [
      {
        id: `k${i}`,
        headline: 'h',
        cta: { type: 'website', target: 'https://x.example' },
        media: { url: '/m', mime: 'image/png', width: 9, height: 16 },
        predictedCtr: 0.01,
      },
    ],
    hasCreatives: true,
  };
}

const draft = (over: Partial<CampaignDraft> = {}): CampaignDraft => ({
  advertiserId: 'me',
  bid: { type: 'cpm', amountMicros: 2_000_000 },
  budget: {},
  pacing: 'asap',
  targeting: {},
  caps: [],
  startAt: 0,
  endAt: null,
  ...over,
});

const trafficArb = fc.array(
  fc.record({
    country: fc.constantFrom('DE', 'FR', ''),
    language: fc.constantFrom('de', 'fr', ''),
    platform: fc.constantFrom('android', 'ios'),
    requests: fc.integer({ min: 1, max: 5000 }),
    slotsPerRequest: fc.integer({ min: 0, max: 3 }),
    fill: fc.double({ min: 0, max: 1, noNaN: true }),
    usersShare: fc.double({ min: 0.05, max: 1, noNaN: true }),
  }),
  { minLength: 1, maxLength: 6 },
);

function input(cells: any[], rivals: ServableCampaign[], d: CampaignDraft): ForecastInput {
  const seen = new Map<string, any>();
  for (const c of cells) seen.set(`${c.country}|${c.language}|${c.platform}`, c);
  const list = [...seen.values()];
  const day = trafficDay('2026-11-24', list, 0.8);
  const users = new Map(
    list.map((c) => [`${c.country}|${c.language}|${c.platform}`, Math.max(1, Math.round(c.requests * c.usersShare))]),
  );
  return {
    now: NOW,
    draft: d,
    days: [day],
    competition: new Competition(rivals, FLOOR),
    predictedCtr: 0.01,
    reachOf: (_day, of) => of.reduce((s, c) => s + (users.get(`${c.country}|${c.language}|${c.platform}`) ?? 0), 0),
  };
}

describe('forecast', () => {
  it('never promises more than the traffic, the caps or the budget allow, and bids more win more', () => {
    fc.assert(
      fc.property(
        trafficArb,
        fc.array(fc.integer({ min: 50_000, max: 5_000_000 }), { maxLength: 8 }),
        fc.integer({ min: 100_000, max: 4_000_000 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1000, max: 50_000_000 }),
        (cells, bids, bid, cap, daily) => {
          const rivals = bids.map((b, i) => rival(i, b));
          const d = draft({
            bid: { type: 'cpm', amountMicros: bid },
            caps: [{ impressions: cap, windowSeconds: 86_400 }],
            budget: { dailyMicros: daily },
          });
          const f = forecast(input(cells, rivals, d));
          expect(f.day).toBe('2026-11-26');
          expect(f.winRate.expected).toBeGreaterThanOrEqual(0);
          expect(f.winRate.high).toBeLessThanOrEqual(1);
          expect(f.impressions.expected).toBeLessThanOrEqual(f.matchingRequests.expected * 3 + 1);
          expect(f.impressions.expected).toBeLessThanOrEqual(cap * f.reachableUsers.expected + 1);
          expect(f.spendMicros.expected).toBeLessThanOrEqual(daily);
          expect(f.averagePriceMicros.expected).toBeLessThanOrEqual(bid);
          if (f.impressions.expected > 0) expect(f.averagePriceMicros.expected).toBeGreaterThanOrEqual(FLOOR);
          const richer = forecast(input(cells, rivals, { ...d, bid: { type: 'cpm', amountMicros: bid * 2 } }));
          expect(richer.winRate.expected).toBeGreaterThanOrEqual(f.winRate.expected - 1e-9);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('alone in its market, wins every offered slot at the floor', () => {
    const cells = [
      { country: 'DE', language: 'de', platform: 'android', requests: 1000, slotsPerRequest: 1, fill: 0, usersShare: 0.5 },
    ];
    const f = forecast(input(cells, [rival(1, 3_000_000, ['FR'])], draft({ targeting: { countries: ['DE'] } })));
    expect(f.matchingRequests.expected).toBe(1000);
    expect(f.winRate.expected).toBe(1);
    expect(f.averagePriceMicros.expected).toBe(FLOOR);
    expect(f.basis).toEqual({ days: 1, from: '2026-11-24', to: '2026-11-24', partial: false, requests: 1000 });
  });

  it('is empty when the targeting matches no traffic, and when nothing was recorded', () => {
    const cells = [
      { country: 'DE', language: 'de', platform: 'android', requests: 1000, slotsPerRequest: 1, fill: 0.5, usersShare: 0.5 },
    ];
    const f = forecast(input(cells, [], draft({ targeting: { countries: ['US'] } })));
    expect([f.matchingRequests.expected, f.reachableUsers.expected, f.impressions.expected, f.spendMicros.expected]).toEqual([
      0, 0, 0, 0,
    ]);
    const none = forecast({ ...input(cells, [], draft()), days: [] });
    expect(none.basis.days).toBe(0);
    expect(none.impressions).toEqual({ expected: 0, low: 0, high: 0 });
  });

  it('forecasts nothing outside the draft’s schedule', () => {
    const cells = [
      { country: 'DE', language: 'de', platform: 'android', requests: 1000, slotsPerRequest: 1, fill: 0, usersShare: 0.5 },
    ];
    const f = forecast(input(cells, [], draft({ startAt: Date.UTC(2026, 11, 24) })));
    expect(f.impressions.expected).toBe(0);
  });
});
