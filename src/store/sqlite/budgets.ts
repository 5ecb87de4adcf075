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

interface Account {
  day: number;
  spentTodayMicros: number;
  spentTotalMicros: number;
  heldMicros: number;
  /** Holds taken by this process, in taking order (every hold lives the same TTL, so that is expiry order). */
  live: LiveHolds;
  /** Holds read back at start, until every one has ended. */
  stored: StoredHolds | undefined;
}

/**
 * An id's serving time as a number: `timeOrderedId` ids are "r_" and 12 hex digits of the serving
 * millisecond, then random characters. Read without a substring; any other id gets some number
 * (a character that is no hex digit counts as 0): equal numbers only cost a longer scan.
 */
function timeKey(id: string): number {
  let key = 0;
  const end = Math.min(id.length, 14);
  for (let k = 2; k < end; k++) {
    const c = id.charCodeAt(k);
    key = key * 16 + (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : 0);
  }
  return key;
}

/**
 * One campaign's holds taken by this process, in parallel arrays rather than an object and a map
 * entry per hold: holds live for the token TTL (15 min), so at thousands of slots a second the
 * collector would otherwise copy, promote and mark millions of small objects on the thread that
 * serves. A hold is found by its id through the ids' time order (`timeOrderedId`: serving time
 * first, and holds are taken in serving order): a binary search over those times, then a scan of
 * the ids of the same millisecond. An id taken out of that order (a clock stepped back, ids made
 * otherwise) switches the campaign to a map from id to place, which is always right.
 */
class LiveHolds {
  private ids: string[] = [];
  /** Each id's `timeKey`, never decreasing while `byId` is unset. */
  private times: number[] = [];
  private amounts: number[] = [];
  private expiries: number[] = [];
  /** 1 while the hold is live, 0 once it ended (expired, charged, cut or given back). */
  private live: number[] = [];
  /** Entries before `head` have ended and are dropped at the next compaction. */
  private head = 0;
  /** Entries dropped so far: a place in `byId` is `dropped` + its index. */
  private dropped = 0;
  private byId: Map<string, number> | undefined;
  /** The amount of the holds the last `expire` ended. */
  endedMicros = 0;

  add(id: string, amountMicros: number, expiresAt: number): void {
    const n = this.ids.length;
    const time = timeKey(id);
    if (!this.byId && n > this.head && time < this.times[n - 1]) {
      const byId = new Map<string, number>();
      for (let i = this.head; i < n; i++) if (this.live[i] === 1) byId.set(this.ids[i], this.dropped + i);
      this.byId = byId;
    }
    this.byId?.set(id, this.dropped + n);
    this.ids.push(id);
    this.times.push(time);
    this.amounts.push(amountMicros);
    this.expiries.push(expiresAt);
    this.live.push(1);
  }

  /** Ends the live hold of `reservationId`: its amount, or undefined if it has none. */
  release(reservationId: string): number | undefined {
    const i = this.find(reservationId);
    if (i < 0) return undefined;
    return this.end(i);
  }

  /** Ends every hold expired by `now` (their amount in `endedMicros`) and drops ended ones from the front; returns how many expired. */
  expire(now: number): number {
    const { ids, live, expiries } = this;
    let count = 0;
    this.endedMicros = 0;
    while (this.head < ids.length && (live[this.head] === 0 || expiries[this.head] <= now)) {
      if (live[this.head] === 1) {
        this.endedMicros += this.end(this.head);
        count++;
      }
      this.head++;
    }
    if (this.head >= 64 && this.head * 2 >= ids.length) this.compact();
    return count;
  }

  /** Ends live holds newest first while `more()` says so; calls `ended` with each amount. */
  releaseNewest(more: () => boolean, ended: (amountMicros: number) => void): void {
    for (let i = this.ids.length - 1; i >= this.head && more(); i--) if (this.live[i] === 1) ended(this.end(i));
  }

  /** How many holds are kept (live, or ended and not yet dropped). */
  get size(): number {
    return this.ids.length - this.head;
  }

  private end(i: number): number {
    this.live[i] = 0;
    this.byId?.delete(this.ids[i]);
    return this.amounts[i];
  }

  /** The index of the live hold of `id`, or -1. */
  private find(id: string): number {
    if (this.byId) {
      const at = this.byId.get(id);
      return at === undefined ? -1 : at - this.dropped;
    }
    const { ids, times } = this;
    const time = timeKey(id);
    let lo = this.head;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (times[mid] < time) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < ids.length && times[i] === time; i++) if (this.live[i] === 1 && ids[i] === id) return i;
    return -1;
  }

  private compact(): void {
    const head = this.head;
    this.ids = this.ids.slice(head);
    this.times = this.times.slice(head);
    this.amounts = this.amounts.slice(head);
    this.expiries = this.expiries.slice(head);
    this.live = this.live.slice(head);
    this.dropped += head;
    this.head = 0;
    if (this.byId && this.byId.size === 0) this.byId = undefined;
  }
}

/**
 * One campaign's holds read back at start, in typed arrays and one string (the reservation ids,
 * concatenated in id order): hundreds of thousands of live holds cost the collector a few objects
 * per campaign, not several per hold. Index `i` is a hold's place in id order.
 */
class StoredHolds {
  /** Holds in expiry order, from `next` on not yet ended by expiry (some may be released). */
  private next = 0;
  private released: Uint8Array;

  constructor(
    private ids: string,
    /** Where each id ends in `ids` (it starts where the one before ends). */
    private ends: Uint32Array,
    private amounts: Float64Array,
    private expiries: Float64Array,
    private byExpiry: Uint32Array,
  ) {
    this.released = new Uint8Array(ends.length);
  }

  /** The amount of the holds the last `expire` ended. */
  endedMicros = 0;

  /** Ends every hold expired by `now` (their amount in `endedMicros`); returns how many. */
  expire(now: number): number {
    const { byExpiry, expiries } = this;
    let count = 0;
    this.endedMicros = 0;
    while (this.next < byExpiry.length && expiries[byExpiry[this.next]] <= now) {
      const i = byExpiry[this.next++];
      if (!this.released[i]) {
        this.released[i] = 1;
        this.endedMicros += this.amounts[i];
        count++;
      }
    }
    return count;
  }

  /** How many holds these arrays keep (ended or not). */
  get size(): number {
    return this.byExpiry.length;
  }

  /** True once every hold has ended by expiry. */
  get done(): boolean {
    return this.next === this.byExpiry.length;
  }

  /** Ends the live hold of `reservationId`: its amount, or undefined if it has none. */
  release(reservationId: string): number | undefined {
    const i = this.find(reservationId);
    if (i < 0 || this.released[i]) return undefined;
    this.released[i] = 1;
    return this.amounts[i];
  }

  /** Ends live holds newest first while `more()` says so; calls `ended` with each amount. */
  releaseNewest(more: () => boolean, ended: (amountMicros: number) => void): void {
    for (let k = this.byExpiry.length - 1; k >= this.next && more(); k--) {
      const i = this.byExpiry[k];
      if (this.released[i]) continue;
      this.released[i] = 1;
      ended(this.amounts[i]);
    }
  }

  /** Binary search of `id` in the concatenated ids, without a string per comparison. */
  private find(id: string): number {
    let lo = 0;
    let hi = this.ends.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const order = this.compare(id, mid);
      if (order === 0) return mid;
      if (order < 0) hi = mid - 1;
      else lo = mid + 1;
    }
    return -1;
  }

  private compare(id: string, i: number): number {
    const start = i === 0 ? 0 : this.ends[i - 1];
    const length = this.ends[i] - start;
    const n = Math.min(id.length, length);
    for (let k = 0; k < n; k++) {
      const d = id.charCodeAt(k) - this.ids.charCodeAt(start + k);
      if (d !== 0) return d;
    }
    return id.length - length;
  }
}

export class SqliteBudgets implements BudgetStore {
  private accounts = new Map<string, Account>();
  /** Holds read back from the stored reservations (once, at start or on first use), and how many. */
  private readBack: number | undefined;

  constructor(
    private db: Db,
    private metrics?: StoreMetrics,
  ) {}

  /**
   * Reads every live hold back from the stored reservations (live, uncharged: event-state.ts) in one
   * scan of the `expires_at` index and makes each such campaign's account, so no later budget use reads
   * reservations. Runs once: the server calls it before it listens; otherwise the first budget use does.
   * From then on every hold is in memory and every change to one (a charge, an erase, a give-back)
   * reaches it here. Returns how many holds were read back.
   */
  loadHolds(now: number): number {
    if (this.readBack !== undefined) return this.readBack;
    this.readBack = 0;
    const sqlite = (this.db as unknown as { $client: Database.Database }).$client;
    // In id order within a campaign (SQLite sorts; one campaign's rows come together): nothing per hold is kept.
    const scan = sqlite
      .prepare(
        `SELECT r.campaign_id, r.id, r.price_micros, r.expires_at FROM reservations r
         WHERE r.expires_at > ? AND NOT ${CHARGED} ORDER BY r.campaign_id, r.id`,
      )
      .raw();
    let campaign: string | undefined;
    let ids: string[] = [];
    let amounts: number[] = [];
    let expiries: number[] = [];
    const flush = () => {
      if (campaign === undefined || ids.length === 0) return;
      const account = this.accounts.get(campaign) ?? this.load(campaign, now);
      // The search compares UTF-16 code units, SQLite's order is UTF-8 bytes: the same for the ids we mint, else sort here.
      if (ids.some((id, i) => i > 0 && ids[i - 1] >= id)) sortTogether(ids, amounts, expiries);
      const ends = new Uint32Array(ids.length);
      let end = 0;
      for (let i = 0; i < ids.length; i++) ends[i] = end += ids[i].length;
      const expiriesArray = Float64Array.from(expiries);
      const byExpiry = new Uint32Array(ids.length);
      for (let i = 0; i < byExpiry.length; i++) byExpiry[i] = i;
      byExpiry.sort((a, b) => expiriesArray[a] - expiriesArray[b]);
      account.stored = new StoredHolds(ids.join(''), ends, Float64Array.from(amounts), expiriesArray, byExpiry);
      for (const amount of amounts) account.heldMicros += amount;
      this.accounts.set(campaign, account);
      this.readBack! += ids.length;
      ids = [];
      amounts = [];
      expiries = [];
    };
    for (const [campaignId, id, price, expiresAt] of scan.iterate(now) as Iterable<[string, string, number, number]>) {
      if (campaignId !== campaign) {
        flush();
        campaign = campaignId;
      }
      ids.push(id);
      amounts.push(price);
      expiries.push(expiresAt);
    }
    flush();
    return this.readBack;
  }

  private account(campaignId: string, now: number): Account {
    const day = dayNumber(now);
    let account = this.accounts.get(campaignId);
    if (!account && this.readBack === undefined) {
      this.loadHolds(now);
      account = this.accounts.get(campaignId);
    }
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
      live: new LiveHolds(),
      stored: undefined,
    };
    return account;
  }

  private addHold(account: Account, reservationId: string, amountMicros: number, expiresAt: number) {
    account.live.add(reservationId, amountMicros, expiresAt);
    account.heldMicros += amountMicros;
  }

  private expire(account: Account, now: number) {
    let expired = account.live.expire(now);
    account.heldMicros -= account.live.endedMicros;
    const stored = account.stored;
    if (stored) {
      expired += stored.expire(now);
      account.heldMicros -= stored.endedMicros;
      if (stored.done) account.stored = undefined;
    }
    if (expired > 0) this.metrics?.holds('expired', expired);
  }

  /**
   * Ends every hold expired by `now` in every account, as each account's next use would (the budget
   * figures are the same): holds of campaigns nobody asks for (paused, archived) do not stay in memory
   * for the life of the process, and read-back holds past their last expiry free their arrays. The
   * retention job runs it (`store.prune`).
   */
  sweep(now: number): void {
    for (const account of this.accounts.values()) this.expire(account, now);
  }

  /** How many holds the accounts keep in memory (live, or ended and not yet dropped): for tests. */
  holdsKept(): number {
    let count = 0;
    for (const account of this.accounts.values()) count += account.live.size + (account.stored?.size ?? 0);
    return count;
  }

  view(campaignId: string, now: number): BudgetState {
    return this.account(campaignId, now);
  }

  /** Synchronous: the budget is in memory (the slot path takes no promise turn for it). */
  tryHold(
    hold: { campaign: ServableCampaign; reservationId: string; amountMicros: number; expiresAt: number },
    now: number,
  ): boolean {
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
    // No account: no live hold of this campaign is in memory (every stored one was read back with its account, or
    // is still to be read back from the committed rows, which hold these charges already), so when it is made, it
    // is made from those rows (spend in campaign_spend).
    const before = this.accounts.get(campaignId)?.day;
    if (before === undefined) return;
    const account = this.account(campaignId, now);
    for (const id of reservationIds) this.releaseById(account, id);
    if (dayNumber(now) === before) account.spentTodayMicros += amountMicros;
    account.spentTotalMicros += amountMicros;
  }

  async limit(campaign: Pick<CampaignRecord, 'id' | 'budget'>, now: number): Promise<void> {
    const account = this.account(campaign.id, now);
    const { dailyMicros, totalMicros } = campaign.budget;
    const fits = () =>
      (dailyMicros === undefined || account.spentTodayMicros + account.heldMicros <= dailyMicros) &&
      (totalMicros === undefined || account.spentTotalMicros + account.heldMicros <= totalMicros);
    const cut = (amount: number) => {
      account.heldMicros -= amount;
      this.metrics?.holds('released', 1);
    };
    // The newest holds go first: the oldest are the likeliest to have been seen already (those read back at start are older).
    account.live.releaseNewest(() => !fits(), cut);
    account.stored?.releaseNewest(() => !fits(), cut);
  }

  async release(campaignId: string, reservationId: string): Promise<void> {
    const account = this.accounts.get(campaignId);
    if (account) this.releaseById(account, reservationId);
  }

  private releaseById(account: Account, reservationId: string) {
    const amount = account.live.release(reservationId) ?? account.stored?.release(reservationId);
    if (amount === undefined) return;
    account.heldMicros -= amount;
    this.metrics?.holds('released', 1);
  }
}

/**
 * Sorts three parallel arrays in place by the first (code unit order, as `StoredHolds` searches). One
 * campaign can have hundreds of thousands of live holds: elements are copied one by one, never spread
 * as arguments (a spread of ~150k elements overflows the stack).
 */
export function sortTogether(ids: string[], amounts: number[], expiries: number[]) {
  const order = ids.map((_, i) => i).sort((a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));
  const [i0, a0, e0] = [ids.slice(), amounts.slice(), expiries.slice()];
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    ids[k] = i0[i];
    amounts[k] = a0[i];
    expiries[k] = e0[i];
  }
}
