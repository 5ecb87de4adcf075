/**
 * The event ledger: idempotent (reservation, type) rows, charges, user-state
 * effects and daily report aggregates, all in one SQLite transaction per batch.
 */
import { and, between, asc, count, eq, gte, sql } from 'drizzle-orm';
import * as t from '../../../schema/tables.js';
import type { EventType } from '../../engine/types.js';
import type { EventBatchResult, EventOutcome, EventRules, LedgerStore, Reservation, ReportRow, VerifiedEvent } from '../interface.js';
import { utcDay, type SqliteBudgets } from './budgets.js';
import type { Db } from './db.js';
import type { SqliteUsers } from './users.js';
import { Reach } from '../reach.js';

const counterColumn: Record<EventType, 'impressions' | 'clicks' | 'hides' | 'reports' | 'blocks'> = {
  impression: 'impressions',
  click: 'clicks',
  hide: 'hides',
  report: 'reports',
  block: 'blocks',
};

export class SqliteLedger implements LedgerStore {
  constructor(
    private db: Db,
    private users: SqliteUsers,
    private budgets: SqliteBudgets,
  ) {}

  async reservation(id: string): Promise<Reservation | undefined> {
    return this.db.select().from(t.reservations).where(eq(t.reservations.id, id)).get();
  }

  async record(batch: VerifiedEvent[], now: number, rules: EventRules): Promise<EventBatchResult> {
    const day = utcDay(now);
    const afterCommit: (() => void)[] = [];
    const sentToReview: string[] = [];
    const outcomes = this.db.transaction((tx) =>
      batch.map((event): EventOutcome => {
        const seen = tx
          .select({ at: t.events.at })
          .from(t.events)
          .where(and(eq(t.events.reservationId, event.reservationId), eq(t.events.type, event.type)))
          .get();
        if (seen) return { status: 'duplicate' };
        const reservation = tx.select().from(t.reservations).where(eq(t.reservations.id, event.reservationId)).get();
        if (!reservation || reservation.uid !== event.uid || reservation.campaignId !== event.campaignId) {
          return { status: 'rejected', reason: 'unknown_reservation' };
        }
        const effect = rules.effect(reservation, event.type, now);
        tx.insert(t.events)
          .values({ reservationId: event.reservationId, type: event.type, uid: event.uid, campaignId: event.campaignId, at: now, costMicros: effect.chargeMicros })
          .run();

        if (effect.converts && reservation.viewedAt === null) {
          tx.update(t.reservations).set({ viewedAt: now }).where(eq(t.reservations.id, reservation.id)).run();
          afterCommit.push(() => {
            const entry = this.users.cache.get(event.uid)?.history.find((e) => e.reservationId === reservation.id);
            if (entry) entry.viewed = true;
          });
        }
        if (effect.chargeMicros > 0) {
          tx.update(t.reservations).set({ chargedAt: now }).where(eq(t.reservations.id, reservation.id)).run();
          tx.insert(t.campaignSpend)
            .values({ campaignId: reservation.campaignId, day, spendMicros: effect.chargeMicros })
            .onConflictDoUpdate({
              target: [t.campaignSpend.campaignId, t.campaignSpend.day],
              set: { spendMicros: sql`${t.campaignSpend.spendMicros} + ${effect.chargeMicros}` },
            })
            .run();
          afterCommit.push(() => this.budgets.charged(reservation.campaignId, reservation.id, effect.chargeMicros, now));
        }
        if (effect.blocksAdvertiser) {
          tx.insert(t.userBlocks).values({ uid: event.uid, advertiserId: reservation.advertiserId, at: now }).onConflictDoNothing().run();
          afterCommit.push(() => this.users.cache.get(event.uid)?.blocks.add(reservation.advertiserId));
        }
        if (effect.hidesCreative) {
          tx.insert(t.userHides).values({ uid: event.uid, creativeId: reservation.creativeId, at: now }).onConflictDoNothing().run();
          afterCommit.push(() => this.users.cache.get(event.uid)?.hides.add(reservation.creativeId));
        }
        if (effect.reportsCreative) {
          tx.insert(t.creativeReports)
            .values({ creativeId: reservation.creativeId, uid: event.uid, at: now })
            .onConflictDoUpdate({ target: [t.creativeReports.creativeId, t.creativeReports.uid], set: { at: now } })
            .run();
          // Only reports since the last review count: a creative an operator re-approved starts afresh.
          const reviewedAt = tx.select({ at: t.creatives.updatedAt }).from(t.creatives).where(eq(t.creatives.id, reservation.creativeId)).get()?.at ?? 0;
          const reporters =
            tx
              .select({ n: count() })
              .from(t.creativeReports)
              .where(and(eq(t.creativeReports.creativeId, reservation.creativeId), gte(t.creativeReports.at, reviewedAt)))
              .get()?.n ?? 0;
          if (reporters >= rules.reportThreshold) {
            const changed = tx
              .update(t.creatives)
              .set({ review: 'pending', reviewReason: `reported by ${reporters} users`, updatedAt: now })
              .where(and(eq(t.creatives.id, reservation.creativeId), eq(t.creatives.review, 'approved')))
              .run().changes;
            if (changed) {
              tx.update(t.catalogVersion).set({ version: sql`${t.catalogVersion.version} + 1` }).run();
              sentToReview.push(reservation.creativeId);
            }
          }
        }
        if (event.type === 'impression' || event.type === 'click') this.countForCtr(tx, reservation.creativeId, event.type, now);
        this.count(tx, reservation.campaignId, day, event, effect.chargeMicros);
        return { status: 'accepted' };
      }),
    );
    for (const apply of afterCommit) apply();
    return { outcomes, sentToReview };
  }

  /** Per-creative impressions and clicks behind the CTR estimate, in the event's transaction. */
  private countForCtr(tx: Db, creativeId: string, type: 'impression' | 'click', now: number) {
    const impressions = type === 'impression' ? 1 : 0;
    const clicks = type === 'click' ? 1 : 0;
    tx.insert(t.creativeStats)
      .values({ creativeId, impressions, clicks, updatedAt: now })
      .onConflictDoUpdate({
        target: t.creativeStats.creativeId,
        set: {
          impressions: sql`${t.creativeStats.impressions} + ${impressions}`,
          clicks: sql`${t.creativeStats.clicks} + ${clicks}`,
          updatedAt: now,
        },
      })
      .run();
  }

  /** Bumps the day's aggregate row; reach goes into a HyperLogLog sketch, never a user list. */
  private count(tx: Db, campaignId: string, day: string, event: VerifiedEvent, chargeMicros: number) {
    const column = counterColumn[event.type];
    const row = tx
      .select({ sketch: t.reportDaily.reachSketch })
      .from(t.reportDaily)
      .where(and(eq(t.reportDaily.campaignId, campaignId), eq(t.reportDaily.day, day)))
      .get();
    let sketch = row?.sketch ?? null;
    if (event.type === 'impression') {
      const reach = Reach.parse(sketch);
      if (reach.add(event.uid)) sketch = reach.serialize();
    }
    if (!row) {
      tx.insert(t.reportDaily)
        .values({ campaignId, day, [column]: 1, spendMicros: chargeMicros, reachSketch: sketch })
        .run();
      return;
    }
    tx.update(t.reportDaily)
      .set({
        [column]: sql`${t.reportDaily[column]} + 1`,
        spendMicros: sql`${t.reportDaily.spendMicros} + ${chargeMicros}`,
        reachSketch: sketch,
      })
      .where(and(eq(t.reportDaily.campaignId, campaignId), eq(t.reportDaily.day, day)))
      .run();
  }

  async report(campaignId: string, fromDay: string, toDay: string): Promise<ReportRow[]> {
    return this.db
      .select()
      .from(t.reportDaily)
      .where(and(eq(t.reportDaily.campaignId, campaignId), between(t.reportDaily.day, fromDay, toDay)))
      .orderBy(asc(t.reportDaily.day))
      .all()
      .map((r) => ({
        date: r.day,
        impressions: r.impressions,
        reach: Reach.parse(r.reachSketch).estimate(),
        clicks: r.clicks,
        hides: r.hides,
        reports: r.reports,
        blocks: r.blocks,
        spendMicros: r.spendMicros,
      }));
}
}
