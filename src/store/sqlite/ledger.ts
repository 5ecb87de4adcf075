/**
 * The event ledger on SQLite: both sides of the event procedure (../event-procedure.ts)
 * in one transaction per group of batches, then the report-threshold rule.
 *
 * Report rows (counters and a reach sketch each, five rows per event; a sketch is a few
 * bytes per user until it turns into the dense 4 KiB, reach.ts) are state derived from
 * the events table: the ledger keeps what groups add to them in memory, up to
 * `MAX_UNWRITTEN_BYTES`, and writes a row once its oldest unwritten change is
 * `REPORT_WRITE_MS` old, oldest first and at most `ROWS_PER_GROUP` per group, not with
 * every group (writing a group's rows cost several times everything else an event does). `ledger_marks` says
 * up to which events rowid every stored row is exact ('report_rows') and, for rows
 * written since, up to which each one is ('row:<key>'); on start the events past them
 * are counted again, so a crash loses nothing and counts nothing twice. Reports read
 * stored rows plus what is in memory. Spend and CTR counts are written with every
 * group (budgets and the index read them; they are small).
 */
import type Database from 'better-sqlite3';
import { and, between, eq } from 'drizzle-orm';
import * as t from '../../../schema/tables.js';
import type { EventType } from '../../engine/types.js';
import type { StoreMetrics } from '../../ops/metrics.js';
import type { SqlCatalog } from '../catalog.js';
import { applyCampaignSide, applyUserSide, type CampaignSideTx, reviewReported, type UserSideTx } from '../event-procedure.js';
import type {
  EventBatchResult,
  EventOutcome,
  EventRules,
  LedgerEvent,
  LedgerStore,
  ReportBy,
  ReportRow,
  Reservation,
} from '../interface.js';
import { Reach, reachUnion } from '../reach.js';
import {
  counterOf,
  REPORT_COUNTERS,
  type ReportCounter,
  reportKeys,
  type StoredReportRow,
  toReportRows,
} from '../report-rows.js';
import { reportersSince } from '../reporters.js';
import { utcDay } from '../utc-day.js';
import type { SqliteBudgets } from './budgets.js';
import type { Db } from './db.js';
import { GroupCommit } from './group-commit.js';
import { DAY_ROWS_BYTES, type DayRows, deltaBytes, type RowDelta, UnwrittenRows } from './unwritten-rows.js';
import { OF_USER, type SqliteUsers } from './users.js';
import type { WalSync } from './wal-sync.js';

interface Batch {
  events: LedgerEvent[];
  now: number;
  rules: EventRules;
}

interface Applied {
  outcomes: EventOutcome[];
  /** Creatives reported in this batch: the threshold rule looks at them after the commit. */
  reported: string[];
}

export class SqliteLedger implements LedgerStore {
  private statements: Statements;
  private sqlite: Database.Database;
  /** Concurrent batches share one transaction; each is acknowledged only once the WAL is synced after it. */
  private group: GroupCommit<Batch, Applied>;
  /** Report rows' committed changes not yet written, per campaign and day, in creation order; their bytes kept under MAX_UNWRITTEN_BYTES. */
  private unwritten = new UnwrittenRows();
  /** The events rowid the next event gets: assigned here, so rowids only grow (erasing the newest cannot reuse one). */
  private nextRowid: number;
  /** The rowid of the last event of the last committed group: written rows are exact up to it. */
  private committedRowid: number;
  /** The 'report_rows' mark as last written. */
  private exactThrough: number | undefined;
  private writesSinceDrop = 0;
  /**
   * Committed spend of campaigns charged since the start, as far as known: in total (when a total budget
   * asked for it) and on the latest day charged. Read from `campaign_spend` once, then kept up to date here.
   */
  private spent = new Map<string, { total: number | undefined; day: string | undefined; onDay: number }>();
  /** The UTC day `spent` was kept for (cleared when a group starts on another). */
  private spentDay: string | undefined;
  /**
   * Budgets in force of campaigns charged since the catalog version `budgetsVersion` (null: not in the
   * catalog): every campaign write bumps that version in its own transaction, so a group reads one row for
   * it rather than each charged campaign's budget again (hundreds of campaigns per group).
   */
  private budgetsInForce = new Map<string, { daily: number | null; total: number | null } | null>();
  private budgetsVersion: number | undefined;

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
    // Read before the orphans go: their rowids may be the highest, and must never be handed out again (row marks name them).
    const latest = (this.statements.latestRowid.get() as number | null) ?? 0;
    this.dropOrphanEvents();
    const mark = this.statements.mark.get(REPORT_MARK) as number | undefined;
    this.committedRowid = latest;
    this.nextRowid = Math.max(latest, mark ?? 0) + 1;
    this.recover(mark, latest);
    this.group = new GroupCommit<Batch, Applied>(
      (batches) => this.commit(batches),
      (seconds, size) => this.metrics?.commit('events', seconds, size),
      { wal, wait: 'sync' },
    );
  }

  /**
   * Erase finds a user's events through their reservations, and retention deletes events
   * with their reservations (users.ts), so none outlives its reservation. Versions before
   * that deleted events by age alone: the rows they left behind go once (their tokens
   * have expired, so they decide nothing any more).
   */
  private dropOrphanEvents(): void {
    if (this.statements.mark.get(EVENTS_BY_RESERVATION_MARK) !== undefined) return;
    this.sqlite.transaction(() => {
      this.sqlite.exec('DELETE FROM events WHERE NOT EXISTS (SELECT 1 FROM reservations r WHERE r.number = events.reservation)');
      this.statements.setMark.run(EVENTS_BY_RESERVATION_MARK, 1);
    })();
  }

  async record(events: LedgerEvent[], now: number, rules: EventRules): Promise<EventBatchResult> {
    const { outcomes, reported } = await this.group.submit({ events, now, rules });
    const sentToReview = await reviewReported(reported, rules.reportThreshold, now, this.catalog, (creativeId, since) =>
      reportersSince(this.db, creativeId, since),
    );
    return { outcomes, sentToReview };
  }

  /**
   * One transaction for the group; in-memory effects (user cache, budgets, report rows)
   * only after it commits. The campaign side is aggregated over the group: one spend and
   * CTR upsert per campaign-day or creative instead of one per event, the budget in
   * force and spend so far read once per campaign (this process is the only writer).
   */
  private commit(batches: Batch[]): Applied[] {
    // Spend known from earlier groups is kept for the current UTC day only: campaigns charged on past days
    // (ended, archived) do not stay in memory for the life of the process.
    const today = utcDay(batches[0].now);
    if (today !== this.spentDay) {
      this.spent.clear();
      this.spentDay = today;
    }
    const afterCommit: (() => void)[] = [];
    const q = this.statements;
    const budgetsVersion = (q.catalogVersion.get() as number | undefined) ?? 0;
    if (budgetsVersion !== this.budgetsVersion) {
      this.budgetsInForce.clear();
      this.budgetsVersion = budgetsVersion;
    }
    /**
     * Report counts by event class (campaign, day and the keys of its rows), by campaign: one lookup per event
     * and a few short comparisons, no key built; each class is spread over its report rows once per group, after the commit.
     */
    const classes = new Map<string, EventClass[]>();
    const ctr = new Map<string, { impressions: number; clicks: number; at: number }>();
    /** The group's charged campaigns: budget in force and spend so far (read once), what the group adds, by day. */
    const campaigns = new Map<string, GroupCampaign>();
    /** remainingMicros and addSpend ask for the same campaign one after the other: one lookup. */
    let last: GroupCampaign | undefined;
    const campaignOf = (campaignId: string): GroupCampaign => {
      if (last?.id === campaignId) return last;
      let c = campaigns.get(campaignId);
      if (!c) {
        let budget = this.budgetsInForce.get(campaignId);
        if (budget === undefined) {
          budget = (q.budget.get(campaignId) as { daily: number | null; total: number | null } | undefined) ?? null;
          this.budgetsInForce.set(campaignId, budget);
        }
        let limit: GroupCampaign['limit'] = null;
        if (budget) {
          let spentTotal = 0;
          if (budget.total !== null) {
            const known = this.spent.get(campaignId);
            spentTotal = known?.total ?? (q.spentTotal.get(campaignId) as number);
          }
          limit = { daily: budget.daily, total: budget.total, spentTotal };
        }
        campaigns.set(campaignId, (c = { id: campaignId, limit, days: [] }));
      }
      last = c;
      return c;
    };
    const spentOn = (c: GroupCampaign, day: string): GroupSpend => {
      for (const d of c.days) if (d.day === day) return d;
      const known = this.spent.get(c.id);
      const before = known?.day === day ? known.onDay : ((q.spentOn.get(c.id, day) as number | undefined) ?? 0);
      const d = { day, before, added: 0, charged: [], at: 0 };
      c.days.push(d);
      return d;
    };
    /** Converting events, for the user cache after the commit (uid, reservation id, ...). */
    const viewed: string[] = [];
    const campaignSide: CampaignSideTx = {
      firstTime: () => true, // the events table already made this event the first of its kind
      remainingMicros: (campaignId, day) => {
        const c = campaignOf(campaignId);
        const limit = c.limit;
        // Unknown to the catalog: no budget in force beyond what the hold already fitted.
        if (!limit) return Number.POSITIVE_INFINITY;
        let remaining = Number.POSITIVE_INFINITY;
        if (limit.daily !== null) {
          const spent = spentOn(c, day);
          remaining = Math.min(remaining, limit.daily - spent.before - spent.added);
        }
        if (limit.total !== null) remaining = Math.min(remaining, limit.total - limit.spentTotal);
        return remaining;
      },
      addSpend: (effect, day, micros) => {
        const c = campaignOf(effect.campaignId);
        const spent = spentOn(c, day);
        spent.added += micros;
        if (c.limit) c.limit.spentTotal += micros;
        // The hold becomes spend in memory after the commit, once per campaign-day.
        spent.charged.push(effect.reservationId);
        spent.at = effect.at;
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
      count: (campaignId, day, where, counter, spend, reachOf) => {
        let list = classes.get(campaignId);
        if (!list) classes.set(campaignId, (list = []));
        // The UTC hour since the epoch names the day and the hour row; the rows themselves are built once per class.
        const hour = Math.floor(where.at / 3_600_000);
        let c: EventClass | undefined;
        for (let k = 0; k < list.length && !c; k++) {
          const o = list[k];
          if (
            o.hour === hour &&
            o.creativeId === where.creativeId &&
            o.country === where.country &&
            o.platform === where.platform
          ) {
            c = o;
          }
        }
        if (!c) {
          const { creativeId, country, platform } = where;
          c = {
            campaignId,
            day,
            hour,
            creativeId,
            country,
            platform,
            counts: [],
            spend: 0,
            points: [],
          };
          list.push(c);
        }
        c.counts.push(COUNTER_INDEX[counter]);
        c.spend += spend;
        if (reachOf !== undefined) c.points.push(Reach.point(reachOf));
      },
    };
    const groupRowid = this.nextRowid;
    const groupNow = batches[0].now;
    let written: Written | undefined;
    let rowid = this.nextRowid;
    // If it throws, the transaction rolled back: neither the rows written nor the marks change in memory.
    const applied = this.sqlite.transaction(() => {
      // The rows as of the groups committed before this one (this group's changes join them after its commit).
      // Past MAX_UNWRITTEN_BYTES the oldest rows go now, whatever their age, until the rest fit: memory stays bounded.
      written =
        this.unwritten.bytes > MAX_UNWRITTEN_BYTES
          ? this.writeRows(Number.POSITIVE_INFINITY, ROWS_PER_GROUP, MAX_UNWRITTEN_BYTES)
          : this.writeRows(groupNow - REPORT_WRITE_MS, ROWS_PER_GROUP);
      const applied = batches.map((batch) => {
        const reported: string[] = [];
        /** The reservation row `seen` read with its probe (the procedure asks for it next), or undefined. */
        let read: ReservationRow | undefined;
        let readFor: LedgerEvent | undefined;
        const userSide: UserSideTx<LedgerEvent> = {
          // One statement for the idempotency probe and the reservation row: one call and one lookup of the id less per event.
          // By the number the token carries (the table's own key: one descent), else (tokens sealed before numbers) by the id.
          seen: (event) => {
            read = seenRow(q, event, this.users);
            readFor = event;
            // No reservation of this number, id, user and campaign (erased, pruned, never served, lost): no event of it
            // is recorded either (events go with their reservation), and the procedure refuses it as unknown.
            return read !== undefined && read[SEEN] === 1;
          },
          reservation: (event) => {
            const row = readFor === event ? read : seenRow(q, event, this.users);
            read = readFor = undefined;
            return row && new EventReservation(event, row, q.advertiser);
          },
          insertEvent: (row) =>
            q.insertEvent.run(rowid++, row.reservationNumber, row.type, row.uid, row.campaignId, row.at, row.costMicros),
          // The event row inserted with it is the mark (events as state, see RESERVATION_COLUMNS): only the cache learns it.
          markViewed: (reservation) => {
            viewed.push(reservation.uid, reservation.id);
          },
          markCharged: () => {},
          block: (uid, advertiserId, at) => {
            q.addBlock.run(uid, advertiserId, at);
            afterCommit.push(() => this.users.addCached(uid, 'blocks', advertiserId));
          },
          hide: (uid, creativeId, at) => {
            q.addHide.run(uid, creativeId, at);
            afterCommit.push(() => this.users.addCached(uid, 'hides', creativeId));
          },
          forCampaign: (effect) => {
            if (effect.type === 'report') reported.push(effect.creativeId);
            return applyCampaignSide(campaignSide, effect);
          },
        };
        return { outcomes: applyUserSide(userSide, batch.events, batch.now, batch.rules), reported };
      });
      for (const c of campaigns.values()) for (const d of c.days) if (d.added > 0) q.addSpend.run(c.id, d.day, d.added);
      for (const [creativeId, r] of ctr) q.addCtr.run(creativeId, r.impressions, r.clicks, r.at);
      return applied;
    })();
    // Committed: nothing below may undo it or report its events as failed. The group's rowids are used.
    if (rowid > this.nextRowid) this.committedRowid = rowid - 1;
    this.nextRowid = rowid;
    // The rows written are stored: out of memory before this group's changes make new ones (from its first rowid).
    if (written) this.wrote(written);
    // Holds become spend, the user cache learns what converted, report changes wait to be written. Each step's
    // failure is logged and the rest goes on: the rows are committed, and a restart rebuilds memory from them.
    for (const c of campaigns.values()) {
      for (const d of c.days) {
        if (d.charged.length > 0) afterCommitted(() => this.budgets.charged(c.id, d.charged, d.added, d.at));
      }
      this.learnSpend(c);
    }
    afterCommitted(() => {
      for (let i = 0; i < viewed.length; i += 2) this.users.viewed(viewed[i], viewed[i + 1]);
    });
    // One step per class: a failure (a sketch, an allocation) loses that class's counts, not the rest of the group's.
    for (const list of classes.values()) for (const c of list) afterCommitted(() => this.count(c, groupRowid, groupNow));
    for (const f of afterCommit) afterCommitted(f);
    return applied;
  }

  /**
   * What a committed group leaves in `campaign_spend` for its campaigns, so the next group reads neither the
   * total nor the day's row again: this ledger is the table's only writer.
   */
  private learnSpend(c: GroupCampaign): void {
    const latest = c.days[c.days.length - 1];
    const known = this.spent.get(c.id);
    const total = c.limit && c.limit.total !== null ? c.limit.spentTotal : undefined;
    if (!latest) {
      if (total !== undefined) this.spent.set(c.id, { total, day: known?.day, onDay: known?.onDay ?? 0 });
      return;
    }
    const knownTotal = total ?? (known?.total !== undefined ? known.total + sumAdded(c) : undefined);
    this.spent.set(c.id, { total: knownTotal, day: latest.day, onDay: latest.before + latest.added });
  }

  /** A committed class's counters and users reached, added to its five rows' unwritten changes (from the group's first rowid). */
  private count(c: EventClass, fromRowid: number, since: number): void {
    const rows = this.unwritten;
    const d = rows.dayRows(c.campaignId, c.day);
    this.add(rows.total(d, fromRowid, since), c);
    this.add(rows.hour(d, c.hour % 24, fromRowid, since), c);
    this.add(rows.keyed(d, 'creative', c.creativeId, fromRowid, since), c);
    this.add(rows.keyed(d, 'country', c.country, fromRowid, since), c);
    this.add(rows.keyed(d, 'platform', c.platform, fromRowid, since), c);
  }

  /** A class's counts, spend and users reached, added to one of its rows' unwritten change. */
  private add(delta: RowDelta, c: EventClass): void {
    const counters = delta.counters;
    for (const i of c.counts) counters[i]++;
    counters[SPEND] += c.spend;
    if (c.points.length > 0) this.reach(c.points, delta);
  }

  /**
   * Reach goes into a HyperLogLog sketch per report row, never a user list. The delta's sketch holds
   * only the users since the row was last written: the stored sketch is never read here, the write
   * merges the two (register maximum, `reach_union`), so a row touched for the first time costs no read.
   */
  private reach(points: number | number[], delta: RowDelta) {
    const reach = this.unwritten.sketch(delta);
    const bytes = reach.bytes;
    if (typeof points === 'number') reach.addPoint(points);
    else for (const point of points) reach.addPoint(point);
    this.unwritten.bytes += reach.bytes - bytes;
  }

  /**
   * Writes the report rows whose oldest unwritten change is from `before` or earlier,
   * oldest first, at most `limit` of them (so no group stalls on tens of thousands of
   * rows) unless more must go for the rest to fit in `fitIn` bytes, inside the caller's
   * transaction. Each written row records in `ledger_marks`
   * the events rowid it is now exact up to; the 'report_rows' mark moves to where every
   * row is exact, and row marks it passed are dropped. Changes nothing in memory: returns how
   * many rows it wrote (the oldest ones) and the marks as written, which the caller applies
   * (`wrote`) once the transaction commits; if it rolls back, rows and marks stay as they were.
   */
  private writeRows(
    before = Number.POSITIVE_INFINITY,
    limit = Number.POSITIVE_INFINITY,
    fitIn = Number.POSITIVE_INFINITY,
  ): Written | undefined {
    const q = this.statements;
    const rows = this.unwritten;
    let written = 0;
    let freed = 0;
    /** Rows written so far of each campaign-day touched: its holder is freed too once all of them are. */
    const holders = new Map<DayRows, number>();
    for (let delta = rows.at(0); delta; delta = rows.at(written)) {
      if (delta.since > before || (written >= limit && rows.bytes - freed <= fitIn)) break;
      const { counters, reach } = delta;
      q.addCounts.run(delta.campaignId, delta.by, delta.day, delta.key, ...counters, reach ? reach.serialize() : null);
      written++;
      freed += deltaBytes(delta);
      const n = (holders.get(delta.holder) ?? 0) + 1;
      holders.set(delta.holder, n);
      if (n === delta.holder.size) freed += DAY_ROWS_BYTES;
    }
    if (written === 0) return undefined;
    // Creation order: the first delta left holds the oldest unwritten change.
    const first = rows.at(written);
    const exactThrough = first ? first.fromRowid - 1 : this.committedRowid;
    if (first) {
      for (let i = 0; i < written; i++) {
        const { campaignId, by, day, key } = rows.at(i) as RowDelta;
        q.setMark.run(`${ROW_MARK}${rowKey(campaignId, by, day, key)}`, this.committedRowid);
      }
    }
    if (exactThrough <= (this.exactThrough ?? Number.NEGATIVE_INFINITY)) {
      return { rows: written, exactThrough: this.exactThrough, writesSinceDrop: this.writesSinceDrop };
    }
    q.setMark.run(REPORT_MARK, exactThrough);
    // Row marks at or below the mark say nothing more; dropped now and then (recovery reads the larger of the two).
    let writesSinceDrop = first ? this.writesSinceDrop + 1 : DROP_ROW_MARKS_EVERY;
    if (writesSinceDrop >= DROP_ROW_MARKS_EVERY) {
      q.dropRowMarks.run(exactThrough);
      writesSinceDrop = 0;
    }
    return { rows: written, exactThrough, writesSinceDrop };
  }

  /** What a committed `writeRows` did, applied in memory: its rows out of `unwritten`, its marks kept. */
  private wrote(written: Written): void {
    this.unwritten.forget(written.rows);
    this.exactThrough = written.exactThrough;
    this.writesSinceDrop = written.writesSinceDrop;
  }

  /**
   * After a crash the stored report rows lack events past the mark: count each one
   * again, as the procedure did (the event's type, its recorded cost, the reservation's
   * creative and context, reach for impressions), in every row not written after it
   * (its row mark), and write the rows. A database without the mark had its rows
   * written with every group: exact up to its latest event.
   */
  private recover(mark: number | undefined, latest: number): void {
    const q = this.statements;
    this.exactThrough = mark;
    if (mark === undefined || mark >= latest) {
      if (mark === undefined) q.setMark.run(REPORT_MARK, latest);
      q.dropRowMarks.run(latest);
      this.exactThrough = latest;
      return;
    }
    const rowMarks = new Map(
      (q.rowMarks.all() as { name: string; value: number }[]).map((m) => [m.name.slice(ROW_MARK.length), m.value]),
    );
    for (const e of q.eventsAfter.iterate(mark) as Iterable<{
      rowid: number;
      type: EventType;
      uid: string;
      campaignId: string;
      at: number;
      costMicros: number;
      creativeId: string;
      country: string;
      platform: string;
    }>) {
      const day = utcDay(e.at);
      for (const { by, key } of reportKeys(e)) {
        if (e.rowid <= Math.max(rowMarks.get(rowKey(e.campaignId, by, day, key)) ?? mark, mark)) continue;
        const delta = this.unwritten.row(this.unwritten.dayRows(e.campaignId, day), by, key, e.rowid, e.at);
        delta.counters[COUNTER_INDEX[counterOf[e.type]]]++;
        delta.counters[SPEND] += e.costMicros;
        if (e.type === 'impression') this.reach(Reach.point(e.uid), delta);
      }
    }
    this.writePending();
  }

  /** Writes the report rows not yet written (on shutdown, and before erasing or pruning what they are counted from). */
  writePending(): void {
    if (this.unwritten.size === 0) return;
    const written = this.sqlite.transaction(() => this.writeRows())();
    if (written) this.wrote(written);
  }

  async report(campaignId: string, fromDay: string, toDay: string, by: ReportBy = 'day'): Promise<ReportRow[]> {
    const rows: StoredReportRow[] = this.db
      .select()
      .from(t.reportRows)
      .where(and(eq(t.reportRows.campaignId, campaignId), eq(t.reportRows.by, by), between(t.reportRows.day, fromDay, toDay)))
      .all();
    // Changes not yet written: added to their stored row, or rows of their own.
    const stored = new Map(rows.map((r) => [`${r.day}|${r.key}`, r]));
    for (const { day, key, counters, reach } of this.unwritten.of(campaignId, by, fromDay, toDay)) {
      let target = stored.get(`${day}|${key}`);
      if (!target) {
        target = {
          day,
          key,
          reachSketch: null,
          ...(Object.fromEntries(REPORT_COUNTERS.map((c) => [c, 0])) as Record<ReportCounter, number>),
        };
        rows.push(target);
      }
      for (const [i, c] of REPORT_COUNTERS.entries()) target[c] += counters[i];
      if (reach) target.reachSketch = reachUnion(target.reachSketch, reach.serialize());
    }
    return toReportRows(rows, by);
  }
}

const rowKey = (campaignId: string, by: ReportBy, day: string, key: string) => `${campaignId}|${by}|${day}|${key}`;
const COUNTER_INDEX = Object.fromEntries(REPORT_COUNTERS.map((c, i) => [c, i])) as Record<ReportCounter, number>;
const SPEND = COUNTER_INDEX.spendMicros;

/** The event's reservation: its id, user, campaign and creative as the token sealed them. */
const SAME_SLOT = 'id = ? AND uid = ? AND campaign_id = ? AND creative_id = ?';

/**
 * The event's reservation row with its idempotency probe, or undefined: a handle's by number and expiry (the row
 * gives its ids), sealed claims' by number (the table's own key: one descent) or, for tokens sealed before numbers,
 * by id among the user's rows (`id` has no index), the ids compared in SQL (no string of them is built per event).
 */
function seenRow(q: Statements, event: LedgerEvent, users: Pick<SqliteUsers, 'rowsOf'>): ReservationRow | undefined {
  if (!('uid' in event))
    return q.reservationSeenByHandle.get(event.type, event.reservationNumber, event.expiresAt) as ReservationRow;
  const { reservationNumber: n, type, reservationId: id, uid, campaignId, creativeId } = event;
  return (
    n === undefined
      ? q.reservationSeenById.get(type, id, campaignId, creativeId, users.rowsOf(uid))
      : q.reservationSeen.get(type, n, id, uid, campaignId, creativeId)
  ) as ReservationRow | undefined;
}

/**
 * Prepared once, as plain better-sqlite3 statements: every accepted event runs the
 * first ones, and drizzle's placeholder mapping cost as much as SQLite itself here.
 */
type Statements = ReturnType<typeof prepareStatements>;

function prepareStatements(sqlite: Database.Database) {
  const s = (text: string) => sqlite.prepare(text);
  return {
    // Rows as arrays (ReservationRow): better-sqlite3 builds an array faster than an object of named columns. The
    // reservation's id, user, campaign and creative are the event's (compared here, in SQL): no string of them is built per event.
    reservationSeen: s(`${WITH_SEEN} number = ? AND ${SAME_SLOT}`).raw(),
    reservationSeenByHandle: s(`${WITH_SEEN_AND_IDS} number = ? AND expires_at = ?`).raw(),
    reservationSeenById: s(
      `${WITH_SEEN} ${OF_USER('r.number')} AND id = ? AND uid = @uid AND campaign_id = ? AND creative_id = ?`,
    ).raw(),
    // By the number the row just read carries: the table's own key, one descent (the id's index and then the row was two).
    advertiser: s('SELECT advertiser_id FROM reservations WHERE number = ?').pluck(),
    insertEvent: s(
      'INSERT INTO events (rowid, reservation, type, uid, campaign_id, at, cost_micros) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    addBlock: s('INSERT INTO user_blocks (uid, advertiser_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    addHide: s('INSERT INTO user_hides (uid, creative_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    addReporter: s(
      'INSERT INTO creative_reports (creative_id, uid, at) VALUES (?, ?, ?) ON CONFLICT (creative_id, uid) DO UPDATE SET at = excluded.at',
    ),
    budget: s('SELECT daily_budget_micros AS daily, total_budget_micros AS total FROM campaigns WHERE id = ?'),
    catalogVersion: s('SELECT version FROM catalog_version WHERE id = 1').pluck(),
    spentOn: s('SELECT spend_micros FROM campaign_spend WHERE campaign_id = ? AND day = ?').pluck(),
    spentTotal: s('SELECT coalesce(sum(spend_micros), 0) FROM campaign_spend WHERE campaign_id = ?').pluck(),
    addSpend: s(
      'INSERT INTO campaign_spend (campaign_id, day, spend_micros) VALUES (?, ?, ?) ON CONFLICT (campaign_id, day) DO UPDATE SET spend_micros = spend_micros + excluded.spend_micros',
    ),
    // Columns in REPORT_COUNTERS order, then the users reached since the last write (null: none), merged into the
    // stored sketch. One statement, so the row is rewritten once and its sketch never read into the ledger.
    addCounts: s(
      `INSERT INTO report_rows (campaign_id, by, day, key, ${COUNTER_COLUMNS.join(', ')}, reach_sketch)
       VALUES (?, ?, ?, ?, ${COUNTER_COLUMNS.map(() => '?').join(', ')}, ?)
       ON CONFLICT (campaign_id, by, day, key) DO UPDATE SET ${COUNTER_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')},
         reach_sketch = reach_union(reach_sketch, excluded.reach_sketch)`,
    ),
    addCtr: s(
      `INSERT INTO creative_stats (creative_id, impressions, clicks, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (creative_id) DO UPDATE SET impressions = impressions + excluded.impressions, clicks = clicks + excluded.clicks, updated_at = excluded.updated_at`,
    ),
    mark: s('SELECT value FROM ledger_marks WHERE name = ?').pluck(),
    setMark: s('INSERT INTO ledger_marks (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
    latestRowid: s('SELECT max(rowid) FROM events').pluck(),
    rowMarks: s(`SELECT name, value FROM ledger_marks WHERE name LIKE '${ROW_MARK}%'`),
    dropRowMarks: s(`DELETE FROM ledger_marks WHERE name LIKE '${ROW_MARK}%' AND value <= ?`),
    eventsAfter: s(
      `SELECT e.rowid, e.type, e.uid, e.campaign_id AS campaignId, e.at, e.cost_micros AS costMicros, r.creative_id AS creativeId,
         r.country, r.platform
       FROM events e JOIN reservations r ON r.number = e.reservation WHERE e.rowid > ? ORDER BY e.rowid`,
    ),
  };
}

/**
 * The reservation as the event procedure needs it. The ledger never writes `viewed_at` or
 * `charged_at` (each was one random page of `reservations` dirtied per impression): the
 * event rows are the state (event-state.ts `VIEWED`, `CHARGED`). The procedure reads
 * `viewedAt` only to tell the user cache once, and `chargedAt` only on a billable event,
 * of which a reservation records one (the events key): a first one always finds it
 * uncharged, so neither is read here.
 */
const RESERVATION_COLUMNS = 'bid_type, price_micros, served_at, expires_at, country, platform, video, number';
/** A reservation's row with the idempotency probe (`seen`: an event of this type is recorded), up to its WHERE. */
const WITH_SEEN = `SELECT ${RESERVATION_COLUMNS}, EXISTS (SELECT 1 FROM events e WHERE e.reservation = r.number AND e.type = ?) AS seen
  FROM reservations r WHERE`;
/** The same, with the row's id, user, campaign and creative after `seen` (a handle carries none of them). */
const WITH_SEEN_AND_IDS = WITH_SEEN.replace(' AS seen', ' AS seen, id, uid, campaign_id, creative_id');

/** A row of RESERVATION_COLUMNS, and `seen` after them when read with the probe. */
type ReservationRow = [
  bidType: Reservation['bidType'],
  priceMicros: number,
  servedAt: number,
  expiresAt: number,
  country: string,
  platform: string,
  video: number,
  number: number,
  seen?: number,
  /** Read for a handle's event only (WITH_SEEN_AND_IDS). */
  id?: string,
  uid?: string,
  campaignId?: string,
  creativeId?: string,
];
const SEEN = 8;

/**
 * The reservation of an event whose id, user, campaign and creative the row matched: those (all sealed
 * in the same token as the reservation) are the event's, or the row's for a handle; the advertiser is read only
 * if asked for (a block). A class, so the getter is the prototype's: no closure made per event.
 */
class EventReservation implements Reservation {
  readonly id: string;
  readonly uid: string;
  readonly campaignId: string;
  readonly creativeId: string;
  readonly bidType: Reservation['bidType'];
  readonly priceMicros: number;
  readonly servedAt: number;
  readonly expiresAt: number;
  readonly viewedAt = null;
  readonly chargedAt = null;
  readonly country: string;
  readonly platform: string;
  readonly video: boolean;
  readonly number: number;
  private advertiser: string | undefined;

  constructor(
    event: LedgerEvent,
    row: ReservationRow,
    private advertiserOf: { get(number: number): unknown },
  ) {
    const ids = 'uid' in event ? event : undefined;
    this.id = ids ? ids.reservationId : row[9]!;
    this.uid = ids ? ids.uid : row[10]!;
    this.campaignId = ids ? ids.campaignId : row[11]!;
    this.creativeId = ids ? ids.creativeId : row[12]!;
    this.bidType = row[0];
    this.priceMicros = row[1];
    this.servedAt = row[2];
    this.expiresAt = row[3];
    this.country = row[4];
    this.platform = row[5];
    this.video = row[6] !== 0;
    this.number = row[7];
  }

  get advertiserId(): string {
    return (this.advertiser ??= this.advertiserOf.get(this.number) as string);
  }
}

/**
 * How often report rows are written: each write costs about as much as one group's rows
 * did, and after a crash the start counts up to this much of events again.
 */
const REPORT_WRITE_MS = 10_000;
/** At most this many rows are written per group (oldest first), so writing never stalls the event loop for long. */
const ROWS_PER_GROUP = 500;
/**
 * Bytes of unwritten row changes kept in memory at most (`deltaBytes` per row and `DAY_ROWS_BYTES` per
 * campaign-day; beyond it the oldest are written early): ~38,000 rows of campaign-days of five rows whose users
 * since the last write are a few, ~5,000 with a dense sketch of them (the
 * bound was 10,000 rows and a cache of 10,000 parsed sketches: up to 40 MB of sketches and the changes).
 */
export const MAX_UNWRITTEN_BYTES = 24 << 20;
const REPORT_MARK = 'report_rows';
/** `row:<campaign>|<by>|<day>|<key>`: a row written since the 'report_rows' mark is exact up to this events rowid. */
const ROW_MARK = 'row:';
const DROP_ROW_MARKS_EVERY = 64;
/** Set once events whose reservation was gone were deleted (`dropOrphanEvents`). */
const EVENTS_BY_RESERVATION_MARK = 'events_by_reservation';

/** What a `writeRows` wrote: the oldest `rows` of `unwritten`, and the marks in memory once it commits. */
interface Written {
  rows: number;
  exactThrough: number | undefined;
  writesSinceDrop: number;
}

/** Events of one group that count in the same report rows: their counters and the uids reached. */
interface EventClass {
  campaignId: string;
  day: string;
  /** What tells classes apart: the UTC hour since the epoch (so the day too), the creative and the context. */
  hour: number;
  creativeId: string;
  country: string;
  platform: string;
  /**
   * Each event's counter (its index in REPORT_COUNTERS), and their spend: no counters array per class (a group's
   * classes are nearly one per event, and 11 counters added into five rows each cost more than its one or two).
   */
  counts: number[];
  spend: number;
  /** The impressions' users as reach sketch points (`Reach.point`): computed once, added to every row of the class. */
  points: number[];
}

/** A campaign the group charged: its budget in force and total spent (read once), and spend by UTC day. */
interface GroupCampaign {
  id: string;
  limit: { daily: number | null; total: number | null; spentTotal: number } | null;
  days: GroupSpend[];
}

function sumAdded(c: GroupCampaign): number {
  let added = 0;
  for (const d of c.days) added += d.added;
  return added;
}

/** Spend on one day: recorded before the group (read once), added by it, and the reservations it charged. */
interface GroupSpend {
  day: string;
  before: number;
  added: number;
  charged: string[];
  /** The last charge's time (budgets book the day's charges at it). */
  at: number;
}

/** The SQL columns of REPORT_COUNTERS, in the same order. */
const COUNTER_COLUMNS = REPORT_COUNTERS.map((c) => t.reportRows[c].name);

/** Work after a commit: its failure is logged, never thrown (the commit stands, its events were recorded). */
function afterCommitted(work: () => void): void {
  try {
    work();
  } catch (err) {
    console.error(`[store] after an events commit: ${(err as Error).message}`);
  }
}
