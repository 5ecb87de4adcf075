/**
 * Node's ledger records each (reservation, event type) once and leaves the reservation
 * row as it was served: whether a reservation was viewed or charged is read from its
 * event rows (src/store/sqlite/event-state.ts) by the user history, `reservation`,
 * retention and the budget holds rebuilt at start. Real files; a second store on the
 * same database stands for a restarted process (cold cache, holds read back).
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { BidType, EventType, ServableCampaign } from '../../src/engine/types.js';
import type { Reservation, Store } from '../../src/store/interface.js';
import { sqliteFile } from '../helpers/sqlite-file.js';
import { reservation as servedSlot, T, TTL } from '../helpers/store-records.js';

const HISTORY_MS = 7 * 86_400_000;
const rules = { effect: eventEffect, reportThreshold: 5 };
const UID = 'e'.repeat(64);

function reservation(id: string, bidType: BidType, priceMicros: number, servedAt = T): Reservation {
  const c = { id: 'cmp_1', advertiserId: 'adv_1', bid: { type: bidType, amountMicros: priceMicros } };
  return servedSlot(c, { id: 'crv_1' }, UID, { id, priceMicros, servedAt, expiresAt: servedAt + TTL, video: true });
}

describe('events as state (SQLite)', () => {
  const db = sqliteFile('event-state-');
  const store = db.store;
  const record = (s: Store, r: Reservation, type: EventType, at: number) =>
    s.ledger.record([{ type, reservationId: r.id, uid: r.uid, campaignId: r.campaignId, creativeId: r.creativeId }], at, rules);
  const columns = () => {
    const sqlite = new Database(db.path, { readonly: true });
    const rows = sqlite.prepare('SELECT id, viewed_at, charged_at FROM reservations ORDER BY id').all();
    sqlite.close();
    return rows;
  };

  it('never updates the reservation; `reservation` says when it was viewed and charged, as eventEffect decided', async () => {
    const s = store();
    let n = 0;
    const cases: { r: Reservation; type: EventType; at: number }[] = [];
    for (const bidType of ['cpm', 'cpc'] as const) {
      for (const price of [0, 700]) {
        for (const type of ['impression', 'click', 'start', 'hide'] as const) {
          // While the hold is live, and at its expiry (never charged then).
          for (const late of [false, true]) {
            const r = reservation(`r_${String(++n).padStart(3, '0')}`, bidType, price);
            cases.push({ r, type, at: late ? r.expiresAt : T + 1_000 + n });
          }
        }
      }
    }
    expect(await s.users.reserve(cases.map((c) => c.r))).toBe(true);
    for (const { r, type, at } of cases) {
      expect((await record(s, r, type, at)).outcomes).toEqual([{ status: 'accepted' }]);
    }
    // Every accepted event, and not one reservation column written.
    expect(columns()).toEqual(cases.map(({ r }) => ({ id: r.id, viewed_at: null, charged_at: null })));
    for (const { r, type, at } of cases) {
      const effect = eventEffect(r, type, at);
      expect(await s.users.reservation(UID, r.id), `${r.bidType} ${r.priceMicros} ${type} at ${at - r.servedAt}`).toEqual({
        ...r,
        viewedAt: effect.converts ? at : null,
        chargedAt: effect.chargeMicros > 0 ? at : null,
      });
    }
    // The first converting event is when it was viewed; a later click neither moves it nor charges a cpm slot again.
    const r = reservation('r_both', 'cpm', 500);
    await s.users.reserve([r]);
    await record(s, r, 'impression', T + 10);
    await record(s, r, 'click', T + 20);
    expect(await s.users.reservation(UID, r.id)).toMatchObject({ viewedAt: T + 10, chargedAt: T + 10 });
    expect(await s.users.reservation('f'.repeat(64), r.id)).toBeUndefined();
  });

  it('a restarted process reads history, retention and holds from the event rows', async () => {
    const c1 = { id: 'cmp_1', advertiserId: 'adv_1', budget: { dailyMicros: 20_000 } } as unknown as ServableCampaign;
    const first = store();
    const viewed = reservation('r_viewed', 'cpc', 3000);
    const charged = reservation('r_charged', 'cpm', 2000);
    const live = reservation('r_live', 'cpm', 1000);
    const clicked = reservation('r_clicked', 'cpc', 4000);
    const unviewed = reservation('r_unviewed', 'cpm', 500, T - 60_000);
    for (const r of [viewed, charged, live, clicked, unviewed]) {
      expect(
        await first.budgets.tryHold(
          { campaign: c1, reservationId: r.id, amountMicros: r.priceMicros, expiresAt: r.expiresAt },
          T,
        ),
      ).toBe(true);
    }
    await first.users.reserve([unviewed, viewed, charged, live, clicked]);
    await record(first, viewed, 'impression', T + 1_000);
    await record(first, charged, 'impression', T + 1_000);
    await record(first, clicked, 'click', T + 1_000);
    await record(first, unviewed, 'hide', T + 1_000);
    expect(first.budgets.view(c1.id, T + 1_000).heldMicros).toBe(3000 + 1000 + 500);
    await db.closeAll();

    // Holds: the uncharged live ones (an impression does not charge a cpc slot; a click does).
    const restarted = store();
    expect(restarted.budgets.view(c1.id, T + 2_000).heldMicros).toBe(3000 + 1000 + 500);
    // History once every token expired: the viewed ones still count toward caps, the others are gone.
    const later = T + 2 * TTL;
    const state = await restarted.users.load(UID, later, HISTORY_MS);
    expect(state.history.map((e) => [e.reservationId, e.viewed])).toEqual([
      ['r_viewed', true],
      ['r_charged', true],
      ['r_clicked', true],
    ]);
    expect(state.hides).toEqual(new Set(['crv_1']));
    // Retention: the expired unviewed reservations go with their events; viewed ones stay.
    expect(await restarted.prune(later, HISTORY_MS)).toBe(2 + 1);
    expect(columns().map((r) => (r as { id: string }).id)).toEqual(['r_charged', 'r_clicked', 'r_viewed']);
    const sqlite = new Database(db.path, { readonly: true });
    // Every event left, its reservation's id beside it (an event whose reservation is gone would show its bare number).
    expect(
      sqlite
        .prepare(
          'SELECT coalesce(r.id, e.reservation) AS reservation_id, e.type FROM events e LEFT JOIN reservations r ON r.number = e.reservation ORDER BY 1',
        )
        .all(),
    ).toEqual([
      { reservation_id: 'r_charged', type: 'impression' },
      { reservation_id: 'r_clicked', type: 'click' },
      { reservation_id: 'r_viewed', type: 'impression' },
    ]);
    sqlite.close();
  });

  it('reads the columns rows of the previous version carry', async () => {
    const first = store();
    const r = reservation('r_old', 'cpm', 800);
    await first.users.reserve([r]);
    await db.closeAll();
    // Written by a version that set the columns (its event rows may have been pruned by age since).
    const sqlite = new Database(db.path);
    sqlite.prepare(`UPDATE reservations SET viewed_at = ?, charged_at = ? WHERE id = 'r_old'`).run(T + 5, T + 5);
    sqlite.close();
    const restarted = store();
    expect(await restarted.users.reservation(UID, r.id)).toMatchObject({ viewedAt: T + 5, chargedAt: T + 5 });
    expect((await restarted.users.load(UID, T + 2 * TTL, HISTORY_MS)).history.map((e) => e.viewed)).toEqual([true]);
    expect(restarted.budgets.view('cmp_1', T + 10).heldMicros).toBe(0);
    expect(await restarted.prune(T + 2 * TTL, HISTORY_MS)).toBe(0);
  });

  it('retention looks at rows expired since the last prune; the first prune after a start looks at all', async () => {
    const first = store();
    const later = T + 2 * TTL;
    // A prune some time later: nothing to do yet.
    expect(await first.prune(later + 3_600_000, HISTORY_MS)).toBe(0);
    // A row stored only now whose token expired long before that prune (e.g. restored from elsewhere): each prune
    // looks only at rows expired since the last one (less a slack), so this process leaves it...
    await first.users.reserve([reservation('r_late', 'cpm', 500)]);
    expect(await first.prune(later + 3_660_000, HISTORY_MS)).toBe(0);
    expect(columns()).toHaveLength(1);
    await db.closeAll();
    // ...and the first prune after a start, which looks at every expired row, deletes it.
    expect(await store().prune(later + 3_720_000, HISTORY_MS)).toBe(1);
    expect(columns()).toHaveLength(0);
  });

  it('cached users read without blocks, hides or mutes share one empty set; a block, hide or mute gets its own', async () => {
    const s = store();
    const other = 'f'.repeat(64);
    const r = reservation('r_hidden', 'cpm', 100);
    expect(await s.users.reserve([r])).toBe(true);
    // Cache misses: nobody has a block, hide or mute, so no set is made for them (fewer objects per miss for the GC).
    const [mine, theirs] = [await s.users.load(UID, T, HISTORY_MS), await s.users.load(other, T, HISTORY_MS)];
    expect(mine.hides).toBe(theirs.hides);
    expect(mine.blocks).toBe(theirs.mutes);
    // The ledger's hide and the API's block and mute reach the cached user alone.
    await record(s, r, 'hide', T + 1_000);
    await s.users.block(UID, 'adv_9', T + 2_000);
    await s.users.mute(UID, 'food', T + 2_000);
    const after = await s.users.load(UID, T + 3_000, HISTORY_MS);
    expect([after.hides, after.blocks, after.mutes]).toEqual([new Set(['crv_1']), new Set(['adv_9']), new Set(['food'])]);
    const untouched = await s.users.load(other, T + 3_000, HISTORY_MS);
    expect([untouched.hides.size, untouched.blocks.size, untouched.mutes.size]).toEqual([0, 0, 0]);
  });
});
