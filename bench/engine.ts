/**
 * Engine benchmark, in-process and without I/O: "the engine" is `decide` over
 * the real `CatalogIndex` candidates, with user states and budgets in memory.
 * Each decision is applied (reservations, events, holds, charges) so caps,
 * blocks and budgets bite as they would in production, and audited as it goes.
 */

import { CatalogIndex } from '../src/catalog/index.js';
import { readSettings } from '../src/config.js';
import { advertiserCard } from '../src/engine/card.js';
import { decide } from '../src/engine/decide.js';
import { historyWindowMs } from '../src/engine/eligibility.js';
import type {
  BudgetState,
  EngineSettings,
  HistoryEntry,
  RequestContext,
  ServableCampaign,
  UserState,
} from '../src/engine/types.js';
import type { CatalogStore } from '../src/store/interface.js';
import { type Counters, heapUsedBytes, type LatencySummary, nsHistogram, progress, summarizeNs, zeroCounters } from './stats.js';
import { type CampaignSpec, eventsForSlot, generateCatalog, rng, sessions, Zipf } from './workload.js';

/** Benchmarks run on a fixed simulated clock: noon UTC, mid-way through the pacing day. */
export const BENCH_START = Date.UTC(2026, 10, 25, 12, 0, 0);

export function toServable(spec: CampaignSpec, advertiserName: string, startAt: number): ServableCampaign {
  return {
    id: spec.id,
    advertiserId: spec.advertiserId,
    advertiser: advertiserCard({ id: spec.advertiserId, name: advertiserName }),
    status: 'active',
    startAt,
    endAt: null,
    bid: spec.bid,
    budget: spec.budget,
    pacing: spec.pacing,
    targeting: spec.targeting,
    caps: spec.caps,
    creatives: spec.creatives.map((c) => ({
      id: c.id,
      headline: `Headline of ${c.id}`,
      cta: { type: 'website', target: 'https://shop.example' },
      media: { url: `/media/${c.id}`, mime: 'image/png', width: 1080, height: 1920 },
      predictedCtr: c.predictedCtr,
    })),
    hasCreatives: true,
  };
}

/** A read-only catalog store holding a fixed list, so the real index can be built without SQL. */
export function fixedCatalog(campaigns: ServableCampaign[]): CatalogStore {
  return {
    servable: async () => campaigns,
    version: async () => 1,
  } as unknown as CatalogStore;
}

interface Hold {
  amount: number;
  expiresAt: number;
  released: boolean;
}

/** Budgets in memory with the same hold semantics as the SQLite store (holds until charged or expired). */
class SimBudgets {
  private accounts = new Map<string, BudgetState & { holds: Hold[] }>();

  view(id: string, now: number): BudgetState & { holds: Hold[] } {
    let a = this.accounts.get(id);
    if (!a) this.accounts.set(id, (a = { spentTodayMicros: 0, spentTotalMicros: 0, heldMicros: 0, holds: [] }));
    let drop = 0;
    while (drop < a.holds.length && (a.holds[drop].released || a.holds[drop].expiresAt <= now)) {
      if (!a.holds[drop].released) a.heldMicros -= a.holds[drop].amount;
      drop++;
    }
    if (drop) a.holds.splice(0, drop);
    return a;
  }

  hold(campaign: ServableCampaign, amount: number, expiresAt: number, now: number): Hold | undefined {
    const a = this.view(campaign.id, now);
    const b = campaign.budget;
    if (b.dailyMicros !== undefined && a.spentTodayMicros + a.heldMicros + amount > b.dailyMicros) return undefined;
    if (b.totalMicros !== undefined && a.spentTotalMicros + a.heldMicros + amount > b.totalMicros) return undefined;
    const hold = { amount, expiresAt, released: false };
    a.holds.push(hold);
    a.heldMicros += amount;
    return hold;
  }

  /** Charges a hold; returns false if spend went over a budget (an overspend). */
  charge(campaign: ServableCampaign, hold: Hold, now: number): boolean {
    const a = this.view(campaign.id, now);
    if (!hold.released && hold.expiresAt > now) {
      hold.released = true;
      a.heldMicros -= hold.amount;
    }
    a.spentTodayMicros += hold.amount;
    a.spentTotalMicros += hold.amount;
    const b = campaign.budget;
    return !(
      (b.dailyMicros !== undefined && a.spentTodayMicros > b.dailyMicros) ||
      (b.totalMicros !== undefined && a.spentTotalMicros > b.totalMicros)
    );
  }
}

/** Counts live entries in (now - W, now]; written apart from the engine's own counter on purpose. */
function liveInWindow(history: HistoryEntry[], now: number, windowMs: number, campaignId?: string): number {
  let n = 0;
  for (const e of history) {
    if (campaignId !== undefined && e.campaignId !== campaignId) continue;
    if (e.servedAt > now - windowMs && (e.viewed || e.expiresAt > now)) n++;
  }
  return n;
}

export interface EngineScenario {
  campaigns: number;
  users: number;
  decisions: number;
  warmup: number;
  seed: number;
}

export interface EngineResult {
  scenario: EngineScenario;
  /** Decisions per second of pure `decide` time on one core (bookkeeping excluded). */
  decisionsPerSecond: number;
  latency: LatencySummary;
  slotsPerDecision: number;
  /** Mean campaigns `decide` pulled from the index per decision (sampled). */
  candidatesExamined: number;
  /** Mean campaigns whose targeting matches the request (sampled). */
  matchingCampaigns: number;
  /** Mean campaigns in the index bucket(s) a request reads (its country + worldwide). */
  bucketCampaigns: number;
  distinctUsers: number;
  counters: Counters;
  heapUsedMB: number;
}

function matches(c: ServableCampaign, ctx: RequestContext): boolean {
  const t = c.targeting;
  if (t.countries && !(ctx.country && t.countries.includes(ctx.country))) return false;
  if (t.languages && !(ctx.language && t.languages.includes(ctx.language))) return false;
  if (t.platforms && !(ctx.platform && t.platforms.includes(ctx.platform))) return false;
  return true;
}

export async function engineSettings(): Promise<EngineSettings> {
  const s = readSettings({});
  return { placement: s.placement, userCap: s.userCap, floorCpmMicros: s.floorCpmMicros, tokenTtlMs: s.tokenTtlMs };
}

export async function runEngineScenario(scenario: EngineScenario): Promise<EngineResult> {
  const settings = await engineSettings();
  const catalog = generateCatalog(scenario.seed, scenario.campaigns);
  const names = new Map(catalog.advertisers.map((a) => [a.id, a.name]));
  const servable = catalog.campaigns.map((c) => toServable(c, names.get(c.advertiserId)!, BENCH_START - 86_400_000));
  const index = new CatalogIndex(fixedCatalog(servable), (sha) => `/media/${sha}`);
  await index.refresh(true);
  const bucketSizes = new Map<string, number>();
  const bucketOf = (country?: string) => {
    const key = country ?? '';
    let n = bucketSizes.get(key);
    if (n === undefined) {
      n = 0;
      for (const _ of index.candidates({ country }, false)) n++;
      bucketSizes.set(key, n);
    }
    return n;
  };

  const matchingCounts = new Map<string, number>();
  const matchingOf = (ctx: RequestContext) => {
    const key = `${ctx.country}|${ctx.language}|${ctx.platform}`;
    let n = matchingCounts.get(key);
    if (n === undefined) {
      n = 0;
      for (const c of servable) if (matches(c, ctx)) n++;
      matchingCounts.set(key, n);
    }
    return n;
  };

  const budgets = new SimBudgets();
  const states = new Map<number, UserState>();
  const zipf = new Zipf(scenario.users);
  const feed = sessions(scenario.seed, scenario.users, scenario.warmup + scenario.decisions, zipf);
  const userRandom = rng(scenario.seed ^ 0xb10c);
  const eventRandom = rng(scenario.seed ^ 0xe7e7);
  const histogram = nsHistogram();
  const counters = zeroCounters();
  const historyMs = historyWindowMs(settings, index.longestCapMs());
  // ~2,000 feed opens per simulated second: reservations live, caps fill, holds expire.
  const stepMs = 0.5;
  let now = BENCH_START;
  let totalNs = 0;
  let slots = 0;
  let sampled = 0;
  let examined = 0;
  let matching = 0;
  let bucket = 0;
  let reservationSeq = 0;
  const budgetOf = (id: string) => budgets.view(id, now);
  const total = scenario.warmup + scenario.decisions;
  const reportEvery = Math.max(1, Math.floor(total / 4));

  let i = 0;
  for (const session of feed) {
    let user = states.get(session.userIndex);
    if (!user) {
      user = { history: [], blocks: new Set(), hides: new Set(), mutes: new Set() };
      // A few users arrive having blocked a business already.
      if (userRandom() < 0.03) user.blocks.add(catalog.advertisers[Math.floor(userRandom() * catalog.advertisers.length)].id);
      states.set(session.userIndex, user);
    } else if (user.history.length > 0 && user.history[0].servedAt <= now - historyMs) {
      user.history = user.history.filter((e) => e.servedAt > now - historyMs && (e.viewed || e.expiresAt > now));
    }
    const request = { statuses: session.statuses, runs: session.runs, context: session.context, explain: false };

    const t0 = process.hrtime.bigint();
    const decision = decide({ now, settings, campaigns: index.candidates(session.context, false), user, budgetOf, request });
    const ns = Number(process.hrtime.bigint() - t0);

    const measured = i >= scenario.warmup;
    if (measured) {
      histogram.recordValue(ns);
      totalNs += ns;
      slots += decision.slots.length;
      if ((i & 15) === 0) {
        // Pure function: re-running it with a counting iterator changes nothing.
        let pulled = 0;
        const counted = (function* () {
          for (const c of index.candidates(session.context, false)) {
            pulled++;
            yield c;
          }
        })();
        decide({ now, settings, campaigns: counted, user, budgetOf, request });
        sampled++;
        examined += pulled;
        matching += matchingOf(session.context);
        bucket += bucketOf(session.context.country);
      }
    }

    for (const slot of decision.slots) {
      const { campaign, creative } = slot;
      if (user.blocks.has(campaign.advertiserId)) counters.blockedServed++;
      const expiresAt = now + settings.tokenTtlMs;
      const hold = budgets.hold(campaign, slot.priceMicros, expiresAt, now);
      if (!hold) continue; // the store refuses the hold; no slot
      const entry: HistoryEntry = {
        reservationId: `r${reservationSeq++}`,
        campaignId: campaign.id,
        creativeId: creative.id,
        advertiserId: campaign.advertiserId,
        servedAt: now,
        expiresAt,
        viewed: false,
      };
      user.history.push(entry);
      for (const cap of campaign.caps) {
        if (liveInWindow(user.history, now, cap.windowSeconds * 1000, campaign.id) > cap.impressions) counters.capViolations++;
      }
      if (liveInWindow(user.history, now, settings.userCap.windowSeconds * 1000) > settings.userCap.impressions)
        counters.capViolations++;

      for (const type of eventsForSlot(eventRandom)) {
        if (type === 'impression') {
          entry.viewed = true;
          if (campaign.bid.type === 'cpm' && !budgets.charge(campaign, hold, now)) counters.budgetOverspend++;
        } else if (type === 'click') {
          if (campaign.bid.type === 'cpc' && !budgets.charge(campaign, hold, now)) counters.budgetOverspend++;
        } else if (type === 'hide') user.hides.add(creative.id);
        else if (type === 'block') user.blocks.add(campaign.advertiserId);
      }
    }
    now += stepMs;
    i++;
    if (i % reportEvery === 0) progress(`  engine ${scenario.campaigns} campaigns × ${scenario.users} users: ${i}/${total}`);
  }

  return {
    scenario,
    decisionsPerSecond: Math.round(scenario.decisions / (totalNs / 1e9)),
    latency: summarizeNs(histogram),
    slotsPerDecision: Math.round((slots / scenario.decisions) * 100) / 100,
    candidatesExamined: Math.round((examined / Math.max(1, sampled)) * 10) / 10,
    matchingCampaigns: Math.round(matching / Math.max(1, sampled)),
    bucketCampaigns: Math.round(bucket / Math.max(1, sampled)),
    distinctUsers: states.size,
    counters,
    heapUsedMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  };
}

/**
 * Bytes per cached user state with a typical load (a few live reservations, an
 * occasional block or hide), measured as heap growth over `n` states.
 */
export function memoryPerUserState(n = 20_000, historyEntries = 4): { bytesPerUser: number; historyEntries: number } {
  const before = heapUsedBytes();
  const keep = new Map<string, UserState>();
  for (let i = 0; i < n; i++) {
    const history: HistoryEntry[] = [];
    for (let k = 0; k < historyEntries; k++) {
      history.push({
        reservationId: `r_${(i * 31 + k).toString(36).padStart(16, 'x')}`,
        campaignId: `cmp_${(i + k) % 5000}`,
        creativeId: `cmp_${(i + k) % 5000}_cr0`,
        advertiserId: `adv_${(i + k) % 2000}`,
        servedAt: BENCH_START + i,
        expiresAt: BENCH_START + i + 900_000,
        viewed: k % 2 === 0,
      });
    }
    const blocks = new Set<string>();
    if (i % 30 === 0) blocks.add(`adv_${i % 2000}`);
    const hides = new Set<string>();
    // Keys are 64-hex pseudonyms, as in production.
    keep.set(i.toString(16).padStart(64, '0'), { history, blocks, hides, mutes: new Set() });
  }
  const after = heapUsedBytes();
  const bytesPerUser = Math.round((after - before) / n);
  if (keep.size !== n) throw new Error('unreachable');
  return { bytesPerUser, historyEntries };
}
