/**
 * Budget shards: one campaign's daily and total budgets split into leases held
 * by K shard objects, so its holds spread over K single-threaded objects. The
 * coordinator keeps, per shard, an upper bound of what that shard may commit
 * (spend plus live holds); those bounds never sum past the budget, and a shard
 * never commits past its lease, so spend never exceeds the budget however
 * messages are delayed, lost or reordered. Pure: time comes in, plain data
 * (JSON-safe) goes in and out; the Durable Objects persist and carry it.
 *
 * A small campaign keeps one shard, which is the coordinator itself holding
 * the whole budget: no lease ever travels, it pays nothing extra.
 */
import type { BudgetState } from './types.js';

const DAY_MS = 86_400_000;

export interface LeaseBudget {
  dailyMicros?: number;
  totalMicros?: number;
}

export interface LeaseConfig {
  /** Holds per second one shard should take at most: K = ⌈rate / this⌉. */
  holdsPerShard: number;
  /** K never falls below this (1: small campaigns keep one shard; more only to exercise sharding). */
  minShards: number;
  maxShards: number;
  /** A shard's lease covers its demand for this long. */
  horizonMs: number;
  /** A shard with demand reports (and renews) at least this often: fresh rates and pacing. */
  renewEveryMs: number;
  /** A shard without demand returns its unspent lease after this long. */
  idleReturnMs: number;
  /** A renewal unanswered this long is given up (its answer will be ignored). */
  renewTimeoutMs: number;
  /** Fewer shards only when the rate has fitted in half of them this long. */
  shrinkAfterMs: number;
  /** Rates are exponential averages over about this long. */
  rateTauMs: number;
}

export const LEASES: LeaseConfig = {
  holdsPerShard: 400,
  minShards: 1,
  maxShards: 64,
  horizonMs: 3_000,
  renewEveryMs: 1_000,
  idleReturnMs: 10_000,
  renewTimeoutMs: 5_000,
  shrinkAfterMs: 600_000,
  rateTauMs: 10_000,
};

export function dayOf(now: number): number {
  return Math.floor(now / DAY_MS);
}

/** What a shard may commit: spend + live holds stay within both ceilings. `null`: that budget is unbounded. */
export interface Lease {
  /** The UTC day (dayOf) the daily ceiling is for; on a later day the shard commits nothing until renewed. */
  day: number;
  dailyMicros: number | null;
  totalMicros: number | null;
  /** The budget it was granted under: a hold that names another budget waits for a new lease. */
  budget: LeaseBudget;
  /** The other shards' spend today and live holds, as last reported: pacing judges the whole campaign. */
  othersSpentTodayMicros: number;
  othersHeldMicros: number;
  /** The other shards' spend ever, as last reported (views of the whole campaign). */
  othersSpentTotalMicros: number;
  /** How many shards holds are routed to now. */
  shards: number;
  seq: number;
}

/** Demand seen by a shard: exponential averages of holds asked for (those pacing let through). */
export interface RateMeter {
  since: number;
  holds: number;
  micros: number;
  holdsPerSec: number;
  microsPerSec: number;
  /** The most one hold asked for: leases never shrink below a few of them. */
  maxHoldMicros: number;
}

export interface ShardState {
  index: number;
  lease: Lease;
  /** The seq of the renewal awaiting its answer, or null. */
  awaiting: number | null;
  renewedAt: number;
  meter: RateMeter;
}

/** What a shard reports when it asks for a lease (after releasing what it does not need). */
export interface RenewRequest {
  shard: number;
  seq: number;
  /** The shard's ceilings as they stand now, after its own release; its lease day. */
  day: number;
  dailyMicros: number | null;
  totalMicros: number | null;
  account: BudgetState;
  /** The budget as the latest hold named it (from the catalog). */
  budget: LeaseBudget;
  holdsPerSec: number;
  microsPerSec: number;
  maxHoldMicros: number;
  now: number;
  /** The hold the shard has in hand and could not take (0 or absent: none): granted ahead of the demand share if the pool has it. */
  needMicros?: number;
}

export interface ShardRecord {
  /** Upper bound of what the shard may commit against the coordinator's day, and ever. */
  dailyMicros: number;
  totalMicros: number;
  /** Last request applied; older ones are ignored. */
  seq: number;
  /** From its last report (for `reportDay`). */
  reportDay: number;
  spentTodayMicros: number;
  heldMicros: number;
  spentTotalMicros: number;
  holdsPerSec: number;
  microsPerSec: number;
  maxHoldMicros: number;
  reportedAt: number;
}

export interface Coordinator {
  day: number;
  budget: LeaseBudget;
  /** Shards new holds are routed to: 0 … shards−1. Records beyond drain and return their leases. */
  shards: number;
  records: ShardRecord[];
  resizedAt: number;
  /** Since when the rate has fitted in half the shards (null: it has not). */
  underusedSince: number | null;
}

const MIN_KEEP_HOLDS = 4;

function emptyMeter(now: number): RateMeter {
  return { since: now, holds: 0, micros: 0, holdsPerSec: 0, microsPerSec: 0, maxHoldMicros: 0 };
}

function emptyRecord(): ShardRecord {
  return {
    dailyMicros: 0,
    totalMicros: 0,
    seq: 0,
    reportDay: 0,
    spentTodayMicros: 0,
    heldMicros: 0,
    spentTotalMicros: 0,
    holdsPerSec: 0,
    microsPerSec: 0,
    maxHoldMicros: 0,
    reportedAt: 0,
  };
}

/** A campaign's coordinator as created: one shard (itself) to which the whole budget will go (`minShards` if more). */
export function newCoordinator(budget: LeaseBudget, now: number, config: LeaseConfig = LEASES): Coordinator {
  const shards = Math.max(1, Math.min(config.maxShards, config.minShards));
  return {
    day: dayOf(now),
    budget,
    shards,
    records: Array.from({ length: shards }, emptyRecord),
    resizedAt: now,
    underusedSince: null,
  };
}

/** A shard before its first lease: it may commit nothing. */
export function newShard(index: number, now: number): ShardState {
  return {
    index,
    lease: {
      day: dayOf(now),
      dailyMicros: 0,
      totalMicros: 0,
      budget: {},
      othersSpentTodayMicros: 0,
      othersHeldMicros: 0,
      othersSpentTotalMicros: 0,
      shards: 1,
      seq: 0,
    },
    awaiting: null,
    renewedAt: -Infinity,
    meter: emptyMeter(now),
  };
}

function sameBudget(a: LeaseBudget, b: LeaseBudget): boolean {
  return a.dailyMicros === b.dailyMicros && a.totalMicros === b.totalMicros;
}

/** Micros the shard may still commit under its lease (≤ 0: none). */
export function headroomMicros(lease: Lease, account: BudgetState, now: number): number {
  let room = Infinity;
  if (lease.dailyMicros !== null) {
    room = dayOf(now) === lease.day ? lease.dailyMicros - account.spentTodayMicros - account.heldMicros : 0;
  }
  if (lease.totalMicros !== null) room = Math.min(room, lease.totalMicros - account.spentTotalMicros - account.heldMicros);
  return room;
}

/** Whether the shard may hold `amountMicros` now (the authority's budget check, in place of the whole budget). */
export function leaseAllows(
  shard: ShardState,
  account: BudgetState,
  budget: LeaseBudget,
  amountMicros: number,
  now: number,
): boolean {
  if (!sameBudget(shard.lease.budget, budget)) return false;
  return headroomMicros(shard.lease, account, now) >= amountMicros;
}

/** The campaign as pacing should see it from this shard: its own account plus the others' as last reported. */
export function campaignView(shard: ShardState, account: BudgetState): BudgetState {
  return {
    spentTodayMicros: account.spentTodayMicros + shard.lease.othersSpentTodayMicros,
    spentTotalMicros: account.spentTotalMicros,
    heldMicros: account.heldMicros + shard.lease.othersHeldMicros,
  };
}

/** Counts one hold asked for (whether or not the lease allowed it): demand drives lease sizes and K. */
export function noteDemand(
  shard: ShardState,
  amountMicros: number,
  now: number,
  config: LeaseConfig = LEASES,
  holds = 1,
): ShardState {
  return { ...shard, meter: meterAdd(shard.meter, holds, amountMicros * holds, amountMicros, now, config) };
}

function meterAdd(meter: RateMeter, holds: number, micros: number, maxHold: number, now: number, config: LeaseConfig): RateMeter {
  const next = {
    ...meter,
    holds: meter.holds + holds,
    micros: meter.micros + micros,
    maxHoldMicros: Math.max(meter.maxHoldMicros, maxHold),
  };
  return meterFold(next, now, config);
}

/** Folds the counts since `since` into the averages once at least 1 s has passed. */
function meterFold(meter: RateMeter, now: number, config: LeaseConfig): RateMeter {
  const elapsed = now - meter.since;
  if (elapsed < 1000) return meter;
  const weight = 1 - Math.exp(-elapsed / config.rateTauMs);
  const seconds = elapsed / 1000;
  return {
    since: now,
    holds: 0,
    micros: 0,
    holdsPerSec: meter.holdsPerSec + weight * (meter.holds / seconds - meter.holdsPerSec),
    microsPerSec: meter.microsPerSec + weight * (meter.micros / seconds - meter.microsPerSec),
    maxHoldMicros: meter.maxHoldMicros,
  };
}

/** What this shard wants to have in hand: its demand over the horizon, never less than a few holds; all of it alone. */
function keepMicros(
  shards: number,
  index: number,
  meter: { microsPerSec: number; maxHoldMicros: number },
  config: LeaseConfig,
): number {
  if (index >= shards) return 0;
  if (shards === 1) return Infinity;
  return Math.floor(Math.max(MIN_KEEP_HOLDS * meter.maxHoldMicros, (meter.microsPerSec * config.horizonMs) / 1000));
}

/**
 * Whether the shard should ask for a new lease now: the day or the budget
 * changed, its headroom fell below half of what it wants, it has demand and
 * has not reported for `renewEveryMs`, or it sits idle on unspent lease.
 */
export function renewalDue(
  shard: ShardState,
  account: BudgetState,
  budget: LeaseBudget,
  now: number,
  config: LeaseConfig = LEASES,
): boolean {
  if (shard.awaiting !== null && now - shard.renewedAt < config.renewTimeoutMs) return false;
  const { lease } = shard;
  if (!sameBudget(lease.budget, budget)) return true;
  if (lease.dailyMicros !== null && lease.day !== dayOf(now)) return true;
  const meter = meterFold(shard.meter, now, config);
  const since = now - shard.renewedAt;
  const headroom = headroomMicros(lease, account, now);
  const keep = keepMicros(lease.shards, shard.index, meter, config);
  const busy = meter.holdsPerSec > 0.01 || meter.holds > 0;
  if (busy && since >= config.renewEveryMs) return true;
  if (Number.isFinite(keep) && headroom < keep / 2 && busy && since >= 50) return true;
  if (!busy && since >= config.idleReturnMs && headroom > MIN_KEEP_HOLDS * meter.maxHoldMicros) return true;
  return false;
}

/**
 * The shard releases what it does not want (never below what it has
 * committed), then reports. Its ceilings only rise again when the answer to
 * this very request arrives.
 */
export function renewalRequest(
  shard: ShardState,
  account: BudgetState,
  budget: LeaseBudget,
  now: number,
  config: LeaseConfig = LEASES,
): { shard: ShardState; request: RenewRequest } {
  const meter = meterFold(shard.meter, now, config);
  const { lease } = shard;
  const keep = keepMicros(lease.shards, shard.index, meter, config);
  const today = dayOf(now);
  const committedToday = account.spentTodayMicros + account.heldMicros;
  const committedTotal = account.spentTotalMicros + account.heldMicros;
  let dailyMicros = lease.dailyMicros;
  if (dailyMicros !== null) {
    // On a later day the old ceiling no longer allows anything: what is committed is all it holds.
    dailyMicros = lease.day === today ? Math.min(dailyMicros, Math.max(committedToday, committedToday + keep)) : committedToday;
  }
  let totalMicros = lease.totalMicros;
  if (totalMicros !== null) totalMicros = Math.min(totalMicros, Math.max(committedTotal, committedTotal + keep));
  const seq = Math.max(lease.seq, shard.awaiting ?? 0) + 1;
  // Both ceilings are now valid for today: lowered on the same day, or what is committed on a new one.
  const next: ShardState = {
    ...shard,
    lease: { ...lease, day: today, dailyMicros, totalMicros },
    awaiting: seq,
    renewedAt: now,
    meter,
  };
  return {
    shard: next,
    request: leaseRequest(shard.index, seq, next.lease, account, budget, meter, now),
  };
}

/**
 * The coordinator wants this shard's unspent lease back (the pool ran short, or the budget
 * changed): the shard lowers its ceilings to what it has committed, at once and on its own
 * authority, and reports. The report takes the next seq and settles the shard (nothing
 * awaited), so an answer to an earlier renewal still in flight is ignored; the coordinator
 * records it with `grantLease(…, false)`. With `budget`, the lowered lease stands for it.
 * With `keep`, ceilings go down only to it where it exceeds what is committed (never up).
 */
export function recallRequest(
  shard: ShardState,
  account: BudgetState,
  now: number,
  budget: LeaseBudget = shard.lease.budget,
  keep: { dailyMicros: number | null; totalMicros: number | null } = { dailyMicros: null, totalMicros: null },
): { shard: ShardState; request: RenewRequest } {
  const { lease } = shard;
  const today = dayOf(now);
  // Down to what is committed, or to `keep` (a budget cut's share: spend + the room left to it) if that is more.
  const committedToday = account.spentTodayMicros + account.heldMicros;
  const committedTotal = account.spentTotalMicros + account.heldMicros;
  let dailyMicros = lease.dailyMicros;
  if (dailyMicros !== null) {
    // On a later day the old ceiling allows nothing: what is committed is all it may keep.
    dailyMicros = lease.day === today ? Math.min(dailyMicros, Math.max(committedToday, keep.dailyMicros ?? 0)) : committedToday;
  }
  let totalMicros = lease.totalMicros;
  if (totalMicros !== null) totalMicros = Math.min(totalMicros, Math.max(committedTotal, keep.totalMicros ?? 0));
  const seq = Math.max(lease.seq, shard.awaiting ?? 0) + 1;
  const next: ShardState = {
    ...shard,
    lease: { ...lease, day: today, dailyMicros, totalMicros, budget, seq },
    awaiting: null,
  };
  const meter = meterFold(shard.meter, now, LEASES);
  return {
    shard: next,
    request: leaseRequest(shard.index, seq, next.lease, account, budget, meter, now),
  };
}

/** What a shard tells the coordinator: request `seq`, its ceilings as they now stand (day and both), its account and demand. */
function leaseRequest(
  shard: number,
  seq: number,
  ceilings: { day: number; dailyMicros: number | null; totalMicros: number | null },
  account: BudgetState,
  budget: LeaseBudget,
  meter: RateMeter,
  now: number,
): RenewRequest {
  const { day, dailyMicros, totalMicros } = ceilings;
  const { holdsPerSec, microsPerSec, maxHoldMicros } = meter;
  return { shard, seq, day, dailyMicros, totalMicros, account, budget, holdsPerSec, microsPerSec, maxHoldMicros, now };
}

/** Applies the coordinator's answer if it answers the request the shard is waiting for; any other is stale. */
export function applyLease(shard: ShardState, lease: Lease): ShardState {
  if (shard.awaiting === null || lease.seq !== shard.awaiting) return shard;
  return { ...shard, lease, awaiting: null };
}

/** Moves the coordinator to a new UTC day: each shard keeps, at most, what it could have held over midnight. */
function rollDay(coordinator: Coordinator, now: number): Coordinator {
  const today = dayOf(now);
  if (today <= coordinator.day) return coordinator;
  const records = coordinator.records.map((r) => {
    // Held over midnight ≤ ceiling − spend that day; spend only grows, so the last report bounds it.
    const spent = r.reportDay === coordinator.day && today === coordinator.day + 1 ? r.spentTodayMicros : 0;
    const carry = today === coordinator.day + 1 ? Math.max(0, r.dailyMicros - spent) : Math.max(0, r.dailyMicros);
    return { ...r, dailyMicros: carry };
  });
  return { ...coordinator, day: today, records };
}

function sum(records: ShardRecord[], pick: (r: ShardRecord) => number): number {
  let s = 0;
  for (const r of records) s += pick(r);
  return s;
}

/**
 * Answers a shard's renewal: records what it now holds, then grants from the
 * unallocated pool up to what it wants. When the pool is short each shard gets
 * at most its share of it by demand, so one busy shard cannot starve the rest.
 * With `grants` false it only records (a recall's report). Returns null for a
 * request older than one already applied (its answer would be ignored anyway).
 */
export function grantLease(
  coordinator: Coordinator,
  request: RenewRequest,
  now: number,
  config: LeaseConfig = LEASES,
  grants = true,
): { coordinator: Coordinator; lease: Lease } | null {
  let c = rollDay(coordinator, Math.max(now, request.now));
  const records = c.records.slice();
  while (records.length <= request.shard) records.push(emptyRecord());
  const previous = records[request.shard];
  if (request.seq <= previous.seq) return null;
  const today = c.day;
  const budget = request.budget;
  const committedToday = request.account.spentTodayMicros + request.account.heldMicros;
  const committedTotal = request.account.spentTotalMicros + request.account.heldMicros;
  // What the shard may commit from now on, an upper bound either way: its ceiling as it reported it (it
  // lowers its ceilings itself before asking and never raises them until answered) or our last bound,
  // whichever is lower. Asked on an earlier day, its lease allows nothing today: only the holds it had
  // then can still turn into today's spend. Without a ceiling (a budget just added), what it committed.
  const dailyBound =
    request.dailyMicros === null
      ? committedToday
      : Math.min(previous.dailyMicros, request.day === today ? request.dailyMicros : request.account.heldMicros);
  const record: ShardRecord = {
    dailyMicros: dailyBound,
    totalMicros: request.totalMicros === null ? committedTotal : Math.min(previous.totalMicros, request.totalMicros),
    seq: request.seq,
    reportDay: dayOf(request.now),
    spentTodayMicros: request.account.spentTodayMicros,
    heldMicros: request.account.heldMicros,
    spentTotalMicros: request.account.spentTotalMicros,
    holdsPerSec: request.holdsPerSec,
    microsPerSec: request.microsPerSec,
    maxHoldMicros: request.maxHoldMicros,
    reportedAt: now,
  };
  // A lease never holds less than is committed: the shard keeps its ceilings ≥ committed itself.
  records[request.shard] = record;
  c = { ...c, records, budget };
  c = resize(c, now, config);
  const keep = grants ? keepMicros(c.shards, request.shard, record, config) : 0;
  const active = c.records.slice(0, c.shards);
  const demand = sum(active, (r) => r.microsPerSec);
  const share = request.shard >= c.shards ? 0 : demand > 0 ? Math.max(record.microsPerSec / demand, 1 / c.shards) : 1 / c.shards;

  const grantFor = (
    budgetMicros: number | undefined,
    held: number,
    committed: number,
    pick: (r: ShardRecord) => number,
  ): number | null => {
    if (budgetMicros === undefined) return null;
    if (!grants) return held;
    const pool = Math.max(0, budgetMicros - sum(c.records, pick));
    const need = Math.max(0, committed + (request.needMicros ?? 0) - held);
    const want = Math.max(need, committed + keep - held, 0);
    const shared = c.shards === 1 ? pool : Math.floor(pool * Math.min(1, share * 2));
    const grant = Math.min(want, Math.max(shared, need));
    return held + Math.max(0, Math.floor(Math.min(grant, pool)));
  };
  const dailyMicros = grantFor(budget.dailyMicros, record.dailyMicros, committedToday, (r) => r.dailyMicros);
  const totalMicros = grantFor(budget.totalMicros, record.totalMicros, committedTotal, (r) => r.totalMicros);
  const granted: ShardRecord = {
    ...record,
    dailyMicros: dailyMicros ?? record.dailyMicros,
    totalMicros: totalMicros ?? record.totalMicros,
  };
  const finalRecords = c.records.slice();
  finalRecords[request.shard] = granted;
  c = { ...c, records: finalRecords };
  let othersSpent = 0;
  let othersHeld = 0;
  let othersSpentTotal = 0;
  c.records.forEach((r, i) => {
    if (i !== request.shard) othersSpentTotal += r.spentTotalMicros;
    if (i === request.shard || r.reportDay !== today) return;
    othersSpent += r.spentTodayMicros;
    othersHeld += r.heldMicros;
  });
  return {
    coordinator: c,
    lease: {
      day: today,
      dailyMicros,
      totalMicros,
      budget,
      othersSpentTodayMicros: othersSpent,
      othersHeldMicros: othersHeld,
      othersSpentTotalMicros: othersSpentTotal,
      shards: c.shards,
      seq: request.seq,
    },
  };
}

/**
 * K follows the campaign's rate: grows at once when the reported holds per
 * second exceed what K shards should take, shrinks (by half at most) only
 * after the rate has fitted in half the shards for `shrinkAfterMs`.
 */
export function resize(coordinator: Coordinator, now: number, config: LeaseConfig = LEASES): Coordinator {
  const fresh = coordinator.records.filter((r) => now - r.reportedAt <= config.rateTauMs * 3);
  const rate = sum(fresh, (r) => r.holdsPerSec);
  const least = Math.max(1, Math.min(config.maxShards, config.minShards));
  const wanted = Math.max(least, Math.min(config.maxShards, Math.ceil(rate / config.holdsPerShard)));
  if (wanted > coordinator.shards) {
    const records = coordinator.records.slice();
    while (records.length < wanted) records.push(emptyRecord());
    return { ...coordinator, shards: wanted, records, resizedAt: now, underusedSince: null };
  }
  if (wanted * 2 <= coordinator.shards) {
    const since = coordinator.underusedSince ?? now;
    if (now - since >= config.shrinkAfterMs) {
      return {
        ...coordinator,
        shards: Math.max(wanted, Math.ceil(coordinator.shards / 2)),
        resizedAt: now,
        underusedSince: null,
      };
    }
    return coordinator.underusedSince === null ? { ...coordinator, underusedSince: now } : coordinator;
  }
  return coordinator.underusedSince === null ? coordinator : { ...coordinator, underusedSince: null };
}

/** The shard a user's holds for a campaign go to: a stable 32-bit hash of its pseudonym, spread over K. */
export function shardFor(uidHash: number, shards: number): number {
  return shards <= 1 ? 0 : (uidHash >>> 0) % shards;
}

/** The shard a hold goes to when K shards take holds: 32 bits of FNV-1a over its reservation id (its random tail spreads it). */
export function holdShard(reservationId: string, shards: number): number {
  if (shards <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < reservationId.length; i++) {
    h ^= reservationId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return shardFor(h, shards);
}

/** Allocation the coordinator has not handed out (for reports and tests). */
export function unallocated(coordinator: Coordinator): { dailyMicros: number | null; totalMicros: number | null } {
  const { budget, records } = coordinator;
  return {
    dailyMicros: budget.dailyMicros === undefined ? null : budget.dailyMicros - sum(records, (r) => r.dailyMicros),
    totalMicros: budget.totalMicros === undefined ? null : budget.totalMicros - sum(records, (r) => r.totalMicros),
  };
}
