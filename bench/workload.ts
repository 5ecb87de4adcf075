/**
 * Seeded, deterministic workload: advertisers, campaigns, users with Zipf
 * activity, feed sessions and the events that follow them. Same seed → same output.
 */
import type { CapRule } from '../src/config.js';
import type { BidType, EventType, Pacing, Platform, RequestContext, Targeting } from '../src/engine/types.js';

/** mulberry32: small, fast, good enough for workloads; never for secrets. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit hash of (seed, n), so per-user traits need no stored table. */
function mix(seed: number, n: number): number {
  let h = (seed ^ Math.imul(n, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const int = (r: () => number, min: number, max: number) => min + Math.floor(r() * (max - min + 1));
const chance = (r: () => number, p: number) => r() < p;
/** Geometric on 1.. with the given mean. */
const geometric = (r: () => number, mean: number) => 1 + Math.floor(Math.log(1 - r()) / Math.log(1 - 1 / mean));
/** Log-normal around `median` with spread `sigma` (Box–Muller). */
function logNormal(r: () => number, median: number, sigma: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return median * Math.exp(sigma * z);
}

function weighted<T>(r: () => number, table: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of table) total += w;
  let x = r() * total;
  for (const [value, w] of table) {
    x -= w;
    if (x < 0) return value;
  }
  return table[table.length - 1][0];
}

/** Rough share of messenger users per market, and the market's main language. */
export const MARKETS = [
  ['IN', 'hi', 18],
  ['BR', 'pt', 10],
  ['ID', 'id', 8],
  ['US', 'en', 7],
  ['MX', 'es', 6],
  ['NG', 'en', 5],
  ['DE', 'de', 4],
  ['TR', 'tr', 4],
  ['PK', 'ur', 4],
  ['EG', 'ar', 4],
  ['PH', 'en', 3],
  ['GB', 'en', 3],
  ['FR', 'fr', 3],
  ['IT', 'it', 3],
  ['ES', 'es', 3],
  ['AR', 'es', 3],
  ['CO', 'es', 2],
  ['ZA', 'en', 2],
  ['SA', 'ar', 2],
  ['KE', 'en', 2],
  ['PL', 'pl', 1],
  ['NL', 'nl', 1],
  ['MY', 'ms', 1],
  ['RU', 'ru', 1],
] as const;
const marketTable = MARKETS.map(([country, , w]) => [country, w] as const);
const languageOf = new Map<string, string>(MARKETS.map(([c, l]) => [c, l]));
const PLATFORMS: readonly (readonly [Platform, number])[] = [
  ['android', 72],
  ['ios', 25],
  ['web', 3],
];
const CAP_PRESETS: readonly (readonly [CapRule[], number])[] = [
  [[], 30],
  [[{ impressions: 3, windowSeconds: 86_400 }], 25],
  [
    [
      { impressions: 1, windowSeconds: 3_600 },
      { impressions: 5, windowSeconds: 86_400 },
    ],
    20,
  ],
  [[{ impressions: 2, windowSeconds: 21_600 }], 15],
  [[{ impressions: 10, windowSeconds: 7 * 86_400 }], 10],
];

export interface AdvertiserSpec {
  id: string;
  name: string;
}

export interface CampaignSpec {
  id: string;
  advertiserId: string;
  bid: { type: BidType; amountMicros: number };
  budget: { dailyMicros?: number; totalMicros?: number };
  pacing: Pacing;
  targeting: Targeting;
  caps: CapRule[];
  /** Approved creatives, with their smoothed CTR estimates. */
  creatives: { id: string; predictedCtr: number }[];
}

export interface Catalog {
  advertisers: AdvertiserSpec[];
  campaigns: CampaignSpec[];
}

/**
 * Advertisers own 1..n campaigns (a few own many); targeting is mostly one
 * country, some several, some worldwide narrowed by language or platform.
 */
export function generateCatalog(seed: number, campaignCount: number): Catalog {
  const r = rng(seed);
  const advertisers: AdvertiserSpec[] = [];
  const campaigns: CampaignSpec[] = [];
  while (campaigns.length < campaignCount) {
    const advertiser = { id: `adv_${advertisers.length}`, name: `Business ${advertisers.length}` };
    advertisers.push(advertiser);
    // Campaigns per advertiser: mostly 1–3, a long tail up to ~40.
    const own = Math.min(campaignCount - campaigns.length, Math.min(40, geometric(r, 3)));
    const home = weighted(r, marketTable);
    for (let k = 0; k < own; k++) {
      const id = `cmp_${campaigns.length}`;
      const targeting: Targeting = {};
      const reach = r();
      if (reach < 0.6) targeting.countries = [chance(r, 0.8) ? home : weighted(r, marketTable)];
      else if (reach < 0.85) {
        const set = new Set<string>([home]);
        const n = int(r, 2, 6);
        while (set.size < n) set.add(weighted(r, marketTable));
        targeting.countries = [...set].sort();
      }
      // Worldwide campaigns are usually narrowed by language or platform.
      if (chance(r, targeting.countries ? 0.2 : 0.6)) {
        targeting.languages = [languageOf.get(targeting.countries?.[0] ?? home) ?? 'en'];
      }
      if (chance(r, 0.2)) targeting.platforms = chance(r, 0.5) ? ['android'] : ['ios', 'android'];
      const cpc = chance(r, 0.2);
      const amountMicros = cpc
        ? Math.max(20_000, Math.round(logNormal(r, 150_000, 0.6)))
        : Math.max(50_000, Math.round(logNormal(r, 1_500_000, 0.7)));
      const budget: CampaignSpec['budget'] = {};
      if (chance(r, 0.85)) budget.dailyMicros = Math.round(logNormal(r, 50_000_000, 1.0));
      if (chance(r, 0.4)) budget.totalMicros = Math.round(logNormal(r, 1_000_000_000, 1.0));
      const creatives = Array.from(
        {
          length: weighted(r, [
            [1, 50],
            [2, 30],
            [3, 20],
          ] as const),
        },
        (_, i) => ({
          id: `${id}_cr${i}`,
          predictedCtr: Math.min(0.2, Math.max(0.001, logNormal(r, 0.01, 0.5))),
        }),
      );
      campaigns.push({
        id,
        advertiserId: advertiser.id,
        bid: { type: cpc ? 'cpc' : 'cpm', amountMicros },
        budget,
        pacing: chance(r, 0.7) ? 'even' : 'asap',
        targeting,
        caps: weighted(r, CAP_PRESETS),
        creatives,
      });
    }
  }
  return { advertisers, campaigns };
}

export interface UserProfile {
  id: string;
  context: RequestContext;
}

/** A user's stable traits, derived from (seed, index) so a million users cost no memory. */
export function userProfile(seed: number, index: number): UserProfile {
  const r = rng(mix(seed, index));
  const country = weighted(r, marketTable);
  const context: RequestContext = {};
  // A few clients send no country; some users run their app in English.
  if (!chance(r, 0.05)) context.country = country;
  context.language = chance(r, 0.15) ? 'en' : (languageOf.get(country) ?? 'en');
  context.platform = weighted(r, PLATFORMS);
  return { id: `user-${index}`, context };
}

/**
 * Zipf(s) over ranks 1..n by inverse CDF; rank r is user index r-1, so user 0
 * is the most active. One Float64Array of n entries.
 */
export class Zipf {
  private cdf: Float64Array;

  constructor(
    readonly n: number,
    readonly s = 1.0,
  ) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 1; k <= n; k++) {
      sum += 1 / k ** s;
      this.cdf[k - 1] = sum;
    }
    for (let k = 0; k < n; k++) this.cdf[k] /= sum;
  }

  /** A user index in 0..n-1. */
  sample(r: () => number): number {
    const x = r();
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export interface Session {
  userIndex: number;
  user: string;
  context: RequestContext;
  statuses?: number;
  runs?: number[];
}

/**
 * Feed sessions: which user opens the feed (Zipf), and what the feed holds:
 * 60% send a status count, 40% per-contact runs (contacts ~ geometric, each
 * contact posting 1–few statuses).
 */
export function* sessions(
  seed: number,
  users: number,
  count = Infinity,
  zipf = new Zipf(users),
  sessionSeed = seed,
): Generator<Session> {
  // `sessionSeed` draws other sessions of the same users (same traits), e.g. another day.
  const r = rng(sessionSeed ^ 0x5e55);
  for (let i = 0; i < count; i++) {
    const userIndex = zipf.sample(r);
    const profile = userProfile(seed, userIndex);
    const session: Session = { userIndex, user: profile.id, context: profile.context };
    if (chance(r, 0.6)) session.statuses = Math.min(1000, Math.max(0, Math.round(logNormal(r, 12, 0.8))));
    else {
      const contacts = Math.min(200, geometric(r, 8));
      session.runs = Array.from({ length: contacts }, () => Math.min(20, geometric(r, 2)));
    }
    yield session;
  }
}

/** A session as the body of its `POST /v1/slots` request (JSON). */
export function slotsBody(s: Session): string {
  return JSON.stringify(
    s.statuses !== undefined
      ? { user: s.user, statuses: s.statuses, context: s.context }
      : { user: s.user, runs: s.runs, context: s.context },
  );
}

/**
 * What the user does with a served slot: most are seen (impression), a few are
 * clicked, hidden, blocked or reported; some are never reached.
 */
export function eventsForSlot(r: () => number): EventType[] {
  if (chance(r, 0.12)) return [];
  const events: EventType[] = ['impression'];
  const x = r();
  if (x < 0.015) events.push('click');
  else if (x < 0.022) events.push('hide');
  else if (x < 0.025) events.push('block');
  else if (x < 0.026) events.push('report');
  return events;
}
