/**
 * Reservations held in memory for the events that follow them (`RecentReservations`): the ledger answers from them
 * exactly as from the file. They learn every committed event (whichever token named it), none of a rolled-back group,
 * and leave whenever their row does (taken back, erased, pruned); after a restart the live ones are held again with
 * their events. Real files.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { EventType } from '../../src/engine/types.js';
import type { HandleEvent, LedgerEvent, Reservation, Store } from '../../src/store/interface.js';
import { RecentReservations } from '../../src/store/sqlite/recent-reservations.js';
import type { SqliteUsers } from '../../src/store/sqlite/users.js';
import { sqliteFile } from '../helpers/sqlite-file.js';
import { event as claimed, reservation as servedSlot, TTL } from '../helpers/store-records.js';

const rules = { effect: eventEffect, reportThreshold: 5 };
const CAMPAIGN = { id: 'cmp_1', advertiserId: 'adv_1', bid: { type: 'cpm' as const, amountMicros: 1000 } };
/** Served now (the real clock): a restarted store holds what is still live. */
const NOW = Date.now();

const slot = (id: string, uid: string, servedAt = NOW) =>
  servedSlot(CAMPAIGN, { id: 'crv_1' }, uid, { id, servedAt, expiresAt: servedAt + TTL });
const handle = (r: Reservation, type: EventType): HandleEvent => ({
  type,
  reservationNumber: r.number as number,
  expiresAt: r.expiresAt,
});
const recentOf = (s: Store) => (s.users as SqliteUsers).recent;
const statuses = async (s: Store, events: LedgerEvent[], at = NOW + 100) =>
  (await s.ledger.record(events, at, rules)).outcomes.map((o) => ('reason' in o ? o.reason : o.status));

describe('recent reservations (in memory)', () => {
  it('hold at most their maximum, the oldest leaving first; expired ones leave from the front', () => {
    const recent = new RecentReservations(3);
    const rs = [1, 2, 3, 4].map((n) => ({ ...slot(`r_${n}`, 'u'.repeat(64), NOW + n), number: n }));
    for (const r of rs) recent.add(r);
    expect([1, 2, 3, 4].map((n) => recent.get(n)?.id)).toEqual([undefined, 'r_2', 'r_3', 'r_4']);
    recent.forgetExpired(NOW + 3 + TTL);
    expect([2, 3, 4].map((n) => recent.get(n)?.id)).toEqual([undefined, undefined, 'r_4']);
    recent.forgetUser('u'.repeat(64));
    expect(recent.size).toBe(0);
    // Its own copy: the slot path's object changing later does not change what the ledger reads.
    const r = { ...slot('r_5', 'v'.repeat(64)), number: 5 };
    recent.add(r);
    r.campaignId = 'cmp_other';
    expect(recent.get(5)).toMatchObject({ campaignId: 'cmp_1', viewedAt: null, chargedAt: null, seen: 0 });
    expect(new RecentReservations(0).max).toBe(0);
  });
});

describe('events of reservations held in memory (SQLite)', () => {
  const db = sqliteFile('recent-reservations-');

  it('count once, in one group or across groups, whichever kind of token names them', async () => {
    const s = db.store();
    const [a, b] = [slot('r_a', 'a'.repeat(64)), slot('r_b', 'b'.repeat(64))];
    await s.users.reserve([a]);
    await s.users.reserve([b]);
    expect(recentOf(s).get(a.number as number)?.id).toBe('r_a');
    expect(await statuses(s, [handle(a, 'impression'), handle(a, 'impression'), handle(a, 'click')])).toEqual([
      'accepted',
      'duplicate',
      'accepted',
    ]);
    expect(await statuses(s, [handle(a, 'impression'), claimed(a, 'click')])).toEqual(['duplicate', 'duplicate']);
    // Sealed claims without the number (read from the file by id): the memory learns that event too.
    const byId = { ...claimed(b, 'impression'), reservationNumber: undefined };
    expect(await statuses(s, [byId, handle(b, 'impression')])).toEqual(['accepted', 'duplicate']);
    expect(await statuses(s, [handle(b, 'impression')])).toEqual(['duplicate']);
    // Another expiry, or another reservation's ids under this number: no reservation.
    expect(
      await statuses(s, [
        { ...handle(b, 'click'), expiresAt: b.expiresAt + 1 },
        { ...claimed(a, 'hide'), reservationNumber: b.number },
      ]),
    ).toEqual(['unknown_reservation', 'unknown_reservation']);
  });

  it('learn nothing from a group that rolled back', async () => {
    const s = db.store();
    const r = slot('r_rollback', 'c'.repeat(64));
    await s.users.reserve([r]);
    const disk = new Database(db.path);
    disk.exec(
      `CREATE TRIGGER test_fail BEFORE INSERT ON events WHEN NEW.type = 'click' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;`,
    );
    await expect(s.ledger.record([handle(r, 'impression'), handle(r, 'click')], NOW + 100, rules)).rejects.toThrow(
      'disk I/O error',
    );
    disk.exec('DROP TRIGGER test_fail');
    disk.close();
    expect(await statuses(s, [handle(r, 'impression'), handle(r, 'click')])).toEqual(['accepted', 'accepted']);
  });

  it('leave with their row: taken back, erased, pruned', async () => {
    const s = db.store();
    const [back, erased, pruned, kept] = [
      slot('r_back', 'd'.repeat(64)),
      slot('r_erased', 'e'.repeat(64)),
      slot('r_pruned', 'f'.repeat(64), NOW - 2 * TTL),
      slot('r_kept', 'g'.repeat(64)),
    ];
    for (const r of [back, erased, pruned, kept]) await s.users.reserve([r]);
    await s.users.unreserve(back.uid, [back.id]);
    await s.users.erase(erased.uid);
    await s.prune(NOW, TTL);
    for (const r of [back, erased, pruned]) expect(recentOf(s).get(r.number as number), r.id).toBeUndefined();
    // An event that reached the ledger before the token's expiry was checked again: no reservation, no charge.
    expect(
      await statuses(
        s,
        [back, erased, pruned, kept].map((r) => handle(r, 'impression')),
        pruned.expiresAt - 1,
      ),
    ).toEqual(['unknown_reservation', 'unknown_reservation', 'unknown_reservation', 'accepted']);
  });

  it('are held again after a restart, with their events', async () => {
    const first = db.store();
    const r = slot('r_restart', 'h'.repeat(64));
    const old = slot('r_expired', 'h'.repeat(64), NOW - 2 * TTL);
    await first.users.reserve([old]);
    await first.users.reserve([r]);
    expect(await statuses(first, [handle(r, 'impression'), handle(r, 'start')])).toEqual(['accepted', 'not_video']);
    await db.closeAll();
    const restarted = db.store();
    expect(recentOf(restarted).get(r.number as number)).toMatchObject({ id: 'r_restart', seen: 1 });
    expect(recentOf(restarted).get(old.number as number)).toBeUndefined();
    expect(await statuses(restarted, [handle(r, 'impression'), handle(r, 'click')])).toEqual(['duplicate', 'accepted']);
  });
});
