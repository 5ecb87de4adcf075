/**
 * Forecasts over a `Competition` (each traffic cell's rival bids computed once per catalog index build) give
 * exactly the answers of the model that walked every campaign per cell and day (kept in forecast-reference.ts),
 * on generated catalogs, traffic and drafts — also when one Competition serves many drafts and days.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateCatalog, MARKETS } from '../../bench/workload.js';
import { advertiserCard } from '../../src/engine/card.js';
import { ecpmUpperBound, inSchedule, matchesTargeting } from '../../src/engine/eligibility.js';
import { type CampaignDraft, Competition, capPerDay, forecast, type TrafficDay } from '../../src/engine/forecast.js';
import type { Platform, RequestContext, ServableCampaign } from '../../src/engine/types.js';
import { forecast as referenceForecast } from './forecast-reference.js';

const DAY_MS = 86_400_000;
const DAY = Date.UTC(2026, 10, 20);
const FLOOR = 100_000;

/** A generated catalog as the index serves it, with some campaigns paused, not started, ended or without creatives. */
function servable(seed: number, count: number): ServableCampaign[] {
  return generateCatalog(seed, count).campaigns.map((spec, i) => ({
    id: spec.id,
    advertiserId: spec.advertiserId,
    advertiser: advertiserCard({ id: spec.advertiserId, name: spec.advertiserId }),
    status: i % 17 === 5 ? 'paused' : 'active',
    startAt: i % 13 === 3 ? DAY + 9 * DAY_MS : 0,
    endAt: i % 11 === 4 ? DAY + 2 * DAY_MS : null,
    bid: spec.bid,
    budget: spec.budget,
    pacing: spec.pacing,
    targeting: spec.targeting,
    caps: spec.caps,
    creatives: (i % 19 === 7 ? [] : spec.creatives).map((c) => ({
      id: c.id,
      headline: 'h',
      cta: { type: 'website', target: 'https://x.example' },
      media: { url: '/m', mime: 'image/png', width: 9, height: 16 },
      predictedCtr: c.predictedCtr,
    })),
    hasCreatives: true,
  }));
}

const countries = ['', ...MARKETS.slice(0, 8).map(([c]) => c)];
const languages = ['', 'en', 'es', 'hi', 'de'];
const cellArb = fc.record({
  country: fc.constantFrom(...countries),
  language: fc.constantFrom(...languages),
  platform: fc.constantFrom('', 'android', 'ios', 'web'),
  requests: fc.integer({ min: 1, max: 50_000 }),
  slotsPerRequest: fc.integer({ min: 0, max: 4 }),
  fill: fc.double({ min: 0, max: 1, noNaN: true }),
  usersShare: fc.double({ min: 0.01, max: 1, noNaN: true }),
});
const dayArb = fc.uniqueArray(cellArb, {
  minLength: 1,
  maxLength: 12,
  selector: (c) => `${c.country}|${c.language}|${c.platform}`,
});
const draftArb = fc.record({
  advertiser: fc.integer({ min: 0, max: 40 }),
  own: fc.boolean(),
  cpc: fc.boolean(),
  amountMicros: fc.integer({ min: 10_000, max: 30_000_000 }),
  countries: fc.option(fc.uniqueArray(fc.constantFrom(...countries.slice(1)), { minLength: 1, maxLength: 3 }), {
    nil: undefined,
  }),
  languages: fc.option(fc.constant<string[]>(['en']), { nil: undefined }),
  capped: fc.boolean(),
  dailyMicros: fc.option(fc.integer({ min: 1_000, max: 100_000_000 }), { nil: undefined }),
});

function trafficDays(days: (typeof cellArb extends fc.Arbitrary<infer T> ? T : never)[][]): TrafficDay[] {
  return days.map((cells, d) => {
    const day: TrafficDay = {
      day: new Date(DAY - (days.length - d) * DAY_MS).toISOString().slice(0, 10),
      cells: cells.map((c) => ({
        country: c.country,
        language: c.language,
        platform: c.platform,
        requests: c.requests,
        opportunities: c.requests * c.slotsPerRequest,
        served: Math.floor(c.requests * c.slotsPerRequest * c.fill),
      })),
      impressions: 0,
      served: 0,
      scale: 1,
    };
    day.served = day.cells.reduce((s, c) => s + c.served, 0);
    day.impressions = Math.floor(day.served * 0.7);
    return day;
  });
}

describe('forecasts over a precomputed competition', () => {
  const catalogs = [servable(1, 40), servable(2, 300), servable(3, 2_000)];

  it('answer exactly as the model that walked every campaign per cell and day', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1, 2),
        fc.array(dayArb, { minLength: 1, maxLength: 3 }),
        fc.array(draftArb, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 3 }),
        (which, cellDays, drafts, dayOffset) => {
          const campaigns = catalogs[which];
          // One competition for all drafts and both days, as the service keeps it between catalog changes.
          const competition = new Competition(campaigns, FLOOR);
          const days = trafficDays(cellDays);
          const users = new Map(
            days.flatMap((d, i) =>
              d.cells.map((c, k) => [
                `${d.day}|${c.country}|${c.language}|${c.platform}`,
                Math.max(1, Math.round(c.requests * cellDays[i][k].usersShare)),
              ]),
            ),
          );
          const reachOf = (day: string, of: { country: string; language: string; platform: string }[]) =>
            of.reduce((s, c) => s + (users.get(`${day}|${c.country}|${c.language}|${c.platform}`) ?? 0), 0);
          for (const now of [DAY + 3_600_000, DAY + dayOffset * DAY_MS + 7_200_000]) {
            for (const d of drafts) {
              const draft: CampaignDraft = {
                advertiserId: d.own ? campaigns[d.advertiser % campaigns.length].advertiserId : 'newcomer',
                bid: { type: d.cpc ? 'cpc' : 'cpm', amountMicros: d.cpc ? Math.floor(d.amountMicros / 10) : d.amountMicros },
                budget: d.dailyMicros === undefined ? {} : { dailyMicros: d.dailyMicros },
                pacing: 'even',
                targeting: { countries: d.countries, languages: d.languages },
                caps: d.capped ? [{ impressions: 2, windowSeconds: 86_400 }] : [],
                startAt: 0,
                endAt: null,
              };
              const common = { now, draft, days, reachOf, predictedCtr: 0.012 };
              expect(forecast({ ...common, competition })).toEqual(
                referenceForecast({ ...common, competitors: campaigns, floorCpmMicros: FLOOR }),
              );
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  // The cache key is the risk of keeping bids per cell: every cell of a grid where cells differ in one field only
  // ('' or a value) is checked against its bids counted from scratch, asked in two orders so that each lookup
  // can meet a cell computed before it.
  it('give each traffic cell exactly its own rival bids, whatever was asked before', () => {
    const campaigns = servable(2, 300);
    const at = DAY + DAY_MS / 2;
    const rivals = new Competition(campaigns, FLOOR).at(at);
    const grid = countries.flatMap((country) =>
      languages.flatMap((language) => ['', 'android', 'ios', 'web'].map((platform) => ({ country, language, platform }))),
    );
    const bruteForce = (cell: { country: string; language: string; platform: string }) => {
      const context: RequestContext = {};
      if (cell.country) context.country = cell.country;
      if (cell.language) context.language = cell.language;
      if (cell.platform) context.platform = cell.platform as Platform;
      const best = new Map<string, { ecpm: number; capPerDay: number; first: number }>();
      campaigns.forEach((c, i) => {
        if (c.creatives.length === 0 || !inSchedule(c, at) || !matchesTargeting(c.targeting, context)) return;
        const ecpm = ecpmUpperBound(c);
        if (ecpm < FLOOR) return;
        const seen = best.get(c.advertiserId);
        const cap = capPerDay(c.caps);
        if (!seen) best.set(c.advertiserId, { ecpm, capPerDay: cap, first: i });
        else
          best.set(c.advertiserId, {
            ecpm: Math.max(seen.ecpm, ecpm),
            capPerDay: Math.max(seen.capPerDay, cap),
            first: seen.first,
          });
      });
      const sorted = [...best].sort(([, a], [, b]) => b.ecpm - a.ecpm || a.first - b.first);
      return {
        advertisers: sorted.map(([id]) => rivals.numberOf(id)),
        ecpm: sorted.map(([, b]) => b.ecpm),
        capPerDay: sorted.map(([, b]) => b.capPerDay),
      };
    };
    const expected = new Map(grid.map((cell) => [cell, bruteForce(cell)]));
    // Not vacuous: cells that differ in the platform alone, or the language alone, have different bids.
    const differ = (a: (typeof grid)[number], b: (typeof grid)[number]) =>
      JSON.stringify(expected.get(a)) !== JSON.stringify(expected.get(b));
    expect(grid.some((a) => grid.some((b) => a.country === b.country && a.language === b.language && differ(a, b)))).toBe(true);
    expect(grid.some((a) => grid.some((b) => a.country === b.country && a.platform === b.platform && differ(a, b)))).toBe(true);
    for (const order of [grid, [...grid].reverse()])
      for (const cell of order) {
        const bids = rivals.in(cell);
        expect(
          { advertisers: [...bids.advertisers], ecpm: [...bids.ecpm], capPerDay: [...bids.capPerDay] },
          JSON.stringify(cell),
        ).toEqual(expected.get(cell));
      }
  });
});
