/**
 * Whether a reservation was viewed or charged, read from its event rows: the ledger
 * records each (reservation, type) once and never updates the reservation (each update
 * dirtied one random page of `reservations` per impression). The rule is the engine's
 * (`eventEffect`): an impression or a click converts; the billable type (impression for
 * cpm, click for cpc) charges the price if it came while the hold was live and the price
 * is not zero. `viewed_at`/`charged_at` are still read: rows written by earlier versions,
 * which still updated the reservation (no migration marks the change), carry them (with
 * their event rows too), and Durable Objects set them.
 *
 * SQL expressions over a `reservations` row aliased `r`; test/store/sqlite-event-state.test.ts
 * checks them against `eventEffect`.
 */

/** Event types that convert a reservation (it stops expiring and counts toward caps for good). */
export const CONVERTING = `'impression', 'click'`;

/** The event type that charges a reservation of `r.bid_type`. */
const BILLABLE = `CASE r.bid_type WHEN 'cpm' THEN 'impression' ELSE 'click' END`;

/** True once a converting event is recorded. */
export const VIEWED = `(r.viewed_at IS NOT NULL OR EXISTS (SELECT 1 FROM events v WHERE v.reservation = r.number AND v.type IN (${CONVERTING})))`;

/** When the first converting event was recorded, or NULL. */
export const VIEWED_AT = `coalesce(r.viewed_at, (SELECT min(v.at) FROM events v WHERE v.reservation = r.number AND v.type IN (${CONVERTING})))`;

const CHARGING_EVENT = `FROM events c WHERE c.reservation = r.number AND c.type = ${BILLABLE} AND c.at < r.expires_at AND r.price_micros > 0`;

/** True once the billable event charged the reservation (its budget hold is released). */
export const CHARGED = `(r.charged_at IS NOT NULL OR EXISTS (SELECT 1 ${CHARGING_EVENT}))`;

/** When the reservation was charged, or NULL. */
export const CHARGED_AT = `coalesce(r.charged_at, (SELECT c.at ${CHARGING_EVENT}))`;
