/**
 * A deterministic day of synthetic feed traffic through the real engine and the
 * real in-memory budget accounts: simulated clock, seeded RNG, a messenger-like
 * daily traffic curve. Shows how `even` follows its target curve and `asap` runs out.
 */
import { advertiserCard } from '../../src/engine/card.js';
import { decide } from '../../src/engine/decide.js';
import { ecpmUpperBound } from '../../src/engine/eligibility.js';
import type { EngineSettings, ServableCampaign, UserState } from '../../src/engine/types.js';
import { SqliteBudgets } from '../../src/store/sqlite/budgets.js';
import { openDatabase } from '../../src/store/sqlite/db.js';
import { rng } from '../workload.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** Relative feed traffic per UTC hour: a night trough, a lunch bump and an evening peak. */
export const HOURLY_TRAFFIC = [
  0.35, 0.25, 0.18, 0.15, 0.15, 0.2, 0.35, 0.6, 0.85, 0.95, 1.0, 1.05, 1.15, 1.1, 1.0, 0.95, 1.0, 1.1, 1.25, 1.4, 1.5, 1.4, 1.0,
  0.6,
];

export interface SimulationOptions {
  seed: number;
  /** Feed requests over the whole day. */
  requestsPerDay: number;
  /** Daily budgets of the two campaigns under study, micros. */
  evenDailyMicros: number;
  asapDailyMicros: number;
  /** Share of served slots the user actually sees (impression event); the rest expire. */
  viewRate?: number;
  /** Upper bound of the delay between serving and the impression event. */
  maxViewDelayMs?: number;
  tokenTtlMs?: number;
  /** Midnight UTC of the simulated day. */
  dayStart?: number;
  /** Pacing of the campaign called `even` (set to 'asap' to compare against unpaced delivery). */
  evenPacing?: 'even' | 'asap';
}

export interface HourPoint {
  hour: number;
  targetMicros: number;
  evenMicros: number;
  asapMicros: number;
  requests: number;
}

export interface SimulationResult {
  options: Required<SimulationOptions>;
  /** Cumulative spend at the end of every hour (hour 1 … 24). */
  hours: HourPoint[];
  /** Cumulative spend every 10 simulated minutes, for the plot. */
  samples: { minute: number; evenMicros: number; asapMicros: number; targetMicros: number; traffic: number }[];
  evenSpentMicros: number;
  asapSpentMicros: number;
  /** Minute of the day at which `asap` could no longer afford an event, or null. */
  asapExhaustedAtMinute: number | null;
  impressions: { even: number; asap: number; background: number };
  /** Mean charged price per impression, micros. */
  meanPriceMicros: { even: number; asap: number };
  decisions: number;
  wallMs: number;
}

/** Seeded randomness for the simulation: the workload generator's mulberry32. */
export const seededRandom = rng;

/** Traffic intensity at a minute of the day, linear between hourly points. */
export function trafficAt(minute: number): number {
  const h = minute / 60;
  const i = Math.floor(h) % 24;
  const f = h - Math.floor(h);
  return HOURLY_TRAFFIC[i] * (1 - f) + HOURLY_TRAFFIC[(i + 1) % 24] * f;
}

function poisson(lambda: number, random: () => number): number {
  if (lambda > 30) {
    // Normal approximation (Box–Muller) is plenty for traffic counts.
    const u = Math.max(random(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * z));
  }
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= random();
  } while (p > l);
  return k - 1;
}

interface Pending {
  at: number;
  campaignId: string;
  reservationId: string;
  priceMicros: number;
}

/** Binary min-heap of impression events by time. */
class EventQueue {
  private items: Pending[] = [];
  get size() {
    return this.items.length;
  }
  peek(): Pending | undefined {
    return this.items[0];
  }
  push(item: Pending) {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent].at <= a[i].at) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }
  pop(): Pending | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].at < a[m].at) m = l;
        if (r < a.length && a[r].at < a[m].at) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

function campaign(
  id: string,
  advertiserId: string,
  bidCpmMicros: number,
  pacing: 'even' | 'asap',
  dailyMicros?: number,
): ServableCampaign {
  return {
    id,
    advertiserId,
    advertiser: advertiserCard({ id: advertiserId, name: advertiserId }),
    status: 'active',
    startAt: 0,
    endAt: null,
    bid: { type: 'cpm', amountMicros: bidCpmMicros },
    budget: dailyMicros === undefined ? {} : { dailyMicros },
    pacing,
    targeting: {},
    caps: [],
    creatives: [
      {
        id: `${id}-creative`,
        headline: id,
        cta: { type: 'website', target: 'https://example.com' },
        media: { url: '/media/x', mime: 'image/png', width: 90, height: 160 },
        predictedCtr: 0.01,
      },
    ],
    hasCreatives: true,
  };
}

/**
 * Runs one simulated UTC day. Campaigns: `even` (cpm 2.00, daily budget),
 * `asap` (cpm 3.00, daily budget) and two unbudgeted background campaigns
 * (cpm 1.50 and 1.20) from other advertisers that set the second price.
 * Every request has 10 organic statuses, so up to two slots.
 */
export async function simulateDay(input: SimulationOptions): Promise<SimulationResult> {
  const options: Required<SimulationOptions> = {
    viewRate: 0.9,
    maxViewDelayMs: 60_000,
    tokenTtlMs: 900_000,
    dayStart: Date.UTC(2026, 10, 25),
    evenPacing: 'even',
    ...input,
  };
  const started = performance.now();
  const random = seededRandom(options.seed);
  const { db, sqlite } = openDatabase(':memory:');
  const budgets = new SqliteBudgets(db);
  const even = campaign('even', 'adv-even', 2_000_000, options.evenPacing, options.evenDailyMicros);
  const asap = campaign('asap', 'adv-asap', 3_000_000, 'asap', options.asapDailyMicros);
  const campaigns = [
    even,
    asap,
    campaign('bg-1', 'adv-bg-1', 1_500_000, 'asap'),
    campaign('bg-2', 'adv-bg-2', 1_200_000, 'asap'),
  ].sort((a, b) => ecpmUpperBound(b) - ecpmUpperBound(a));
  const settings: EngineSettings = {
    placement: { firstAfter: 2, minGap: 4, maxPerResponse: 3 },
    // Every request is a different user in this simulation, so the user cap never binds.
    userCap: { impressions: 8, windowSeconds: 3600 },
    floorCpmMicros: 100_000,
    tokenTtlMs: options.tokenTtlMs,
  };
  const user: UserState = { history: [], blocks: new Set(), hides: new Set(), mutes: new Set() };
  const request = { statuses: 10, context: {}, explain: false };
  const queue = new EventQueue();
  const impressions = { even: 0, asap: 0, background: 0 };
  let evenCharged = 0;
  let asapCharged = 0;
  let asapExhaustedAtMinute: number | null = null;
  let nextId = 0;
  let decisions = 0;

  const minutes = 24 * 60;
  let totalWeight = 0;
  for (let m = 0; m < minutes; m++) totalWeight += trafficAt(m + 0.5);
  const perWeight = options.requestsPerDay / totalWeight;

  const deliverUntil = (now: number) => {
    while (queue.size > 0 && queue.peek()!.at <= now) {
      const event = queue.pop()!;
      budgets.charged(event.campaignId, [event.reservationId], event.priceMicros, event.at);
      if (event.campaignId === 'even') {
        impressions.even++;
        evenCharged += event.priceMicros;
      } else if (event.campaignId === 'asap') {
        impressions.asap++;
        asapCharged += event.priceMicros;
      } else impressions.background++;
    }
  };

  const hours: HourPoint[] = [];
  const samples: SimulationResult['samples'] = [];
  let hourRequests = 0;
  for (let minute = 0; minute < minutes; minute++) {
    const minuteStart = options.dayStart + minute * MINUTE_MS;
    const count = poisson(trafficAt(minute + 0.5) * perWeight, random);
    hourRequests += count;
    for (let i = 0; i < count; i++) {
      const now = minuteStart + Math.floor(((i + random()) / count) * MINUTE_MS);
      deliverUntil(now);
      const decision = decide({ now, settings, campaigns, user, budgetOf: (id) => budgets.view(id, now), request, random });
      decisions++;
      for (const slot of decision.slots) {
        const reservationId = `r${nextId++}`;
        const expiresAt = now + options.tokenTtlMs;
        const held = await budgets.tryHold(
          { campaign: slot.campaign, reservationId, amountMicros: slot.priceMicros, expiresAt },
          now,
        );
        if (!held) continue;
        if (random() < options.viewRate) {
          queue.push({
            at: now + Math.floor(random() * options.maxViewDelayMs),
            campaignId: slot.campaign.id,
            reservationId,
            priceMicros: slot.priceMicros,
          });
        }
      }
      if (asapExhaustedAtMinute === null) {
        const state = budgets.view('asap', now);
        if (options.asapDailyMicros - state.spentTodayMicros < 3000) asapExhaustedAtMinute = minute;
      }
    }
    const minuteEnd = minuteStart + MINUTE_MS - 1;
    deliverUntil(minuteEnd);
    const spend = (id: string) => budgets.view(id, minuteEnd).spentTodayMicros;
    const target = Math.round((options.evenDailyMicros * (minute + 1)) / minutes);
    if ((minute + 1) % 10 === 0) {
      samples.push({
        minute: minute + 1,
        evenMicros: spend('even'),
        asapMicros: spend('asap'),
        targetMicros: target,
        traffic: trafficAt(minute + 1),
      });
    }
    if ((minute + 1) % 60 === 0) {
      hours.push({
        hour: (minute + 1) / 60,
        targetMicros: target,
        evenMicros: spend('even'),
        asapMicros: spend('asap'),
        requests: hourRequests,
      });
      hourRequests = 0;
    }
  }
  sqlite.close();
  const last = hours[hours.length - 1];
  return {
    options,
    hours,
    samples,
    evenSpentMicros: last.evenMicros,
    asapSpentMicros: last.asapMicros,
    asapExhaustedAtMinute,
    impressions,
    meanPriceMicros: {
      even: impressions.even ? Math.round(evenCharged / impressions.even) : 0,
      asap: impressions.asap ? Math.round(asapCharged / impressions.asap) : 0,
    },
    decisions,
    wallMs: Math.round(performance.now() - started),
  };
}

export { DAY_MS, HOUR_MS };
