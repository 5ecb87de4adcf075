/**
 * Once the events transaction has committed, the work after it (budgets, user cache, report
 * rows in memory and their reach sketches) cannot undo it: a failure there is logged, and the
 * recorded events are reported as recorded. The failure is real: the report rows table is
 * renamed by another connection, so the sketch read after the commit finds no table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { Reservation, Store } from '../../src/store/interface.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';

const T = Date.UTC(2026, 10, 25, 12, 0, 0);
const UID = 'f'.repeat(64);
const rules = { effect: eventEffect, reportThreshold: 5 };

const reservation = (id: string): Reservation => ({
  id,
  uid: UID,
  campaignId: 'cmp_1',
  creativeId: 'crv_1',
  advertiserId: 'adv_1',
  bidType: 'cpm',
  priceMicros: 1000,
  servedAt: T,
  expiresAt: T + 900_000,
  viewedAt: null,
  chargedAt: null,
  country: '',
  platform: '',
  video: false,
});

describe('the events ledger after its commit (SQLite)', () => {
  let dir: string;
  let path: string;
  let store: Store;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-after-commit-'));
    path = join(dir, 'ads.db');
    store = createSqliteStore({ path, userCacheSize: 100 });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a failure after the commit is logged and the events stay recorded', async () => {
    expect(await store.users.reserve([reservation('r_1')])).toBe(true);
    const other = new Database(path);
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
