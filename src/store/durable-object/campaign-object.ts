/**
 * One campaign's money and counters inside Durable Objects: daily and total spend, live
 * budget holds, daily report aggregates with the reach sketch, and distinct reporters.
 * A campaign's own object is the single writer for it network-wide; a campaign too busy
 * for one object splits its budget over K shard objects holding leases on it (shard 0,
 * its own object, coordinates), so spend across them never exceeds the budget either.
 */
import { and, between, desc, eq, inArray, lte, sql } from 'drizzle-orm';
import * as t from '../../../schema/tables.js';
import {
  appliedEffects,
  budgetCoordinator,
  budgetHolds,
  budgetInForce,
  budgetShard,
  ctrPending,
} from '../../../schema/tables.js';
import {
  applyLease,
  type Coordinator,
  campaignView,
  dayOf,
  grantLease,
  headroomMicros,
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
  type ShardState,
} from '../../engine/budget-leases.js';
import { pacingAllows } from '../../engine/eligibility.js';
import type { BudgetState, ServableCampaign } from '../../engine/types.js';
import { applyCampaignSide, type CampaignEffect, type CampaignSideTx, reviewReported } from '../event-procedure.js';
import type { CatalogStore, ReportRow } from '../interface.js';
import { Reach } from '../reach.js';
import {
  REPORT_COUNTERS,
  type ReportBy,
  type ReportCounter,
  reportKeys,
  type StoredReportRow,
  toReportRows,
} from '../report-rows.js';
import { reportersSince } from '../reporters.js';
import { utcDay } from '../utc-day.js';
import { statementChunks } from './bound-parameters.js';
import type { CampaignObjectRpc } from './index.js';
import { type RawSql, rawSqlOf } from './raw-sql.js';
import type { ObjectAlarms, ObjectDb, OutboxEffect } from './user-object.js';

/**
 * An event's campaign-side writes as plain SQL on the storage, one statement text each: drizzle built them on every
 * call, and wrote amounts into the text (workerd binds numbers as REAL), so every new amount compiled a statement
 * of its own. Amounts are bound and cast to integers here (a cast truncates, as Math.trunc did).
 */
const REPORT_ROW = 'campaign_id = ? and "by" = ? and day = ? and "key" = ?';
const SKETCH_SQL = `select reach_sketch from report_rows where ${REPORT_ROW}`;
const REPORT_SQL = Object.fromEntries(
  REPORT_COUNTERS.filter((c) => c !== 'spendMicros').map((counter) => {
    const column = t.reportRows[counter].name;
    return [
      counter,
      {
        insert: `insert into report_rows (campaign_id, "by", day, "key", ${column}, spend_micros, reach_sketch) values (?, ?, ?, ?, 1, cast(? as integer), ?)`,
        update: `update report_rows set ${column} = ${column} + 1, spend_micros = spend_micros + cast(? as integer), reach_sketch = ? where ${REPORT_ROW}`,
      },
    ];
  }),
) as Record<Exclude<ReportCounter, 'spendMicros'>, { insert: string; update: string }>;
const SPEND_SQL = `insert into campaign_spend (campaign_id, day, spend_micros) values (?, ?, cast(? as integer))
  on conflict (campaign_id, day) do update set spend_micros = spend_micros + excluded.spend_micros`;
const SPENT_TODAY_SQL = 'select spend_micros from campaign_spend where campaign_id = ? and day = ?';
const SPENT_TOTAL_SQL = 'select coalesce(sum(spend_micros), 0) from campaign_spend where campaign_id = ?';
const APPLIED_SQL =
  'insert into do_applied_effects (reservation_id, type, at) values (?, ?, ?) on conflict do nothing returning 1';
/** Applied before (an effect of a row delivered again, taken before session 16 by its (reservation, type)). */
const APPLIED_BEFORE_SQL = 'select 1 from do_applied_effects where reservation_id = ? and type = ?';
const TAKEN_SQL = 'select row from do_outbox_taken where campaign_id = ? and shard = ? and source = ?';
const TAKE_SQL = `insert into do_outbox_taken (campaign_id, shard, source, row, at) values (?, ?, ?, ?, ?)
  on conflict (campaign_id, shard, source) do update set row = max(row, excluded.row), at = excluded.at`;
const CHARGED_HOLD_SQL = 'delete from do_budget_holds where reservation_id = ? returning amount_micros, expires_at';
const CTR_SQL = `insert into do_ctr_pending (creative_id, impressions, clicks) values (?, cast(? as integer), cast(? as integer))
  on conflict (creative_id) do update set impressions = impressions + excluded.impressions, clicks = clicks + excluded.clicks`;

/** Reaches one budget shard of a campaign (shard 0: the campaign's own object). */
export type ShardDirectory = (campaignId: string, shard: number) => CampaignObjectRpc;

/**
 * The shard an effect goes to: the one holding its reservation's budget. Reports go to
 * shard 0, where distinct reporters are counted and the review threshold is judged.
 */
export function effectShard(effect: CampaignEffect): number {
  return effect.type === 'report' ? 0 : (effect.shard ?? 0);
}

/**
 * A budget cut across shards (`reports`: each shard's, after lowering its lease to what it
 * committed): null if spend + holds fit the new budget; otherwise, per shard, its spend
 * plus a share of what the budget leaves, split by holds (largest remainder, so the
 * shares sum exactly to what is left and no shard keeps more than it holds).
 */
export function cutTargets(reports: RenewRequest[], budget: LeaseBudget): TrimTarget[] | null {
  const dimension = (limit: number | undefined, spentOf: (r: RenewRequest) => number): (number | null)[] | null => {
    if (limit === undefined) return null;
    const spent = reports.map(spentOf);
    const held = reports.map((r) => r.account.heldMicros);
    const committed = spent.reduce((a, b) => a + b, 0) + held.reduce((a, b) => a + b, 0);
    if (committed <= limit) return null;
    const left = Math.max(0, limit - spent.reduce((a, b) => a + b, 0));
    const heldSum = held.reduce((a, b) => a + b, 0);
    const exact = held.map((h) => (heldSum > 0 ? (left * h) / heldSum : 0));
    const share = exact.map((x, i) => Math.min(held[i], Math.floor(x)));
    let rest = Math.min(left, heldSum) - share.reduce((a, b) => a + b, 0);
    const order = exact.map((x, i) => ({ i, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac);
    for (const { i } of order) {
      if (rest <= 0) break;
      if (share[i] < held[i]) {
        share[i]++;
        rest--;
      }
    }
    return spent.map((s, i) => s + share[i]);
  };
  const daily = dimension(budget.dailyMicros, (r) => r.account.spentTodayMicros);
  const total = dimension(budget.totalMicros, (r) => r.account.spentTotalMicros);
  if (!daily && !total) return null;
  return reports.map((_, i) => ({ dailyMicros: daily?.[i] ?? null, totalMicros: total?.[i] ?? null }));
}

/** Applied-effect rows are kept this long: far beyond any outbox retry. */
const APPLIED_RETENTION_MS = 7 * 86_400_000;

/** The parts of a campaign its object needs to judge a hold. */
export interface HoldRequest {
  budget: ServableCampaign['budget'];
  pacing: ServableCampaign['pacing'];
  bid: ServableCampaign['bid'];
  /** The campaign's best predicted CTR: pacing weighs cpc holds by it. */
  predictedCtr: number;
  reservationId: string;
  amountMicros: number;
  expiresAt: number;
}

/**
 * Holds are summarised for caches in buckets ending on this grid, rounded up. A cached view lapses a bucket at its
 * start, the earliest any hold in it can lapse: a view must not refuse a campaign whose hold the authority, which
 * expires each hold at its own time, would take (a token's reservation released, its budget free again at once);
 * a view that lapses a hold up to one bucket early at worst lets a decision ask for a hold that is then refused.
 */
export const HOLD_BUCKET_MS = 10_000;

/** A campaign's budget state at one moment, with what a cache needs to age it: the day, and holds by lapse time. */
export interface BudgetSnapshot extends BudgetState {
  day: string;
  /** [lapsesAt, heldMicros] pairs, lapsesAt a multiple of HOLD_BUCKET_MS. */
  holds: [number, number][];
  /** How many budget shards new holds go to (absent: 1, the campaign's own object). */
  shards?: number;
}

/** A snapshot seen from a later `now`: spend today resets at the UTC day, holds lapse (at their bucket's start). */
export function ageSnapshot(snapshot: BudgetSnapshot, now: number): BudgetState {
  let heldMicros = 0;
  for (const [lapsesAt, micros] of snapshot.holds) if (lapsesAt - HOLD_BUCKET_MS > now) heldMicros += micros;
  return {
    spentTodayMicros: utcDay(now) === snapshot.day ? snapshot.spentTodayMicros : 0,
    spentTotalMicros: snapshot.spentTotalMicros,
    heldMicros,
  };
}

export interface CtrCounts {
  creativeId: string;
  impressions: number;
  clicks: number;
}

/** CTR counters this object holds that the catalog's creative_stats does not have yet. */
export function pendingCtr(db: ObjectDb): CtrCounts[] {
  return db.select().from(ctrPending).all();
}

/** Forgets counters once the catalog has them (subtracting what was sent, so increments since are kept). */
export function ctrFlushed(db: ObjectDb, sent: CtrCounts[]): void {
  db.transaction((tx) => {
    for (const row of sent) {
      tx.update(ctrPending)
        .set({
          impressions: sql`${ctrPending.impressions} - ${sql.raw(String(row.impressions))}`,
          clicks: sql`${ctrPending.clicks} - ${sql.raw(String(row.clicks))}`,
        })
        .where(eq(ctrPending.creativeId, row.creativeId))
        .run();
    }
    tx.delete(ctrPending)
      .where(and(eq(ctrPending.impressions, 0), eq(ctrPending.clicks, 0)))
      .run();
  });
}

/** The lease arithmetic's view of a catalog budget. */
function leaseBudget(budget: ServableCampaign['budget']): LeaseBudget {
  const out: LeaseBudget = {};
  if (budget.dailyMicros !== undefined) out.dailyMicros = budget.dailyMicros;
  if (budget.totalMicros !== undefined) out.totalMicros = budget.totalMicros;
  return out;
}

const bucketOf = (expiresAt: number) => Math.ceil(expiresAt / HOLD_BUCKET_MS) * HOLD_BUCKET_MS;
const dayName = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);
const dayNumber = (day: string) => dayOf(Date.parse(`${day}T00:00:00Z`));

/** Spend inside one apply (`CampaignObjectStore.spending`). */
interface Spending {
  on(day: string): { today: number; total: number };
  add(day: string, micros: number): void;
  /** What the object's spend cache may keep for `day` once the apply committed. */
  cached(day: string): { day: string; today: number; total: number } | undefined;
}

/** Upper bounds of what one shard may keep committed after a budget cut (null: that budget is unbounded). */
export interface TrimTarget {
  dailyMicros: number | null;
  totalMicros: number | null;
}

/**
 * One budget shard of a campaign in its object (shard 0: the campaign's own object,
 * which is also the lease coordinator). The shard commits (holds, then spends) only
 * within its lease (src/engine/budget-leases.ts); the coordinator's records of the
 * leases never sum past the budget, so spend across shards never exceeds it. A lone
 * shard 0 holds the whole budget and renews without a message.
 */
export class CampaignObjectStore {
  /** Live holds by lapse bucket and in all, kept beside the table (rebuilt by one scan when the object starts). */
  private held?: { total: number; buckets: Map<number, number> };
  private shardState?: ShardState;
  private coordinatorState?: Coordinator;
  private renewing?: Promise<void>;
  /**
   * The object is the only writer of its spend rows and of the budget in force, so a hold reads
   * them from memory: spend as last read (dropped whenever events are applied), the budget in
   * force as last read or written (undefined: not read yet).
   */
  private spentCache?: { day: string; today: number; total: number };
  private inForceCache?: LeaseBudget | null;
  /** The hold path's statements, built once per object (drizzle builds a query's SQL on every call otherwise). */
  private holdQuery;
  private lapseQuery;
  private sql: RawSql;

  constructor(
    private db: ObjectDb,
    private campaignId: string,
    private shard = 0,
    private config: LeaseConfig = LEASES,
    private peers: () => Promise<ShardDirectory> = async () => {
      throw new Error('no other budget shards here');
    },
  ) {
    this.sql = rawSqlOf(db);
    this.holdQuery = db
      .insert(budgetHolds)
      .values({
        reservationId: sql.placeholder('reservationId'),
        amountMicros: sql.placeholder('amountMicros'),
        expiresAt: sql.placeholder('expiresAt'),
      })
      .onConflictDoNothing()
      .returning({ id: budgetHolds.reservationId })
      .prepare();
    this.lapseQuery = db
      .delete(budgetHolds)
      .where(lte(budgetHolds.expiresAt, sql.placeholder('now')))
      .returning({ amountMicros: budgetHolds.amountMicros, expiresAt: budgetHolds.expiresAt })
      .prepare();
  }

  // ---------- holds and spend: this shard's own account ----------

  private totals(): { total: number; buckets: Map<number, number> } {
    if (!this.held) {
      const rows = this.db
        .select({
          // Literals, not parameters: workerd binds JS numbers as REAL, which would make this division fractional.
          lapsesAt:
            sql<number>`((${budgetHolds.expiresAt} + ${sql.raw(String(HOLD_BUCKET_MS - 1))}) / ${sql.raw(String(HOLD_BUCKET_MS))}) * ${sql.raw(String(HOLD_BUCKET_MS))}`.as(
              'lapses_at',
            ),
          micros: sql<number>`sum(${budgetHolds.amountMicros})`,
        })
        .from(budgetHolds)
        .groupBy(sql`lapses_at`)
        .all();
      const buckets = new Map<number, number>();
      let total = 0;
      for (const row of rows) {
        buckets.set(row.lapsesAt, row.micros);
        total += row.micros;
      }
      this.held = { total, buckets };
    }
    return this.held;
  }

  private countHeld(rows: { amountMicros: number; expiresAt: number }[], sign: 1 | -1): void {
    const held = this.totals();
    for (const { amountMicros, expiresAt } of rows) {
      const bucket = bucketOf(expiresAt);
      const left = (held.buckets.get(bucket) ?? 0) + sign * amountMicros;
      if (left > 0) held.buckets.set(bucket, left);
      else held.buckets.delete(bucket);
      held.total += sign * amountMicros;
    }
  }

  /**
   * Drops lapsed holds: an index range, never a scan, and no statement at all while the running
   * totals show that no hold can have lapsed (a hold lapses no earlier than a bucket before its own).
   */
  private expireHolds(now: number): void {
    const { buckets } = this.totals();
    let lapsing = false;
    for (const bucket of buckets.keys()) {
      if (bucket - HOLD_BUCKET_MS < now) {
        lapsing = true;
        break;
      }
    }
    if (!lapsing) return;
    const gone = this.lapseQuery.all({ now });
    if (gone.length > 0) this.countHeld(gone, -1);
  }

  /** This shard's spend and live holds. */
  view(now: number): BudgetState {
    this.expireHolds(now);
    const spent = this.spentOn(utcDay(now));
    return { spentTodayMicros: spent.today, spentTotalMicros: spent.total, heldMicros: this.totals().total };
  }

  /** This shard's own account with its holds by lapse time. */
  own(now: number): BudgetSnapshot {
    const state = this.view(now);
    const holds = [...this.totals().buckets].sort((a, b) => a[0] - b[0]);
    return { ...state, day: utcDay(now), holds };
  }

  /**
   * The campaign as this shard knows it: its own account plus the other shards' as last
   * reported (the coordinator's records at shard 0, the lease's copy elsewhere). Others'
   * holds are shown lapsing a bucket or more from now: a cache refreshes long before.
   */
  snapshot(now: number): BudgetSnapshot {
    const own = this.own(now);
    let others = { spentToday: 0, spentTotal: 0, held: 0 };
    let shards = 1;
    if (this.shard === 0 && this.loadCoordinator()) {
      const c = this.loadCoordinator() as Coordinator;
      shards = c.shards;
      const today = dayOf(now);
      c.records.forEach((r, i) => {
        if (i === 0) return;
        others.spentTotal += r.spentTotalMicros;
        if (r.reportDay !== today) return;
        others.spentToday += r.spentTodayMicros;
        others.held += r.heldMicros;
      });
    } else if (this.shard > 0) {
      const { lease } = this.lease(now);
      shards = lease.shards;
      const current = lease.day === dayOf(now);
      others = {
        spentToday: current ? lease.othersSpentTodayMicros : 0,
        spentTotal: lease.othersSpentTotalMicros ?? 0,
        held: current ? lease.othersHeldMicros : 0,
      };
    }
    const holds = own.holds.slice();
    if (others.held > 0) holds.push([bucketOf(now + 2 * HOLD_BUCKET_MS), others.held]);
    return {
      spentTodayMicros: own.spentTodayMicros + others.spentToday,
      spentTotalMicros: own.spentTotalMicros + others.spentTotal,
      heldMicros: own.heldMicros + others.held,
      day: own.day,
      holds,
      shards: Math.max(shards, this.config.minShards),
    };
  }

  // ---------- the lease ----------

  private lease(now: number): ShardState {
    if (!this.shardState) {
      const row = this.db.select().from(budgetShard).where(eq(budgetShard.campaignId, this.campaignId)).get();
      const fresh = newShard(this.shard, now);
      if (row) {
        const saved = JSON.parse(row.state) as Omit<ShardState, 'meter'>;
        // JSON has no -Infinity: "never renewed" is stored as null.
        this.shardState = { ...saved, renewedAt: saved.renewedAt ?? Number.NEGATIVE_INFINITY, meter: fresh.meter };
      } else {
        // No lease (a new shard, or one whose lease was lost): it may keep what it has committed,
        // which its last lease (and so the coordinator's record) covered, and nothing more. Its
        // requests start above any seq it may have used before.
        const account = this.view(now);
        this.shardState = {
          ...fresh,
          lease: {
            ...fresh.lease,
            dailyMicros: account.spentTodayMicros + account.heldMicros,
            totalMicros: account.spentTotalMicros + account.heldMicros,
            seq: Math.max(0, Math.floor(now)),
          },
        };
      }
    }
    return this.shardState;
  }

  /** Keeps the lease durably (its demand meter stays in memory: losing it only restarts the rate). */
  private saveLease(state: ShardState): void {
    this.shardState = state;
    const { meter: _meter, ...kept } = state;
    const json = JSON.stringify(kept);
    this.db
      .insert(budgetShard)
      .values({ campaignId: this.campaignId, shard: this.shard, state: json })
      .onConflictDoUpdate({ target: budgetShard.campaignId, set: { state: json } })
      .run();
  }

  /** The budget the catalog last told this object (by a cut); null before any. */
  private inForce(): LeaseBudget | null {
    if (this.inForceCache === undefined) this.inForceCache = this.readInForce();
    return this.inForceCache;
  }

  private readInForce(): LeaseBudget | null {
    const row = this.db.select().from(budgetInForce).where(eq(budgetInForce.campaignId, this.campaignId)).get();
    if (!row) return null;
    const out: LeaseBudget = {};
    if (row.dailyMicros !== null) out.dailyMicros = row.dailyMicros;
    if (row.totalMicros !== null) out.totalMicros = row.totalMicros;
    return out;
  }

  /**
   * Asks for a new lease (shard 0 answers itself). Concurrent callers share the one in flight
   * and check again; `needMicros` is the hold in hand, which may make the coordinator recall
   * unspent leases so the last units of a budget stay usable.
   */
  private renew(budget: LeaseBudget, now: number, needMicros: number): Promise<void> {
    if (this.renewing) return this.renewing;
    const asking = async () => {
      try {
        const asked = renewalRequest(this.lease(now), this.view(now), budget, now, this.config);
        this.saveLease(asked.shard);
        const request: RenewRequest = { ...asked.request, needMicros };
        const lease =
          this.shard === 0 ? await this.grant(request, now) : await (await this.peers())(this.campaignId, 0).renew(request);
        if (lease) this.saveLease(applyLease(this.lease(now), lease));
      } catch (err) {
        // Fail closed: without a lease nothing more is held here; the next hold asks again.
        console.error(`[budgets] lease renewal for ${this.campaignId}#${this.shard} failed: ${(err as Error).message}`);
      }
    };
    // Cleared once settled (never before it is set, even if the request fails at once), so a failed renewal is asked again.
    const renewing: Promise<void> = asking().finally(() => {
      if (this.renewing === renewing) this.renewing = undefined;
    });
    this.renewing = renewing;
    return renewing;
  }

  /** Releases unspent lease at the coordinator's request: ceilings down to what is committed, reported. */
  recall(now: number, budget?: LeaseBudget, keep?: TrimTarget): RenewRequest {
    if (budget) this.rememberBudget(budget);
    const { shard, request } = recallRequest(this.lease(now), this.view(now), now, budget ?? this.lease(now).lease.budget, keep);
    this.saveLease(shard);
    return request;
  }

  /**
   * A budget cut's second step: the newest holds go until spend + holds fit `target`, and
   * the lease comes down to it (charges without a hold may still use what is left of it).
   * A budget the cut leaves alone (null in `target`) keeps the ceiling the first step
   * reported, which the coordinator's record covers: lowered to what is committed after the
   * holds cut for the other budget, it would leave charges of those reservations no room.
   */
  trim(target: TrimTarget, budget: LeaseBudget, now: number): RenewRequest {
    const { lease } = this.lease(now);
    this.cutHolds(target, now);
    return this.recall(now, budget, {
      dailyMicros: target.dailyMicros ?? lease.dailyMicros,
      totalMicros: target.totalMicros ?? lease.totalMicros,
    });
  }

  // ---------- holding ----------

  /**
   * Holds the amount if it fits this shard's lease and, for even pacing, the day's pace of
   * the whole campaign (isolates rank with a cached view, so the authority re-checks what
   * that view may have got wrong). Without lease enough for the hold in hand it renews
   * first; a renewal merely due runs after the answer.
   */
  async tryHold(hold: HoldRequest, now: number): Promise<{ held: boolean; state: BudgetSnapshot }> {
    const budget = this.inForce() ?? leaseBudget(hold.budget);
    this.shardState = noteDemand(this.lease(now), hold.amountMicros, now, this.config);
    let account = this.view(now);
    for (let attempt = 0; attempt < 2; attempt++) {
      if (leaseAllows(this.lease(now), account, budget, hold.amountMicros, now)) break;
      await this.renew(budget, now, hold.amountMicros);
      account = this.view(now);
    }
    const state = this.lease(now);
    const campaign = {
      budget: hold.budget,
      pacing: hold.pacing,
      bid: hold.bid,
      creatives: [{ predictedCtr: hold.predictedCtr }],
    } as ServableCampaign;
    const fits =
      leaseAllows(state, account, budget, hold.amountMicros, now) && pacingAllows(campaign, campaignView(state, account), now);
    if (fits) {
      const row = { reservationId: hold.reservationId, amountMicros: hold.amountMicros, expiresAt: hold.expiresAt };
      const added = this.holdQuery.all(row);
      if (added.length > 0) this.countHeld([row], 1);
    }
    if (renewalDue(this.lease(now), account, budget, now, this.config)) void this.renew(budget, now, 0);
    return { held: fits, state: this.snapshot(now) };
  }

  /** Releases holds of reservations that no longer exist (erased users, unstored responses, cut holds). */
  release(reservationIds: string[]): void {
    if (reservationIds.length === 0) return;
    this.totals();
    for (const ids of statementChunks(reservationIds)) {
      const gone = this.db
        .delete(budgetHolds)
        .where(inArray(budgetHolds.reservationId, ids))
        .returning({ amountMicros: budgetHolds.amountMicros, expiresAt: budgetHolds.expiresAt })
        .all();
      this.countHeld(gone, -1);
    }
  }

  private rememberBudget(budget: LeaseBudget): void {
    const row = { dailyMicros: budget.dailyMicros ?? null, totalMicros: budget.totalMicros ?? null };
    this.inForceCache = undefined;
    this.db
      .insert(budgetInForce)
      .values({ campaignId: this.campaignId, ...row })
      .onConflictDoUpdate({ target: budgetInForce.campaignId, set: row })
      .run();
  }

  /** Cuts the newest holds until this shard's spend + holds fit the target. */
  private cutHolds(target: TrimTarget, now: number): void {
    const state = this.view(now);
    let held = state.heldMicros;
    const fits = () =>
      (target.dailyMicros === null || state.spentTodayMicros + held <= target.dailyMicros) &&
      (target.totalMicros === null || state.spentTotalMicros + held <= target.totalMicros);
    if (fits()) return;
    const holds = this.db.select().from(budgetHolds).orderBy(desc(budgetHolds.expiresAt)).all();
    const cut: string[] = [];
    for (const hold of holds) {
      if (fits()) break;
      cut.push(hold.reservationId);
      held -= hold.amountMicros;
    }
    this.release(cut);
  }

  // ---------- the coordinator (shard 0) ----------

  private loadCoordinator(): Coordinator | undefined {
    if (!this.coordinatorState) {
      const row = this.db.select().from(budgetCoordinator).where(eq(budgetCoordinator.campaignId, this.campaignId)).get();
      if (row) this.coordinatorState = JSON.parse(row.state) as Coordinator;
    }
    return this.coordinatorState;
  }

  private coordinator(budget: LeaseBudget, now: number): Coordinator {
    return this.loadCoordinator() ?? newCoordinator(budget, now, this.config);
  }

  private saveCoordinator(c: Coordinator): void {
    this.coordinatorState = c;
    const json = JSON.stringify(c);
    this.db
      .insert(budgetCoordinator)
      .values({ campaignId: this.campaignId, state: json })
      .onConflictDoUpdate({ target: budgetCoordinator.campaignId, set: { state: json } })
      .run();
  }

  /** How many shard objects may hold anything of this campaign (every shard that ever had a record). */
  shardCount(): number {
    return this.loadCoordinator()?.records.length ?? 1;
  }

  /** Records a shard's report without granting (a recall or a cut). */
  private record(report: RenewRequest, now: number): void {
    const c = this.coordinator(report.budget, now);
    const recorded = grantLease(c, report, now, this.config, false);
    if (recorded) this.saveCoordinator(recorded.coordinator);
  }

  private async reach(shard: number): Promise<CampaignObjectRpc | null> {
    return shard === 0 ? null : (await this.peers())(this.campaignId, shard);
  }

  /**
   * Answers a shard's renewal under the budget in force (a holding isolate's index may be
   * stale). If what it may grant does not cover the hold in hand, it first recalls the
   * other shards' unspent leases.
   */
  async grant(request: RenewRequest, now: number): Promise<Lease | null> {
    const needMicros = request.needMicros ?? 0;
    const budget = this.inForce() ?? request.budget;
    const asked = { ...request, budget };
    let answer = grantLease(this.coordinator(budget, now), asked, now, this.config);
    if (!answer) return null;
    if (
      needMicros > 0 &&
      headroomMicros(answer.lease, asked.account, now) < needMicros &&
      (await this.recallOthers(asked.shard, now))
    ) {
      answer = grantLease(this.coordinator(budget, now), asked, now, this.config);
      if (!answer) return null;
    }
    this.saveCoordinator(answer.coordinator);
    return answer.lease;
  }

  /** Recalls every other shard that may still hold unspent lease or holds; true if any was asked. */
  private async recallOthers(except: number, now: number): Promise<boolean> {
    const c = this.loadCoordinator();
    if (!c) return false;
    const today = dayOf(now);
    const asked = c.records
      .map((r, i) => ({ r, i }))
      .filter(({ r, i }) => {
        if (i === except) return false;
        const daily = c.budget.dailyMicros !== undefined && r.dailyMicros - (r.reportDay === today ? r.spentTodayMicros : 0) > 0;
        const total = c.budget.totalMicros !== undefined && r.totalMicros - r.spentTotalMicros > 0;
        return daily || total;
      })
      .map(({ i }) => i);
    if (asked.length === 0) return false;
    const reports = await Promise.all(
      asked.map(async (i) => {
        try {
          const peer = await this.reach(i);
          return peer ? await peer.recall(now) : this.recall(now);
        } catch (err) {
          console.error(`[budgets] could not recall ${this.campaignId}#${i}: ${(err as Error).message}`);
          return null;
        }
      }),
    );
    for (const report of reports) if (report) this.record(report, now);
    return true;
  }

  /**
   * The budget changed (told by the catalog use case, never by a hold: a holding isolate's
   * index may be stale). Every shard learns it and lowers its lease to what it has
   * committed; if spend + holds across shards then exceed it, each shard keeps its spend
   * and a share of what is left by its holds, cutting its newest holds to that.
   */
  async limit(catalogBudget: ServableCampaign['budget'], now: number): Promise<void> {
    const budget = leaseBudget(catalogBudget);
    this.rememberBudget(budget);
    const c = this.coordinator(budget, now);
    this.saveCoordinator({ ...c, budget });
    const shards = Array.from({ length: c.records.length }, (_, i) => i);
    const call = async (i: number, local: () => RenewRequest, remote: (peer: CampaignObjectRpc) => Promise<RenewRequest>) => {
      const peer = await this.reach(i);
      return peer ? remote(peer) : local();
    };
    const reports = await Promise.all(
      shards.map((i) =>
        call(
          i,
          () => this.recall(now, budget),
          (peer) => peer.recall(now, budget),
        ),
      ),
    );
    for (const report of reports) this.record(report, now);
    const targets = cutTargets(reports, budget);
    if (!targets) return;
    const trimmed = await Promise.all(
      shards.map((i) =>
        call(
          i,
          () => this.trim(targets[i], budget, now),
          (peer) => peer.trim(targets[i], budget, now),
        ),
      ),
    );
    for (const report of trimmed) this.record(report, now);
  }

  /**
   * The campaign's side of the event procedure for effects from user objects' outboxes,
   * once each, in one transaction; then the report-threshold rule against the catalog.
   * Returns creatives it sent back to review.
   */
  async apply(
    effects: CampaignEffect[],
    reportThreshold: number,
    now: number,
    catalog: Pick<CatalogStore, 'getCreative' | 'sendToReview'>,
  ): Promise<string[]> {
    const reported = new Set<string>();
    const charged: { amountMicros: number; expiresAt: number }[] = [];
    const capped = this.shard > 0 || this.shardCount() > 1;
    // The running totals, built now if not yet: built inside the transaction, they would miss the
    // holds charged there, which the count after the commit then takes off a second time. The
    // lease likewise: a shard without a lease row derives it from its account, which must not count
    // charges a rollback undoes. Defensive: the procedure (event-procedure.ts) reads the lease inside
    // only in `remainingMicros`, before its first charge, so today it would derive the same there; read
    // here, the lease does not depend on that order.
    this.totals();
    if (capped) this.lease(now);
    const spending = this.spending();
    // Outbox rows taken here, by source: the last row before this delivery (read once), the last in it.
    const taken = new Map<string, { before: number; last: number }>();
    const takenFrom = (source: string) => {
      let mark = taken.get(source);
      if (!mark) {
        const row = this.sql.exec(TAKEN_SQL, this.campaignId, this.shard, source).raw().next();
        const before = row.done ? 0 : (row.value[0] as number);
        taken.set(source, (mark = { before, last: before }));
      }
      return mark;
    };
    let committed = false;
    try {
      this.db.transaction((tx) => {
        const side: CampaignSideTx = {
          // The prepared statements run on the same storage, inside this transaction.
          firstTime: (effect) => {
            const from = (effect as OutboxEffect).outbox;
            // Not from an outbox row (a caller that keeps no numbers): once by (reservation, type).
            if (!from) return !this.sql.exec(APPLIED_SQL, effect.reservationId, effect.type, effect.at).raw().next().done;
            const mark = takenFrom(from.source);
            if (from.row <= mark.before) return false;
            mark.last = Math.max(mark.last, from.row);
            // Taken before session 16 by (reservation, type) and delivered again: a read, never a row written.
            return this.sql.exec(APPLIED_BEFORE_SQL, effect.reservationId, effect.type).raw().next().done === true;
          },
          remainingMicros: (_campaignId, day) => {
            const budget = this.inForce();
            const spent = spending.on(day);
            let remaining = Number.POSITIVE_INFINITY;
            if (budget?.dailyMicros !== undefined) remaining = Math.min(remaining, budget.dailyMicros - spent.today);
            if (budget?.totalMicros !== undefined) remaining = Math.min(remaining, budget.totalMicros - spent.total);
            // One of several shards: never spend past this shard's lease either.
            if (capped) remaining = Math.min(remaining, this.leaseRoom(day, spent, now, spending));
            return remaining;
          },
          addSpend: (effect, day, micros) => {
            const hold = this.sql.exec(CHARGED_HOLD_SQL, effect.reservationId).raw().next();
            if (!hold.done) {
              const [amountMicros, expiresAt] = hold.value as [number, number];
              charged.push({ amountMicros, expiresAt });
            }
            if (micros <= 0) return;
            this.sql.exec(SPEND_SQL, this.campaignId, day, micros);
            spending.add(day, micros);
          },
          addReporter: (creativeId, uid, at) => {
            reported.add(creativeId);
            tx.insert(t.creativeReports)
              .values({ creativeId, uid, at })
              .onConflictDoUpdate({ target: [t.creativeReports.creativeId, t.creativeReports.uid], set: { at } })
              .run();
          },
          addCtr: (creativeId, impressions, clicks) => void this.sql.exec(CTR_SQL, creativeId, impressions, clicks),
          count: (_campaignId, day, where, counter, spend, reachOf) =>
            this.count(day, reportKeys(where), counter, spend, reachOf),
        };
        for (const effect of effects) applyCampaignSide(side, effect);
        for (const [source, { before, last }] of taken)
          if (last > before) this.sql.exec(TAKE_SQL, this.campaignId, this.shard, source, last, now);
      });
      committed = true;
    } catch (err) {
      // Rolled back: the running totals are rebuilt from the table.
      this.held = undefined;
      throw err;
    } finally {
      // Committed, the spend counted here is the table's; rolled back, read it again next time.
      this.spentCache = committed ? spending.cached(utcDay(now)) : undefined;
    }
    this.countHeld(charged, -1);
    return reviewReported(reported, reportThreshold, now, catalog, (creativeId, since) => this.reporters(creativeId, since));
  }

  /**
   * What this shard may still spend on `day` under its lease (a charge without a live hold
   * uses this room too). A day after the lease's own it may spend what the lease left that
   * day, as the coordinator assumes; an earlier day's ceiling is no longer known, so a late
   * charge for a day the lease has moved past is not taken on the daily budget.
   */
  private leaseRoom(day: string, spent: { today: number; total: number }, now: number, spending: Spending): number {
    const { lease } = this.lease(now);
    let room = Number.POSITIVE_INFINITY;
    if (lease.totalMicros !== null) room = Math.min(room, lease.totalMicros - spent.total);
    if (lease.dailyMicros !== null) {
      const d = dayNumber(day);
      if (d === lease.day) room = Math.min(room, lease.dailyMicros - spent.today);
      else if (d > lease.day) {
        const left = Math.max(0, lease.dailyMicros - spending.on(dayName(lease.day)).today);
        room = Math.min(room, left - spent.today);
      } else room = 0;
    }
    return room;
  }

  /** This object's spend on `day` and in all, from memory once read (see spentCache). */
  private spentOn(day: string): { today: number; total: number } {
    const cached = this.spentCache;
    if (cached?.day === day) return cached;
    const spent = this.spent(day);
    this.spentCache = { day, ...spent };
    return spent;
  }

  /**
   * Spend as one apply's charges change it: each day's and the total read once (from memory if cached), then
   * counted as the charges go in (this object is the only writer of its spend rows).
   */
  private spending(): Spending {
    const days = new Map<string, number>();
    let total: number | undefined;
    const cached = this.spentCache;
    if (cached) {
      days.set(cached.day, cached.today);
      total = cached.total;
    }
    const today = (day: string) => {
      let micros = days.get(day);
      if (micros === undefined) days.set(day, (micros = this.spentToday(day)));
      return micros;
    };
    const all = () => (total ??= this.spentTotal());
    return {
      on: (day) => ({ today: today(day), total: all() }),
      add: (day, micros) => {
        // As the statement's cast stores it.
        const stored = Math.trunc(micros);
        days.set(day, today(day) + stored);
        total = all() + stored;
      },
      cached: (day) => (total !== undefined && days.has(day) ? { day, today: days.get(day) as number, total } : undefined),
    };
  }

  /** Spend on `day` and in all (inside a transaction too: the statements run on the object's one storage). */
  private spent(day: string): { today: number; total: number } {
    return { today: this.spentToday(day), total: this.spentTotal() };
  }

  private spentToday(day: string): number {
    const row = this.sql.exec(SPENT_TODAY_SQL, this.campaignId, day).raw().next();
    return row.done ? 0 : (row.value[0] as number);
  }

  private spentTotal(): number {
    return this.sql.exec(SPENT_TOTAL_SQL, this.campaignId).raw().next().value?.[0] as number;
  }

  /** Bumps the event's report rows, one per breakdown; reach goes into each row's HyperLogLog sketch, never a user list. */
  private count(
    day: string,
    rows: { by: ReportBy; key: string }[],
    counter: Exclude<ReportCounter, 'spendMicros'>,
    spend: number,
    reachOf: string | undefined,
  ): void {
    const statements = REPORT_SQL[counter];
    for (const { by, key } of rows) {
      const found = this.sql.exec(SKETCH_SQL, this.campaignId, by, day, key).raw().next();
      let sketch = found.done ? null : ((found.value[0] as string | null) ?? null);
      if (reachOf !== undefined) {
        const reach = Reach.parse(sketch);
        if (reach.add(reachOf)) sketch = reach.serialize();
      }
      if (found.done) this.sql.exec(statements.insert, this.campaignId, by, day, key, spend, sketch);
      else this.sql.exec(statements.update, spend, sketch, this.campaignId, by, day, key);
    }
  }

  /** Distinct reporters of a creative since `since` (its last review): earlier reports were already judged. */
  reporters(creativeId: string, since = 0): number {
    return reportersSince(this.db, creativeId, since);
  }

  forgetReporter(uid: string): void {
    this.db.delete(t.creativeReports).where(eq(t.creativeReports.uid, uid)).run();
  }

  /** This shard's stored report rows (counters and reach sketches as kept). */
  rows(fromDay: string, toDay: string, by: ReportBy = 'day'): StoredReportRow[] {
    return this.db
      .select()
      .from(t.reportRows)
      .where(
        and(eq(t.reportRows.campaignId, this.campaignId), eq(t.reportRows.by, by), between(t.reportRows.day, fromDay, toDay)),
      )
      .all();
  }

  /**
   * The campaign's report: every shard's rows, merged (counters and spend add up, each
   * effect was applied at exactly one shard; reach sketches merge by register maximum).
   */
  async report(fromDay: string, toDay: string, by: ReportBy = 'day'): Promise<ReportRow[]> {
    const rows = this.rows(fromDay, toDay, by);
    const others = Array.from({ length: this.shardCount() - 1 }, (_, i) => i + 1);
    if (others.length > 0) {
      const peers = await this.peers();
      for (const more of await Promise.all(others.map((i) => peers(this.campaignId, i).rows(fromDay, toDay, by)))) {
        rows.push(...more);
      }
    }
    return toReportRows(rows, by);
  }

  /**
   * The campaign's exact budget state: this shard's own, plus every other shard's asked
   * now (one call each; none for a campaign in one object).
   */
  async exact(now: number): Promise<BudgetSnapshot> {
    const own = this.own(now);
    const others = Array.from({ length: this.shardCount() - 1 }, (_, i) => i + 1);
    const shards = Math.max(this.loadCoordinator()?.shards ?? 1, this.config.minShards);
    if (others.length === 0) return { ...own, shards };
    const peers = await this.peers();
    const states = await Promise.all(others.map((i) => peers(this.campaignId, i).own(now)));
    const buckets = new Map(own.holds);
    const sum = { ...own };
    for (const state of states) {
      sum.spentTodayMicros += state.spentTodayMicros;
      sum.spentTotalMicros += state.spentTotalMicros;
      sum.heldMicros += state.heldMicros;
      for (const [at, micros] of state.holds) buckets.set(at, (buckets.get(at) ?? 0) + micros);
    }
    return { ...sum, holds: [...buckets].sort((a, b) => a[0] - b[0]), shards };
  }

  /** Drops applied-effect rows past retention (holds lapse on every read, at the caller's clock). */
  prune(now: number): void {
    this.db
      .delete(appliedEffects)
      .where(lte(appliedEffects.at, now - APPLIED_RETENTION_MS))
      .run();
    // Sources silent that long (a user object erased, or one object per user): a scan of a small table, hourly.
    this.sql.exec('delete from do_outbox_taken where at <= ?', now - APPLIED_RETENTION_MS);
  }
}

/** How often a campaign object drops applied-effect rows past their retention. */
const PRUNE_APPLIED_EVERY_MS = 3_600_000;
/** How often a campaign object adds its impression and click counts to D1 (CTR estimates): bounded D1 writes. */
const CTR_FLUSH_MS = 30_000;

/**
 * What one campaign object does, behind the thin class in src/runtime/worker.ts: one budget
 * shard of the campaign it is named for (shard 0: the campaign's own object, also its lease
 * coordinator, its reports and its distinct reporters). Each check-and-hold runs on the
 * object's SQLite without interleaving, except while a shard without lease enough waits
 * for its renewal. Lapsed holds are dropped on every read; applied-effect rows hourly; CTR
 * counts go to the catalog at most every CTR_FLUSH_MS.
 */
export class CampaignObjectService {
  private stores = new Map<string, CampaignObjectStore>();
  private prunedAt = 0;
  private ctrFlushedAt = 0;
  /** Whether a CTR flush alarm is known to be set (only this object sets it); undefined: not known. */
  private alarmSet: boolean | undefined;

  constructor(
    private db: ObjectDb,
    private alarms: ObjectAlarms,
    private catalog: () => Promise<Pick<CatalogStore, 'getCreative' | 'sendToReview' | 'addCtrCounts'>>,
    private peers: () => Promise<ShardDirectory> = async () => {
      throw new Error('no other budget shards here');
    },
    private config: LeaseConfig = LEASES,
  ) {}

  private of(campaignId: string, shard = 0): CampaignObjectStore {
    const key = `${campaignId}#${shard}`;
    let store = this.stores.get(key);
    if (!store) this.stores.set(key, (store = new CampaignObjectStore(this.db, campaignId, shard, this.config, this.peers)));
    return store;
  }

  async tryHold(campaignId: string, shard: number, hold: HoldRequest, now: number) {
    return this.of(campaignId, shard).tryHold(hold, now);
  }

  /** The campaign's budget state at its coordinator: exact (asking every shard) or as last reported. */
  async view(campaignId: string, now: number, exact = false) {
    const store = this.of(campaignId);
    return exact ? store.exact(now) : store.snapshot(now);
  }

  async own(campaignId: string, shard: number, now: number) {
    return this.of(campaignId, shard).own(now);
  }

  async report(campaignId: string, fromDay: string, toDay: string, by: ReportBy = 'day') {
    return this.of(campaignId).report(fromDay, toDay, by);
  }

  async rows(campaignId: string, shard: number, fromDay: string, toDay: string, by: ReportBy = 'day') {
    return this.of(campaignId, shard).rows(fromDay, toDay, by);
  }

  async release(campaignId: string, shard: number, reservationIds: string[]) {
    this.of(campaignId, shard).release(reservationIds);
  }

  async limit(campaignId: string, budget: ServableCampaign['budget'], now: number) {
    await this.of(campaignId).limit(budget, now);
  }

  async forgetReporter(campaignId: string, uid: string) {
    this.of(campaignId).forgetReporter(uid);
  }

  async renew(campaignId: string, request: RenewRequest): Promise<Lease | null> {
    return this.of(campaignId).grant(request, request.now);
  }

  async recall(campaignId: string, shard: number, now: number, budget?: LeaseBudget) {
    return this.of(campaignId, shard).recall(now, budget);
  }

  async trim(campaignId: string, shard: number, target: TrimTarget, budget: LeaseBudget, now: number) {
    return this.of(campaignId, shard).trim(target, budget, now);
  }

  async apply(campaignId: string, shard: number, effects: CampaignEffect[], reportThreshold: number): Promise<string[]> {
    const store = this.of(campaignId, shard);
    const sent = await store.apply(effects, reportThreshold, Date.now(), await this.catalog());
    const now = Date.now();
    if (now - this.prunedAt > PRUNE_APPLIED_EVERY_MS) {
      this.prunedAt = now;
      store.prune(now);
    }
    if (now - this.ctrFlushedAt >= CTR_FLUSH_MS) await this.flushCtr();
    else if (this.alarmSet !== true) {
      // Every apply asks; known from memory, it costs no storage call once the alarm is set.
      if ((await this.alarms.get()) === null) await this.alarms.set(this.ctrFlushedAt + CTR_FLUSH_MS);
      this.alarmSet = true;
    }
    return sent;
  }

  /** Adds this object's pending impression and click counts to the catalog's creative_stats (CTR estimates). */
  private async flushCtr() {
    this.ctrFlushedAt = Date.now();
    const pending = pendingCtr(this.db);
    if (pending.length === 0) return;
    try {
      await (await this.catalog()).addCtrCounts(pending, this.ctrFlushedAt);
      ctrFlushed(this.db, pending);
    } catch (err) {
      console.error(`[ctr] could not add counts to the catalog, retrying: ${(err as Error).message}`);
      await this.alarms.set(Date.now() + CTR_FLUSH_MS);
    }
  }

  async alarm() {
    // The alarm that fired is spent once this returns (unless flushCtr sets it again): read it again after.
    this.alarmSet = undefined;
    try {
      await this.flushCtr();
    } finally {
      this.alarmSet = undefined;
    }
  }
}
