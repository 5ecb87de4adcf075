/**
 * One campaign's money and counters inside that campaign's Durable Object: daily
 * and total spend, live budget holds, daily report aggregates with the reach
 * sketch, and distinct reporters. It is the single writer for the campaign
 * network-wide, so check-and-hold is atomic and spend never exceeds a budget.
 */
import { and, asc, between, count, eq, gte, inArray, lte, sql } from 'drizzle-orm';
import * as t from '../../../schema/tables.js';
import { pacingAllows, remainingBudgetMicros } from '../../engine/eligibility.js';
import type { BudgetState, ServableCampaign } from '../../engine/types.js';
import type { ReportRow } from '../interface.js';
import { Reach } from '../reach.js';
import { counterColumn, toReportRow } from '../catalog-rows.js';
import { utcDay } from '../sqlite/budgets.js';
import { appliedEffects, budgetHolds, ctrPending } from './tables.js';
import type { CampaignEffect, ObjectDb } from './user-object.js';

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
    tx.delete(ctrPending).where(and(eq(ctrPending.impressions, 0), eq(ctrPending.clicks, 0))).run();
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
    const today = this.db
      .select({ s: t.campaignSpend.spendMicros })
      .from(t.campaignSpend)
      .where(and(eq(t.campaignSpend.campaignId, this.campaignId), eq(t.campaignSpend.day, utcDay(now))))
      .get();
    const total = this.db
      .select({ s: sql<number>`coalesce(sum(${t.campaignSpend.spendMicros}), 0)` })
      .from(t.campaignSpend)
      .where(eq(t.campaignSpend.campaignId, this.campaignId))
      .get();
    const held = this.db.select({ s: sql<number>`coalesce(sum(${budgetHolds.amountMicros}), 0)` }).from(budgetHolds).get();
    return { spentTodayMicros: today?.s ?? 0, spentTotalMicros: total?.s ?? 0, heldMicros: held?.s ?? 0 };
  }

  /**
   * Holds the amount if spend + holds + amount stays within every budget and,
   * for even pacing, within the day's pace: isolates rank with a cached view,
   * so the authority re-checks what that view may have got wrong.
   */
  tryHold(hold: HoldRequest, now: number): { held: boolean; state: BudgetSnapshot } {
    const state = this.view(now);
    const campaign = { budget: hold.budget, pacing: hold.pacing, bid: hold.bid, creatives: [{ predictedCtr: hold.predictedCtr }] } as ServableCampaign;
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
        lapsesAt: sql<number>`((${budgetHolds.expiresAt} + ${sql.raw(String(HOLD_BUCKET_MS - 1))}) / ${sql.raw(String(HOLD_BUCKET_MS))}) * ${sql.raw(String(HOLD_BUCKET_MS))}`.as('lapses_at'),
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

  /**
   * Applies effects once each, in one transaction: charges turn holds into
   * spend, counters and reach go into the day's row, reports into distinct
   * reporters. Returns creatives whose distinct reporters reached `reportThreshold`.
   */
  apply(effects: CampaignEffect[], reportThreshold: number): string[] {
    const overThreshold = new Set<string>();
    this.db.transaction((tx) => {
      for (const effect of effects) {
        const fresh = tx
          .insert(appliedEffects)
          .values({ reservationId: effect.reservationId, type: effect.type, at: effect.at })
          .onConflictDoNothing()
          .returning({ id: appliedEffects.reservationId })
          .all();
        if (fresh.length === 0) continue;
        const day = utcDay(effect.at);
        if (effect.chargeMicros > 0) {
          tx.delete(budgetHolds).where(eq(budgetHolds.reservationId, effect.reservationId)).run();
          tx.insert(t.campaignSpend)
            .values({ campaignId: this.campaignId, day, spendMicros: effect.chargeMicros })
            .onConflictDoUpdate({
              target: [t.campaignSpend.campaignId, t.campaignSpend.day],
              set: { spendMicros: sql`${t.campaignSpend.spendMicros} + ${effect.chargeMicros}` },
            })
            .run();
        }
        if (effect.type === 'report') {
          // A repeated report moves its time forward, so it counts again after a re-approval.
          tx.insert(t.creativeReports)
            .values({ creativeId: effect.creativeId, uid: effect.uid, at: effect.at })
            .onConflictDoUpdate({ target: [t.creativeReports.creativeId, t.creativeReports.uid], set: { at: effect.at } })
            .run();
          const reporters = tx.select({ n: count() }).from(t.creativeReports).where(eq(t.creativeReports.creativeId, effect.creativeId)).get()?.n ?? 0;
          if (reporters >= reportThreshold) overThreshold.add(effect.creativeId);
        }
        if (effect.type === 'impression' || effect.type === 'click') {
          const impressions = effect.type === 'impression' ? 1 : 0;
          const clicks = effect.type === 'click' ? 1 : 0;
          tx.insert(ctrPending)
            .values({ creativeId: effect.creativeId, impressions, clicks })
            .onConflictDoUpdate({
              target: ctrPending.creativeId,
              set: { impressions: sql`${ctrPending.impressions} + ${sql.raw(String(impressions))}`, clicks: sql`${ctrPending.clicks} + ${sql.raw(String(clicks))}` },
            })
            .run();
        }
        this.count(tx as unknown as ObjectDb, day, effect);
      }
    });
    return [...overThreshold];
  }

  /** Bumps the day's aggregate row; reach goes into a HyperLogLog sketch, never a user list. */
  private count(tx: ObjectDb, day: string, effect: CampaignEffect): void {
    const column = counterColumn[effect.type as keyof typeof counterColumn];
    const where = and(eq(t.reportDaily.campaignId, this.campaignId), eq(t.reportDaily.day, day));
    const row = tx.select({ sketch: t.reportDaily.reachSketch }).from(t.reportDaily).where(where).get();
    let sketch = row?.sketch ?? null;
    if (effect.type === 'impression') {
      const reach = Reach.parse(sketch);
      if (reach.add(effect.uid)) sketch = reach.serialize();
    }
    if (!row) {
      tx.insert(t.reportDaily)
        .values({ campaignId: this.campaignId, day, [column]: 1, spendMicros: effect.chargeMicros, reachSketch: sketch })
        .run();
      return;
    }
    tx.update(t.reportDaily)
      .set({
        [column]: sql`${t.reportDaily[column]} + 1`,
        spendMicros: sql`${t.reportDaily.spendMicros} + ${effect.chargeMicros}`,
        reachSketch: sketch,
      })
      .where(where)
      .run();
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

  report(fromDay: string, toDay: string): ReportRow[] {
    return this.db
      .select()
      .from(t.reportDaily)
      .where(and(eq(t.reportDaily.campaignId, this.campaignId), between(t.reportDaily.day, fromDay, toDay)))
      .orderBy(asc(t.reportDaily.day))
      .all()
      .map(toReportRow);
  }

  /** Drops applied-effect rows past retention (holds lapse on every read, at the caller's clock). */
  prune(now: number): void {
    this.db.delete(appliedEffects).where(lte(appliedEffects.at, now - APPLIED_RETENTION_MS)).run();
  }
}
