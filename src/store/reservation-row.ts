/** A reservation as one row of `reservations`: its columns and their values in one order, for every backend's insert. */
import type { Reservation } from './interface.js';

/** The columns `reservationValues` binds, in its order. */
export const RESERVATION_COLUMNS =
  'number, id, uid, campaign_id, creative_id, advertiser_id, bid_type, price_micros, served_at, expires_at, viewed_at, charged_at, country, platform, video';
/** How many values a row binds. */
export const RESERVATION_WIDTH = RESERVATION_COLUMNS.split(', ').length;

/** `r`'s values in `RESERVATION_COLUMNS`' order, as SQLite takes them. */
export const reservationValues = (r: Reservation) => [
  r.number,
  r.id,
  r.uid,
  r.campaignId,
  r.creativeId,
  r.advertiserId,
  r.bidType,
  r.priceMicros,
  r.servedAt,
  r.expiresAt,
  r.viewedAt ?? null,
  r.chargedAt ?? null,
  r.country ?? '',
  r.platform ?? '',
  r.video ? 1 : 0,
];

/** The inverse of `reservationValues`: a row read by `RESERVATION_COLUMNS`, first in a raw row, as the store's reservation. */
export function reservationFromValues(row: readonly unknown[]): Reservation {
  const [number, id, uid, campaignId, creativeId, advertiserId, bidType, priceMicros, servedAt, expiresAt] = row;
  return {
    number: number as number,
    id: id as string,
    uid: uid as string,
    campaignId: campaignId as string,
    creativeId: creativeId as string,
    advertiserId: advertiserId as string,
    bidType: bidType as Reservation['bidType'],
    priceMicros: priceMicros as number,
    servedAt: servedAt as number,
    expiresAt: expiresAt as number,
    viewedAt: row[10] as number | null,
    chargedAt: row[11] as number | null,
    country: row[12] as string,
    platform: row[13] as string,
    video: row[14] === 1,
  };
}
