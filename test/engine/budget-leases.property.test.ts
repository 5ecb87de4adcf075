/**
 * Budget leases under any interleaving: shards hold, charge and lapse while
 * renewals and answers are delayed, lost, duplicated and reordered, days roll
 * over and K changes. Spend plus live holds never exceeds the daily or the
 * total budget, and the coordinator's records never sum past it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyLease,
  type Coordinator,
  campaignView,
  dayOf,
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
  recallRequest,
  renewalDue,
  renewalRequest,
  resize,
  type ShardState,
  shardFor,
  unallocated,
} from '../../src/engine/budget-leases.js';
import type { BudgetState } from '../../src/engine/types.js';

const DAY_MS = 86_400_000;

interface Hold {
  amount: number;
  expiresAt: number;
}

/** One shard object: its lease state and the spend and holds its SQLite would keep. */
interface ModelShard {
  state: ShardState;
  spent: Map<number, number>;
  holds: Hold[];
}

type Message =
  | { kind: 'request'; request: RenewRequest }
  | { kind: 'answer'; shard: number; lease: Lease }
  | { kind: 'report'; request: RenewRequest };

function account(shard: ModelShard, now: number): BudgetState {
  shard.holds = shard.holds.filter((h) => h.expiresAt > now);
  let spentTotal = 0;
  for (const v of shard.spent.values()) spentTotal += v;
  return {
    spentTodayMicros: shard.spent.get(dayOf(now)) ?? 0,
    spentTotalMicros: spentTotal,
    heldMicros: shard.holds.reduce((s, h) => s + h.amount, 0),
  };
}

const config: LeaseConfig = {
  ...LEASES,
  holdsPerShard: 2,
  maxShards: 5,
  shrinkAfterMs: 30_000,
  renewEveryMs: 200,
  idleReturnMs: 2_000,
};

type Op =
  | { t: 'hold'; s: number; amount: number; ttl: number; times: number }
  | { t: 'charge'; s: number; i: number }
  | { t: 'renew'; s: number; force: boolean }
  | { t: 'recall'; s: number }
  | { t: 'deliver'; i: number }
  | { t: 'drop'; i: number }
  | { t: 'duplicate'; i: number }
  | { t: 'wait'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('hold' as const),
      s: fc.nat(5),
      amount: fc.integer({ min: 1, max: 400 }),
      ttl: fc.integer({ min: 1, max: 60_000 }),
      times: fc.integer({ min: 1, max: 8 }),
    }),
  },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('charge' as const), s: fc.nat(5), i: fc.nat(50) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('renew' as const), s: fc.nat(5), force: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('recall' as const), s: fc.nat(5) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('deliver' as const), i: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('drop' as const), i: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('duplicate' as const), i: fc.nat(20) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('wait' as const),
      ms: fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: 1, max: 3_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 3_600_000, max: 30 * 3_600_000 }) },
      ),
    }),
  },
);

const budgetArb: fc.Arbitrary<LeaseBudget> = fc
  .record({
    dailyMicros: fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }),
    totalMicros: fc.option(fc.integer({ min: 0, max: 12_000 }), { nil: undefined }),
  })
  .filter((b) => b.dailyMicros !== undefined || b.totalMicros !== undefined)
  .map((b) => Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)) as LeaseBudget);

function run(budget: LeaseBudget, start: number, ops: Op[]) {
  let now = start;
  let coordinator: Coordinator = newCoordinator(budget, now);
  const shards: ModelShard[] = Array.from({ length: 6 }, (_, i) => ({ state: newShard(i, now), spent: new Map(), holds: [] }));
  let network: Message[] = [];

  const check = () => {
    let committedToday = 0;
    let committedTotal = 0;
    const spentByDay = new Map<number, number>();
    for (const shard of shards) {
      const a = account(shard, now);
      committedToday += a.spentTodayMicros + a.heldMicros;
      committedTotal += a.spentTotalMicros + a.heldMicros;
      for (const [day, v] of shard.spent) spentByDay.set(day, (spentByDay.get(day) ?? 0) + v);
    }
    if (budget.dailyMicros !== undefined) {
      expect(committedToday).toBeLessThanOrEqual(budget.dailyMicros);
      for (const v of spentByDay.values()) expect(v).toBeLessThanOrEqual(budget.dailyMicros);
    }
    if (budget.totalMicros !== undefined) expect(committedTotal).toBeLessThanOrEqual(budget.totalMicros);
    const free = unallocated(coordinator);
    if (free.dailyMicros !== null && dayOf(now) === coordinator.day) expect(free.dailyMicros).toBeGreaterThanOrEqual(0);
    if (free.totalMicros !== null) expect(free.totalMicros).toBeGreaterThanOrEqual(0);
  };

  const send = (s: number) => {
    const shard = shards[s];
    const { shard: next, request } = renewalRequest(shard.state, account(shard, now), budget, now, config);
    shard.state = next;
    network.push({ kind: 'request', request });
  };

  for (const op of ops) {
    switch (op.t) {
      case 'hold': {
        // Holds go where the shard count routes them, and sometimes to a retired or not yet known shard.
        const index = op.s % (coordinator.shards + 1);
        const shard = shards[index];
        for (let n = 0; n < op.times; n++) {
          const a = account(shard, now);
          shard.state = noteDemand(shard.state, op.amount, now, config);
          if (leaseAllows(shard.state, a, budget, op.amount, now))
            shard.holds.push({ amount: op.amount, expiresAt: now + op.ttl });
          if (renewalDue(shard.state, account(shard, now), budget, now, config)) send(index);
        }
        break;
      }
      case 'charge': {
        const holding = shards.filter((s) => account(s, now).heldMicros > 0);
        if (holding.length === 0) break;
        const shard = holding[op.s % holding.length];
        const [hold] = shard.holds.splice(op.i % shard.holds.length, 1);
        shard.spent.set(dayOf(now), (shard.spent.get(dayOf(now)) ?? 0) + hold.amount);
        break;
      }
      case 'renew': {
        const index = op.s % (coordinator.shards + 1);
        if (op.force || renewalDue(shards[index].state, account(shards[index], now), budget, now, config)) send(index);
        break;
      }
      case 'recall': {
        // The coordinator asks for unspent lease back; the shard lowers at once, its report travels like any message.
        const shard = shards[op.s % (coordinator.shards + 1)];
        const { shard: next, request } = recallRequest(shard.state, account(shard, now), now);
        shard.state = next;
        network.push({ kind: 'report', request });
        break;
      }
      case 'deliver': {
        if (network.length === 0) break;
        const [message] = network.splice(op.i % network.length, 1);
        if (message.kind === 'report') {
          const recorded = grantLease(coordinator, message.request, now, config, false);
          if (recorded) coordinator = recorded.coordinator;
        } else if (message.kind === 'request') {
          const answer = grantLease(coordinator, message.request, now, config);
          if (answer) {
            coordinator = answer.coordinator;
            network.push({ kind: 'answer', shard: message.request.shard, lease: answer.lease });
          }
        } else {
          shards[message.shard].state = applyLease(shards[message.shard].state, message.lease);
        }
        break;
      }
      case 'drop':
        if (network.length > 0) network.splice(op.i % network.length, 1);
        break;
      case 'duplicate':
        if (network.length > 0) network.push(network[op.i % network.length]);
        break;
      case 'wait':
        now += op.ms;
        coordinator = resize(coordinator, now, config);
        break;
    }
    check();
  }
  network = [];
  return { coordinator, shards, now };
}

describe('budget leases', () => {
  it('never let spend and holds pass the daily or total budget, under any interleaving', () => {
    fc.assert(
      fc.property(
        budgetArb,
        fc.integer({ min: 0, max: DAY_MS - 1 }),
        fc.array(opArb, { minLength: 1, maxLength: 300, size: 'max' }),
        (budget, offset, ops) => {
          run(budget, Date.UTC(2026, 11, 1) + offset, ops);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a lone shard holds the whole budget without any message', () => {
    const now = Date.UTC(2026, 11, 1, 10);
    const budget = { dailyMicros: 1_000_000, totalMicros: 5_000_000 };
    let coordinator = newCoordinator(budget, now);
    let shard = newShard(0, now);
    const a: BudgetState = { spentTodayMicros: 0, spentTotalMicros: 0, heldMicros: 0 };
    const { shard: asked, request } = renewalRequest(shard, a, budget, now);
    const answer = grantLease(coordinator, request, now)!;
    coordinator = answer.coordinator;
    shard = applyLease(asked, answer.lease);
    expect(shard.lease).toMatchObject({ dailyMicros: 1_000_000, totalMicros: 5_000_000, shards: 1 });
    expect(leaseAllows(shard, a, budget, 1_000_000, now)).toBe(true);
    // A few holds a second never make it renew before the second is out, nor ask for more shards.
    for (let i = 0; i < 5; i++) shard = noteDemand(shard, 2_000, now + i * 100);
    expect(renewalDue(shard, a, budget, now + 500)).toBe(false);
    expect(coordinator.shards).toBe(1);
  });

  it('K follows the rate up at once and down after a quiet spell; idle shards give their lease back to busy ones', () => {
    const cfg: LeaseConfig = { ...LEASES, holdsPerShard: 100, shrinkAfterMs: 60_000 };
    let now = Date.UTC(2026, 11, 1, 10);
    const budget = { dailyMicros: 10_000_000_000 };
    let coordinator = newCoordinator(budget, now);
    const shards = Array.from({ length: 8 }, (_, i) => newShard(i, now));
    const accounts = shards.map((): BudgetState => ({ spentTodayMicros: 0, spentTotalMicros: 0, heldMicros: 0 }));
    const renew = (i: number) => {
      const asked = renewalRequest(shards[i], accounts[i], budget, now, cfg);
      const answer = grantLease(coordinator, asked.request, now, cfg)!;
      coordinator = answer.coordinator;
      shards[i] = applyLease(asked.shard, answer.lease);
    };
    // 500 holds/s at shard 0 alone: K grows to 5.
    for (let t = 0; t < 30; t++) {
      now += 1000;
      shards[0] = noteDemand(shards[0], 1_000, now, cfg, 500);
      renew(0);
    }
    expect(coordinator.shards).toBe(5);
    // Spread over 5 shards; then shards 3 and 4 go quiet: their leases shrink, the busy ones' grow.
    for (let t = 0; t < 30; t++) {
      now += 1000;
      for (let i = 0; i < 5; i++) {
        const holds = t < 10 || i < 3 ? 100 : 0;
        shards[i] = noteDemand(shards[i], 1_000, now, cfg, holds);
        accounts[i].spentTodayMicros += holds * 1_000;
        accounts[i].spentTotalMicros += holds * 1_000;
        renew(i);
      }
    }
    renew(0);
    const headroom = (i: number) => (shards[i].lease.dailyMicros ?? 0) - accounts[i].spentTodayMicros;
    expect(headroom(4)).toBeLessThan(headroom(0) / 10);
    expect(shards[0].lease.othersSpentTodayMicros).toBe(accounts.slice(1).reduce((s, a) => s + a.spentTodayMicros, 0));
    expect(campaignView(shards[0], accounts[0]).spentTodayMicros).toBe(accounts.reduce((s, a) => s + a.spentTodayMicros, 0));
    // 300 holds/s fit in 3 shards; K halves only after a minute of that.
    expect(coordinator.shards).toBe(5);
    for (let t = 0; t < 120; t++) {
      now += 1000;
      for (let i = 0; i < 3; i++) {
        shards[i] = noteDemand(shards[i], 1_000, now, cfg, 50);
        renew(i);
      }
    }
    expect(coordinator.shards).toBe(3);
  });

  it('a stale answer is ignored, and a request older than one applied is refused', () => {
    const now = Date.UTC(2026, 11, 1, 10);
    const budget = { dailyMicros: 1_000 };
    const coordinator = newCoordinator(budget, now);
    const a: BudgetState = { spentTodayMicros: 0, spentTotalMicros: 0, heldMicros: 0 };
    const first = renewalRequest(newShard(0, now), a, budget, now);
    const second = renewalRequest(first.shard, a, budget, now + 10_000);
    const late = grantLease(coordinator, first.request, now)!;
    expect(applyLease(second.shard, late.lease).lease.dailyMicros).toBe(0);
    const fresh = grantLease(coordinator, second.request, now)!;
    expect(grantLease(fresh.coordinator, first.request, now)).toBeNull();
    // A duplicated request would re-grant from the lower reported ceiling: below what the shard may already hold.
    expect(grantLease(fresh.coordinator, second.request, now)).toBeNull();
  });

  it('spreads users over shards evenly', () => {
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[shardFor(Math.imul(i, 2654435761), 7)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });
});
