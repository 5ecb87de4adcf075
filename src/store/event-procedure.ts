/**
 * What an event does, in one place, over two small transaction interfaces that each
 * backend supplies. The user's side (idempotency, reservation check, conversion,
 * charge mark, hide, block) runs where the user's rows are; the campaign's side
 * (spend within the budget in force, report counters and reach, CTR counts,
 * reporters) runs where the campaign's rows are: the same SQLite transaction on
 * Node; on Workers the campaign's Durable Object, reached once per effect through
 * the user object's outbox. The report-threshold rule is here too.
 */
import { eventRefusal, reportsRequireReview } from '../engine/events.js';
import type { EventType } from '../engine/types.js';
import type { CatalogStore, EventOutcome, EventRules, LedgerEvent, Reservation, VerifiedEvent } from './interface.js';
import { counterOf, type ReportContext, type ReportCounter } from './report-rows.js';
import { utcDay } from './utc-day.js';

/** What a first event does to its campaign: spend, report counters, reach, reporters, CTR counts. */
export interface CampaignEffect {
  reservationId: string;
  type: EventType;
  campaignId: string;
  creativeId: string;
  /** The slot request's context as the feed client sent it ('' when not sent): report breakdowns. */
  country: string;
  platform: string;
  /** The pseudonym, for the reach sketch and distinct reporters only; erased with the user. */
  uid: string;
  /** The reservation's price if this event is billable; the campaign's side may charge less (budget in force). */
  chargeMicros: number;
  at: number;
  /** The campaign budget shard holding the reservation (Reservation.budgetShard), where charges go; absent: 0. */
  shard?: number;
}

/** The user's rows, inside one transaction; `E` the kinds of events the backend takes (handles: SQLite only). */
export interface UserSideTx<E extends LedgerEvent = VerifiedEvent> {
  /** True if this (reservation, type) was recorded before. */
  seen(event: E): boolean;
  /**
   * The event's reservation, asked right after `seen` for the same event. A backend may leave
   * out one whose user or campaign differs from the event's (the procedure refuses it either way);
   * a handle's reservation is the one of its number only if the row has the handle's expiry.
   */
  reservation(event: E): Reservation | undefined;
  insertEvent(row: {
    reservationId: string;
    /** The reservation's number (`Reservation.number`), the events key where the store numbers reservations. */
    reservationNumber: number | undefined;
    type: EventType;
    uid: string;
    campaignId: string;
    at: number;
    costMicros: number;
  }): void;
  markViewed(reservation: Reservation, at: number): void;
  markCharged(reservation: Reservation, at: number): void;
  block(uid: string, advertiserId: string, at: number): void;
  hide(uid: string, creativeId: string, at: number): void;
  /**
   * Hands the campaign's side on: applied in this transaction (returns what was charged)
   * or queued durably for the campaign's owner (returns undefined: charged there).
   */
  forCampaign(effect: CampaignEffect): number | undefined;
}

/** The campaign's rows, inside one transaction. */
export interface CampaignSideTx {
  /** False if this (reservation, type) was applied here before (outbox retries count once). */
  firstTime(effect: CampaignEffect): boolean;
  /** What the campaign may still spend on `day` under the budget in force (Infinity when unbounded). */
  remainingMicros(campaignId: string, day: string): number;
  /** Turns the effect's hold into `micros` of spend on `day` (micros may be less than the hold, or 0). */
  addSpend(effect: CampaignEffect, day: string, micros: number): void;
  addReporter(creativeId: string, uid: string, at: number): void;
  addCtr(creativeId: string, impressions: number, clicks: number, at: number): void;
  /**
   * Bumps the event's report rows on `day`, one per breakdown, `reportKeys(where)`
   * (src/store/report-rows.ts): one in `counter`, `spendMicros`, and the uid into each row's
   * reach sketch if given. (The context, not the rows: a backend that groups events by it
   * builds the rows once per group.)
   */
  count(
    campaignId: string,
    day: string,
    where: ReportContext,
    counter: Exclude<ReportCounter, 'spendMicros'>,
    spendMicros: number,
    reachOf: string | undefined,
  ): void;
}

/**
 * Applies verified events of one or more users in order; every outcome is decided here. Past the check, what the
 * event does comes from its reservation (for sealed claims the same ids; for a handle, the row's).
 */
export function applyUserSide<E extends LedgerEvent>(
  tx: UserSideTx<E>,
  batch: E[],
  now: number,
  rules: Pick<EventRules, 'effect'>,
): EventOutcome[] {
  return batch.map((event): EventOutcome => {
    if (tx.seen(event)) return DUPLICATE;
    const reservation = tx.reservation(event);
    if (
      !reservation ||
      ('uid' in event &&
        (reservation.uid !== event.uid ||
          reservation.campaignId !== event.campaignId ||
          reservation.creativeId !== event.creativeId))
    ) {
      return UNKNOWN_RESERVATION;
    }
    // Not recorded, so a refused event never uses up its (token, type).
    const refusal = eventRefusal(reservation, event.type);
    if (refusal) return { status: 'rejected', reason: refusal };
    const effect = rules.effect(reservation, event.type, now);
    if (effect.converts && reservation.viewedAt === null) tx.markViewed(reservation, now);
    if (effect.chargeMicros > 0) tx.markCharged(reservation, now);
    if (effect.blocksAdvertiser) tx.block(reservation.uid, reservation.advertiserId, now);
    if (effect.hidesCreative) tx.hide(reservation.uid, reservation.creativeId, now);
    const campaignEffect: CampaignEffect = {
      reservationId: reservation.id,
      type: event.type,
      campaignId: reservation.campaignId,
      creativeId: reservation.creativeId,
      country: reservation.country,
      platform: reservation.platform,
      uid: reservation.uid,
      chargeMicros: effect.chargeMicros,
      at: now,
    };
    if (reservation.budgetShard) campaignEffect.shard = reservation.budgetShard;
    const charged = tx.forCampaign(campaignEffect);
    tx.insertEvent({
      reservationId: reservation.id,
      reservationNumber: reservation.number,
      type: event.type,
      uid: reservation.uid,
      campaignId: reservation.campaignId,
      at: now,
      costMicros: charged ?? effect.chargeMicros,
    });
    return ACCEPTED;
  });
}

/** Shared by every accepted outcome (outcomes are read, never changed): one object less per event. */
const ACCEPTED: EventOutcome = Object.freeze({ status: 'accepted' });
const DUPLICATE: EventOutcome = Object.freeze({ status: 'duplicate' });
/** No reservation of the event's (erased, pruned, never served, or the token's ids or expiry are not its row's). */
export const UNKNOWN_RESERVATION: EventOutcome = Object.freeze({ status: 'rejected', reason: 'unknown_reservation' });

/** The UTC day of the last effect's time: a group's events share one. */
let lastDayNumber = Number.NaN;
let lastDay = '';
function dayOf(at: number): string {
  const dayNumber = Math.floor(at / 86_400_000);
  if (dayNumber !== lastDayNumber) {
    lastDay = utcDay(at);
    lastDayNumber = dayNumber;
  }
  return lastDay;
}

/**
 * Applies one campaign effect once: a charge turns its hold into spend, never past the
 * budget in force; counters and reach go into the day's row; a report records its
 * (distinct) reporter. Returns what was charged.
 */
export function applyCampaignSide(tx: CampaignSideTx, effect: CampaignEffect): number {
  if (!tx.firstTime(effect)) return 0;
  const day = dayOf(effect.at);
  const charge =
    effect.chargeMicros > 0 ? Math.max(0, Math.min(effect.chargeMicros, tx.remainingMicros(effect.campaignId, day))) : 0;
  if (effect.chargeMicros > 0) tx.addSpend(effect, day, charge);
  // A repeated report moves its time forward, so it counts again after a re-approval.
  if (effect.type === 'report') tx.addReporter(effect.creativeId, effect.uid, effect.at);
  if (effect.type === 'impression' || effect.type === 'click') {
    tx.addCtr(effect.creativeId, effect.type === 'impression' ? 1 : 0, effect.type === 'click' ? 1 : 0, effect.at);
  }
  tx.count(
    effect.campaignId,
    day,
    { creativeId: effect.creativeId, country: effect.country ?? '', platform: effect.platform ?? '', at: effect.at },
    counterOf[effect.type],
    charge,
    effect.type === 'impression' ? effect.uid : undefined,
  );
  return charge;
}

/**
 * The report-threshold rule: a creative goes back to review once `threshold` distinct
 * users reported it since its last review (earlier reports were already judged).
 * Returns the creatives it sent back.
 */
export async function reviewReported(
  creativeIds: Iterable<string>,
  threshold: number,
  now: number,
  catalog: Pick<CatalogStore, 'getCreative' | 'sendToReview'>,
  reportersSince: (creativeId: string, since: number) => number | Promise<number>,
): Promise<string[]> {
  const sent: string[] = [];
  for (const creativeId of new Set(creativeIds)) {
    const creative = await catalog.getCreative(creativeId);
    if (creative?.review !== 'approved') continue;
    const reporters = await reportersSince(creativeId, creative.updatedAt);
    if (!reportsRequireReview(reporters, threshold)) continue;
    if (await catalog.sendToReview(creativeId, `reported by ${reporters} users`, now)) sent.push(creativeId);
  }
  return sent;
}
