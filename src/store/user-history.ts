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
  // The same list (a cached state read once for both): whatever it holds now, both hold (no Set to find that out).
  if (current.length === 0 || current === seen) return false;
  const known = new Set(seen.map((e) => e.reservationId));
  return current.some((e) => !known.has(e.reservationId));
}

/** Hex digits in the order of their value. */
const HEX = '0123456789abcdef';

/**
 * A user's rows' key (`reservations.uid_key`): the integer of the pseudonym's first 13 hex digits (52 bits, an
 * exact JavaScript number), each character's place in `HEX`, -1 for any other, 0 past the end — the definition
 * migration 0010 computes in SQL for the rows before it, character by character (code points, as SQLite's
 * `substr`). Users whose keys collide are told apart by `uid`, which every read by key checks too.
 */
export function uidKey(uid: string): number {
  let key = 0;
  let digits = 0;
  for (const c of uid) {
    if (digits === 13) break;
    key = key * 16 + HEX.indexOf(c);
    digits++;
  }
  for (; digits < 13; digits++) key *= 16;
  return key;
}
