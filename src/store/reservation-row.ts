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
