/**
 * A simulated UTC day of one big campaign (10,000 impressions/s on average)
 * among 1,000 campaigns, through the real budget-lease code
 * (src/engine/budget-leases.ts) and the real pacing rule: shards hold, charge
 * and lapse in 1-second steps, renewals travel to the coordinator and back
 * with a step of delay, users are routed to shards by their pseudonyms.
 */
import { createHmac } from 'node:crypto';
import {
  applyLease,
  type Coordinator,
  campaignView,
  grantLease,
  LEASES,
  type Lease,
  type LeaseBudget,
  type LeaseConfig,
  leaseAllows,
  newCoordinator,
  newShard,
  noteDemand,
  type RenewRequest,
  renewalDue,
  renewalRequest,
  type ShardState,
  shardFor,
} from '../../src/engine/budget-leases.js';
import { advertiserCard } from '../../src/engine/card.js';
import { pacingPassRate } from '../../src/engine/eligibility.js';
import type { BudgetState, ServableCampaign } from '../../src/engine/types.js';
import { HOURLY_TRAFFIC, trafficAt } from '../pacing/simulation.js';
import { rng } from '../workload.js';

const DAY_S = 86_400;

export interface ShardSimOptions {
  seed: number;
  /** Impressions per second the big campaign's daily budget buys on average. */
  impressionsPerSec: number;
  /** Its eligible feed requests per second at traffic 1.0 (the curve peaks at 1.5, bottoms at 0.15). */
  demandPerSec: number;
  priceMicros: number;
  users: number;
  backgroundCampaigns: number;
  /** From `shiftFrom` to `shiftTo` (hours) all the big campaign's traffic lands on the lower half of its shards. */
  shiftFrom: number;
  shiftTo: number;
  /** Share of holds seen (charged) within 60 s; the rest lapse at the token TTL. */
  viewRate: number;
  tokenTtlS: number;
  config: LeaseConfig;
}

export const DEFAULTS: ShardSimOptions = {
  seed: 42,
  impressionsPerSec: 10_000,
  demandPerSec: 90_000,
  priceMicros: 2_000,
  users: 1_000_000,
  backgroundCampaigns: 999,
  shiftFrom: 12,
  shiftTo: 15,
  viewRate: 0.9,
  tokenTtlS: 900,
  config: LEASES,
};

export interface HourRow {
  hour: number;
  demandPerSec: number;
  servedPerSec: number;
  targetMicros: number;
  spentMicros: number;
  deviation: number;
  shardsMin: number;
  shardsMax: number;
  renewals: number;
  /** Holds pacing let through that no lease covered (the slot stays empty). */
  leaseRefused: number;
}

export interface ShardSimResult {
  options: ShardSimOptions;
  dailyBudgetMicros: number;
  hours: HourRow[];
  /** Every 10 minutes: cumulative spend, target, shards, served per second, unspent lease on idle shards. */
  samples: {
    minute: number;
    spentMicros: number;
    targetMicros: number;
    shards: number;
    servedPerSec: number;
    idleUnspentMicros: number;
  }[];
  spentMicros: number;
  /** The most spend plus live holds ever reached, against the daily budget. */
  peakCommittedMicros: number;
  overspendMicros: number;
  worstHourlyDeviation: number;
  /** After the shift: seconds until idle shards held under 1 % of the unspent lease they had, and until lease refusals fell under 1 % of holds. */
  rebalance: { idleReturnedAfterS: number | null; refusalsSettledAfterS: number | null; idleUnspentAtShiftMicros: number };
  shardCount: { min: number; max: number; changes: number };
  renewals: number;
  background: { campaigns: number; maxShards: number; shardedSteps: number; overspent: number };
  wallMs: number;
}

interface SimShard {
  state: ShardState;
  spentToday: number;
  held: number;
  /** Per second ahead (ring buffer): micros that turn from held into spend, or lapse. */
  charge: Float64Array;
  lapse: Float64Array;
}

const RING = 1024;

function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function poisson(lambda: number, random: () => number): number {
  if (lambda <= 0) return 0;
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(random)));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= random();
  } while (p > l);
  return k - 1;
}

function binomial(n: number, p: number, random: () => number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (n < 30) {
    let k = 0;
    for (let i = 0; i < n; i++) if (random() < p) k++;
    return k;
  }
  return Math.min(n, Math.max(0, Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal(random))));
}

function campaignOf(dailyMicros: number, bidMicros: number): ServableCampaign {
  return {
    id: 'big',
    advertiserId: 'a',
    advertiser: advertiserCard({ id: 'a', name: 'a' }),
    status: 'active',
    startAt: 0,
    endAt: null,
    bid: { type: 'cpm', amountMicros: bidMicros },
    budget: { dailyMicros },
    pacing: 'even',
    targeting: {},
    caps: [],
    creatives: [],
    hasCreatives: true,
  };
}

/** Users' routing keys: 32 bits of their pseudonym (HMAC-SHA256 hex), the same bits the Worker routes by. */
export function userRoutingKeys(users: number, seed: number): Uint32Array {
  const keys = new Uint32Array(users);
  for (let i = 0; i < users; i++) {
    const hex = createHmac('sha256', `bench-${seed}`).update(`user-${i}`).digest('hex');
    keys[i] = parseInt(hex.slice(16, 24), 16) >>> 0;
  }
  return keys;
}

/** Each shard's share of the campaign's requests for K shards: users' activity summed per shard. */
function sharesFor(k: number, keys: Uint32Array, activity: Float64Array): number[] {
  const shares = new Array(k).fill(0);
  let total = 0;
  for (let i = 0; i < keys.length; i++) {
    shares[shardFor(keys[i], k)] += activity[i];
    total += activity[i];
  }
  return shares.map((s) => s / total);
}

export function simulateShards(input: Partial<ShardSimOptions> = {}): ShardSimResult {
  const o: ShardSimOptions = { ...DEFAULTS, ...input, config: { ...DEFAULTS.config, ...input.config } };
  const started = performance.now();
  const random = rng(o.seed);
  const dayStart = Date.UTC(2026, 11, 1);
  const dailyBudget = o.impressionsPerSec * DAY_S * o.priceMicros;
  const budget: LeaseBudget = { dailyMicros: dailyBudget };
  const campaign = campaignOf(dailyBudget, o.priceMicros);
  const keys = userRoutingKeys(o.users, o.seed);
  const activity = new Float64Array(o.users);
  for (let i = 0; i < o.users; i++) activity[i] = Math.exp(normal(random));
  const shareCache = new Map<number, number[]>();
  const shares = (k: number) => {
    let s = shareCache.get(k);
    if (!s) shareCache.set(k, (s = sharesFor(k, keys, activity)));
    return s;
  };

  let coordinator: Coordinator = newCoordinator(budget, dayStart);
  const shards: SimShard[] = [];
  const shardAt = (i: number) => {
    while (shards.length <= i) {
      shards.push({
        state: newShard(shards.length, dayStart),
        spentToday: 0,
        held: 0,
        charge: new Float64Array(RING),
        lapse: new Float64Array(RING),
      });
    }
    return shards[i];
  };
  shardAt(0);
  /** Answers in flight: applied at the next step (shard 0 lives in the coordinator's object: at once). */
  let inFlight: { shard: number; lease: Lease }[] = [];
  const account = (s: SimShard): BudgetState => ({
    spentTodayMicros: s.spentToday,
    spentTotalMicros: s.spentToday,
    heldMicros: s.held,
  });
  let renewals = 0;
  const ask = (index: number, now: number) => {
    const shard = shards[index];
    const { shard: asked, request } = renewalRequest(shard.state, account(shard), budget, now, o.config);
    shard.state = asked;
    renewals++;
    hourRenewals++;
    deliver(request, now, index === 0);
  };
  const deliver = (request: RenewRequest, now: number, local: boolean) => {
    const answer = grantLease(coordinator, request, now, o.config);
    if (!answer) return;
    coordinator = answer.coordinator;
    if (local) shards[request.shard].state = applyLease(shards[request.shard].state, answer.lease);
    else inFlight.push({ shard: request.shard, lease: answer.lease });
  };

  const hours: HourRow[] = [];
  const samples: ShardSimResult['samples'] = [];
  let peakCommitted = 0;
  let hourRenewals = 0;
  let hourRefused = 0;
  let _hourHolds = 0;
  let hourDemand = 0;
  let hourServed = 0;
  let minuteServed = 0;
  let kMin = Infinity;
  let kMax = 0;
  let hourKMin = Infinity;
  let hourKMax = 0;
  let kChanges = 0;
  let lastK = 1;
  let idleUnspentAtShift = 0;
  let idleReturnedAfter: number | null = null;
  let refusalsSettledAfter: number | null = null;
  let settledStreak = 0;

  for (let second = 0; second < DAY_S; second++) {
    const now = dayStart + second * 1000;
    const slot = second % RING;
    // Answers sent last step arrive.
    const arriving = inFlight;
    inFlight = [];
    for (const a of arriving) shardAt(a.shard).state = applyLease(shards[a.shard].state, a.lease);
    // Views turn holds into spend; unseen holds lapse at the token TTL.
    for (const s of shards) {
      const charged = s.charge[slot];
      const lapsed = s.lapse[slot];
      s.charge[slot] = 0;
      s.lapse[slot] = 0;
      s.held -= charged + lapsed;
      s.spentToday += charged;
    }
    const k = coordinator.shards;
    if (k !== lastK) {
      kChanges++;
      lastK = k;
    }
    kMin = Math.min(kMin, k);
    kMax = Math.max(kMax, k);
    hourKMin = Math.min(hourKMin, k);
    hourKMax = Math.max(hourKMax, k);
    const hour = second / 3600;
    const shifted = hour >= o.shiftFrom && hour < o.shiftTo;
    let routing = shares(k);
    if (shifted) {
      const busy = Math.max(1, Math.floor(k / 2));
      const total = routing.slice(0, busy).reduce((a, b) => a + b, 0);
      routing = routing.map((s, i) => (i < busy ? s / total : 0));
    }
    if (second === o.shiftFrom * 3600) {
      for (let i = Math.max(1, Math.floor(k / 2)); i < shards.length; i++) {
        const s = shards[i];
        idleUnspentAtShift += Math.max(0, (s.state.lease.dailyMicros ?? 0) - s.spentToday - s.held);
      }
    }
    const demand = o.demandPerSec * trafficAt(second / 60);
    let servedNow = 0;
    let refusedNow = 0;
    let holdsNow = 0;
    for (let i = 0; i < Math.max(k, shards.length); i++) {
      const s = shardAt(i);
      const requests = i < k ? poisson(demand * routing[i], random) : 0;
      hourDemand += requests;
      if (requests > 0) {
        // The isolate's pacing (pass rate on the campaign-wide view) and the shard's lease (its share of the budget).
        const view = campaignView(s.state, account(s));
        const pass = pacingPassRate(campaign, { predictedCtr: 0 }, view, now);
        const attempts = binomial(requests, pass, random);
        if (attempts > 0) {
          s.state = noteDemand(s.state, o.priceMicros, now, o.config, attempts);
          let held = 0;
          if (leaseAllows(s.state, account(s), budget, o.priceMicros, now)) {
            const room = (s.state.lease.dailyMicros ?? Infinity) - s.spentToday - s.held;
            held = Math.min(attempts, Math.floor(room / o.priceMicros));
          }
          holdsNow += attempts;
          refusedNow += attempts - held;
          if (held > 0) {
            const micros = held * o.priceMicros;
            s.held += micros;
            servedNow += held;
            // Views spread over the next minute; the rest lapse at the TTL.
            const seen = Math.round(held * o.viewRate);
            for (let part = 0; part < 4; part++) {
              const n = Math.floor(seen / 4) + (part < seen % 4 ? 1 : 0);
              s.charge[(second + 1 + Math.floor(random() * 60)) % RING] += n * o.priceMicros;
            }
            s.lapse[(second + o.tokenTtlS) % RING] += (held - seen) * o.priceMicros;
          }
        }
      }
      if (renewalDue(s.state, account(s), budget, now, o.config)) ask(i, now);
    }
    hourServed += servedNow;
    minuteServed += servedNow;
    hourRefused += refusedNow;
    _hourHolds += holdsNow;

    let spent = 0;
    let committed = 0;
    for (const s of shards) {
      spent += s.spentToday;
      committed += s.spentToday + s.held;
    }
    peakCommitted = Math.max(peakCommitted, committed);
    if (shifted && second > o.shiftFrom * 3600) {
      const elapsed = second - o.shiftFrom * 3600;
      if (idleReturnedAfter === null) {
        let idle = 0;
        for (let i = Math.max(1, Math.floor(k / 2)); i < shards.length; i++) {
          const s = shards[i];
          idle += Math.max(0, (s.state.lease.dailyMicros ?? 0) - s.spentToday - s.held);
        }
        if (idle <= idleUnspentAtShift * 0.01) idleReturnedAfter = elapsed;
      }
      if (refusalsSettledAfter === null) {
        settledStreak = refusedNow <= holdsNow * 0.01 ? settledStreak + 1 : 0;
        if (settledStreak >= 10) refusalsSettledAfter = elapsed - 9;
      }
    }
    const target = (dailyBudget * (second + 1)) / DAY_S;
    if ((second + 1) % 600 === 0) {
      let idle = 0;
      for (let i = Math.max(1, Math.floor(k / 2)); i < shards.length; i++) {
        const s = shards[i];
        if (shifted) idle += Math.max(0, (s.state.lease.dailyMicros ?? 0) - s.spentToday - s.held);
      }
      samples.push({
        minute: (second + 1) / 60,
        spentMicros: spent,
        targetMicros: target,
        shards: k,
        servedPerSec: minuteServed / 600,
        idleUnspentMicros: idle,
      });
      minuteServed = 0;
    }
    if ((second + 1) % 3600 === 0) {
      hours.push({
        hour: (second + 1) / 3600,
        demandPerSec: Math.round(hourDemand / 3600),
        servedPerSec: Math.round(hourServed / 3600),
        targetMicros: target,
        spentMicros: spent,
        deviation: spent / target - 1,
        shardsMin: hourKMin,
        shardsMax: hourKMax,
        renewals: hourRenewals,
        leaseRefused: hourRefused,
      });
      hourRenewals = 0;
      hourRefused = 0;
      _hourHolds = 0;
      hourDemand = 0;
      hourServed = 0;
      hourKMin = Infinity;
      hourKMax = 0;
    }
  }
  // Holds still live at midnight turn into spend too (the worst case).
  let spentMicros = 0;
  for (const s of shards) spentMicros += s.spentToday + s.held;

  const background = simulateBackground(o, dayStart);
  return {
    options: o,
    dailyBudgetMicros: dailyBudget,
    hours,
    samples,
    spentMicros,
    peakCommittedMicros: peakCommitted,
    overspendMicros: Math.max(0, peakCommitted - dailyBudget, spentMicros - dailyBudget),
    worstHourlyDeviation: hours.reduce((w, h) => (Math.abs(h.deviation) > Math.abs(w) ? h.deviation : w), 0),
    rebalance: {
      idleReturnedAfterS: idleReturnedAfter,
      refusalsSettledAfterS: refusalsSettledAfter,
      idleUnspentAtShiftMicros: idleUnspentAtShift,
    },
    shardCount: { min: kMin, max: kMax, changes: kChanges },
    renewals,
    background,
    wallMs: Math.round(performance.now() - started),
  };
}

/**
 * The other campaigns, in 10-second steps through the same code: rates from a
 * few impressions a minute to 100 a second, all even-paced on
 * daily budgets. They should never leave one shard nor send a lease anywhere.
 */
function simulateBackground(o: ShardSimOptions, dayStart: number): ShardSimResult['background'] {
  const random = rng(o.seed + 1);
  let maxShards = 1;
  let shardedSteps = 0;
  let overspent = 0;
  const meanTraffic = HOURLY_TRAFFIC.reduce((a, b) => a + b, 0) / HOURLY_TRAFFIC.length;
  for (let c = 0; c < o.backgroundCampaigns; c++) {
    const rate = Math.min(100, Math.exp(Math.log(3) + 1.6 * normal(random)));
    const price = 1_000 + Math.floor(random() * 2_000);
    const daily = Math.max(price * 10, Math.floor(rate * DAY_S * price * (0.5 + random())));
    const budget: LeaseBudget = { dailyMicros: daily };
    const campaign = campaignOf(daily, price);
    let coordinator = newCoordinator(budget, dayStart);
    let shard = newShard(0, dayStart);
    let spent = 0;
    for (let step = 0; step < DAY_S / 10; step++) {
      const now = dayStart + step * 10_000;
      const acc: BudgetState = { spentTodayMicros: spent, spentTotalMicros: spent, heldMicros: 0 };
      const requests = poisson(((rate * 2 * trafficAt(step / 6)) / meanTraffic) * 10, random);
      const attempts = binomial(requests, pacingPassRate(campaign, { predictedCtr: 0 }, acc, now), random);
      if (attempts > 0) {
        shard = noteDemand(shard, price, now, o.config, attempts);
        if (leaseAllows(shard, acc, budget, price, now)) {
          const room = (shard.lease.dailyMicros ?? Infinity) - spent;
          spent += Math.min(attempts, Math.floor(room / price)) * price;
        }
      }
      if (renewalDue(shard, { ...acc, spentTodayMicros: spent, spentTotalMicros: spent }, budget, now, o.config)) {
        const asked = renewalRequest(shard, { ...acc, spentTodayMicros: spent, spentTotalMicros: spent }, budget, now, o.config);
        const answer = grantLease(coordinator, asked.request, now, o.config);
        shard = asked.shard;
        if (answer) {
          coordinator = answer.coordinator;
          shard = applyLease(shard, answer.lease);
        }
      }
      maxShards = Math.max(maxShards, coordinator.shards);
      if (coordinator.shards > 1) shardedSteps++;
    }
    if (spent > daily) overspent++;
  }
  return { campaigns: o.backgroundCampaigns, maxShards, shardedSteps, overspent };
}
