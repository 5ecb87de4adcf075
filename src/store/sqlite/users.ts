/**
 * Per-user state (reservations, blocks, hides) in SQLite, behind a bounded LRU
 * cache written through on every change. Keys are pseudonymous ids only.
 */

import type Database from 'better-sqlite3';
import { and, eq, inArray } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import * as t from '../../../schema/tables.js';
import { isLive } from '../../engine/eligibility.js';
import type { HistoryEntry, UserState } from '../../engine/types.js';
import type { StoreMetrics } from '../../ops/metrics.js';
import type { Reservation, UserStore } from '../interface.js';
import { gainedHistory, toHistory, uidKey } from '../user-history.js';
import type { SqliteBudgets } from './budgets.js';
import { type Db, truncateWal } from './db.js';
import { CHARGED_AT, VIEWED, VIEWED_AT } from './event-state.js';
import { GroupCommit } from './group-commit.js';
import type { WalSync } from './wal-sync.js';

export class SqliteUsers implements UserStore {
  readonly cache: LRUCache<string, UserState>;

  constructor(
    private db: Db,
    private budgets: SqliteBudgets,
    cacheSize: number,
    private wal: WalSync,
    private metrics?: StoreMetrics,
  ) {
    this.cache = new LRUCache({ max: cacheSize });
    this.statements = prepareStatements(db);
    // One transaction function made once on the connection: drizzle's `db.transaction` makes a transaction object,
    // and better-sqlite3 four wrapped functions with their properties, on every call (every group commit).
    this.transaction = (db as unknown as { $client: Database.Database }).$client.transaction((work: () => void) => work());
    this.group = new GroupCommit<Reservation[], void>(
      (batches) => {
        this.transaction(() => {
          for (const batch of batches) {
            for (const r of batch) {
              // SQLite numbers the row (its INTEGER PRIMARY KEY, in serving order): the token seals the number (the events key).
              r.number = this.statements.insertReservation.run(
                r.id,
                r.uid,
                r.campaignId,
                r.creativeId,
                r.advertiserId,
                r.bidType,
                r.priceMicros,
                r.servedAt,
                r.expiresAt,
                r.viewedAt,
                r.chargedAt,
                r.country,
                r.platform,
                r.video ? 1 : 0,
              ).lastInsertRowid as number;
            }
          }
        });
        // Committed: nothing after this may fail the group (its rows would be reported as not stored, and retried).
        for (const batch of batches) this.remember(batch);
        return new Array(batches.length);
      },
      (seconds, size) => this.metrics?.commit('reservations', seconds, size),
      { wal, wait: 'commit' },
    );
  }

  private statements: ReturnType<typeof prepareStatements>;
  /** Runs `work` in one transaction on the raw connection (the hot writes: group commits, taking back reservations). */
  private transaction: (work: () => void) => void;
  /** The `now` of the last prune by this process (unset until the first). */
  private prunedAt: number | undefined;
  /**
   * Reservations of concurrent slot requests share one transaction, answered once it is
   * written (a process crash keeps it); the WAL sync follows off the event loop.
   */
  private group: GroupCommit<Reservation[], void>;

  /**
   * A committed response's reservations into its user's cached history. If that fails the entry is dropped, so the
   * user's next load reads the committed rows from SQLite (a cached history that lacks them would undercount caps).
   */
  private remember(batch: Reservation[]): void {
    for (const r of batch) {
      try {
        this.cache.get(r.uid)?.history.push(toHistory(r));
      } catch (err) {
        this.cache.delete(r.uid);
        console.error(`[store] after a reservations commit, a user's cached state is dropped: ${String(err)}`);
      }
    }
  }

  private read(uid: string, now: number, historyMs: number): UserState {
    // Most users have no blocks, hides or mutes: they share one empty set (a miss makes no set it does not fill).
    const state: UserState = { history: [], blocks: NONE, hides: NONE, mutes: NONE };
    // History, blocks, hides and mutes in one statement: one read transaction (its WAL and lock checks) per miss, not two.
    for (const row of this.statements.readUser.all({ uid, key: uidKey(uid), since: now - historyMs, now }) as UserRow[]) {
      const [kind, value] = row;
      if (kind === HISTORY) {
        state.history.push({
          reservationId: value,
          campaignId: row[2],
          creativeId: row[3],
          advertiserId: row[4],
          servedAt: row[5],
          expiresAt: row[6],
          viewed: row[7] !== 0,
        });
      } else {
        const set = kind === BLOCK ? 'blocks' : kind === HIDE ? 'hides' : 'mutes';
        if (state[set] === NONE) state[set] = new Set();
        state[set].add(value);
      }
    }
    return state;
  }

  /** A cached user's block, hide or mute (after its write committed): the user's own set in place of the shared empty one. */
  addCached(uid: string, set: 'blocks' | 'hides' | 'mutes', value: string): void {
    const state = this.cache.get(uid);
    if (!state) return;
    if (state[set] === NONE) state[set] = new Set([value]);
    else state[set].add(value);
  }

  /** The cached state, trimmed of entries no cap can count any more; synchronous (the slot path takes no promise turn for it). */
  load(uid: string, now: number, historyMs: number): UserState {
    let state = this.cache.get(uid);
    this.metrics?.userCache(state !== undefined);
    if (!state) {
      state = this.read(uid, now, historyMs);
      this.cache.set(uid, state);
      return state;
    }
    // Trimmed only once an entry left every window: no closure or new list on the usual hit.
    const since = now - historyMs;
    const history = state.history;
    for (let i = 0; i < history.length; i++) {
      if (history[i].servedAt <= since || !isLive(history[i], now)) {
        state.history = history.filter((e) => e.servedAt > since && isLive(e, now));
        break;
      }
    }
    return state;
  }

  async reserve(reservations: Reservation[], basedOn?: { history: HistoryEntry[]; historyMs: number }): Promise<boolean> {
    if (reservations.length === 0) return true;
    if (basedOn) {
      const current = this.load(reservations[0].uid, reservations[0].servedAt, basedOn.historyMs);
      if (gainedHistory(current.history, basedOn.history)) return false;
    }
    await this.group.submit(reservations);
    return true;
  }

  async unreserve(uid: string, reservationIds: string[]): Promise<void> {
    if (reservationIds.length === 0) return;
    const ids = new Set(reservationIds);
    this.transaction(() => {
      for (const id of ids) this.statements.deleteReservation.run(id, uid);
    });
    const state = this.cache.get(uid);
    if (state) state.history = state.history.filter((e) => !ids.has(e.reservationId));
  }

  async reservation(uid: string, id: string): Promise<Reservation | undefined> {
    const row = this.statements.reservation.get(id) as (Omit<Reservation, 'video'> & { video: number }) | undefined;
    return row?.uid === uid ? { ...row, video: row.video !== 0 } : undefined;
  }

  /** A committed impression: the cached history entry stops expiring. */
  viewed(uid: string, reservationId: string): void {
    const entry = this.cache.get(uid)?.history.find((e) => e.reservationId === reservationId);
    if (entry) entry.viewed = true;
  }

  async block(uid: string, advertiserId: string, now: number) {
    this.db.insert(t.userBlocks).values({ uid, advertiserId, at: now }).onConflictDoNothing().run();
    this.addCached(uid, 'blocks', advertiserId);
  }

  async unblock(uid: string, advertiserId: string) {
    this.db
      .delete(t.userBlocks)
      .where(and(eq(t.userBlocks.uid, uid), eq(t.userBlocks.advertiserId, advertiserId)))
      .run();
    this.cache.get(uid)?.blocks.delete(advertiserId);
  }

  async blocks(uid: string) {
    return this.db
      .select({ a: t.userBlocks.advertiserId })
      .from(t.userBlocks)
      .where(eq(t.userBlocks.uid, uid))
      .orderBy(t.userBlocks.at)
      .all()
      .map((r) => r.a);
  }

  async mute(uid: string, category: string, now: number) {
    this.db.insert(t.userMutes).values({ uid, category, at: now }).onConflictDoNothing().run();
    this.addCached(uid, 'mutes', category);
  }

  async unmute(uid: string, category: string) {
    this.db
      .delete(t.userMutes)
      .where(and(eq(t.userMutes.uid, uid), eq(t.userMutes.category, category)))
      .run();
    this.cache.get(uid)?.mutes.delete(category);
  }

  async mutes(uid: string) {
    return this.db
      .select({ c: t.userMutes.category })
      .from(t.userMutes)
      .where(eq(t.userMutes.uid, uid))
      .orderBy(t.userMutes.at)
      .all()
      .map((r) => r.c);
  }

  async erase(uid: string) {
    // By the key first (its index), then the pseudonym itself (another user may share the key).
    const theirs = and(eq(t.reservations.uidKey, uidKey(uid)), eq(t.reservations.uid, uid));
    const live = this.db
      .select({ id: t.reservations.id, campaignId: t.reservations.campaignId })
      .from(t.reservations)
      .where(theirs)
      .all();
    this.db.transaction((tx) => {
      // Through the user's reservations (events have no uid index): every event's reservation is kept as long as it is (prune).
      tx.delete(t.events)
        .where(inArray(t.events.reservation, tx.select({ number: t.reservations.number }).from(t.reservations).where(theirs)))
        .run();
      tx.delete(t.reservations).where(theirs).run();
      tx.delete(t.userBlocks).where(eq(t.userBlocks.uid, uid)).run();
      tx.delete(t.userHides).where(eq(t.userHides.uid, uid)).run();
      tx.delete(t.userMutes).where(eq(t.userMutes.uid, uid)).run();
      tx.delete(t.creativeReports).where(eq(t.creativeReports.uid, uid)).run();
    });
    for (const r of live) await this.budgets.release(r.campaignId, r.id);
    this.cache.delete(uid);
    // The deleted rows' old pages still sit in the WAL until a checkpoint; fold and empty it now.
    await truncateWal((this.db as unknown as { $client: Database.Database }).$client);
  }

  /**
   * Deletes history older than any cap or token needs, `chunk` rows at a time: one transaction per chunk and a turn
   * of the event loop between chunks, so slot requests are served meanwhile (a minute's expired rows at thousands of
   * slots a second took seconds in one transaction). Three passes: reservations served before any cap window with
   * their events, events older than that (rows of older versions), and reservations expired unviewed with theirs.
   * The last walks the `expires_at` index in order from where the last prune's walk ended (less PRUNE_SLACK_MS): a
   * kept (viewed) row is looked at by one or two prunes, not by every prune of the next ten minutes. The first
   * prune after a start walks every expired row. Within a chunk, only an unviewed reservation's events go before it
   * does, and none of them converts it: both deletes see the same rows.
   */
  async prune(now: number, historyMs: number, chunk = PRUNE_CHUNK): Promise<number> {
    const { statements } = this;
    const before = now - historyMs;
    let pruned = 0;
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    // The checkpointer's worker writes (a restart commit, a TRUNCATE) only while the commits are held: a chunk (it
    // reads, then writes) started meanwhile would fail with SQLITE_BUSY_SNAPSHOT, so each waits for the holds to end.
    const unheld = async () => {
      while (this.wal.held) await this.wal.held;
    };
    const dropRows = (rows: [rowid: number, id: string][]) => {
      // The rowid is the reservation's number, the events key.
      for (const [rowid] of rows)
        pruned += statements.deleteEventsOf.run(rowid).changes + statements.deleteRow.run(rowid).changes;
    };
    // Served before any cap window: every such row goes, so each chunk starts from the front again.
    for (let more = true; more; ) {
      await unheld();
      more = this.db.transaction(() => {
        const rows = statements.servedBefore.all({ before, chunk }) as [number, string][];
        dropRows(rows);
        return rows.length === chunk;
      });
      if (more) await turn();
    }
    for (let more = true; more; ) {
      await unheld();
      more = this.db.transaction(() => {
        const changes = statements.eventsBefore.run({ before, chunk }).changes;
        pruned += changes;
        return changes === chunk;
      });
      if (more) await turn();
    }
    // Expired unviewed: walked in (expires_at, rowid) order, so no row is looked at twice in one prune.
    let cursor: [at: number, rowid: number] = [
      this.prunedAt === undefined ? Number.MIN_SAFE_INTEGER : this.prunedAt - PRUNE_SLACK_MS,
      Number.MIN_SAFE_INTEGER,
    ];
    for (let more = true; more; ) {
      await unheld();
      more = this.db.transaction(() => {
        const rows = statements.expiredAfter.all({ at: cursor[0], row: cursor[1], now, chunk }) as [
          number,
          string,
          number,
          number,
        ][];
        if (rows.length > 0) {
          const last = rows[rows.length - 1];
          cursor = [last[2], last[0]];
        }
        dropRows(rows.filter((r) => r[3] === 0).map((r) => [r[0], r[1]]));
        return rows.length === chunk;
      });
      if (more) await turn();
    }
    this.prunedAt = now;
    return pruned;
  }
}

/** The empty set cached users without blocks, hides or mutes share; adding to it is a bug (`addCached` replaces it). */
class SharedEmptySet extends Set<string> {
  override add(): this {
    throw new Error('the shared empty set of cached user state is never added to');
  }
}
const NONE: Set<string> = new SharedEmptySet();

/** Rows looked at per transaction of the retention job. */
const PRUNE_CHUNK = 2000;

/**
 * How far before the last prune's time the next one looks again for expired, unviewed rows: covers a
 * clock stepped back and a reservation stored a little after its serving time. A row it misses still
 * goes once it was served longer ago than any cap window.
 */
const PRUNE_SLACK_MS = 60_000;

/** What a row of the user read is: history (a reservation), or a block, hide or mute. */
const [HISTORY, BLOCK, HIDE, MUTE] = [0, 1, 2, 3] as const;
type UserRow =
  | [
      typeof HISTORY,
      id: string,
      campaignId: string,
      creativeId: string,
      advertiserId: string,
      servedAt: number,
      expiresAt: number,
      viewed: 0 | 1,
    ]
  | [typeof BLOCK | typeof HIDE | typeof MUTE, value: string, ...unknown[]];

/**
 * Prepared once, as plain better-sqlite3 statements: the slot path reads a user on
 * every cache miss and writes on every serve, and drizzle's placeholder and row
 * mapping cost as much as SQLite itself here.
 */
function prepareStatements(db: Db) {
  const sqlite = (db as unknown as { $client: Database.Database }).$client;
  return {
    // Rows of UserRow: the cap history in serving order, then blocks, hides and mutes (one index lookup each).
    // A history entry is viewed once an event converted it (event-state.ts): read from the events key, one lookup per entry.
    readUser: sqlite
      .prepare(
        `SELECT ${HISTORY}, id, campaign_id, creative_id, advertiser_id, served_at, expires_at, ${VIEWED} FROM reservations r
           WHERE uid_key = @key AND uid = @uid AND served_at > @since AND (expires_at > @now OR ${VIEWED})
         UNION ALL SELECT ${BLOCK}, advertiser_id, NULL, NULL, NULL, NULL, NULL, NULL FROM user_blocks WHERE uid = @uid
         UNION ALL SELECT ${HIDE}, creative_id, NULL, NULL, NULL, NULL, NULL, NULL FROM user_hides WHERE uid = @uid
         UNION ALL SELECT ${MUTE}, category, NULL, NULL, NULL, NULL, NULL, NULL FROM user_mutes WHERE uid = @uid
         ORDER BY 1, 6`,
      )
      .raw(),
    deleteReservation: sqlite.prepare('DELETE FROM reservations WHERE id = ? AND uid = ?'),
    reservation: sqlite.prepare(
      `SELECT number, id, uid, campaign_id AS campaignId, creative_id AS creativeId, advertiser_id AS advertiserId, bid_type AS bidType,
         price_micros AS priceMicros, served_at AS servedAt, expires_at AS expiresAt, ${VIEWED_AT} AS viewedAt,
         ${CHARGED_AT} AS chargedAt, country, platform, video
       FROM reservations r WHERE id = ?`,
    ),
    // Retention, a chunk at a time: reservations served before any cap window; events older than that; reservations
    // expired since a point, in `expires_at` order (the index's order, rowid last), with whether each was viewed.
    servedBefore: sqlite.prepare('SELECT rowid, id FROM reservations WHERE served_at < @before LIMIT @chunk').raw(),
    eventsBefore: sqlite.prepare('DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE at < @before LIMIT @chunk)'),
    expiredAfter: sqlite
      .prepare(
        `SELECT r.rowid, r.id, r.expires_at, ${VIEWED} FROM reservations r
         WHERE (r.expires_at, r.rowid) > (@at, @row) AND r.expires_at < @now ORDER BY r.expires_at, r.rowid LIMIT @chunk`,
      )
      .raw(),
    deleteEventsOf: sqlite.prepare('DELETE FROM events WHERE reservation = ?'),
    deleteRow: sqlite.prepare('DELETE FROM reservations WHERE rowid = ?'),
    insertReservation: sqlite.prepare(
      `INSERT INTO reservations (id, uid, campaign_id, creative_id, advertiser_id, bid_type, price_micros, served_at, expires_at, viewed_at, charged_at,
         country, platform, video)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
  };
}
