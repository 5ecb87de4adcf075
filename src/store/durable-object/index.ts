/**
 * The Workers backend as one Store for an isolate: the catalog in D1, each
 * user's state in that user's Durable Object, each campaign's budget and
 * counters in that campaign's Durable Object. Objects are reached through the
 * small RPC interfaces below, so this file needs no Workers types and tests can
 * pass any implementation.
 */
import { holdShard, type Lease, type LeaseBudget, type RenewRequest } from '../../engine/budget-leases.js';
import type { BudgetState, HistoryEntry, ServableCampaign } from '../../engine/types.js';
import type { SqlCatalog } from '../catalog.js';
import { type CampaignEffect, UNKNOWN_RESERVATION } from '../event-procedure.js';
import type {
  BudgetStore,
  CampaignRecord,
  EventBatchResult,
  EventOutcome,
  LedgerEvent,
  LedgerStore,
  ReportBy,
  ReportRow,
  Reservation,
  Store,
  TrafficStore,
  UserStore,
  VerifiedEvent,
} from '../interface.js';
import type { StoredReportRow } from '../report-rows.js';
import { ageSnapshot, type BudgetSnapshot, type HoldRequest, type TrimTarget } from './campaign-object.js';

/** What a user object answers (src/runtime/worker.ts, UserObject). */
export interface UserObjectRpc extends UserStore {
  record(events: VerifiedEvent[], now: number, reportThreshold: number): Promise<EventBatchResult>;
  prune(now: number, historyMs: number): Promise<number>;
}

/**
 * What a campaign object answers (src/runtime/worker.ts, CampaignObject), bound to one
 * budget shard of one campaign (shard 0: the campaign's own object, which coordinates).
 */
export interface CampaignObjectRpc {
  tryHold(hold: HoldRequest, now: number): Promise<{ held: boolean; state: BudgetSnapshot }>;
  /** Shard 0: the campaign's budget state; `exact` asks every shard, otherwise others are as last reported. */
  view(now: number, exact?: boolean): Promise<BudgetSnapshot>;
  /** This shard's own spend and holds. */
  own(now: number): Promise<BudgetSnapshot>;
  /** Shard 0: the campaign's report, every shard's rows merged. */
  report(fromDay: string, toDay: string, by: ReportBy): Promise<ReportRow[]>;
  /** This shard's stored report rows. */
  rows(fromDay: string, toDay: string, by: ReportBy): Promise<StoredReportRow[]>;
  /** Applies effects from a user object's outbox once each; returns creatives it sent back to review. */
  apply(effects: CampaignEffect[], reportThreshold: number): Promise<string[]>;
  release(reservationIds: string[]): Promise<void>;
  /** Shard 0: the budget changed; the cut reaches every shard. */
  limit(budget: ServableCampaign['budget'], now: number): Promise<void>;
  /** Shard 0. */
  forgetReporter(uid: string): Promise<void>;
  /** Shard 0: a shard's lease renewal (null: a stale request). */
  renew(request: RenewRequest): Promise<Lease | null>;
  /** The coordinator wants unspent lease back (with `budget`: a new budget is in force). */
  recall(now: number, budget?: LeaseBudget): Promise<RenewRequest>;
  /** A budget cut: the newest holds go until spend + holds fit `target`. */
  trim(target: TrimTarget, budget: LeaseBudget, now: number): Promise<RenewRequest>;
}

export interface ObjectDirectory {
  user(uid: string): UserObjectRpc;
  /** One budget shard of a campaign [0: the campaign's own object]. */
  campaign(campaignId: string, shard?: number): CampaignObjectRpc;
  /** The deployment's one traffic object (forecast basis). */
  traffic(): TrafficStore;
}

const NO_SPEND: BudgetState = { spentTodayMicros: 0, spentTotalMicros: 0, heldMicros: 0 };

/**
 * Budgets as this isolate last saw them. `view` feeds the engine's ranking and
 * pacing and may lag by `staleMs` (it ages the snapshot to `now`: the day
 * rolls over, holds lapse, up to HOLD_BUCKET_MS early, never late); `tryHold` asks the shard of the
 * campaign's budget the hold is routed to, which is the authority for its
 * lease, and refreshes the view from its answer. A campaign in one object has
 * one shard, its own object.
 */
export class EdgeBudgets implements BudgetStore {
  private seen = new Map<string, { state: BudgetSnapshot; at: number }>();
  private refreshing = new Set<string>();

  constructor(
    private objects: ObjectDirectory,
    private staleMs = 1000,
    private maxEntries = 50_000,
    /** Budgets split over at least this many shards (BUDGET_MIN_SHARDS; 1: only as their rate asks). */
    private minShards = 1,
  ) {}

  private remember(campaignId: string, state: BudgetSnapshot, now: number) {
    if (this.seen.size >= this.maxEntries && !this.seen.has(campaignId)) this.seen.clear();
    this.seen.set(campaignId, { state, at: now });
  }

  view(campaignId: string, now: number): BudgetState {
    const entry = this.seen.get(campaignId);
    if ((!entry || now - entry.at > this.staleMs) && !this.refreshing.has(campaignId)) {
      // Refresh in the background; the hot path never waits on it.
      this.refreshing.add(campaignId);
      this.objects
        .campaign(campaignId)
        .view(now)
        .then((state) => this.remember(campaignId, state, now))
        .catch(() => undefined)
        .finally(() => this.refreshing.delete(campaignId));
    }
    return entry ? ageSnapshot(entry.state, now) : NO_SPEND;
  }

  /** The campaign's exact state (one RPC per shard), remembered for `view`. */
  async current(campaignId: string, now: number): Promise<BudgetState> {
    const state = await this.objects.campaign(campaignId).view(now, true);
    this.remember(campaignId, state, now);
    return ageSnapshot(state, now);
  }

  /** Spread by reservation id over the shard count the campaign last told this isolate. */
  shardFor(campaignId: string, reservationId: string, _now: number): number {
    const shards = Math.max(this.minShards, this.seen.get(campaignId)?.state.shards ?? 1);
    return holdShard(reservationId, shards);
  }

  async tryHold(
    hold: { campaign: ServableCampaign; reservationId: string; amountMicros: number; expiresAt: number; shard?: number },
    now: number,
  ): Promise<boolean> {
    const shard = hold.shard ?? this.shardFor(hold.campaign.id, hold.reservationId, now);
    const answer = await this.objects.campaign(hold.campaign.id, shard).tryHold(
      {
        budget: hold.campaign.budget,
        pacing: hold.campaign.pacing,
        bid: hold.campaign.bid,
        predictedCtr: Math.max(0, ...hold.campaign.creatives.map((c) => c.predictedCtr)),
        reservationId: hold.reservationId,
        amountMicros: hold.amountMicros,
        expiresAt: hold.expiresAt,
      },
      now,
    );
    // Any shard answers with the campaign as it knows it (its own account, the others' as last reported).
    this.remember(hold.campaign.id, answer.state, now);
    return answer.held;
  }

  async release(campaignId: string, reservationId: string, shard?: number): Promise<void> {
    await this.objects
      .campaign(campaignId, shard ?? this.shardFor(campaignId, reservationId, Date.now()))
      .release([reservationId]);
  }

  async limit(campaign: Pick<CampaignRecord, 'id' | 'budget'>, now: number): Promise<void> {
    const objects = this.objects.campaign(campaign.id);
    await objects.limit(campaign.budget, now);
    this.remember(campaign.id, await objects.view(now), now);
  }
}

export class EdgeUsers implements UserStore {
  /** Users this isolate reached since its last prune: the only objects it can name. */
  private touched = new Set<string>();

  constructor(
    private objects: ObjectDirectory,
    private maxTouched = 100_000,
  ) {}

  private user(uid: string): UserObjectRpc {
    if (this.touched.size < this.maxTouched) this.touched.add(uid);
    return this.objects.user(uid);
  }

  load(uid: string, now: number, historyMs: number) {
    return this.user(uid).load(uid, now, historyMs);
  }

  reservation(uid: string, id: string) {
    return this.user(uid).reservation(uid, id);
  }

  /** Prunes the user objects this isolate reached (objects also prune themselves by alarm). */
  async prune(now: number, historyMs: number): Promise<number> {
    const users = [...this.touched];
    this.touched.clear();
    const removed = await Promise.all(users.map((uid) => this.objects.user(uid).prune(now, historyMs)));
    return removed.reduce((a, b) => a + b, 0);
  }

  async reserve(reservations: Reservation[], basedOn?: { history: HistoryEntry[]; historyMs: number }) {
    if (reservations.length === 0) return true;
    return this.user(reservations[0].uid).reserve(reservations, basedOn);
  }

  async unreserve(uid: string, reservationIds: string[]) {
    if (reservationIds.length === 0) return;
    await this.user(uid).unreserve(uid, reservationIds);
  }

  block(uid: string, advertiserId: string, now: number) {
    return this.user(uid).block(uid, advertiserId, now);
  }

  unblock(uid: string, advertiserId: string) {
    return this.user(uid).unblock(uid, advertiserId);
  }

  blocks(uid: string) {
    return this.user(uid).blocks(uid);
  }

  mute(uid: string, category: string, now: number) {
    return this.user(uid).mute(uid, category, now);
  }

  unmute(uid: string, category: string) {
    return this.user(uid).unmute(uid, category);
  }

  mutes(uid: string) {
    return this.user(uid).mutes(uid);
  }

  erase(uid: string) {
    return this.user(uid).erase(uid);
  }
}

/**
 * Events go to their user's object (idempotency, reservation, blocks, hides),
 * which forwards charges and counters to the campaign's object; reports are read
 * from the campaign's object. Batches are split per user and run in parallel;
 * outcomes come back in the caller's order.
 */
export class EdgeLedger implements LedgerStore {
  constructor(private objects: ObjectDirectory) {}

  async record(events: LedgerEvent[], now: number, rules: { reportThreshold: number }): Promise<EventBatchResult> {
    const byUser = new Map<string, number[]>();
    const outcomes: EventOutcome[] = new Array(events.length);
    // The objects do not number reservations, so they serve no handles: one names no reservation here.
    events.forEach((e, i) => {
      if ('uid' in e) byUser.set(e.uid, [...(byUser.get(e.uid) ?? []), i]);
      else outcomes[i] = UNKNOWN_RESERVATION;
    });
    const sentToReview = new Set<string>();
    await Promise.all(
      [...byUser].map(async ([uid, positions]) => {
        const result = await this.objects.user(uid).record(
          positions.map((i) => events[i] as VerifiedEvent),
          now,
          rules.reportThreshold,
        );
        result.outcomes.forEach((outcome, j) => (outcomes[positions[j]] = outcome));
        for (const id of result.sentToReview) sentToReview.add(id);
      }),
    );
    return { outcomes, sentToReview: [...sentToReview] };
  }

  report(campaignId: string, fromDay: string, toDay: string, by: ReportBy = 'day') {
    return this.objects.campaign(campaignId).report(fromDay, toDay, by);
  }
}

export function createEdgeStore(options: {
  catalog: SqlCatalog;
  objects: ObjectDirectory;
  budgetStaleMs?: number;
  /** BUDGET_MIN_SHARDS [1]. */
  budgetMinShards?: number;
}): Store & { budgets: EdgeBudgets } {
  const users = new EdgeUsers(options.objects);
  return {
    catalog: options.catalog,
    users,
    budgets: new EdgeBudgets(options.objects, options.budgetStaleMs, undefined, options.budgetMinShards),
    ledger: new EdgeLedger(options.objects),
    // A stub per call: an object stub belongs to the request that made it.
    traffic: {
      add: (batch) => options.objects.traffic().add(batch),
      read: (fromDay, toDay) => options.objects.traffic().read(fromDay, toDay),
    },
    prune: (now, historyMs) => users.prune(now, historyMs),
    async close() {},
  };
}
