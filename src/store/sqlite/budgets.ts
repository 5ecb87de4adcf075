/**
 * Budgets for one Node process: spend is durable in SQLite, holds are the live
 * reservations' clearing prices. Kept in memory so the hot path reads them
 * without SQL; this process is the only writer, so check-and-hold is atomic.
 */
import type Database from 'better-sqlite3';
import { and, eq, sql } from 'drizzle-orm';
import * as t from '../../../schema/tables.js';
import { remainingBudgetMicros } from '../../engine/eligibility.js';
import type { BudgetState, ServableCampaign } from '../../engine/types.js';
import type { StoreMetrics } from '../../ops/metrics.js';
import type { BudgetStore, CampaignRecord } from '../interface.js';
import { utcDay } from '../utc-day.js';
import type { Db } from './db.js';
import { CHARGED } from './event-state.js';

const DAY_MS = 86_400_000;
/** The UTC day as a number: cheap enough to compute on every budget read of the hot path. */
const dayNumber = (ms: number) => Math.floor(ms / DAY_MS);

interface Hold {
  reservationId: string;
  amountMicros: number;
  expiresAt: number;
  released: boolean;
}

interface Account {
  day: number;
  spentTodayMicros: number;
  spentTotalMicros: number;
  heldMicros: number;
  /** Holds in expiry order (every hold lives the same TTL, so insertion order is expiry order). */
  holds: Hold[];
  byReservation: Map<string, Hold>;
}

export class SqliteBudgets implements BudgetStore {
  private accounts = new Map<string, Account>();
  /**
   * Where the live holds of campaigns not asked for yet are stored: their reservations' rowids
   * by campaign, in expiry order, from one scan of the `expires_at` index on first use (a
   * per-campaign index would be one more B-tree written at a random page by every served
   * slot). Rowids in typed arrays, so campaigns never asked for (paused ones) cost the
   * collector nothing; each account reads its rows back by rowid when it is made.
   */
  private stored: { rowids: Map<string, Float64Array>; until: number } | undefined;
  private statements: ReturnType<typeof prepareStatements> | undefined;

  constructor(
    private db: Db,
    private metrics?: StoreMetrics,
  ) {}

  /** The live holds of `campaignId` as stored now: [reservation id, price, expiry], in expiry order. */
  private storedHolds(campaignId: string, now: number): [string, number, number][] {
    const q = (this.statements ??= prepareStatements((this.db as unknown as { $client: Database.Database }).$client));
    if (!this.stored) {
      const byCampaign = new Map<string, number[]>();
      let until = now;
      for (const [campaign, rowid, expiresAt] of q.liveRowids.all(now) as [string, number, number][]) {
        let list = byCampaign.get(campaign);
        if (!list) byCampaign.set(campaign, (list = []));
        list.push(rowid);
        until = expiresAt;
      }
      this.stored = { rowids: new Map([...byCampaign].map(([c, list]) => [c, Float64Array.from(list)])), until };
    }
    const rowids = this.stored.rowids.get(campaignId);
    this.stored.rowids.delete(campaignId);
    // Past the last expiry nothing found is live any more: what was never asked for goes.
    if (now > this.stored.until) this.stored.rowids.clear();
    const holds: [string, number, number][] = [];
    // Read again now: rows charged, erased or given back since the scan are left out.
    for (const rowid of rowids ?? []) {
      const row = q.liveHold.get(rowid, campaignId, now) as [string, number, number] | undefined;
      if (row) holds.push(row);
    }
    return holds;
  }

  private account(campaignId: string, now: number): Account {
    const day = dayNumber(now);
    let account = this.accounts.get(campaignId);
    if (!account) {
      account = this.load(campaignId, now);
      this.accounts.set(campaignId, account);
    }
    // Only ever forward: a caller with an earlier `now` (a group carrying the previous day's events) reads today's account.
    if (day > account.day) {
      // A new UTC day: today's spend starts from what is recorded for it; live holds carry over and count against it.
      account.day = day;
      account.spentTodayMicros = this.spentOn(campaignId, utcDay(now));
    }
    this.expire(account, now);
    return account;
  }

  private spentOn(campaignId: string, day: string): number {
    return (
      this.db
        .select({ s: t.campaignSpend.spendMicros })
        .from(t.campaignSpend)
        .where(and(eq(t.campaignSpend.campaignId, campaignId), eq(t.campaignSpend.day, day)))
        .get()?.s ?? 0
    );
  }

  private load(campaignId: string, now: number): Account {
    const day = dayNumber(now);
    const total = this.db
      .select({ s: sql<number>`coalesce(sum(${t.campaignSpend.spendMicros}), 0)` })
      .from(t.campaignSpend)
      .where(eq(t.campaignSpend.campaignId, campaignId))
      .get();
    const account: Account = {
      day,
      spentTodayMicros: this.spentOn(campaignId, utcDay(now)),
      spentTotalMicros: total?.s ?? 0,
      heldMicros: 0,
      holds: [],
      byReservation: new Map(),
    };
    for (const [id, price, expiresAt] of this.storedHolds(campaignId, now)) this.addHold(account, id, price, expiresAt);
    return account;
  }

  private addHold(account: Account, reservationId: string, amountMicros: number, expiresAt: number) {
    const hold = { reservationId, amountMicros, expiresAt, released: false };
    account.holds.push(hold);
    account.byReservation.set(reservationId, hold);
    account.heldMicros += amountMicros;
  }

  private releaseHold(account: Account, hold: Hold) {
    if (hold.released) return;
    hold.released = true;
    account.heldMicros -= hold.amountMicros;
    account.byReservation.delete(hold.reservationId);
  }

  private expire(account: Account, now: number) {
    let drop = 0;
    let expired = 0;
    while (drop < account.holds.length && (account.holds[drop].expiresAt <= now || account.holds[drop].released)) {
      if (!account.holds[drop].released) expired++;
      this.releaseHold(account, account.holds[drop]);
      drop++;
    }
    if (expired > 0) this.metrics?.holds('expired', expired);
    if (drop > 0) account.holds.splice(0, drop);
  }

  view(campaignId: string, now: number): BudgetState {
    return this.account(campaignId, now);
  }

  async tryHold(
    hold: { campaign: ServableCampaign; reservationId: string; amountMicros: number; expiresAt: number },
    now: number,
  ): Promise<boolean> {
    const account = this.account(hold.campaign.id, now);
    if (remainingBudgetMicros(hold.campaign, account) < hold.amountMicros) return false;
    this.addHold(account, hold.reservationId, hold.amountMicros, hold.expiresAt);
    this.metrics?.holds('taken', 1);
    return true;
  }

  /**
   * Records committed charges of one campaign in memory (call after the SQL commit): their
   * holds end and `amountMicros` in all becomes spend on the UTC day of `now`, where the
   * ledger booked it. Today's spend in memory grows by it only if the account was already on
   * that day: on the day's first use it is read back from `campaign_spend`, which holds this
   * commit already, and a charge booked on an earlier day than the account's is not today's.
   */
  charged(campaignId: string, reservationIds: string[], amountMicros: number, now: number): void {
    // Not asked for since the start: when it is, it is made from the committed rows, which hold these charges already
    // (spend in campaign_spend, no hold for a charged reservation). Making it here would put the start-up read of
    // every stored hold on the event path.
    const before = this.accounts.get(campaignId)?.day;
    if (before === undefined) return;
    const account = this.account(campaignId, now);
    for (const id of reservationIds) {
      const hold = account.byReservation.get(id);
      if (hold) this.released(account, hold);
    }
    if (dayNumber(now) === before) account.spentTodayMicros += amountMicros;
    account.spentTotalMicros += amountMicros;
  }

  async limit(campaign: Pick<CampaignRecord, 'id' | 'budget'>, now: number): Promise<void> {
    const account = this.account(campaign.id, now);
    const { dailyMicros, totalMicros } = campaign.budget;
    const fits = () =>
      (dailyMicros === undefined || account.spentTodayMicros + account.heldMicros <= dailyMicros) &&
      (totalMicros === undefined || account.spentTotalMicros + account.heldMicros <= totalMicros);
    // The newest holds go first: the oldest are the likeliest to have been seen already.
    for (let i = account.holds.length - 1; i >= 0 && !fits(); i--) this.released(account, account.holds[i]);
  }

  async release(campaignId: string, reservationId: string): Promise<void> {
    const account = this.accounts.get(campaignId);
    const hold = account?.byReservation.get(reservationId);
    if (account && hold) this.released(account, hold);
  }

  /** A live hold ends before its expiry: charged, cut to a lowered budget, or given back. */
  private released(account: Account, hold: Hold) {
    if (hold.released) return;
    this.releaseHold(account, hold);
    this.metrics?.holds('released', 1);
  }
}

/** Plain better-sqlite3 statements for the start-up read of live holds: uncharged (its events say, event-state.ts) and unexpired. */
function prepareStatements(sqlite: Database.Database) {
  return {
    liveRowids: sqlite
      .prepare(
        `SELECT r.campaign_id, r.rowid, r.expires_at FROM reservations r WHERE r.expires_at > ? AND NOT ${CHARGED} ORDER BY r.expires_at`,
      )
      .raw(),
    liveHold: sqlite
      .prepare(
        `SELECT r.id, r.price_micros, r.expires_at FROM reservations r
         WHERE r.rowid = ? AND r.campaign_id = ? AND r.expires_at > ? AND NOT ${CHARGED}`,
      )
      .raw(),
  };
}
