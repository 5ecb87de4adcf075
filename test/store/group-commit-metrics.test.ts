/**
 * A group commit's metrics run after its COMMIT, outside the `try` whose `catch` commits each item again on its own:
 * a metrics call that throws must not make the group's committed reservations commit again (a duplicate id) and be
 * answered as failed. Real store, real file; the failure is the store's own metrics hook throwing.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StoreMetrics } from '../../src/ops/metrics.js';
import type { Reservation } from '../../src/store/interface.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { sqliteFile } from '../helpers/sqlite-file.js';
import { reservation as servedSlot } from '../helpers/store-records.js';

const reservation = (uid: string, id: string): Reservation =>
  servedSlot({ id: 'cmp_1', advertiserId: 'adv_1', bid: { type: 'cpm', amountMicros: 1000 } }, { id: 'crv_1' }, uid, { id });

describe('group commit metrics (SQLite)', () => {
  const db = sqliteFile('group-commit-metrics-');
  afterEach(() => vi.restoreAllMocks());

  it('answers a committed group as stored, each row once, when the metrics call after COMMIT throws', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const metrics: StoreMetrics = {
      commit: () => {
        throw new Error('metrics broke');
      },
      holds: () => {},
      userCache: () => {},
    };
    const store = createSqliteStore({ path: db.path, userCacheSize: 10, metrics });
    try {
      // Two responses in one group.
      const answers = await Promise.allSettled([
        store.users.reserve([reservation('a'.repeat(64), 'r_1')]),
        store.users.reserve([reservation('b'.repeat(64), 'r_2')]),
      ]);
      expect(answers).toEqual([
        { status: 'fulfilled', value: true },
        { status: 'fulfilled', value: true },
      ]);
    } finally {
      await store.close();
    }
    const file = new Database(db.path, { readonly: true });
    expect(file.prepare('SELECT id FROM reservations ORDER BY id').pluck().all()).toEqual(['r_1', 'r_2']);
    file.close();
    expect(errors.mock.calls.map(([line]) => String(line))).toContainEqual(
      '[store] group commit metrics failed: Error: metrics broke',
    );
  });
});
