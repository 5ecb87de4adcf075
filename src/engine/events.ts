/** What a feed event does: the charge it makes and the state it changes. Pure. */
import type { BidType, EventType } from './types.js';

export interface ReservationView {
  bidType: BidType;
  priceMicros: number;
  viewedAt: number | null;
  chargedAt: number | null;
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

/** The effect of a first (non-duplicate) event of `type` on a reservation. */
export function eventEffect(reservation: ReservationView, type: EventType): EventEffect {
  const billable = (type === 'impression' && reservation.bidType === 'cpm') || (type === 'click' && reservation.bidType === 'cpc');
  return {
    chargeMicros: billable && reservation.chargedAt === null ? reservation.priceMicros : 0,
    converts: type === 'impression' || type === 'click',
    blocksAdvertiser: type === 'block',
    hidesCreative: type === 'hide',
    reportsCreative: type === 'report',
  };
}

/** A report count at or above the threshold sends the creative back to review. */
export function reportsRequireReview(distinctReporters: number, threshold: number): boolean {
  return distinctReporters >= threshold;
}
