/**
 * The event ledger on SQLite: both sides of the event procedure (../event-procedure.ts)
 * in one transaction per group of batches, then the report-threshold rule.
 */
import { and, asc, between, count, eq, gte, sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import * as t from '../../../schema/tables.js';
import { toReportRow } from '../catalog-rows.js';
import type { SqlCatalog } from '../catalog.js';
import { applyCampaignSide, applyUserSide, type CampaignSideTx, reviewReported, type UserSideTx } from '../event-procedure.js';
import type { EventBatchResult, EventOutcome, EventRules, LedgerStore, ReportRow, VerifiedEvent } from '../interface.js';
import { Reach } from '../reach.js';
import { utcDay } from '../utc-day.js';
import type { SqliteBudgets } from './budgets.js';
import type { Db } from './db.js';
import { GroupCommit } from './group-commit.js';
import type { StoreMetrics } from '../../ops/metrics.js';
import type { SqliteUsers } from './users.js';

interface Batch {
  events: VerifiedEvent[];
  now: number;
  rules: EventRules;
}

interface Applied {
  outcomes: EventOutcome[];
  /** Creatives reported in this batch: the threshold rule looks at them after the commit. */
  reported: string[];
}

export class SqliteLedger implements LedgerStore {
  private statements: ReturnType<typeof prepareStatements>;
  /**
   * Parsed reach sketches by campaign-day: this process is the only writer, so a
   * batch adds to the cached sketch and writes it once instead of decoding and
   * re-encoding 4 KiB per impression.
   */
  private sketches = new LRUCache<string, Reach>({ max: 10_000 });
  private group = new GroupCommit<Batch, Applied>(
    (batches) => this.commit(batches),
    (seconds, size) => this.metrics?.commit('events', seconds, size),
  );

  constructor(
    private db: Db,
    private users: SqliteUsers,
    private budgets: SqliteBudgets,
    private catalog: SqlCatalog,
    private metrics?: StoreMetrics,
  ) {
    this.statements = prepareStatements(db);
  }

  async record(events: VerifiedEvent[], now: number, rules: EventRules): Promise<EventBatchResult> {
    const { outcomes, reported } = await this.group.submit({ events, now, rules });
    const sentToReview = await reviewReported(reported, rules.reportThreshold, now, this.catalog, (creativeId, since) => this.reportersSince(creativeId, since));
    return { outcomes, sentToReview };
  }

  private reportersSince(creativeId: string, since: number): number {
    return (
      this.db
        .select({ n: count() })
        .from(t.creativeReports)
        .where(and(eq(t.creativeReports.creativeId, creativeId), gte(t.creativeReports.at, since)))
        .get()?.n ?? 0
    );
  }

  /** One transaction for the group; in-memory effects (user cache, budgets) only after it commits. */
  private commit(batches: Batch[]): Applied[] {
    const afterCommit: (() => void)[] = [];
    const dirty = new Map<string, { campaignId: string; day: string; reach: Reach }>();
    const q = this.statements;
    const campaignSide: CampaignSideTx = {
      firstTime: () => true, // the events table already made this event the first of its kind
      remainingMicros: (campaignId, day) => {
        const budget = q.budget.get({ id: campaignId });
        // Unknown to the catalog: no budget in force beyond what the hold already fitted.
        if (!budget) return Number.POSITIVE_INFINITY;
        let remaining = Number.POSITIVE_INFINITY;
        if (budget.daily !== null) remaining = Math.min(remaining, budget.daily - (q.spentOn.get({ campaignId, day })?.s ?? 0));
        if (budget.total !== null) remaining = Math.min(remaining, budget.total - (q.spentTotal.get({ campaignId })?.s ?? 0));
        return remaining;
      },
      addSpend: (effect, day, micros) => {
        if (micros > 0) q.addSpend.run({ campaignId: effect.campaignId, day, amount: micros });
        afterCommit.push(() => this.budgets.charged(effect.campaignId, effect.reservationId, micros, effect.at));
      },
      addReporter: (creativeId, uid, at) => q.addReporter.run({ creativeId, uid, at }),
      addCtr: (creativeId, impressions, clicks, at) => q.addCtr.run({ creativeId, impressions, clicks, at }),
      count: (campaignId, day, column, spend, reachOf) => {
        q.addCounts.run({
          campaignId,
          day,
          impressions: column === 'impressions' ? 1 : 0,
          clicks: column === 'clicks' ? 1 : 0,
          hides: column === 'hides' ? 1 : 0,
          reports: column === 'reports' ? 1 : 0,
          blocks: column === 'blocks' ? 1 : 0,
          spend,
        });
        if (reachOf !== undefined) this.reach(campaignId, day, reachOf, dirty);
      },
    };
    try {
      return this.db.transaction(() => {
        const applied = batches.map((batch) => {
          const reported: string[] = [];
          const userSide: UserSideTx = {
            seen: (reservationId, type) => q.seen.get({ reservationId, type }) !== undefined,
            reservation: (id) => q.reservation.get({ id }),
            insertEvent: (row) => q.insertEvent.run(row),
            markViewed: (reservation, at) => {
              q.setViewed.run({ id: reservation.id, at });
              afterCommit.push(() => this.users.viewed(reservation.uid, reservation.id));
            },
            markCharged: (reservation, at) => q.setCharged.run({ id: reservation.id, at }),
            block: (uid, advertiserId, at) => {
              q.addBlock.run({ uid, advertiserId, at });
              afterCommit.push(() => this.users.cache.get(uid)?.blocks.add(advertiserId));
            },
            hide: (uid, creativeId, at) => {
              q.addHide.run({ uid, creativeId, at });
              afterCommit.push(() => this.users.cache.get(uid)?.hides.add(creativeId));
            },
            forCampaign: (effect) => {
              if (effect.type === 'report') reported.push(effect.creativeId);
              return applyCampaignSide(campaignSide, effect);
            },
          };
          return { outcomes: applyUserSide(userSide, batch.events, batch.now, batch.rules), reported };
        });
        for (const { campaignId, day, reach } of dirty.values()) q.setSketch.run({ campaignId, day, sketch: reach.serialize() });
        return applied;
      });
    } catch (err) {
      // The cached sketches may hold adds that were rolled back: read them again next time.
      for (const key of dirty.keys()) this.sketches.delete(key);
      afterCommit.length = 0;
      throw err;
    } finally {
      for (const f of afterCommit) f();
    }
  }

  /** Reach goes into a HyperLogLog sketch, never a user list. */
  private reach(campaignId: string, day: string, uid: string, dirty: Map<string, { campaignId: string; day: string; reach: Reach }>) {
    const key = `${campaignId}|${day}`;
    let reach = this.sketches.get(key);
    if (!reach) {
      reach = Reach.parse(this.statements.sketch.get({ campaignId, day })?.sketch);
      this.sketches.set(key, reach);
    }
    if (reach.add(uid)) dirty.set(key, { campaignId, day, reach });
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
    addBlock: db.insert(t.userBlocks).values({ uid: p('uid'), advertiserId: p('advertiserId'), at: p('at') }).onConflictDoNothing().prepare(),
    addHide: db.insert(t.userHides).values({ uid: p('uid'), creativeId: p('creativeId'), at: p('at') }).onConflictDoNothing().prepare(),
    addReporter: db
      .insert(t.creativeReports)
      .values({ creativeId: p('creativeId'), uid: p('uid'), at: p('at') })
      .onConflictDoUpdate({ target: [t.creativeReports.creativeId, t.creativeReports.uid], set: { at: sql`excluded.at` } })
      .prepare(),
    budget: db
      .select({ daily: t.campaigns.dailyBudgetMicros, total: t.campaigns.totalBudgetMicros })
      .from(t.campaigns)
      .where(eq(t.campaigns.id, p('id')))
      .prepare(),
    spentOn: db
      .select({ s: t.campaignSpend.spendMicros })
      .from(t.campaignSpend)
      .where(and(eq(t.campaignSpend.campaignId, p('campaignId')), eq(t.campaignSpend.day, p('day'))))
      .prepare(),
    spentTotal: db
      .select({ s: sql<number>`coalesce(sum(${t.campaignSpend.spendMicros}), 0)` })
      .from(t.campaignSpend)
      .where(eq(t.campaignSpend.campaignId, p('campaignId')))
      .prepare(),
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
