/**
 * The event ledger on SQLite: both sides of the event procedure (../event-procedure.ts)
 * in one transaction per group of batches, then the report-threshold rule.
 */
import type Database from 'better-sqlite3';
import { and, between, count, eq, gte } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import * as t from '../../../schema/tables.js';
import type { StoreMetrics } from '../../ops/metrics.js';
import type { SqlCatalog } from '../catalog.js';
import { applyCampaignSide, applyUserSide, type CampaignSideTx, reviewReported, type UserSideTx } from '../event-procedure.js';
import type {
  EventBatchResult,
  EventOutcome,
  EventRules,
  LedgerStore,
  ReportBy,
  ReportRow,
  Reservation,
  VerifiedEvent,
} from '../interface.js';
import { Reach } from '../reach.js';
import { REPORT_COUNTERS, type ReportCounter, toReportRows } from '../report-rows.js';
import type { SqliteBudgets } from './budgets.js';
import type { Db } from './db.js';
import { GroupCommit } from './group-commit.js';
import type { SqliteUsers } from './users.js';
import type { WalSync } from './wal-sync.js';

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
  private sqlite: Database.Database;
  /**
   * Parsed reach sketches by campaign-day: this process is the only writer, so a
   * batch adds to the cached sketch and writes it once instead of decoding and
   * re-encoding 4 KiB per impression.
   */
  private sketches = new LRUCache<string, Reach>({ max: 10_000 });
  /** Concurrent batches share one transaction; each is acknowledged only once the WAL is synced after it. */
  private group: GroupCommit<Batch, Applied>;

  constructor(
    private db: Db,
    private users: SqliteUsers,
    private budgets: SqliteBudgets,
    private catalog: SqlCatalog,
    wal: WalSync,
    private metrics?: StoreMetrics,
  ) {
    this.sqlite = (db as unknown as { $client: Database.Database }).$client;
    this.statements = prepareStatements(this.sqlite);
    this.group = new GroupCommit<Batch, Applied>(
      (batches) => this.commit(batches),
      (seconds, size) => this.metrics?.commit('events', seconds, size),
      { wal, wait: 'sync' },
    );
  }

  async record(events: VerifiedEvent[], now: number, rules: EventRules): Promise<EventBatchResult> {
    const { outcomes, reported } = await this.group.submit({ events, now, rules });
    const sentToReview = await reviewReported(reported, rules.reportThreshold, now, this.catalog, (creativeId, since) =>
      this.reportersSince(creativeId, since),
    );
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

  /**
   * One transaction for the group; in-memory effects (user cache, budgets) only after it
   * commits. The campaign side is aggregated over the group: one spend, report and CTR
   * upsert per campaign-day or creative instead of one per event, the budget in force
   * and spend so far read once per campaign (this process is the only writer).
   */
  private commit(batches: Batch[]): Applied[] {
    const afterCommit: (() => void)[] = [];
    const dirty = new Map<string, { row: ReportRowKey; reach: Reach }>();
    const q = this.statements;
    const counts = new Map<string, { row: ReportRowKey; counters: Record<ReportCounter, number> }>();
    const ctr = new Map<string, { impressions: number; clicks: number; at: number }>();
    /** Spend by campaign-day: what was recorded before this group (read once) and what this group adds. */
    const spendOn = new Map<string, { campaignId: string; day: string; before: number; added: number }>();
    const limits = new Map<string, { daily: number | null; total: number | null; spentTotal: number } | null>();
    const limitOf = (campaignId: string) => {
      let limit = limits.get(campaignId);
      if (limit === undefined) {
        const budget = q.budget.get(campaignId) as { daily: number | null; total: number | null } | undefined;
        limit = budget ? { ...budget, spentTotal: budget.total !== null ? (q.spentTotal.get(campaignId) as number) : 0 } : null;
        limits.set(campaignId, limit);
      }
      return limit;
    };
    const spentOn = (campaignId: string, day: string) => {
      const key = `${campaignId}|${day}`;
      let entry = spendOn.get(key);
      if (!entry)
        spendOn.set(
          key,
          (entry = { campaignId, day, before: (q.spentOn.get(campaignId, day) as number | undefined) ?? 0, added: 0 }),
        );
      return entry;
    };
    const campaignSide: CampaignSideTx = {
      firstTime: () => true, // the events table already made this event the first of its kind
      remainingMicros: (campaignId, day) => {
        const limit = limitOf(campaignId);
        // Unknown to the catalog: no budget in force beyond what the hold already fitted.
        if (!limit) return Number.POSITIVE_INFINITY;
        let remaining = Number.POSITIVE_INFINITY;
        if (limit.daily !== null) {
          const spent = spentOn(campaignId, day);
          remaining = Math.min(remaining, limit.daily - spent.before - spent.added);
        }
        if (limit.total !== null) remaining = Math.min(remaining, limit.total - limit.spentTotal);
        return remaining;
      },
      addSpend: (effect, day, micros) => {
        if (micros > 0) {
          spentOn(effect.campaignId, day).added += micros;
          const limit = limitOf(effect.campaignId);
          if (limit) limit.spentTotal += micros;
        }
        afterCommit.push(() => this.budgets.charged(effect.campaignId, effect.reservationId, micros, effect.at));
      },
      addReporter: (creativeId, uid, at) => q.addReporter.run(creativeId, uid, at),
      addCtr: (creativeId, impressions, clicks, at) => {
        const row = ctr.get(creativeId);
        if (row) {
          row.impressions += impressions;
          row.clicks += clicks;
          row.at = at;
        } else ctr.set(creativeId, { impressions, clicks, at });
      },
      count: (campaignId, day, rows, counter, spend, reachOf) => {
        for (const { by, key } of rows) {
          const cacheKey = `${campaignId}|${by}|${day}|${key}`;
          let entry = counts.get(cacheKey);
          if (!entry) {
            const counters = Object.fromEntries(REPORT_COUNTERS.map((c) => [c, 0])) as Record<ReportCounter, number>;
            counts.set(cacheKey, (entry = { row: { campaignId, by, day, key }, counters }));
          }
          entry.counters[counter]++;
          entry.counters.spendMicros += spend;
          if (reachOf !== undefined) this.reach(cacheKey, entry.row, reachOf, dirty);
        }
      },
    };
    try {
      return this.sqlite.transaction(() => {
        const applied = batches.map((batch) => {
          const reported: string[] = [];
          const userSide: UserSideTx = {
            seen: (reservationId, type) => q.seen.get(reservationId, type) !== undefined,
            reservation: (id) => q.reservation.get(id) as Reservation | undefined,
            insertEvent: (row) => q.insertEvent.run(row.reservationId, row.type, row.uid, row.campaignId, row.at, row.costMicros),
            markViewed: (reservation, at) => {
              q.setViewed.run(at, reservation.id);
              afterCommit.push(() => this.users.viewed(reservation.uid, reservation.id));
            },
            markCharged: (reservation, at) => q.setCharged.run(at, reservation.id),
            block: (uid, advertiserId, at) => {
              q.addBlock.run(uid, advertiserId, at);
              afterCommit.push(() => this.users.cache.get(uid)?.blocks.add(advertiserId));
            },
            hide: (uid, creativeId, at) => {
              q.addHide.run(uid, creativeId, at);
              afterCommit.push(() => this.users.cache.get(uid)?.hides.add(creativeId));
            },
            forCampaign: (effect) => {
              if (effect.type === 'report') reported.push(effect.creativeId);
              return applyCampaignSide(campaignSide, effect);
            },
          };
          return { outcomes: applyUserSide(userSide, batch.events, batch.now, batch.rules), reported };
        });
        for (const { campaignId, day, added } of spendOn.values()) if (added > 0) q.addSpend.run(campaignId, day, added);
        for (const { row, counters } of counts.values())
          q.addCounts.run(row.campaignId, row.by, row.day, row.key, ...REPORT_COUNTERS.map((c) => counters[c]));
        for (const [creativeId, r] of ctr) q.addCtr.run(creativeId, r.impressions, r.clicks, r.at);
        for (const { row, reach } of dirty.values()) q.setSketch.run(reach.serialize(), row.campaignId, row.by, row.day, row.key);
        return applied;
      })();
    } catch (err) {
      // The cached sketches may hold adds that were rolled back: read them again next time.
      for (const key of dirty.keys()) this.sketches.delete(key);
      afterCommit.length = 0;
      throw err;
    } finally {
      for (const f of afterCommit) f();
    }
  }

  /** Reach goes into a HyperLogLog sketch per report row, never a user list. */
  private reach(cacheKey: string, row: ReportRowKey, uid: string, dirty: Map<string, { row: ReportRowKey; reach: Reach }>) {
    let reach = this.sketches.get(cacheKey);
    if (!reach) {
      reach = Reach.parse(
        (this.statements.sketch.get(row.campaignId, row.by, row.day, row.key) as string | null | undefined) ?? undefined,
      );
      this.sketches.set(cacheKey, reach);
    }
    if (reach.add(uid)) dirty.set(cacheKey, { row, reach });
  }

  async report(campaignId: string, fromDay: string, toDay: string, by: ReportBy = 'day'): Promise<ReportRow[]> {
    const rows = this.db
      .select()
      .from(t.reportRows)
      .where(and(eq(t.reportRows.campaignId, campaignId), eq(t.reportRows.by, by), between(t.reportRows.day, fromDay, toDay)))
      .all();
    return toReportRows(rows, by);
  }
}

/**
 * Prepared once, as plain better-sqlite3 statements: every accepted event runs the
 * first ones, and drizzle's placeholder mapping cost as much as SQLite itself here.
 */
function prepareStatements(sqlite: Database.Database) {
  const s = (text: string) => sqlite.prepare(text);
  return {
    seen: s('SELECT 1 FROM events WHERE reservation_id = ? AND type = ?').pluck(),
    reservation: s(
      `SELECT id, uid, campaign_id AS campaignId, creative_id AS creativeId, advertiser_id AS advertiserId, bid_type AS bidType,
        price_micros AS priceMicros, served_at AS servedAt, expires_at AS expiresAt, viewed_at AS viewedAt, charged_at AS chargedAt,
        country, platform, video <> 0 AS video
       FROM reservations WHERE id = ?`,
    ),
    insertEvent: s('INSERT INTO events (reservation_id, type, uid, campaign_id, at, cost_micros) VALUES (?, ?, ?, ?, ?, ?)'),
    setViewed: s('UPDATE reservations SET viewed_at = ? WHERE id = ?'),
    setCharged: s('UPDATE reservations SET charged_at = ? WHERE id = ?'),
    addBlock: s('INSERT INTO user_blocks (uid, advertiser_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    addHide: s('INSERT INTO user_hides (uid, creative_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    addReporter: s(
      'INSERT INTO creative_reports (creative_id, uid, at) VALUES (?, ?, ?) ON CONFLICT (creative_id, uid) DO UPDATE SET at = excluded.at',
    ),
    budget: s('SELECT daily_budget_micros AS daily, total_budget_micros AS total FROM campaigns WHERE id = ?'),
    spentOn: s('SELECT spend_micros FROM campaign_spend WHERE campaign_id = ? AND day = ?').pluck(),
    spentTotal: s('SELECT coalesce(sum(spend_micros), 0) FROM campaign_spend WHERE campaign_id = ?').pluck(),
    addSpend: s(
      'INSERT INTO campaign_spend (campaign_id, day, spend_micros) VALUES (?, ?, ?) ON CONFLICT (campaign_id, day) DO UPDATE SET spend_micros = spend_micros + excluded.spend_micros',
    ),
    // Columns in REPORT_COUNTERS order.
    addCounts: s(
      `INSERT INTO report_rows (campaign_id, by, day, key, ${COUNTER_COLUMNS.join(', ')}) VALUES (?, ?, ?, ?, ${COUNTER_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (campaign_id, by, day, key) DO UPDATE SET ${COUNTER_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
    ),
    addCtr: s(
      `INSERT INTO creative_stats (creative_id, impressions, clicks, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (creative_id) DO UPDATE SET impressions = impressions + excluded.impressions, clicks = clicks + excluded.clicks, updated_at = excluded.updated_at`,
    ),
    sketch: s('SELECT reach_sketch FROM report_rows WHERE campaign_id = ? AND by = ? AND day = ? AND key = ?').pluck(),
    setSketch: s('UPDATE report_rows SET reach_sketch = ? WHERE campaign_id = ? AND by = ? AND day = ? AND key = ?'),
  };
}

/** One stored report row's key. */
interface ReportRowKey {
  campaignId: string;
  by: ReportBy;
  day: string;
  key: string;
}

/** The SQL columns of REPORT_COUNTERS, in the same order. */
const COUNTER_COLUMNS = REPORT_COUNTERS.map((c) => t.reportRows[c].name);
