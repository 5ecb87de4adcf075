/**
 * A reference model of the state around the engine for property tests: random
 * catalogs, users, budgets and the history the delivery layer would keep.
 * Everything here is plain data; the engine under test is driven directly.
 */

import fc from 'fast-check';
import type { CapRule } from '../../src/config.js';
import { advertiserCard } from '../../src/engine/card.js';
import type {
  BudgetState,
  EngineSettings,
  HistoryEntry,
  Platform,
  RequestContext,
  ServableCampaign,
  ServableCreative,
  Targeting,
} from '../../src/engine/types.js';

/** Advertisers' categories by advertiser number: some have none. */
export const CATEGORY_OF = ['food-drink', 'travel', null] as const;
export const T0 = Date.UTC(2026, 10, 25, 9, 30, 0);
export const COUNTRIES = ['DE', 'FR', 'US'];
export const LANGUAGES = ['de', 'en', 'fr'];
export const PLATFORMS: Platform[] = ['android', 'ios', 'web'];
export const REASONS = [
  'paused',
  'targeting',
  'schedule',
  'budget',
  'pacing',
  'frequency_cap',
  'user_cap',
  'blocked',
  'muted',
  'hidden',
  'not_approved',
  'advertiser_diversity',
  'outranked',
] as const;

/** A creative as generated: `approved` decides whether the engine ever sees it. */
export interface GenCreative extends ServableCreative {
  approved: boolean;
}

export interface GenCampaign extends Omit<ServableCampaign, 'creatives'> {
  allCreatives: GenCreative[];
}

const optionalSubset = <T>(values: T[]) => fc.option(fc.subarray(values, { minLength: 1 }), { nil: undefined, freq: 2 });

const targetingArb: fc.Arbitrary<Targeting> = fc
  .record({ countries: optionalSubset(COUNTRIES), languages: optionalSubset(LANGUAGES), platforms: optionalSubset(PLATFORMS) })
  .map((t) => {
    const out: Targeting = {};
    if (t.countries) out.countries = t.countries;
    if (t.languages) out.languages = t.languages;
    if (t.platforms) out.platforms = t.platforms;
    return out;
  });

export const contextArb: fc.Arbitrary<RequestContext> = fc
  .record({
    country: fc.option(fc.constantFrom(...COUNTRIES), { nil: undefined }),
    language: fc.option(fc.constantFrom(...LANGUAGES), { nil: undefined }),
    platform: fc.option(fc.constantFrom(...PLATFORMS), { nil: undefined }),
  })
  .map((c) => {
    const out: RequestContext = {};
    if (c.country) out.country = c.country;
    if (c.language) out.language = c.language;
    if (c.platform) out.platform = c.platform;
    return out;
  });

const capArb: fc.Arbitrary<CapRule> = fc.record({
  impressions: fc.integer({ min: 1, max: 3 }),
  windowSeconds: fc.constantFrom(60, 600, 1800, 7200, 86_400),
});

const campaignShapeArb = fc.record({
  status: fc.constantFrom('active', 'active', 'active', 'paused', 'archived') as fc.Arbitrary<ServableCampaign['status']>,
  startOffsetMs: fc.integer({ min: -2 * 86_400_000, max: 6 * 3_600_000 }),
  durationMs: fc.option(fc.integer({ min: 3_600_000, max: 3 * 86_400_000 }), { nil: null }),
  bid: fc.oneof(
    fc.record({ type: fc.constant('cpm' as const), amountMicros: fc.integer({ min: 50_000, max: 8_000_000 }) }),
    fc.record({ type: fc.constant('cpc' as const), amountMicros: fc.integer({ min: 5_000, max: 1_000_000 }) }),
  ),
  budget: fc.record(
    {
      dailyMicros: fc.integer({ min: 0, max: 40_000 }),
      totalMicros: fc.integer({ min: 0, max: 60_000 }),
    },
    { requiredKeys: [] },
  ),
  pacing: fc.constantFrom('asap', 'asap', 'even') as fc.Arbitrary<ServableCampaign['pacing']>,
  targeting: targetingArb,
  caps: fc.array(capArb, { maxLength: 2 }),
  creatives: fc.array(fc.record({ approved: fc.boolean(), ctrPerMille: fc.integer({ min: 1, max: 50 }) }), { maxLength: 3 }),
});

/** Several advertisers, each with a few campaigns of random shape. */
export const catalogArb: fc.Arbitrary<GenCampaign[]> = fc
  .array(fc.array(campaignShapeArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 })
  .map((advertisers) => {
    const campaigns: GenCampaign[] = [];
    advertisers.forEach((shapes, a) => {
      shapes.forEach((shape, j) => {
        const id = `c${a}_${j}`;
        const startAt = T0 + shape.startOffsetMs;
        const allCreatives: GenCreative[] = shape.creatives.map((cr, k) => ({
          id: `${id}_k${k}`,
          headline: `Ad ${id} ${k}`,
          cta: { type: 'website', target: 'https://example.com' },
          media: { url: `/media/${id}${k}`, mime: 'image/png', width: 90, height: 160 },
          predictedCtr: cr.ctrPerMille / 1000,
          approved: cr.approved,
        }));
        campaigns.push({
          id,
          advertiserId: `a${a}`,
          advertiser: advertiserCard({ id: `a${a}`, name: `Advertiser ${a}`, category: CATEGORY_OF[a % CATEGORY_OF.length] }),
          status: shape.status,
          startAt,
          endAt: shape.durationMs === null ? null : startAt + shape.durationMs,
          bid: shape.bid,
          budget: shape.budget,
          pacing: shape.pacing,
          targeting: shape.targeting,
          caps: shape.caps,
          hasCreatives: allCreatives.length > 0,
          allCreatives,
        });
      });
    });
    return campaigns;
  });

/** What the catalog index would be built from: approved creatives only. */
export function servable(catalog: GenCampaign[]): ServableCampaign[] {
  return catalog.map(({ allCreatives, ...c }) => ({
    ...c,
    creatives: allCreatives.filter((k) => k.approved).map(({ approved: _approved, ...k }) => k),
  }));
}

export const settingsArb: fc.Arbitrary<EngineSettings> = fc.record({
  placement: fc.record({
    firstAfter: fc.integer({ min: 1, max: 4 }),
    minGap: fc.integer({ min: 1, max: 5 }),
    maxPerResponse: fc.integer({ min: 1, max: 4 }),
  }),
  userCap: fc.record({ impressions: fc.integer({ min: 1, max: 8 }), windowSeconds: fc.constantFrom(600, 3600) }),
  floorCpmMicros: fc.constant(100_000),
  tokenTtlMs: fc.constant(900_000),
});

export type Action =
  | { kind: 'slots'; user: number; statuses?: number; runs?: number[]; context: RequestContext; explain: boolean }
  | { kind: 'event'; type: 'impression' | 'click' | 'hide' | 'report' | 'block'; pick: number }
  | { kind: 'block' | 'unblock'; user: number; advertiser: number }
  | { kind: 'mute' | 'unmute'; user: number; category: string }
  | { kind: 'advance'; ms: number };

export const USERS = 2;

export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .record({
        kind: fc.constant('slots' as const),
        user: fc.nat({ max: USERS - 1 }),
        feed: fc.oneof(
          fc.record({ statuses: fc.integer({ min: 0, max: 30 }) }),
          fc.record({ runs: fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 10 }) }),
        ),
        context: contextArb,
        explain: fc.boolean(),
      })
      .map(({ feed, ...rest }) => ({ ...rest, ...feed })),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('event' as const),
      type: fc.constantFrom('impression', 'impression', 'impression', 'click', 'hide', 'report', 'block') as fc.Arbitrary<
        'impression' | 'click' | 'hide' | 'report' | 'block'
      >,
      pick: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('block' as const, 'unblock' as const),
      user: fc.nat({ max: USERS - 1 }),
      advertiser: fc.nat({ max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('mute' as const, 'unmute' as const),
      user: fc.nat({ max: USERS - 1 }),
      category: fc.constantFrom('food-drink', 'travel'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(
        fc.integer({ min: 1, max: 120_000 }),
        fc.integer({ min: 600_000, max: 1_200_000 }),
        fc.integer({ min: 3_600_000, max: 30 * 3_600_000 }),
      ),
    }),
  },
);

/** Budgets as the store keeps them: durable spend by UTC day plus holds of live reservations. */
export class BudgetModel {
  private charges = new Map<string, { day: string; micros: number }[]>();
  private holds = new Map<string, { reservationId: string; micros: number; expiresAt: number; released: boolean }[]>();

  private day(now: number) {
    return new Date(now).toISOString().slice(0, 10);
  }

  view(campaignId: string, now: number): BudgetState {
    const charges = this.charges.get(campaignId) ?? [];
    const today = this.day(now);
    return {
      spentTodayMicros: charges.filter((c) => c.day === today).reduce((s, c) => s + c.micros, 0),
      spentTotalMicros: charges.reduce((s, c) => s + c.micros, 0),
      heldMicros: (this.holds.get(campaignId) ?? [])
        .filter((h) => !h.released && h.expiresAt > now)
        .reduce((s, h) => s + h.micros, 0),
    };
  }

  hold(campaignId: string, reservationId: string, micros: number, expiresAt: number) {
    const list = this.holds.get(campaignId) ?? [];
    list.push({ reservationId, micros, expiresAt, released: false });
    this.holds.set(campaignId, list);
  }

  charge(campaignId: string, reservationId: string, micros: number, now: number) {
    const hold = this.holds.get(campaignId)?.find((h) => h.reservationId === reservationId);
    if (hold) hold.released = true;
    const list = this.charges.get(campaignId) ?? [];
    list.push({ day: this.day(now), micros });
    this.charges.set(campaignId, list);
  }

  /** Spend per day, for the never-over-budget check. */
  spendByDay(campaignId: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const c of this.charges.get(campaignId) ?? []) out.set(c.day, (out.get(c.day) ?? 0) + c.micros);
    return out;
  }
}

/** A served slot as the model remembers it (the token's claims and the reservation). */
export interface ServedSlot extends HistoryEntry {
  user: number;
  bidType: 'cpm' | 'cpc';
  priceMicros: number;
  chargedAt: number | null;
}

/** Entries that count toward caps at `now`: impressions and unexpired reservations. */
export function counted(history: HistoryEntry[], now: number): HistoryEntry[] {
  return history.filter((e) => e.viewed || e.expiresAt > now);
}

/** The largest number of counted entries in any half-open window of `cap.windowSeconds`. */
export function worstWindow(entries: HistoryEntry[], cap: CapRule): number {
  const times = entries.map((e) => e.servedAt).sort((a, b) => a - b);
  let worst = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi] - times[lo] >= cap.windowSeconds * 1000) lo++;
    worst = Math.max(worst, hi - lo + 1);
  }
  return worst;
}
