/**
 * What the service reports for metrics, as a small observer interface passed in
 * at wiring time: the API, delivery and the SQLite store call these hooks, and
 * each runtime supplies an implementation (Prometheus on Node, Analytics Engine
 * on Workers) or none (`noopMetrics`). The engine never sees it.
 */
import type { BidType, EventType, UnfilledReason } from '../engine/types.js';

/**
 * An unfilled place's reason, plus `unavailable`: the user's state (or its storage) could not be reached; and
 * `abandoned`: the place was given an ad, but the response failed before it was answered (a token seal or a store
 * call threw), so its hold and reservation were given back (Delivery's `abandon`).
 */
export type UnfilledSlotReason = UnfilledReason | 'unavailable' | 'abandoned';

/** Every unfilled reason, so each runtime's counters start at 0 for all of them. */
export const UNFILLED_SLOT_REASONS: UnfilledSlotReason[] = [
  'frequency_cap',
  'user_cap',
  'blocked',
  'hidden',
  'budget',
  'pacing',
  'floor',
  'no_candidate',
  'unavailable',
  'abandoned',
];

/** What became of a budget hold: taken at serve time, released (charged or given back), expired unused. */
export type HoldChange = 'taken' | 'released' | 'expired';

/** The hooks a store calls; every one must be cheap (they run on the hot path). */
export interface StoreMetrics {
  /** One group commit: which queue, how long the transaction took, how many callers shared it. */
  commit(kind: 'events' | 'reservations', seconds: number, groupSize: number): void;
  holds(change: HoldChange, count: number): void;
  /** A user-state lookup answered from the in-process cache (true) or from the database. */
  userCache(hit: boolean): void;
  /**
   * SQLite on Node: how long the group commits were held for the checkpointer (`restart`: the WAL's restart;
   * `truncate`: erasure's or retention's truncating checkpoint). Optional: no other store has a checkpointer.
   */
  walHold?(reason: WalHoldReason, seconds: number): void;
  /**
   * SQLite on Node: a checkpoint or restart commit of the checkpointer's worker failed, the worker ended, or (once it
   * ended) a truncation on the serving connection failed.
   */
  checkpointError?(): void;
}

/** Why the checkpointer held the group commits (`StoreMetrics.walHold`). */
export type WalHoldReason = 'restart' | 'truncate';

export interface Metrics extends StoreMetrics {
  /** One answered HTTP request; `route` is the matched pattern (bounded), never the raw path. */
  request(route: string, method: string, status: number, seconds: number): void;
  /** One slot request. */
  slotRequest(): void;
  /** One served slot at its clearing price (micros per billable event). */
  slotServed(bidType: BidType, priceMicros: number): void;
  unfilled(reason: UnfilledSlotReason, count: number): void;
  /** `count` events of a batch of one type and outcome: accepted, duplicate, or the rejection reason. */
  event(type: EventType, outcome: string, count: number): void;
}

export const noopMetrics: Metrics = {
  request() {},
  slotRequest() {},
  slotServed() {},
  unfilled() {},
  event() {},
  commit() {},
  holds() {},
  userCache() {},
};
