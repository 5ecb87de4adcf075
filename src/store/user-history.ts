/** A stored reservation as the engine's cap history sees it (shared by every backend's user store). */
import type { HistoryEntry } from '../engine/types.js';
import type { Reservation } from './interface.js';

export function toHistory(
  r: Pick<Reservation, 'id' | 'campaignId' | 'creativeId' | 'advertiserId' | 'servedAt' | 'expiresAt' | 'viewedAt'>,
): HistoryEntry {
  return {
    reservationId: r.id,
    campaignId: r.campaignId,
    creativeId: r.creativeId,
    advertiserId: r.advertiserId,
    servedAt: r.servedAt,
    expiresAt: r.expiresAt,
    viewed: r.viewedAt !== null,
  };
}

/** True if `current` holds history that `seen` lacks: a response decided on `seen` may break a cap. */
export function gainedHistory(current: HistoryEntry[], seen: HistoryEntry[]): boolean {
  if (current.length === 0) return false;
  const known = new Set(seen.map((e) => e.reservationId));
  return current.some((e) => !known.has(e.reservationId));
}
