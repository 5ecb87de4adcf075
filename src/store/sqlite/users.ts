/**
 * Per-user state (reservations, blocks, hides) in SQLite, behind a bounded LRU
 * cache written through on every change. Keys are pseudonymous ids only.
 */

import type Database from 'better-sqlite3';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import * as t from '../../../schema/tables.js';
import { isLive } from '../../engine/eligibility.js';
import type { HistoryEntry, UserState } from '../../engine/types.js';
import type { StoreMetrics } from '../../ops/metrics.js';
import type { Reservation, UserStore } from '../interface.js';
import { RESERVATION_COLUMNS, RESERVATION_WIDTH, reservationValues } from '../reservation-row.js';
import { gainedHistory, toHistory, uidKey } from '../user-history.js';
import type { SqliteBudgets } from './budgets.js';
import type { Db, WalTruncation } from './db.js';
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
    /** Empties the WAL after an erasure: the store's, on its checkpointer's thread (index.ts). */
    private truncateWal: WalTruncation,
    private metrics?: StoreMetrics,
    /** Rows held before the user index's entries are sorted and written [`USER_INDEX_BATCH`]. */
    indexBatch = USER_INDEX_BATCH,
  ) {
    this.cache = new LRUCache({ max: cacheSize });
    this.statements = prepareStatements(db);
    // One transaction function made once on the connection: drizzle's `db.transaction` makes a transaction object,
    // and better-sqlite3 four wrapped functions with their properties, on every call (every group commit).
    this.transaction = (db as unknown as { $client: Database.Database }).$client.transaction((work: () => void) => work());
    this.index = new UserIndex(this.statements, this.transaction, indexBatch);
    // Past every row and every number a deletion recorded, and past the clock: a file restored from a backup, or one
    // whose last commits a power cut lost, does not give again the numbers it gave since (their handles may be out).
    const { lastNumber, numbersGiven } = this.statements;
    this.nextNumber =
      Math.max(
        (lastNumber.get() as number | null) ?? 0,
        (numbersGiven.get() as number | undefined) ?? 0,
        Math.floor(Date.now() * NUMBERS_PER_MS),
      ) + 1;
    this.group = new GroupCommit<Reservation[], void>(
      (batches) => {
        this.index.begin();
        this.transaction(() => {
          for (const batch of batches) {
            for (const r of batch) {
              // Numbered in serving order (the INTEGER PRIMARY KEY), never a number given before: the token names it.
              r.number = this.nextNumber++;
              this.statements.insertReservation.run(...reservationValues(r));
              this.index.written(r);
            }
          }
          this.index.drain();
        });
        // Committed: nothing after this may fail the group (its rows would be reported as not stored, and retried).
        this.index.committed();
        for (const batch of batches) this.remember(batch);
        return new Array(batches.length);
      },
      (seconds, size) => this.metrics?.commit('reservations', seconds, size),
      { wal, wait: 'commit' },
    );
  }

  private statements: ReturnType<typeof prepareStatements>;
  /**
   * The next reservation's number. SQLite would give the highest row's number again once that row is deleted, and a
   * handle (a token on Node) names its reservation by number: so numbers are given here, past every number given
   * before; a transaction that deletes rows records the highest given (`NUMBERS_GIVEN`) for the next start, and a
   * start begins no lower than the clock's milliseconds × NUMBERS_PER_MS (a file older than what was given: a
   * restored backup, a power cut's lost commits).
   */
  private nextNumber: number;
  /** Which reservations are each user's: `reservation_users` and the rows not in it yet. */
  private index: UserIndex;
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
        // `peek`: the decision's load already moved the entry in the LRU's list (an entry dropped since is read again).
        this.cache.peek(r.uid)?.history.push(toHistory(r));
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
    const key = uidKey(uid);
    const held = this.index.held(key);
    const rows = (
      held === undefined
        ? this.statements.readUser.all({ uid, key, since: now - historyMs, now })
        : this.statements.readHeldUser.all({ uid, key, held, since: now - historyMs, now })
    ) as UserRow[];
    for (const row of rows) {
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
      // The cached state as it is (the decision's load just trimmed it and counted its lookup); read again only if it
      // was dropped meanwhile.
      const uid = reservations[0].uid;
      const current = this.cache.peek(uid) ?? this.load(uid, reservations[0].servedAt, basedOn.historyMs);
      if (gainedHistory(current.history, basedOn.history)) return false;
    }
    await this.group.submit(reservations);
    return true;
  }

  async unreserve(uid: string, reservationIds: string[]): Promise<void> {
    if (reservationIds.length === 0) return;
    const ids = new Set(reservationIds);
    const key = uidKey(uid);
    let deleted: number[] = [];
    this.transaction(() => {
      // Among the user's rows (`id` has no index): just committed, so their entries are held here.
      deleted = this.statements.deleteReservations.all({
        uid,
        key,
        held: this.index.held(key) ?? '[]',
        ids: JSON.stringify([...ids]),
      }) as number[];
      for (const number of deleted) this.statements.deleteEntry.run(key, number);
      if (deleted.length > 0) this.keepNumbersGiven();
    });
    for (const number of deleted) this.index.forget(key, number);
    const state = this.cache.get(uid);
    if (state) state.history = state.history.filter((e) => !ids.has(e.reservationId));
  }

  async reservation(uid: string, id: string): Promise<Reservation | undefined> {
    const row = this.statements.reservation.get({ id, ...this.rowsOf(uid) }) as ReservationRow | undefined;
    return row && { ...row, video: row.video !== 0 };
  }

  /**
   * What `OF_USER` binds for `uid`: its rows' key and the numbers of them held in memory (JSON). `id` has no index: a
   * row looked up by id is found among its user's (a sealed token's event from before numbers, `why`, a take-back).
   */
  rowsOf(uid: string): { uid: string; key: number; held: string } {
    const key = uidKey(uid);
    return { uid, key, held: this.index.held(key) ?? '[]' };
  }

  async numbered(reservationNumber: number, expiresAt: number): Promise<Reservation | undefined> {
    const row = this.statements.numbered.get(reservationNumber, expiresAt) as ReservationRow | undefined;
    return row && { ...row, video: row.video !== 0 };
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

  /** In a transaction that deletes reservations: the highest number given, so a start after it never gives it again. */
  private keepNumbersGiven(): void {
    this.statements.setNumbersGiven.run(this.nextNumber - 1);
  }

  /** On a clean close: the entries still held are written (an idle store would otherwise hold them until it starts again). */
  writeIndex(): void {
    this.index.writeAll();
  }

  async erase(uid: string) {
    // Their numbers by the key first (`reservation_users` and the rows not in it yet), then the pseudonym itself
    // (another user may share the key).
    const key = uidKey(uid);
    const theirs = and(
      sql`${t.reservations.number} IN (SELECT number FROM reservation_users WHERE key = ${key} UNION SELECT value FROM json_each(${this.index.held(key) ?? '[]'}))`,
      eq(t.reservations.uid, uid),
    );
    const live = this.db
      .select({ id: t.reservations.id, campaignId: t.reservations.campaignId, number: t.reservations.number })
      .from(t.reservations)
      .where(theirs)
      .all();
    this.db.transaction((tx) => {
      // Through the user's reservations (events have no uid index): every event's reservation is kept as long as it is (prune).
      tx.delete(t.events)
        .where(inArray(t.events.reservation, tx.select({ number: t.reservations.number }).from(t.reservations).where(theirs)))
        .run();
      tx.delete(t.reservations).where(theirs).run();
      this.keepNumbersGiven();
      // Their entries (and any other whose row is gone); a colliding user's stay.
      tx.run(
        sql`DELETE FROM reservation_users WHERE key = ${key} AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.number = reservation_users.number AND r.uid_key = ${key})`,
      );
      tx.delete(t.userBlocks).where(eq(t.userBlocks.uid, uid)).run();
      tx.delete(t.userHides).where(eq(t.userHides.uid, uid)).run();
      tx.delete(t.userMutes).where(eq(t.userMutes.uid, uid)).run();
      tx.delete(t.creativeReports).where(eq(t.creativeReports.uid, uid)).run();
    });
    for (const r of live) this.index.forget(key, r.number);
    for (const r of live) await this.budgets.release(r.campaignId, r.id);
    this.cache.delete(uid);
    // The deleted rows' old pages still sit in the WAL until a checkpoint; fold and empty it now.
    await this.truncateWal();
  }

  /**
   * Deletes history older than any cap or token needs, `chunk` rows at a time: one transaction per chunk and a turn
   * of the event loop between chunks, so slot requests are served meanwhile (a minute's expired rows at thousands of
   * slots a second took seconds in one transaction). Three passes: reservations served before any cap window with
   * their events (the first rows in `expires_at` order: `reservations` has no index on `served_at`), events older than
   * that (rows of older versions), and reservations expired unviewed with theirs.
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
    const dropRows = (rows: [rowid: number, key: number, ...unknown[]][]) => {
      if (rows.length > 0) this.keepNumbersGiven();
      // The rowid is the reservation's number, the events key; the user index's entry goes with the row.
      for (const [rowid, key] of rows) {
        pruned += statements.deleteEventsOf.run(rowid).changes + statements.deleteRow.run(rowid).changes;
        statements.deleteEntry.run(key, rowid);
      }
    };
    // Once a chunk's transaction committed: its rows' entries are not to be written.
    const forget = (rows: [rowid: number, key: number, ...unknown[]][]) => {
      for (const [rowid, key] of rows) this.index.forget(key, rowid);
    };
    // Served before any cap window: the rows first to expire, up to the first one served since (each chunk starts from
    // the front again). Rows expire in serving order (expires_at = served_at + TOKEN_TTL), so that is every such row;
    // after TOKEN_TTL was lowered, a row served with the longer one waits behind the first row served since that expires
    // before it: at most the difference. No row goes before its time: each is compared.
    for (let more = true; more; ) {
      await unheld();
      const rows = this.db.transaction(() => {
        const first = statements.firstToExpire.all({ chunk }) as [rowid: number, key: number, servedAt: number][];
        const end = first.findIndex((r) => r[2] >= before);
        const rows = end === -1 ? first : first.slice(0, end);
        dropRows(rows);
        more = end === -1 && first.length === chunk;
        return rows;
      });
      forget(rows);
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
      const rows = this.db.transaction(() => {
        const rows = statements.expiredAfter.all({ at: cursor[0], row: cursor[1], now, chunk }) as [
          rowid: number,
          key: number,
          at: number,
          viewed: number,
        ][];
        if (rows.length > 0) {
          const last = rows[rows.length - 1];
          cursor = [last[2], last[0]];
        }
        dropRows(rows.filter((r) => r[3] === 0).map((r) => [r[0], r[1]]));
        return rows;
      });
      forget(rows.filter((r) => r[3] === 0));
      more = rows.length === chunk;
      if (more) await turn();
    }
    this.prunedAt = now;
    return pruned;
  }
}

/**
 * Which reservations are each user's, written in key order: a reservation's entry in `reservation_users` (key,
 * number) is not written with its row, whose commit would write a random page of that table per request; it is held
 * here, and once `USER_INDEX_BATCH` are held they are sorted by key and written a slice per group commit, in the
 * commit's transaction (twice as many entries as the commit has rows, at least `DRAIN_MIN`), so each page of the
 * table is written about once per batch. So at most ~2 batches of rows are not in the table at any time; reads by key
 * add them (`held`). Every row numbered at or below the mark (`ledger_marks`) has its entry: after a crash the rows
 * past it are added when the store opens. New rows are numbered past the mark (`SqliteUsers.nextNumber`). Whoever
 * deletes a row deletes its entry and, once committed, `forget`s it here, so an entry is never written for a row
 * that is gone.
 */
class UserIndex {
  /** Rows committed since the last batch was sealed. */
  private filling = new HeldEntries();
  /** The sealed batch: its keys in order, and how many of them are written (committed). */
  private draining = new HeldEntries();
  private keys: Float64Array = new Float64Array(0);
  private next = 0;
  /** The group commit under way: its rows past the mark (key, number, ...), the keys its slice reaches, its mark. */
  private rows: number[] = [];
  private reached = 0;
  private newMark: number | undefined;
  private mark: number;

  constructor(
    private statements: ReturnType<typeof prepareStatements>,
    private transaction: (work: () => void) => void,
    private batch: number,
  ) {
    this.mark = (statements.mark.get() as number | undefined) ?? 0;
    this.writeAll();
  }

  /** Writes the entry of every row past the mark, in key order, and holds none: on start (after a crash) and on close. */
  writeAll(): void {
    const { statements } = this;
    let mark = this.mark;
    this.transaction(() => {
      statements.addEntriesPast.run(mark);
      // Every row has its entry now.
      mark = (statements.lastNumber.get() as number | null) ?? 0;
      statements.setMark.run(mark);
    });
    this.mark = mark;
    this.filling = new HeldEntries();
    this.draining = new HeldEntries();
    this.keys = new Float64Array(0);
    this.next = 0;
  }

  /** A group commit starts (again, if the last one rolled back). */
  begin(): void {
    this.rows.length = 0;
    this.newMark = undefined;
  }

  /** A row inserted in the group commit's transaction (numbered past the mark). */
  written(r: Reservation): void {
    this.rows.push(uidKey(r.uid), r.number as number);
  }

  /** In the group commit's transaction, after its rows: the next slice of the sealed batch. */
  drain(): void {
    const { keys, draining, statements } = this;
    // `rows` has two numbers a row: twice as many entries as the commit has rows.
    let budget = Math.max(DRAIN_MIN, this.rows.length);
    let i = this.next;
    for (; i < keys.length && budget > 0; i++) {
      const key = keys[i];
      for (let e = draining.last(key); e >= 0; e = draining.previous(e)) {
        const number = draining.number(e);
        if (number > 0) statements.addEntry.run(key, number);
        budget--;
      }
    }
    this.reached = i;
    if (keys.length > 0 && i === keys.length) {
      // The batch is in: every row below the lowest still held (or this commit's) has its entry.
      let lowest = this.filling.lowest;
      for (let k = 1; k < this.rows.length; k += 2) lowest = Math.min(lowest, this.rows[k]);
      this.newMark = Math.max(this.mark, lowest === Number.POSITIVE_INFINITY ? draining.highest : lowest - 1);
      statements.setMark.run(this.newMark);
    }
  }

  /** After the group commit's COMMIT: its rows are held, its slice is written; a full batch is sealed. */
  committed(): void {
    this.next = this.reached;
    if (this.newMark !== undefined) {
      this.mark = this.newMark;
      this.draining = new HeldEntries();
      this.keys = new Float64Array(0);
      this.next = 0;
    }
    for (let k = 0; k < this.rows.length; k += 2) this.filling.add(this.rows[k], this.rows[k + 1]);
    this.rows.length = 0;
    if (this.filling.count >= this.batch && this.keys.length === 0) {
      // A typed array sorts numbers without a comparator (~1 ms for a batch).
      this.keys = this.filling.sortedKeys();
      this.draining = this.filling;
      this.filling = new HeldEntries();
    }
  }

  /** A committed delete of `key`'s row `number`: if held, its entry is not to be written. */
  forget(key: number, number: number): void {
    this.filling.forget(key, number);
    this.draining.forget(key, number);
  }

  /** The numbers of `key`'s rows that may not be in `reservation_users` yet, as a JSON array (for `json_each`), if any. */
  held(key: number): string | undefined {
    const numbers: number[] = [];
    this.filling.numbersOf(key, numbers);
    this.draining.numbersOf(key, numbers);
    return numbers.length === 0 ? undefined : `[${numbers.join(',')}]`;
  }
}

/**
 * Entries held in typed arrays, each key's chained from its last (a `Map` from key to index): a few objects per
 * batch for the collector, not one or two per row (rows live here for ~10 s, long enough to be promoted).
 */
class HeldEntries {
  private numbers = new Float64Array(1024);
  /** Each entry's previous of the same key, -1 for none. */
  private prior = new Int32Array(1024);
  private lastOf = new Map<number, number>();
  count = 0;
  /** The lowest and highest numbers held (forgotten ones included). */
  lowest = Number.POSITIVE_INFINITY;
  highest = 0;

  add(key: number, number: number): void {
    if (this.count === this.numbers.length) {
      const numbers = new Float64Array(this.count * 2);
      const prior = new Int32Array(this.count * 2);
      numbers.set(this.numbers);
      prior.set(this.prior);
      [this.numbers, this.prior] = [numbers, prior];
    }
    const e = this.count++;
    this.numbers[e] = number;
    this.prior[e] = this.lastOf.get(key) ?? -1;
    this.lastOf.set(key, e);
    if (number < this.lowest) this.lowest = number;
    if (number > this.highest) this.highest = number;
  }

  /** The last entry of `key`, -1 for none; `previous` walks the rest. */
  last(key: number): number {
    return this.lastOf.get(key) ?? -1;
  }
  previous(e: number): number {
    return this.prior[e];
  }
  /** The entry's number, 0 once forgotten. */
  number(e: number): number {
    return this.numbers[e];
  }

  forget(key: number, number: number): void {
    for (let e = this.last(key); e >= 0; e = this.prior[e]) if (this.numbers[e] === number) this.numbers[e] = 0;
  }

  numbersOf(key: number, into: number[]): void {
    for (let e = this.last(key); e >= 0; e = this.prior[e]) if (this.numbers[e] > 0) into.push(this.numbers[e]);
  }

  sortedKeys(): Float64Array {
    return Float64Array.from(this.lastOf.keys()).sort();
  }
}

/**
 * Rows held before their user index entries are sorted and written (~10 s of slot load here):
 * the larger, the more entries each written page of the index carries (`hist12` in bench/README.md).
 */
const USER_INDEX_BATCH = 32_768;

/** Entries of the sealed batch each group commit writes at least. */
const DRAIN_MIN = 64;

/** The user index's name in `ledger_marks`. */
const USER_INDEX_MARK = 'reservation_users';
/** The highest reservation number given before rows were last deleted, in `ledger_marks` (`SqliteUsers.nextNumber`). */
const NUMBERS_GIVEN = 'reservation_numbers';
/**
 * A start numbers reservations from the clock's milliseconds × this, at least: past every number a run gave while it
 * served fewer than 64,000 reservations a second on average. Below 2^48 (what a handle holds) until the year 2109.
 */
const NUMBERS_PER_MS = 64;

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
 * The user read (rows of UserRow): the user's history rows from `rows` (a join or a filter that names them `r`),
 * then blocks, hides and mutes. No ORDER BY: the history has no defined order (nothing reads it), each row once.
 */
const readUser = (rows: string) =>
  `SELECT ${HISTORY}, r.id, r.campaign_id, r.creative_id, r.advertiser_id, r.served_at, r.expires_at, ${VIEWED} FROM ${rows}
     AND r.uid = @uid AND r.served_at > @since AND (r.expires_at > @now OR ${VIEWED})
   UNION ALL SELECT ${BLOCK}, advertiser_id, NULL, NULL, NULL, NULL, NULL, NULL FROM user_blocks WHERE uid = @uid
   UNION ALL SELECT ${HIDE}, creative_id, NULL, NULL, NULL, NULL, NULL, NULL FROM user_hides WHERE uid = @uid
   UNION ALL SELECT ${MUTE}, category, NULL, NULL, NULL, NULL, NULL, NULL FROM user_mutes WHERE uid = @uid`;

/**
 * SQL: the reservation `number` (a column) is one of the user's whose key is bound as @key: its entry is in
 * `reservation_users` or held in memory (@held, a JSON array of numbers; `SqliteUsers.rowsOf`). The rows of another
 * user with the same key are in it too: compare `uid` beside it.
 */
export const OF_USER = (number: string) =>
  `${number} IN (SELECT number FROM reservation_users WHERE key = @key UNION SELECT value FROM json_each(@held))`;

/** A reservation as `Reservation` names its fields (`video` as SQLite's 0 or 1), up to its WHERE. */
const RESERVATION = `SELECT number, id, uid, campaign_id AS campaignId, creative_id AS creativeId, advertiser_id AS advertiserId,
    bid_type AS bidType, price_micros AS priceMicros, served_at AS servedAt, expires_at AS expiresAt, ${VIEWED_AT} AS viewedAt,
    ${CHARGED_AT} AS chargedAt, country, platform, video
  FROM reservations r`;
type ReservationRow = Omit<Reservation, 'video'> & { video: number };

/**
 * Prepared once, as plain better-sqlite3 statements: the slot path reads a user on
 * every cache miss and writes on every serve, and drizzle's placeholder and row
 * mapping cost as much as SQLite itself here.
 */
function prepareStatements(db: Db) {
  const sqlite = (db as unknown as { $client: Database.Database }).$client;
  return {
    // Rows of UserRow: the cap history, then blocks, hides and mutes (one index lookup each).
    // A history entry is viewed once an event converted it (event-state.ts): read from the events key, one lookup per entry.
    // The user's rows are those `reservation_users` has under the key, joined row by row (no defined
    // order; no list of numbers made first), and (`readHeldUser`) those held in memory too.
    readUser: sqlite
      .prepare(readUser('reservation_users u CROSS JOIN reservations r WHERE u.key = @key AND r.number = u.number'))
      .raw(),
    readHeldUser: sqlite.prepare(readUser(`reservations r WHERE ${OF_USER('r.number')}`)).raw(),
    deleteReservations: sqlite
      .prepare(
        `DELETE FROM reservations WHERE ${OF_USER('number')} AND uid = @uid AND id IN (SELECT value FROM json_each(@ids)) RETURNING number`,
      )
      .pluck(),
    reservation: sqlite.prepare(`${RESERVATION} WHERE ${OF_USER('r.number')} AND r.uid = @uid AND r.id = @id`),
    numbered: sqlite.prepare(`${RESERVATION} WHERE number = ? AND expires_at = ?`),
    // Retention, a chunk at a time, in `expires_at` order (the index's order, rowid last): the first rows, with when
    // each was served; events older than a point; reservations expired since a point, with whether each was viewed.
    firstToExpire: sqlite
      .prepare('SELECT rowid, uid_key, served_at FROM reservations ORDER BY expires_at, rowid LIMIT @chunk')
      .raw(),
    eventsBefore: sqlite.prepare('DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE at < @before LIMIT @chunk)'),
    expiredAfter: sqlite
      .prepare(
        `SELECT r.rowid, r.uid_key, r.expires_at, ${VIEWED} FROM reservations r
         WHERE (r.expires_at, r.rowid) > (@at, @row) AND r.expires_at < @now ORDER BY r.expires_at, r.rowid LIMIT @chunk`,
      )
      .raw(),
    deleteEventsOf: sqlite.prepare('DELETE FROM events WHERE reservation = ?'),
    deleteRow: sqlite.prepare('DELETE FROM reservations WHERE rowid = ?'),
    // The user index (`UserIndex`): an entry written, one taken away, the mark, and the rows past it (at start).
    addEntry: sqlite.prepare('INSERT OR IGNORE INTO reservation_users (key, number) VALUES (?, ?)'),
    deleteEntry: sqlite.prepare('DELETE FROM reservation_users WHERE key = ? AND number = ?'),
    mark: sqlite.prepare(`SELECT value FROM ledger_marks WHERE name = '${USER_INDEX_MARK}'`).pluck(),
    setMark: sqlite.prepare(
      `INSERT INTO ledger_marks (name, value) VALUES ('${USER_INDEX_MARK}', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
    ),
    addEntriesPast: sqlite.prepare(
      'INSERT OR IGNORE INTO reservation_users (key, number) SELECT uid_key, number FROM reservations WHERE number > ? ORDER BY uid_key, number',
    ),
    lastNumber: sqlite.prepare('SELECT max(number) FROM reservations').pluck(),
    numbersGiven: sqlite.prepare(`SELECT value FROM ledger_marks WHERE name = '${NUMBERS_GIVEN}'`).pluck(),
    setNumbersGiven: sqlite.prepare(
      `INSERT INTO ledger_marks (name, value) VALUES ('${NUMBERS_GIVEN}', ?) ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`,
    ),
    insertReservation: sqlite.prepare(
      `INSERT INTO reservations (${RESERVATION_COLUMNS}) VALUES (${'?, '.repeat(RESERVATION_WIDTH - 1)}?)`,
    ),
  };
}
