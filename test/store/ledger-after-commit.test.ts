/**
 * Once the events transaction has committed, the work after it (budgets, user cache, report
 * rows in memory and their reach sketches) cannot undo it: a failure there is logged, and the
 * recorded events are reported as recorded. The failure is real code failing: the work after
 * the commit reads nothing from SQLite any more (report rows merge their sketches as they are
 * written), so the user cache holds an entry it cannot read, and telling it the slot was seen throws.
 */
import { describe, expect, it, vi } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { UserState } from '../../src/engine/types.js';
import type { Reservation } from '../../src/store/interface.js';
import type { SqliteUsers } from '../../src/store/sqlite/users.js';
import { sqliteFile } from '../helpers/sqlite-file.js';
import { reservation as servedSlot, T } from '../helpers/store-records.js';

const UID = 'f'.repeat(64);
const rules = { effect: eventEffect, reportThreshold: 5 };

const reservation = (id: string): Reservation =>
  servedSlot({ id: 'cmp_1', advertiserId: 'adv_1', bid: { type: 'cpm', amountMicros: 1000 } }, { id: 'crv_1' }, UID, { id });

describe('the events ledger after its commit (SQLite)', () => {
  const db = sqliteFile('ledger-after-commit-');

  it('a failure after the commit is logged and the events stay recorded', async () => {
    const store = db.store();
    expect(await store.users.reserve([reservation('r_1')])).toBe(true);
    // An entry without its history: `users.viewed` after the commit throws a TypeError.
    (store.users as unknown as SqliteUsers).cache.set(UID, {} as UserState);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const event = { type: 'impression' as const, reservationId: 'r_1', uid: UID, campaignId: 'cmp_1', creativeId: 'crv_1' };
      const first = await store.ledger.record([event], T + 1_000, rules);
      expect(first.outcomes).toEqual([{ status: 'accepted' }]);
      expect(logged).toHaveBeenCalledWith(expect.stringContaining('[store] after an events commit'));
      // Committed once: the same event again is a duplicate.
      const again = await store.ledger.record([event], T + 2_000, rules);
      expect(again.outcomes).not.toEqual([{ status: 'accepted' }]);
    } finally {
      logged.mockRestore();
    }
  });
});

describe('the events ledger’s spend memory (SQLite)', () => {
  const db = sqliteFile('ledger-spend-days-');

  it('keeps committed spend for the current UTC day only: campaigns charged on past days are forgotten', async () => {
    const store = db.store();
    const spent = () => [...(store.ledger as unknown as { spent: Map<string, unknown> }).spent.keys()];
    const DAY = 86_400_000;
    const slot = (campaignId: string, id: string, at: number) =>
      servedSlot({ id: campaignId, advertiserId: 'adv_1', bid: { type: 'cpm', amountMicros: 1000 } }, { id: 'crv_1' }, UID, {
        id,
        servedAt: at,
        expiresAt: at + 900_000,
      });
    const seen = (r: Reservation, at: number) =>
      store.ledger.record(
        [{ type: 'impression', reservationId: r.id, uid: UID, campaignId: r.campaignId, creativeId: r.creativeId }],
        at,
        rules,
      );
    const first = slot('cmp_1', 'r_a', T);
    const second = slot('cmp_2', 'r_b', T + DAY);
    expect(await store.users.reserve([first])).toBe(true);
    expect((await seen(first, T + 1_000)).outcomes).toEqual([{ status: 'accepted' }]);
    expect(spent()).toEqual(['cmp_1']);
    expect(await store.users.reserve([second])).toBe(true);
    expect((await seen(second, T + DAY + 1_000)).outcomes).toEqual([{ status: 'accepted' }]);
    expect(spent()).toEqual(['cmp_2']);
  });
});
