/**
 * Once the reservations' group commit has committed, the work after it (the cached history of each user)
 * cannot undo it: a failure there is logged, the reservations are answered as stored (they are), and the
 * user's cached state is dropped, so the next load reads the committed rows from SQLite. Before, the
 * failure made the group commit each response again on its own (a duplicate id) and answer a stored
 * response as failed. The failure is real code failing: a cached entry without its history.
 */
import { describe, expect, it, vi } from 'vitest';
import type { UserState } from '../../src/engine/types.js';
import type { Reservation } from '../../src/store/interface.js';
import type { SqliteUsers } from '../../src/store/sqlite/users.js';
import { sqliteFile } from '../helpers/sqlite-file.js';
import { reservation as servedSlot, T } from '../helpers/store-records.js';

const UID = 'e'.repeat(64);
const OTHER = 'd'.repeat(64);
const HISTORY_MS = 3_600_000;

const reservation = (uid: string, id: string): Reservation =>
  servedSlot({ id: 'cmp_1', advertiserId: 'adv_1', bid: { type: 'cpm', amountMicros: 1000 } }, { id: 'crv_1' }, uid, { id });

describe('the reservations group commit after its commit (SQLite)', () => {
  const db = sqliteFile('reservations-after-commit-');

  it('answers committed reservations as stored when the cache update throws, and reads them from SQLite next', async () => {
    const store = db.store();
    const users = store.users as unknown as SqliteUsers;
    expect(await store.users.reserve([reservation(OTHER, 'r_0')])).toBe(true);
    // Cached, so the next reserve's group carries a user whose cache update works beside the broken one.
    users.load(OTHER, T, HISTORY_MS);
    users.cache.set(UID, {} as UserState);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      // Both in one group commit (submitted in the same turn).
      const both = await Promise.all([
        store.users.reserve([reservation(UID, 'r_1'), reservation(UID, 'r_2')]),
        store.users.reserve([reservation(OTHER, 'r_3')]),
      ]);
      expect(both).toEqual([true, true]);
      expect(logged).toHaveBeenCalledWith(expect.stringContaining('[store] after a reservations commit'));
    } finally {
      logged.mockRestore();
    }
    expect(users.cache.has(UID)).toBe(false);
    const ids = (state: UserState | Promise<UserState>) => (state as UserState).history.map((e) => e.reservationId);
    expect(ids(users.load(UID, T, HISTORY_MS))).toEqual(['r_1', 'r_2']);
    expect(ids(users.load(OTHER, T, HISTORY_MS))).toEqual(['r_0', 'r_3']);
    // Stored once each.
    expect((await store.users.reservation(UID, 'r_2'))?.id).toBe('r_2');
  });
});
