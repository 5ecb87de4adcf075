/**
 * Per-user state (reservations, blocks, hides) in SQLite, behind a bounded LRU
 * cache written through on every change. Keys are pseudonymous ids only.
 */
import { and, eq, gt, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import * as t from '../../../schema/tables.js';
import { isLive } from '../../engine/eligibility.js';
import type { HistoryEntry, UserState } from '../../engine/types.js';
import type { Reservation, UserStore } from '../interface.js';
import type { SqliteBudgets } from './budgets.js';
import { gainedHistory, toHistory } from '../user-history.js';
import type { Db } from './db.js';
import { GroupCommit } from './group-commit.js';
import type { StoreMetrics } from '../../ops/metrics.js';

export class SqliteUsers implements UserStore {
  readonly cache: LRUCache<string, UserState>;

  constructor(
    private db: Db,
    private budgets: SqliteBudgets,
    cacheSize: number,
    private metrics?: StoreMetrics,
  ) {
    this.cache = new LRUCache({ max: cacheSize });
    this.statements = prepareStatements(db);
  }

  private statements: ReturnType<typeof prepareStatements>;
  /** Reservations of concurrent slot requests share one transaction; nothing is acknowledged before it is on disk. */
  private group = new GroupCommit<Reservation[], void>((batches) => {
    this.db.transaction(() => {
      for (const batch of batches) for (const r of batch) this.statements.insertReservation.run(r as unknown as Record<string, unknown>);
    });
    for (const batch of batches) for (const r of batch) this.cache.get(r.uid)?.history.push(toHistory(r));
    return batches.map(() => undefined);
  }, (seconds, size) => this.metrics?.commit('reservations', seconds, size));

  private read(uid: string, now: number, historyMs: number): UserState {
    const since = now - historyMs;
    const rows = this.statements.readHistory.all({ uid, since, now });
    const blocks = this.statements.readBlocks.all({ uid });
    const hides = this.statements.readHides.all({ uid });
    return {
      history: rows.map(toHistory),
      blocks: new Set(blocks.map((b) => b.a)),
      hides: new Set(hides.map((h) => h.c)),
    };
  }

  /** The cached state, trimmed of entries no cap can count any more. */
  async load(uid: string, now: number, historyMs: number): Promise<UserState> {
    let state = this.cache.get(uid);
    this.metrics?.userCache(state !== undefined);
    if (!state) {
      state = this.read(uid, now, historyMs);
      this.cache.set(uid, state);
      return state;
    }
    const since = now - historyMs;
    if (state.history.some((e) => e.servedAt <= since || !isLive(e, now))) {
      state.history = state.history.filter((e) => e.servedAt > since && isLive(e, now));
    }
    return state;
  }

  async reserve(reservations: Reservation[], basedOn?: { history: HistoryEntry[]; historyMs: number }): Promise<boolean> {
    if (reservations.length === 0) return true;
    if (basedOn) {
      const current = await this.load(reservations[0].uid, reservations[0].servedAt, basedOn.historyMs);
      if (gainedHistory(current.history, basedOn.history)) return false;
    }
    await this.group.submit(reservations);
    return true;
  }

  async reservation(uid: string, id: string): Promise<Reservation | undefined> {
    const row = this.db.select().from(t.reservations).where(eq(t.reservations.id, id)).get();
    return row?.uid === uid ? row : undefined;
  }

  /** A committed impression: the cached history entry stops expiring. */
  viewed(uid: string, reservationId: string): void {
    const entry = this.cache.get(uid)?.history.find((e) => e.reservationId === reservationId);
    if (entry) entry.viewed = true;
  }

  async block(uid: string, advertiserId: string, now: number) {
    this.db.insert(t.userBlocks).values({ uid, advertiserId, at: now }).onConflictDoNothing().run();
    this.cache.get(uid)?.blocks.add(advertiserId);
  }

  async unblock(uid: string, advertiserId: string) {
    this.db.delete(t.userBlocks).where(and(eq(t.userBlocks.uid, uid), eq(t.userBlocks.advertiserId, advertiserId))).run();
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

  async erase(uid: string) {
    const live = this.db
      .select({ id: t.reservations.id, campaignId: t.reservations.campaignId })
      .from(t.reservations)
      .where(eq(t.reservations.uid, uid))
      .all();
    this.db.transaction((tx) => {
      tx.delete(t.reservations).where(eq(t.reservations.uid, uid)).run();
      tx.delete(t.userBlocks).where(eq(t.userBlocks.uid, uid)).run();
      tx.delete(t.userHides).where(eq(t.userHides.uid, uid)).run();
      tx.delete(t.events).where(eq(t.events.uid, uid)).run();
      tx.delete(t.creativeReports).where(eq(t.creativeReports.uid, uid)).run();
    });
    for (const r of live) await this.budgets.release(r.campaignId, r.id);
    this.cache.delete(uid);
    // The deleted rows' old pages still sit in the WAL until a checkpoint; fold and empty it now.
    this.db.get(sql`PRAGMA wal_checkpoint(TRUNCATE)`);
  }

  /** Deletes history older than any cap or token needs. */
  prune(now: number, historyMs: number): number {
    const before = now - historyMs;
    const reservations = this.db
      .delete(t.reservations)
      .where(or(lt(t.reservations.servedAt, before), and(lt(t.reservations.expiresAt, now), isNull(t.reservations.viewedAt))))
      .run().changes;
    const events = this.db.delete(t.events).where(lt(t.events.at, before)).run().changes;
    return reservations + events;
  }
}

/** Prepared once: the slot path reads a user on every cache miss and writes on every serve. */
function prepareStatements(db: Db) {
  return {
    readHistory: db
      .select()
      .from(t.reservations)
      .where(
        and(
          eq(t.reservations.uid, sql.placeholder('uid')),
          gt(t.reservations.servedAt, sql.placeholder('since')),
          or(isNotNull(t.reservations.viewedAt), gt(t.reservations.expiresAt, sql.placeholder('now'))),
        ),
      )
      .orderBy(t.reservations.servedAt)
      .prepare(),
    readBlocks: db.select({ a: t.userBlocks.advertiserId }).from(t.userBlocks).where(eq(t.userBlocks.uid, sql.placeholder('uid'))).prepare(),
    readHides: db.select({ c: t.userHides.creativeId }).from(t.userHides).where(eq(t.userHides.uid, sql.placeholder('uid'))).prepare(),
    insertReservation: db
      .insert(t.reservations)
      .values({
        id: sql.placeholder('id'),
        uid: sql.placeholder('uid'),
        campaignId: sql.placeholder('campaignId'),
        creativeId: sql.placeholder('creativeId'),
        advertiserId: sql.placeholder('advertiserId'),
        bidType: sql.placeholder('bidType'),
        priceMicros: sql.placeholder('priceMicros'),
        servedAt: sql.placeholder('servedAt'),
        expiresAt: sql.placeholder('expiresAt'),
        viewedAt: sql.placeholder('viewedAt'),
        chargedAt: sql.placeholder('chargedAt'),
      })
      .prepare(),
  };
}
