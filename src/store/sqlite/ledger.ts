/**
 * The event ledger: idempotent (reservation, type) rows, charges, user-state
 * effects and daily report aggregates, all in one SQLite transaction per batch.
 */
import { and, between, asc, count, eq, gte, sql } from 'drizzle-orm';
import * as t from '../../../schema/tables.js';
import type { EventBatchResult, EventOutcome, EventRules, LedgerStore, Reservation, ReportRow, VerifiedEvent } from '../interface.js';
import { utcDay, type SqliteBudgets } from './budgets.js';
import type { Db } from './db.js';
import type { SqliteUsers } from './users.js';
import { Reach } from '../reach.js';
import { counterColumn, toReportRow } from '../catalog-rows.js';
import { LRUCache } from 'lru-cache';


interface PendingBatch {
  batch: VerifiedEvent[];
  now: number;
  rules: EventRules;
  resolve: (result: EventBatchResult) => void;
  reject: (err: unknown) => void;
}

export class SqliteLedger implements LedgerStore {
  private statements: ReturnType<typeof prepareStatements>;
  /**
   * Parsed reach sketches by campaign-day: this process is the only writer, so a
   * batch adds to the cached sketch and writes it once instead of decoding and
   * re-encoding 4 KiB per impression.
   */
  private sketches = new LRUCache<string, Reach>({ max: 10_000 });
  private pending: PendingBatch[] = [];

  constructor(
    private db: Db,
    private users: SqliteUsers,
    private budgets: SqliteBudgets,
  ) {
    this.statements = prepareStatements(db);
  }

  async reservation(id: string): Promise<Reservation | undefined> {
    return this.db.select().from(t.reservations).where(eq(t.reservations.id, id)).get();
  }

  /**
   * Group commit: batches that arrive while a commit is being fsynced share the
   * next transaction; each caller resolves only once its events are durable.
   */
  record(batch: VerifiedEvent[], now: number, rules: EventRules): Promise<EventBatchResult> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.commitPending());
      this.pending.push({ batch, now, rules, resolve, reject });
    });
  }

  private commitPending() {
    const group = this.pending;
    this.pending = [];
    const dirtySketches = new Map<string, { campaignId: string; day: string; reach: Reach }>();
    const run = (items: PendingBatch[]) => {
      try {
        return this.db.transaction((tx) => {
          const applied = items.map((item) => this.apply(tx, item, dirtySketches));
          for (const { campaignId, day, reach } of dirtySketches.values()) this.statements.setSketch.run({ campaignId, day, sketch: reach.serialize() });
          return applied;
        });
      } catch (err) {
        // The cached sketches may hold adds that were rolled back: read them again next time.
        for (const key of dirtySketches.keys()) this.sketches.delete(key);
        throw err;
      } finally {
        dirtySketches.clear();
      }
    };
    let applied: ReturnType<SqliteLedger['apply']>[];
    try {
      applied = run(group);
    } catch {
      // One bad batch must not fail its neighbours: retry each on its own.
      for (const item of group) {
        try {
          const [one] = run([item]);
          for (const f of one.afterCommit) f();
          item.resolve({ outcomes: one.outcomes, sentToReview: one.sentToReview });
        } catch (err) {
          item.reject(err);
        }
      }
      return;
    }
    group.forEach((item, i) => {
      for (const f of applied[i].afterCommit) f();
      item.resolve({ outcomes: applied[i].outcomes, sentToReview: applied[i].sentToReview });
    });
  }

  /** Applies one batch inside the open transaction; in-memory effects wait in `afterCommit`. */
  private apply(tx: Db, { batch, now, rules }: PendingBatch, dirtySketches: Map<string, { campaignId: string; day: string; reach: Reach }>) {
    const day = utcDay(now);
    const afterCommit: (() => void)[] = [];
    const sentToReview: string[] = [];
    const q = this.statements;
    const outcomes = batch.map((event): EventOutcome => {
      if (q.seen.get({ reservationId: event.reservationId, type: event.type })) return { status: 'duplicate' };
      const reservation = q.reservation.get({ id: event.reservationId });
      if (!reservation || reservation.uid !== event.uid || reservation.campaignId !== event.campaignId) {
        return { status: 'rejected', reason: 'unknown_reservation' };
      }
      const effect = rules.effect(reservation, event.type, now);
      q.insertEvent.run({ reservationId: event.reservationId, type: event.type, uid: event.uid, campaignId: event.campaignId, at: now, costMicros: effect.chargeMicros });

      if (effect.converts && reservation.viewedAt === null) {
        q.setViewed.run({ id: reservation.id, at: now });
        afterCommit.push(() => {
          const entry = this.users.cache.get(event.uid)?.history.find((e) => e.reservationId === reservation.id);
          if (entry) entry.viewed = true;
        });
      }
      if (effect.chargeMicros > 0) {
        q.setCharged.run({ id: reservation.id, at: now });
        q.addSpend.run({ campaignId: reservation.campaignId, day, amount: effect.chargeMicros });
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
      if (event.type === 'impression' || event.type === 'click') this.countForCtr(reservation.creativeId, event.type, now);
      this.count(reservation.campaignId, day, event, effect.chargeMicros, dirtySketches);
      return { status: 'accepted' };
    });
    return { outcomes, sentToReview, afterCommit };
  }

  /** Per-creative impressions and clicks behind the CTR estimate, in the event's transaction. */
  private countForCtr(creativeId: string, type: 'impression' | 'click', now: number) {
    const impression = type === 'impression';
    this.statements.addCtr.run({ creativeId, impressions: impression ? 1 : 0, clicks: impression ? 0 : 1, at: now });
  }

  /** Bumps the day's aggregate row; reach goes into a HyperLogLog sketch, never a user list. */
  private count(campaignId: string, day: string, event: VerifiedEvent, chargeMicros: number, dirty: Map<string, { campaignId: string; day: string; reach: Reach }>) {
    const column = counterColumn[event.type as keyof typeof counterColumn];
    this.statements.addCounts.run({
      campaignId,
      day,
      impressions: column === 'impressions' ? 1 : 0,
      clicks: column === 'clicks' ? 1 : 0,
      hides: column === 'hides' ? 1 : 0,
      reports: column === 'reports' ? 1 : 0,
      blocks: column === 'blocks' ? 1 : 0,
      spend: chargeMicros,
    });
    if (event.type !== 'impression') return;
    const key = `${campaignId}|${day}`;
    let reach = this.sketches.get(key);
    if (!reach) {
      reach = Reach.parse(this.statements.sketch.get({ campaignId, day })?.sketch);
      this.sketches.set(key, reach);
    }
    if (reach.add(event.uid)) dirty.set(key, { campaignId, day, reach });
  }

  async report(campaignId: string, fromDay: string, toDay: string): Promise<ReportRow[]> {
    return this.db
      .select()
      .from(t.reportDaily)
      .where(and(eq(t.reportDaily.campaignId, campaignId), between(t.reportDaily.day, fromDay, toDay)))
      .orderBy(asc(t.reportDaily.day))
      .all()
      .map(toReportRow);
}
}

/** Prepared once: every accepted event runs these. */
function prepareStatements(db: Db) {
  const p = sql.placeholder;
  return {
    seen: db
      .select({ at: t.events.at })
      .from(t.events)
      .where(and(eq(t.events.reservationId, p('reservationId')), eq(t.events.type, p('type'))))
      .prepare(),
    reservation: db.select().from(t.reservations).where(eq(t.reservations.id, p('id'))).prepare(),
    insertEvent: db
      .insert(t.events)
      .values({ reservationId: p('reservationId'), type: p('type'), uid: p('uid'), campaignId: p('campaignId'), at: p('at'), costMicros: p('costMicros') })
      .prepare(),
    setViewed: db.update(t.reservations).set({ viewedAt: sql`${p('at')}` }).where(eq(t.reservations.id, p('id'))).prepare(),
    setCharged: db.update(t.reservations).set({ chargedAt: sql`${p('at')}` }).where(eq(t.reservations.id, p('id'))).prepare(),
    addSpend: db
      .insert(t.campaignSpend)
      .values({ campaignId: p('campaignId'), day: p('day'), spendMicros: p('amount') })
      .onConflictDoUpdate({
        target: [t.campaignSpend.campaignId, t.campaignSpend.day],
        set: { spendMicros: sql`${t.campaignSpend.spendMicros} + excluded.spend_micros` },
      })
      .prepare(),
    addCounts: db
      .insert(t.reportDaily)
      .values({
        campaignId: p('campaignId'),
        day: p('day'),
        impressions: p('impressions'),
        clicks: p('clicks'),
        hides: p('hides'),
        reports: p('reports'),
        blocks: p('blocks'),
        spendMicros: p('spend'),
      })
      .onConflictDoUpdate({
        target: [t.reportDaily.campaignId, t.reportDaily.day],
        set: {
          impressions: sql`${t.reportDaily.impressions} + excluded.impressions`,
          clicks: sql`${t.reportDaily.clicks} + excluded.clicks`,
          hides: sql`${t.reportDaily.hides} + excluded.hides`,
          reports: sql`${t.reportDaily.reports} + excluded.reports`,
          blocks: sql`${t.reportDaily.blocks} + excluded.blocks`,
          spendMicros: sql`${t.reportDaily.spendMicros} + excluded.spend_micros`,
        },
      })
      .prepare(),
    addCtr: db
      .insert(t.creativeStats)
      .values({ creativeId: p('creativeId'), impressions: p('impressions'), clicks: p('clicks'), updatedAt: p('at') })
      .onConflictDoUpdate({
        target: t.creativeStats.creativeId,
        set: {
          impressions: sql`${t.creativeStats.impressions} + excluded.impressions`,
          clicks: sql`${t.creativeStats.clicks} + excluded.clicks`,
          updatedAt: sql`excluded.updated_at`,
        },
      })
      .prepare(),
    sketch: db
      .select({ sketch: t.reportDaily.reachSketch })
      .from(t.reportDaily)
      .where(and(eq(t.reportDaily.campaignId, p('campaignId')), eq(t.reportDaily.day, p('day'))))
      .prepare(),
    setSketch: db
      .update(t.reportDaily)
      .set({ reachSketch: sql`${p('sketch')}` })
      .where(and(eq(t.reportDaily.campaignId, p('campaignId')), eq(t.reportDaily.day, p('day'))))
      .prepare(),
  };
}
