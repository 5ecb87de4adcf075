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
