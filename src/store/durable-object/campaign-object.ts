/**
 * One campaign's money and counters inside that campaign's Durable Object: daily
 * and total spend, live budget holds, daily report aggregates with the reach
 * sketch, and distinct reporters. It is the single writer for the campaign
 * network-wide, so check-and-hold is atomic and spend never exceeds a budget.
 */
import { and, between, count, desc, eq, gte, inArray, lte, sql } from 'drizzle-orm';
import * as t from '../../../schema/tables.js';
import { appliedEffects, budgetHolds, budgetInForce, ctrPending } from '../../../schema/tables.js';
import { pacingAllows, remainingBudgetMicros } from '../../engine/eligibility.js';
import type { BudgetState, ServableCampaign } from '../../engine/types.js';
import { applyCampaignSide, type CampaignEffect, type CampaignSideTx, reviewReported } from '../event-procedure.js';
import type { CatalogStore, ReportRow } from '../interface.js';
import { Reach } from '../reach.js';
import { type ReportBy, type ReportCounter, toReportRows } from '../report-rows.js';
import { utcDay } from '../utc-day.js';
import type { ObjectAlarms, ObjectDb } from './user-object.js';

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

/** Holds are summarised for caches in buckets ending on this grid, rounded up (cached views never lapse a hold early). */
export const HOLD_BUCKET_MS = 10_000;

/** A campaign's budget state at one moment, with what a cache needs to age it: the day, and holds by lapse time. */
export interface BudgetSnapshot extends BudgetState {
  day: string;
  /** [lapsesAt, heldMicros] pairs, lapsesAt a multiple of HOLD_BUCKET_MS. */
  holds: [number, number][];
}

/** A snapshot seen from a later `now`: spend today resets at the UTC day, holds lapse. */
export function ageSnapshot(snapshot: BudgetSnapshot, now: number): BudgetState {
  let heldMicros = 0;
  for (const [lapsesAt, micros] of snapshot.holds) if (lapsesAt > now) heldMicros += micros;
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

export class CampaignObjectStore {
  constructor(
    private db: ObjectDb,
    private campaignId: string,
  ) {}

  private expireHolds(now: number): void {
    this.db.delete(budgetHolds).where(lte(budgetHolds.expiresAt, now)).run();
  }

  view(now: number): BudgetState {
    this.expireHolds(now);
    const spent = this.spent(this.db, utcDay(now));
    const held = this.db
      .select({ s: sql<number>`coalesce(sum(${budgetHolds.amountMicros}), 0)` })
      .from(budgetHolds)
      .get();
    return { spentTodayMicros: spent.today, spentTotalMicros: spent.total, heldMicros: held?.s ?? 0 };
  }

  /**
   * Holds the amount if spend + holds + amount stays within every budget and,
   * for even pacing, within the day's pace: isolates rank with a cached view,
   * so the authority re-checks what that view may have got wrong.
   */
  tryHold(hold: HoldRequest, now: number): { held: boolean; state: BudgetSnapshot } {
    const state = this.view(now);
    const campaign = {
      budget: hold.budget,
      pacing: hold.pacing,
      bid: hold.bid,
      creatives: [{ predictedCtr: hold.predictedCtr }],
    } as ServableCampaign;
    const fits = remainingBudgetMicros(campaign, state) >= hold.amountMicros && pacingAllows(campaign, state, now);
    if (fits) {
      this.db
        .insert(budgetHolds)
        .values({ reservationId: hold.reservationId, amountMicros: hold.amountMicros, expiresAt: hold.expiresAt })
        .onConflictDoNothing()
        .run();
    }
    return { held: fits, state: this.snapshot(now) };
  }

  snapshot(now: number): BudgetSnapshot {
    const state = this.view(now);
    const holds = this.db
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
    return { ...state, day: utcDay(now), holds: holds.map((h) => [h.lapsesAt, h.micros]) };
  }

  /** Releases holds of reservations that no longer exist (erased users). */
  release(reservationIds: string[]): void {
    if (reservationIds.length > 0) this.db.delete(budgetHolds).where(inArray(budgetHolds.reservationId, reservationIds)).run();
  }

  private rememberBudget(budget: ServableCampaign['budget']): void {
    const row = { dailyMicros: budget.dailyMicros ?? null, totalMicros: budget.totalMicros ?? null };
    this.db
      .insert(budgetInForce)
      .values({ campaignId: this.campaignId, ...row })
      .onConflictDoUpdate({ target: budgetInForce.campaignId, set: row })
      .run();
  }

  /**
   * The budget changed (told by the catalog use case, never by a hold: a holding isolate's
   * index may be stale): remember it as the budget in force for charges, and cut the newest
   * holds until spend + holds fit it.
   */
  limit(budget: ServableCampaign['budget'], now: number): void {
    this.rememberBudget(budget);
    const state = this.view(now);
    let held = state.heldMicros;
    const fits = () =>
      (budget.dailyMicros === undefined || state.spentTodayMicros + held <= budget.dailyMicros) &&
      (budget.totalMicros === undefined || state.spentTotalMicros + held <= budget.totalMicros);
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
    this.db.transaction((tx) => {
      const side: CampaignSideTx = {
        firstTime: (effect) =>
          tx
            .insert(appliedEffects)
            .values({ reservationId: effect.reservationId, type: effect.type, at: effect.at })
            .onConflictDoNothing()
            .returning({ id: appliedEffects.reservationId })
            .all().length > 0,
        remainingMicros: (campaignId, day) => {
          const budget = tx.select().from(budgetInForce).where(eq(budgetInForce.campaignId, campaignId)).get();
          if (!budget) return Number.POSITIVE_INFINITY;
          const spent = this.spent(tx as unknown as ObjectDb, day);
          let remaining = Number.POSITIVE_INFINITY;
          if (budget.dailyMicros !== null) remaining = Math.min(remaining, budget.dailyMicros - spent.today);
          if (budget.totalMicros !== null) remaining = Math.min(remaining, budget.totalMicros - spent.total);
          return remaining;
        },
        addSpend: (effect, day, micros) => {
          tx.delete(budgetHolds).where(eq(budgetHolds.reservationId, effect.reservationId)).run();
          if (micros <= 0) return;
          tx.insert(t.campaignSpend)
            .values({ campaignId: this.campaignId, day, spendMicros: micros })
            .onConflictDoUpdate({
              target: [t.campaignSpend.campaignId, t.campaignSpend.day],
              set: { spendMicros: sql`${t.campaignSpend.spendMicros} + ${sql.raw(String(Math.trunc(micros)))}` },
            })
            .run();
        },
        addReporter: (creativeId, uid, at) => {
          reported.add(creativeId);
          tx.insert(t.creativeReports)
            .values({ creativeId, uid, at })
            .onConflictDoUpdate({ target: [t.creativeReports.creativeId, t.creativeReports.uid], set: { at } })
            .run();
        },
        addCtr: (creativeId, impressions, clicks) => {
          tx.insert(ctrPending)
            .values({ creativeId, impressions, clicks })
            .onConflictDoUpdate({
              target: ctrPending.creativeId,
              set: {
                impressions: sql`${ctrPending.impressions} + ${sql.raw(String(impressions))}`,
                clicks: sql`${ctrPending.clicks} + ${sql.raw(String(clicks))}`,
              },
            })
            .run();
        },
        count: (_campaignId, day, rows, counter, spend, reachOf) =>
          this.count(tx as unknown as ObjectDb, day, rows, counter, spend, reachOf),
      };
      for (const effect of effects) applyCampaignSide(side, effect);
    });
    return reviewReported(reported, reportThreshold, now, catalog, (creativeId, since) => this.reporters(creativeId, since));
  }

  private spent(db: ObjectDb, day: string): { today: number; total: number } {
    const today = db
      .select({ s: t.campaignSpend.spendMicros })
      .from(t.campaignSpend)
      .where(and(eq(t.campaignSpend.campaignId, this.campaignId), eq(t.campaignSpend.day, day)))
      .get();
    const total = db
      .select({ s: sql<number>`coalesce(sum(${t.campaignSpend.spendMicros}), 0)` })
      .from(t.campaignSpend)
      .where(eq(t.campaignSpend.campaignId, this.campaignId))
      .get();
    return { today: today?.s ?? 0, total: total?.s ?? 0 };
  }

  /** Bumps the event's report rows, one per breakdown; reach goes into each row's HyperLogLog sketch, never a user list. */
  private count(
    tx: ObjectDb,
    day: string,
    rows: { by: ReportBy; key: string }[],
    counter: Exclude<ReportCounter, 'spendMicros'>,
    spend: number,
    reachOf: string | undefined,
  ): void {
    for (const { by, key } of rows) {
      const where = and(
        eq(t.reportRows.campaignId, this.campaignId),
        eq(t.reportRows.by, by),
        eq(t.reportRows.day, day),
        eq(t.reportRows.key, key),
      );
      const row = tx.select({ sketch: t.reportRows.reachSketch }).from(t.reportRows).where(where).get();
      let sketch = row?.sketch ?? null;
      if (reachOf !== undefined) {
        const reach = Reach.parse(sketch);
        if (reach.add(reachOf)) sketch = reach.serialize();
      }
      if (!row) {
        tx.insert(t.reportRows)
          .values({ campaignId: this.campaignId, by, day, key, [counter]: 1, spendMicros: spend, reachSketch: sketch })
          .run();
        continue;
      }
      tx.update(t.reportRows)
        .set({
          [counter]: sql`${t.reportRows[counter]} + 1`,
          spendMicros: sql`${t.reportRows.spendMicros} + ${sql.raw(String(Math.trunc(spend)))}`,
          reachSketch: sketch,
        })
        .where(where)
        .run();
    }
  }

  /** Distinct reporters of a creative since `since` (its last review): earlier reports were already judged. */
  reporters(creativeId: string, since = 0): number {
    return (
      this.db
        .select({ n: count() })
        .from(t.creativeReports)
        .where(and(eq(t.creativeReports.creativeId, creativeId), gte(t.creativeReports.at, since)))
        .get()?.n ?? 0
    );
  }

  forgetReporter(uid: string): void {
    this.db.delete(t.creativeReports).where(eq(t.creativeReports.uid, uid)).run();
  }

  report(fromDay: string, toDay: string, by: ReportBy = 'day'): ReportRow[] {
    const rows = this.db
      .select()
      .from(t.reportRows)
      .where(
        and(eq(t.reportRows.campaignId, this.campaignId), eq(t.reportRows.by, by), between(t.reportRows.day, fromDay, toDay)),
      )
      .all();
    return toReportRows(rows, by);
  }

  /** Drops applied-effect rows past retention (holds lapse on every read, at the caller's clock). */
  prune(now: number): void {
    this.db
      .delete(appliedEffects)
      .where(lte(appliedEffects.at, now - APPLIED_RETENTION_MS))
      .run();
  }
}

/** How often a campaign object drops applied-effect rows past their retention. */
const PRUNE_APPLIED_EVERY_MS = 3_600_000;
/** How often a campaign object adds its impression and click counts to D1 (CTR estimates): bounded D1 writes. */
const CTR_FLUSH_MS = 30_000;

/**
 * What one campaign object does, behind the thin class in src/runtime/worker.ts: the
 * budget authority and counters of the campaigns it is named for. Each check-and-hold is
 * synchronous on the object's SQLite, so holds never interleave mid-check. Expired holds
 * are dropped on every read; applied-effect rows hourly; CTR counts go to the catalog at
 * most every CTR_FLUSH_MS.
 */
export class CampaignObjectService {
  private stores = new Map<string, CampaignObjectStore>();
  private prunedAt = 0;
  private ctrFlushedAt = 0;

  constructor(
    private db: ObjectDb,
    private alarms: ObjectAlarms,
    private catalog: () => Promise<Pick<CatalogStore, 'getCreative' | 'sendToReview' | 'addCtrCounts'>>,
  ) {}

  private of(campaignId: string): CampaignObjectStore {
    let store = this.stores.get(campaignId);
    if (!store) this.stores.set(campaignId, (store = new CampaignObjectStore(this.db, campaignId)));
    return store;
  }

  async tryHold(campaignId: string, hold: HoldRequest, now: number) {
    return this.of(campaignId).tryHold(hold, now);
  }

  async view(campaignId: string, now: number) {
    return this.of(campaignId).snapshot(now);
  }

  async report(campaignId: string, fromDay: string, toDay: string, by: ReportBy = 'day') {
    return this.of(campaignId).report(fromDay, toDay, by);
  }

  async release(campaignId: string, reservationIds: string[]) {
    this.of(campaignId).release(reservationIds);
  }

  async limit(campaignId: string, budget: ServableCampaign['budget'], now: number) {
    this.of(campaignId).limit(budget, now);
  }

  async forgetReporter(campaignId: string, uid: string) {
    this.of(campaignId).forgetReporter(uid);
  }

  async apply(campaignId: string, effects: CampaignEffect[], reportThreshold: number): Promise<string[]> {
    const store = this.of(campaignId);
    const sent = await store.apply(effects, reportThreshold, Date.now(), await this.catalog());
    const now = Date.now();
    if (now - this.prunedAt > PRUNE_APPLIED_EVERY_MS) {
      this.prunedAt = now;
      store.prune(now);
    }
    if (now - this.ctrFlushedAt >= CTR_FLUSH_MS) await this.flushCtr();
    else if ((await this.alarms.get()) === null) await this.alarms.set(this.ctrFlushedAt + CTR_FLUSH_MS);
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
    await this.flushCtr();
  }
}
