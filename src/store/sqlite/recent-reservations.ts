/**
 * The reservations served in the last moments, by number, as the slot path committed them: most events name one
 * of these (a status is viewed seconds after the feed asked for its slots), and the ledger finds it here instead
 * of reading its row (a page of the WAL's newest frames, outside SQLite's small cache) and probing `events`.
 *
 * An entry knows which event types were recorded for its reservation (`seen`, a bit per type): it enters when its
 * reservation's commit is done, before any token of it left, and the ledger, the only writer of `events`, sets a
 * bit once an event's commit is done. So for a reservation held here, the bits are the truth, and one that is not
 * held is read from the file as before. The store forgets an entry whenever it deletes its row (taken back, erased,
 * pruned); entries also leave at their expiry (no token of theirs is accepted after it) and past `max` (the oldest).
 */
import { EVENT_TYPES, type EventType } from '../../engine/types.js';
import type { Reservation } from '../interface.js';

/** Entries kept at most: ~13 s of slots at 5,000 slots/s, ~300 bytes each (~20 MB; SECURITY.md, memory). */
export const RECENT_RESERVATIONS = 65_536;

/** Each event type's bit in `RecentReservation.seen`. */
const BIT = Object.fromEntries(EVENT_TYPES.map((type, i) => [type, 1 << i])) as Record<EventType, number>;

/** A reservation as an event's procedure reads it (never viewed or charged: those are its events), and its events' bits. */
export interface RecentReservation extends Reservation {
  number: number;
  /** The event types recorded for it (committed), a bit each. */
  seen: number;
}

export class RecentReservations {
  private byNumber = new Map<number, RecentReservation>();

  /** @param max entries held at most; 0: none (every event reads its row). */
  constructor(readonly max = RECENT_RESERVATIONS) {}

  get size(): number {
    return this.byNumber.size;
  }

  /** A committed reservation (numbered), with the event types already recorded for it (none, when just served). */
  add(r: Reservation, seen = 0): void {
    const number = r.number;
    if (number === undefined || this.max <= 0) return;
    // Its own object: what the slot path or the user cache does to theirs never shows here.
    this.byNumber.set(number, {
      id: r.id,
      number,
      uid: r.uid,
      campaignId: r.campaignId,
      creativeId: r.creativeId,
      advertiserId: r.advertiserId,
      bidType: r.bidType,
      priceMicros: r.priceMicros,
      servedAt: r.servedAt,
      expiresAt: r.expiresAt,
      viewedAt: null,
      chargedAt: null,
      country: r.country,
      platform: r.platform,
      video: r.video,
      seen,
    });
    if (this.byNumber.size > this.max) this.byNumber.delete(this.byNumber.keys().next().value as number);
  }

  /** The reservation of this number if held here, else undefined (read the file). */
  get(number: number): RecentReservation | undefined {
    return this.byNumber.get(number);
  }

  /** Whether an event of `type` was recorded (committed) for this reservation. */
  static seen(r: RecentReservation, type: EventType): boolean {
    return (r.seen & BIT[type]) !== 0;
  }

  /** An event of `type` committed for this reservation. */
  static recorded(r: RecentReservation, type: EventType): void {
    r.seen |= BIT[type];
  }

  /** Its row is deleted (or about to be, in a transaction that then commits): not held any more. */
  forget(number: number): void {
    this.byNumber.delete(number);
  }

  /** Every reservation of this user (erasure). */
  forgetUser(uid: string): void {
    for (const [number, r] of this.byNumber) if (r.uid === uid) this.byNumber.delete(number);
  }

  /**
   * Reservations expired at `now` (no token of theirs is accepted any more), for memory only: deleted rows are
   * forgotten one by one. In serving order with one TTL the oldest expire first, so the walk stops at the first
   * live one (after a restart with another TTL, some leave later).
   */
  forgetExpired(now: number): void {
    for (const [number, r] of this.byNumber) {
      if (r.expiresAt > now) break;
      this.byNumber.delete(number);
    }
  }

  clear(): void {
    this.byNumber.clear();
  }
}
