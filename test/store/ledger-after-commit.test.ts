/**
 * Once the events transaction has committed, the work after it (budgets, user cache, report
 * rows in memory and their reach sketches) cannot undo it: a failure there is logged, and the
 * recorded events are reported as recorded. The failure is real: the report rows table is
 * renamed by another connection, so the sketch read after the commit finds no table.
 */
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { Reservation } from '../../src/store/interface.js';
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
    const other = new Database(db.path);
    other.exec('ALTER TABLE report_rows RENAME TO report_rows_away');
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
      other.exec('ALTER TABLE report_rows_away RENAME TO report_rows');
      other.close();
    }
  });
});
