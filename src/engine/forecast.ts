/**
 * The delivery forecast: what a campaign draft would get in one day, from the
 * traffic recorded per day and per (country, language, platform) cell, and
 * today's competition in the catalog index. Pure: traffic, reach and the clock
 * are passed in. The model is documented, with its measured accuracy, in
 * docs/forecast.md.
 */
import { LRUCache } from 'lru-cache';
import type { CapRule } from '../config.js';
import { ecpmUpperBound, inSchedule, matchesTargeting } from './eligibility.js';
import type { BidType, Pacing, Platform, RequestContext, ServableCampaign, Targeting } from './types.js';

const DAY_MS = 86_400_000;

/** A traffic cell: the context feed clients sent ('' where they sent none). */
export interface TrafficCell {
  country: string;
  language: string;
  platform: string;
}

/** What one cell saw on one day: slot requests, ad positions placement allowed, slots served. */
export interface TrafficCounts extends TrafficCell {
  requests: number;
  opportunities: number;
  served: number;
}

export interface TrafficDay {
  day: string;
  cells: TrafficCounts[];
  /** Impressions and served slots that day, over all cells: how many served slots are seen. */
  impressions: number;
  served: number;
  /** Multiplies counts to a whole day: 1 for a complete day, more for today so far. */
  scale: number;
}

export interface CampaignDraft {
  advertiserId: string;
  bid: { type: BidType; amountMicros: number };
  budget: { dailyMicros?: number; totalMicros?: number };
  pacing: Pacing;
  targeting: Targeting;
  caps: CapRule[];
  startAt: number;
  endAt: number | null;
}

export interface ForecastInput {
  now: number;
  draft: CampaignDraft;
  /** Basis days, oldest first. */
  days: TrafficDay[];
  /** Distinct users behind the given cells on a day (a union of reach sketches). */
  reachOf: (day: string, cells: TrafficCell[]) => number;
  /** Today's catalog as the draft would compete with it (built once per catalog index, see `Competition`). */
  competition: Competition;
  /** CTR assumed for a cpc draft, which has no history: the deployment's prior mean. */
  predictedCtr: number;
}

export interface Estimate {
  expected: number;
  low: number;
  high: number;
}

export interface ForecastResult {
  day: string;
  matchingRequests: Estimate;
  reachableUsers: Estimate;
  impressions: Estimate;
  winRate: Estimate;
  averagePriceMicros: Estimate;
  spendMicros: Estimate;
  basis: { days: number; from: string | null; to: string | null; partial: boolean; requests: number };
}

/**
 * Relative error added on both sides of the range beyond the spread of the basis
 * days: the model's error measured by bench/forecast.ts (docs/forecast.md).
 */
export const MODEL_ERROR = 0.3;
/** HyperLogLog reach error at two standard errors (1.04/√4096 ≈ 1.6%). */
const REACH_ERROR = 0.033;

function contextOf(cell: TrafficCell): RequestContext {
  const context: RequestContext = {};
  if (cell.country) context.country = cell.country;
  if (cell.language) context.language = cell.language;
  if (cell.platform) context.platform = cell.platform as Platform;
  return context;
}

/**
 * P(K = k) for k < `upTo`, K the number of competitors present among the first `count` (each independently
 * with its own probability): a Poisson-binomial, by dynamic programming. Once every k < `upTo` has probability
 * exactly 0 (`upTo` rivals sure to be present: no caps), the rest cannot change it.
 */
function presentCounts(presence: Float64Array, count: number, upTo: number): number[] {
  const dist = new Array<number>(upTo).fill(0);
  dist[0] = 1;
  for (let i = 0; i < count; i++) {
    const p = presence[i];
    let mass = false;
    for (let k = upTo - 1; k >= 0; k--) {
      dist[k] = dist[k] * (1 - p) + (k > 0 ? dist[k - 1] * p : 0);
      if (dist[k] !== 0) mass = true;
    }
    if (!mass) break;
  }
  return dist;
}

/** E[min(slots, K)]: ads placed per request when the present competitors fill up to `slots` (fractional) slots. */
function expectedFilled(dist: number[], slots: number): number {
  let filled = 0;
  let mass = 0;
  for (let k = 0; k < Math.ceil(slots); k++) {
    filled += dist[k] * k;
    mass += dist[k];
  }
  return filled + slots * Math.max(0, 1 - mass);
}

/**
 * The slots per request competitors actually get to fill (placement, the
 * deployment-wide user cap and unfilled positions all shrink it): the value that
 * reproduces the slots served per request that day, at most the positions offered.
 */
function effectiveSlots(presence: Float64Array, count: number, offered: number, servedPerRequest: number): number {
  if (offered <= 0) return 0;
  const dist = presentCounts(presence, count, Math.ceil(offered) + 1);
  if (count === 0 || servedPerRequest >= expectedFilled(dist, offered)) return offered;
  let lo = 0;
  let hi = offered;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (expectedFilled(dist, mid) < servedPerRequest) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** E[min(X, cap)] for a user's wins X, exponentially distributed around `mean` across users. */
function cappedPerUser(mean: number, capPerDay: number): number {
  if (!Number.isFinite(capPerDay) || mean <= 0) return Math.max(0, mean);
  return mean * (1 - Math.exp(-capPerDay / mean));
}

/** The most ads of one campaign a user can see in a day under its caps. */
export function capPerDay(caps: CapRule[]): number {
  let most = Infinity;
  for (const cap of caps) most = Math.min(most, cap.impressions * Math.max(1, Math.floor(86_400 / cap.windowSeconds)));
  return most;
}

export function utcDayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The share of the UTC day starting at `dayStart` that the draft's schedule covers. */
function scheduledFraction(draft: CampaignDraft, dayStart: number): number {
  const start = Math.max(dayStart, draft.startAt);
  const end = Math.min(dayStart + DAY_MS, draft.endAt ?? Infinity);
  return Math.max(0, end - start) / DAY_MS;
}

/**
 * A traffic cell's rival advertisers, best eCPM first: one bid per advertiser (never two ads of one advertiser in
 * a response), its best eCPM there and the most ads of its campaigns there a user can see a day.
 */
interface CellBids {
  /** Each advertiser's number in `Rivals` (to leave out the draft's own). */
  advertisers: Int32Array;
  ecpm: Float64Array;
  capPerDay: Float64Array;
}

/**
 * The memory the cells' rival bids may take per index build: ~20 MiB, counted as each cell's entry (its key,
 * its three typed arrays and their buffers, the LRU's slots: ~830 bytes measured) plus 20 bytes per bid. That is
 * ~25,000 cells of one bid, or ~1,000 cells of ~1,000 bids; past it the cells least recently met are computed
 * again when next met. A deployment has a few hundred to a few thousand traffic cells (country × language ×
 * platform as feed clients send them), so only a client sending many made-up contexts meets the bound.
 */
const KEPT_BYTES = 20 * 1024 * 1024;
/** The bytes of a cell's entry besides its bids, and of one bid (an Int32 and two Float64). */
const CELL_BYTES = 850;
const BID_BYTES = 20;

/** The campaigns in schedule at one moment, and each traffic cell's rival bids among them (computed when first asked). */
class Rivals {
  private cells = new LRUCache<string, CellBids>({
    maxSize: KEPT_BYTES,
    sizeCalculation: (bids) => CELL_BYTES + BID_BYTES * bids.ecpm.length,
  });
  private advertiserNumbers = new Map<string, number>();
  private advertiser: Int32Array;
  private ecpm: Float64Array;
  private capPerDay: Float64Array;
  /** Positions in `campaigns` of those at or above the floor, by targeted country: what a cell can match. */
  private anyCountry: number[] = [];
  private byCountry = new Map<string, number[]>();

  constructor(
    private campaigns: ServableCampaign[],
    floorCpmMicros: number,
  ) {
    this.advertiser = new Int32Array(campaigns.length);
    this.ecpm = new Float64Array(campaigns.length);
    this.capPerDay = new Float64Array(campaigns.length);
    campaigns.forEach((c, i) => {
      let number = this.advertiserNumbers.get(c.advertiserId);
      if (number === undefined) this.advertiserNumbers.set(c.advertiserId, (number = this.advertiserNumbers.size));
      this.advertiser[i] = number;
      this.ecpm[i] = ecpmUpperBound(c);
      this.capPerDay[i] = capPerDay(c.caps);
      if (this.ecpm[i] < floorCpmMicros) return;
      if (!c.targeting.countries) this.anyCountry.push(i);
      else
        for (const country of c.targeting.countries) {
          let bucket = this.byCountry.get(country);
          if (!bucket) this.byCountry.set(country, (bucket = []));
          bucket.push(i);
        }
    });
  }

  /** The advertiser's number in `CellBids.advertisers`, -1 for one with no campaign here. */
  numberOf(advertiserId: string): number {
    return this.advertiserNumbers.get(advertiserId) ?? -1;
  }

  in(cell: TrafficCell): CellBids {
    const key = `${cell.country}|${cell.language}|${cell.platform}`;
    const known = this.cells.get(key);
    if (known) return known;
    const context = contextOf(cell);
    // Per advertiser: its best eCPM, its highest daily cap, and its first campaign in catalog order (which
    // orders advertisers with equal eCPMs).
    const best = new Map<number, { advertiser: number; ecpm: number; capPerDay: number; first: number }>();
    const visit = (positions: number[]) => {
      for (const i of positions) {
        if (!matchesTargeting(this.campaigns[i].targeting, context)) continue;
        const seen = best.get(this.advertiser[i]);
        if (!seen)
          best.set(this.advertiser[i], {
            advertiser: this.advertiser[i],
            ecpm: this.ecpm[i],
            capPerDay: this.capPerDay[i],
            first: i,
          });
        else {
          seen.ecpm = Math.max(seen.ecpm, this.ecpm[i]);
          seen.capPerDay = Math.max(seen.capPerDay, this.capPerDay[i]);
          seen.first = Math.min(seen.first, i);
        }
      }
    };
    if (cell.country) visit(this.byCountry.get(cell.country) ?? []);
    visit(this.anyCountry);
    const sorted = [...best.values()].sort((a, b) => b.ecpm - a.ecpm || a.first - b.first);
    const bids: CellBids = {
      advertisers: Int32Array.from(sorted, (b) => b.advertiser),
      ecpm: Float64Array.from(sorted, (b) => b.ecpm),
      capPerDay: Float64Array.from(sorted, (b) => b.capPerDay),
    };
    this.cells.set(key, bids);
    return bids;
  }
}

/**
 * Today's competition for forecasts, over one build of the catalog index: which campaigns are in schedule on
 * the forecast day, and each traffic cell's rival bids, each computed once and then looked up — a forecast is
 * then a sum over cells, not a walk over every campaign per cell and day. Build a new one when the catalog changes.
 */
export class Competition {
  private scheduled: { at: number; rivals: Rivals } | undefined;

  constructor(
    private campaigns: readonly ServableCampaign[],
    readonly floorCpmMicros: number,
  ) {}

  /** The rivals in schedule at `at` (the middle of the forecast day): kept until a forecast asks for another day. */
  at(at: number): Rivals {
    if (this.scheduled?.at !== at) {
      const rivals = this.campaigns.filter((c) => c.creatives.length > 0 && inSchedule(c, at));
      this.scheduled = { at, rivals: new Rivals(rivals, this.floorCpmMicros) };
    }
    return this.scheduled.rivals;
  }
}

interface DayForecast {
  matchingRequests: number;
  reachableUsers: number;
  impressions: number;
  winRate: number;
  priceEcpm: number;
  spendMicros: number;
}

function forecastOne(input: ForecastInput, traffic: TrafficDay, rivals: Rivals, dayStart: number): DayForecast {
  const { draft } = input;
  const { floorCpmMicros } = input.competition;
  const ctr = draft.bid.type === 'cpc' ? input.predictedCtr : 1;
  const draftEcpm = draft.bid.type === 'cpm' ? draft.bid.amountMicros : Math.floor(draft.bid.amountMicros * ctr * 1000);
  const viewRate = traffic.served > 0 ? Math.min(1, traffic.impressions / traffic.served) : 1;
  const perDayCap = capPerDay(draft.caps);
  const own = rivals.numberOf(draft.advertiserId);
  let ecpm = new Float64Array(0);
  let presence = new Float64Array(0);
  const matched = traffic.cells.filter((cell) => matchesTargeting(draft.targeting, contextOf(cell)));

  let requests = 0;
  let wonRequests = 0;
  let impressions = 0;
  let priceTimesImpressions = 0;
  for (const cell of matched) {
    const R = cell.requests * traffic.scale;
    if (R <= 0) continue;
    requests += R;
    if (draftEcpm < floorCpmMicros) continue;
    const users = Math.max(1, input.reachOf(traffic.day, [cell]));
    const perUser = R / users;
    // The rivals but the draft's advertiser, best first, each present in a user's request while its frequency
    // caps leave room (a user sends `perUser` a day).
    const bids = rivals.in(cell);
    if (ecpm.length < bids.ecpm.length) {
      ecpm = new Float64Array(bids.ecpm.length);
      presence = new Float64Array(bids.ecpm.length);
    }
    let count = 0;
    for (let i = 0; i < bids.ecpm.length; i++) {
      if (bids.advertisers[i] === own) continue;
      ecpm[count] = bids.ecpm[i];
      presence[count++] = Math.min(1, bids.capPerDay[i] / perUser);
    }
    const slots = effectiveSlots(presence, count, cell.opportunities / cell.requests, cell.served / cell.requests);
    let above = 0;
    while (above < count && ecpm[above] > draftEcpm) above++;
    const dist = presentCounts(presence, above, Math.ceil(slots) + 1);
    let winRate = 0;
    for (let k = 0; k < Math.ceil(slots); k++) winRate += dist[k] * Math.min(1, Math.max(0, slots - k));
    // Second price: the best competitor present below the draft, or the floor (once one is sure to be present,
    // those below it add nothing).
    let price = 0;
    let absent = 1;
    for (let i = above; i < count && absent !== 0; i++) {
      price += ecpm[i] * presence[i] * absent;
      absent *= 1 - presence[i];
    }
    price = Math.min(draftEcpm, Math.max(floorCpmMicros, price + floorCpmMicros * absent));
    const won = cappedPerUser(perUser * winRate, perDayCap) * users;
    wonRequests += R * winRate;
    impressions += won * viewRate;
    priceTimesImpressions += price * won * viewRate;
  }

  const priceEcpm = impressions > 0 ? priceTimesImpressions / impressions : 0;
  const scheduled = scheduledFraction(draft, dayStart);
  impressions *= scheduled;
  let spendMicros = (impressions * priceEcpm) / 1000;
  const budgetCap = Math.min(draft.budget.dailyMicros ?? Infinity, draft.budget.totalMicros ?? Infinity);
  if (spendMicros > budgetCap) {
    impressions *= budgetCap / spendMicros;
    spendMicros = budgetCap;
  }
  return {
    matchingRequests: requests,
    reachableUsers: matched.length > 0 ? input.reachOf(traffic.day, matched) : 0,
    impressions,
    winRate: requests > 0 ? (wonRequests / requests) * scheduled : 0,
    priceEcpm,
    spendMicros,
  };
}

function estimate(values: number[], error: number, round: (x: number) => number, max = Infinity): Estimate {
  if (values.length === 0) return { expected: 0, low: 0, high: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return {
    expected: round(Math.min(max, mean)),
    low: round(Math.max(0, Math.min(...values) * (1 - error))),
    high: round(Math.min(max, Math.max(...values) * (1 + error))),
  };
}

const whole = (x: number) => Math.round(x);
const ratio = (x: number) => Math.round(x * 1000) / 1000;

/** One day's forecast for the draft (the UTC day after `now`), from each basis day's traffic. */
export function forecast(input: ForecastInput): ForecastResult {
  const dayStart = Math.floor(input.now / DAY_MS) * DAY_MS + DAY_MS;
  const rivals = input.competition.at(dayStart + DAY_MS / 2);
  const perDay = input.days.map((day) => forecastOne(input, day, rivals, dayStart));
  const ctr = input.draft.bid.type === 'cpc' ? input.predictedCtr : 1;
  // In the bid's unit: per thousand impressions for cpm, per click for cpc.
  const priceInBidUnit = (ecpm: number) => (input.draft.bid.type === 'cpm' ? ecpm : ecpm / (ctr * 1000));
  const requests = input.days.reduce((sum, d) => sum + d.cells.reduce((s, c) => s + c.requests, 0), 0);
  return {
    day: utcDayOf(dayStart),
    matchingRequests: estimate(
      perDay.map((d) => d.matchingRequests),
      2 / Math.sqrt(Math.max(1, perDay[0]?.matchingRequests ?? 1)),
      whole,
    ),
    reachableUsers: estimate(
      perDay.map((d) => d.reachableUsers),
      REACH_ERROR,
      whole,
    ),
    impressions: estimate(
      perDay.map((d) => d.impressions),
      MODEL_ERROR,
      whole,
    ),
    winRate: estimate(
      perDay.map((d) => d.winRate),
      MODEL_ERROR,
      ratio,
      1,
    ),
    averagePriceMicros: estimate(
      perDay.filter((d) => d.impressions > 0).map((d) => priceInBidUnit(d.priceEcpm)),
      MODEL_ERROR,
      whole,
      input.draft.bid.amountMicros,
    ),
    spendMicros: estimate(
      perDay.map((d) => d.spendMicros),
      MODEL_ERROR,
      whole,
      Math.min(input.draft.budget.dailyMicros ?? Infinity, input.draft.budget.totalMicros ?? Infinity),
    ),
    basis: {
      days: input.days.length,
      from: input.days[0]?.day ?? null,
      to: input.days.at(-1)?.day ?? null,
      partial: input.days.some((d) => d.scale !== 1),
      requests,
    },
  };
}
