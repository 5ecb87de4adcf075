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
/** How long after a failed read-back of the stored holds the next budget use tries it again, in ms (it fails meanwhile). */
export const LOAD_RETRY_MS = 1000;

interface Account {
  day: number;
  spentTodayMicros: number;
  spentTotalMicros: number;
  heldMicros: number;
  /** Holds taken by this process, in taking order. */
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
 * the ids of the same millisecond. They end by expiry in taking order, which is expiry order while
 * every hold lives the same TTL on a clock that never steps back. What breaks either order (a clock
 * stepped back, ids made otherwise, a shorter TTL) is kept apart while it is live: an id out of
 * time order in a map from id to place, a hold that expires before one taken earlier in a heap by
 * expiry, each no bigger than the holds that broke the order.
 */
class LiveHolds {
  private ids: string[] = [];
  /** Each id's `timeKey`, never decreasing (an id out of order is entered at the time before it, and found through `strays`). */
  private times: number[] = [];
  private amounts: number[] = [];
  private expiries: number[] = [];
  /** 1 while the hold is live, 0 once it ended (expired, charged, cut or given back). */
  private live: number[] = [];
  /** Entries before `head` have ended and are dropped at the next compaction. */
  private head = 0;
  /** Entries dropped so far: a hold's place is `dropped` + its index. */
  private dropped = 0;
  /** Live holds whose id came out of time order: their places. */
  private strays: Map<string, number> | undefined;
  /** The latest expiry taken in order: a hold that expires before it goes into `early`. */
  private lastExpiry = Number.NEGATIVE_INFINITY;
  /** Places and expiries of holds that expire before one taken earlier: a min-heap by expiry (ended ones are skipped when popped). */
  private earlyPlaces: number[] = [];
  private earlyExpiries: number[] = [];
  /** The amount of the holds the last `expire` ended. */
  endedMicros = 0;

  add(id: string, amountMicros: number, expiresAt: number): void {
    const n = this.ids.length;
    const place = this.dropped + n;
    let time = timeKey(id);
    // Nothing live before it: no order to keep.
    if (n === this.head) this.lastExpiry = Number.NEGATIVE_INFINITY;
    if (n > this.head && time < this.times[n - 1]) {
      (this.strays ??= new Map()).set(id, place);
      time = this.times[n - 1];
    }
    if (expiresAt < this.lastExpiry) this.pushEarly(place, expiresAt);
    else this.lastExpiry = expiresAt;
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

  /**
   * Ends every hold expired by `now` (their amount in `endedMicros`) and drops ended ones from the front; returns
   * how many expired. A live hold at the front not yet expired stops the walk: those taken after it in order
   * expire no earlier, and those that do are in `early`.
   */
  expire(now: number): number {
    const { ids, live, expiries } = this;
    let count = 0;
    this.endedMicros = 0;
    while (this.earlyPlaces.length > 0 && this.earlyExpiries[0] <= now) {
      const i = this.popEarly() - this.dropped;
      if (i >= this.head && live[i] === 1) {
        this.endedMicros += this.end(i);
        count++;
      }
    }
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

  /** How many holds are kept apart (out of time order, or expiring early): for tests. */
  get apart(): number {
    return (this.strays?.size ?? 0) + this.earlyPlaces.length;
  }

  private end(i: number): number {
    this.live[i] = 0;
    if (this.strays?.delete(this.ids[i]) && this.strays.size === 0) this.strays = undefined;
    return this.amounts[i];
  }

  /** The index of the live hold of `id`, or -1. */
  private find(id: string): number {
    const stray = this.strays?.get(id);
    if (stray !== undefined) return stray - this.dropped;
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

  private pushEarly(place: number, expiresAt: number): void {
    const places = this.earlyPlaces;
    const expiries = this.earlyExpiries;
    let i = places.length;
    places.push(place);
    expiries.push(expiresAt);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (expiries[parent] <= expiresAt) break;
      places[i] = places[parent];
      expiries[i] = expiries[parent];
      i = parent;
    }
    places[i] = place;
    expiries[i] = expiresAt;
  }

  /** Removes the earliest of `early`; returns its place. */
  private popEarly(): number {
    const places = this.earlyPlaces;
    const expiries = this.earlyExpiries;
    const top = places[0];
    const lastPlace = places.pop() as number;
    const lastExpiry = expiries.pop() as number;
    const n = places.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && expiries[child + 1] < expiries[child]) child++;
        if (expiries[child] >= lastExpiry) break;
        places[i] = places[child];
        expiries[i] = expiries[child];
        i = child;
      }
      places[i] = lastPlace;
      expiries[i] = lastExpiry;
    }
    return top;
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

  /** The last read-back that failed, while none has succeeded: when, and its error. */
  private loadFailed: { at: number; error: unknown } | undefined;

  constructor(
    private db: Db,
    private metrics?: StoreMetrics,
  ) {}

  /**
   * Reads every live hold back from the stored reservations (live, uncharged: event-state.ts) in one
   * scan of the `expires_at` index and makes each such campaign's account, so no later budget use reads
   * reservations. Runs once: the server calls it before it listens; otherwise the first budget use does.
   * From then on every hold is in memory and every change to one (a charge, an erase, a give-back)
   * reaches it here. Returns how many holds were read back. A scan that fails changes nothing and is
   * tried again at the first budget use LOAD_RETRY_MS or more later; the uses meanwhile fail with its error
   * (without the holds a budget would admit too much), so a failure that lasts costs one scan a second, not
   * one per slot request.
   */
  loadHolds(now: number): number {
    if (this.readBack !== undefined) return this.readBack;
    const failed = this.loadFailed;
    if (failed && now >= failed.at && now - failed.at < LOAD_RETRY_MS) throw failed.error;
    try {
      return this.readHoldsBack(now);
    } catch (error) {
      this.loadFailed = { at: now, error };
      throw error;
    }
  }

  private readHoldsBack(now: number): number {
    const found: { campaign: string; stored: StoredHolds; heldMicros: number }[] = [];
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
      // The search compares UTF-16 code units, SQLite's order is UTF-8 bytes: the same for the ids we mint, else sort here.
      if (ids.some((id, i) => i > 0 && ids[i - 1] >= id)) sortTogether(ids, amounts, expiries);
      const ends = new Uint32Array(ids.length);
      let end = 0;
      for (let i = 0; i < ids.length; i++) ends[i] = end += ids[i].length;
      const expiriesArray = Float64Array.from(expiries);
      const byExpiry = new Uint32Array(ids.length);
      for (let i = 0; i < byExpiry.length; i++) byExpiry[i] = i;
      byExpiry.sort((a, b) => expiriesArray[a] - expiriesArray[b]);
      let heldMicros = 0;
      for (const amount of amounts) heldMicros += amount;
      found.push({
        campaign,
        stored: new StoredHolds(ids.join(''), ends, Float64Array.from(amounts), expiriesArray, byExpiry),
        heldMicros,
      });
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
    // All read: now they become the accounts' (a campaign's rows come together, so each has one entry here).
    const accounts = found.map((f) => this.accounts.get(f.campaign) ?? this.load(f.campaign, now));
    let count = 0;
    for (const [i, { campaign: id, stored, heldMicros }] of found.entries()) {
      const account = accounts[i];
      account.stored = stored;
      account.heldMicros += heldMicros;
      this.accounts.set(id, account);
      count += stored.size;
    }
    this.readBack = count;
    return count;
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

  /** How many of those are kept apart from the taking order (ids out of time order, holds expiring early): for tests. */
  holdsApart(): number {
    let count = 0;
    for (const account of this.accounts.values()) count += account.live.apart;
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
    // One metrics call for the group's charges of this campaign, not one per hold (a label lookup each).
    let released = 0;
    for (const id of reservationIds) if (this.endHold(account, id)) released++;
    if (released > 0) this.metrics?.holds('released', released);
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
    if (this.endHold(account, reservationId)) this.metrics?.holds('released', 1);
  }

  /** Ends the live hold of `reservationId`, if it has one: true if it did. */
  private endHold(account: Account, reservationId: string): boolean {
    const amount = account.live.release(reservationId) ?? account.stored?.release(reservationId);
    if (amount === undefined) return false;
    account.heldMicros -= amount;
    return true;
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
