/** What a feed event does: the charge it makes and the state it changes. Pure. */
import { type BidType, type EventType, VIDEO_EVENT_TYPES } from './types.js';

export interface ReservationView {
  bidType: BidType;
  priceMicros: number;
  viewedAt: number | null;
  chargedAt: number | null;
  /** When the reservation's hold is released; an event at or after it is never charged. */
  expiresAt?: number;
  /** The served creative is a video. */
  video?: boolean;
}

export interface EventEffect {
  /** Micros charged to the campaign for this event (cpm on impression, cpc on click). */
  chargeMicros: number;
  /** The reservation becomes an impression (stops expiring, counts toward caps for good). */
  converts: boolean;
  blocksAdvertiser: boolean;
  hidesCreative: boolean;
  reportsCreative: boolean;
}

/**
 * The effect of a first (non-duplicate) event of `type` on a reservation.
 * Charged once, at the clearing price recorded when the slot was won, and only
 * while the reservation's budget hold is live (`now` before `expiresAt`), so a
 * charge always converts a hold and never adds spend that was not held.
 */
export function eventEffect(reservation: ReservationView, type: EventType, now?: number): EventEffect {
  const billable =
    (type === 'impression' && reservation.bidType === 'cpm') || (type === 'click' && reservation.bidType === 'cpc');
  const holdLive = now === undefined || reservation.expiresAt === undefined || now < reservation.expiresAt;
  return {
    chargeMicros: billable && holdLive && reservation.chargedAt === null ? reservation.priceMicros : 0,
    converts: type === 'impression' || type === 'click',
    blocksAdvertiser: type === 'block',
    hidesCreative: type === 'hide',
    reportsCreative: type === 'report',
  };
}

const videoEvents = new Set<EventType>(VIDEO_EVENT_TYPES);

/**
 * Why an event cannot apply to a reservation at all: playback progress
 * (start … complete) is for video creatives only. Refused events are not
 * recorded, so they never use up their (token, type).
 */
export function eventRefusal(reservation: Pick<ReservationView, 'video'>, type: EventType): 'not_video' | undefined {
  return videoEvents.has(type) && !reservation.video ? 'not_video' : undefined;
}

/** A report count at or above the threshold sends the creative back to review. */
export function reportsRequireReview(distinctReporters: number, threshold: number): boolean {
  return distinctReporters >= threshold;
}
