/**
 * A slot request looks its user up once: `ads_user_cache_lookups_total` counts lookups, and the reserve's check
 * for history gained meanwhile (made on the state the decision's load just cached) counted a second hit per
 * request that served something, so the hit share read high (~0.77 for ~45 % misses per request in the bench).
 * Real SQLite store, its own metrics hook.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { UserState } from '../../src/engine/types.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { reservation, T } from '../helpers/store-records.js';

const UID = 'a'.repeat(64);
const HISTORY_MS = 3_600_000;
const campaign = { id: 'cmp_1', advertiserId: 'adv_1', bid: { type: 'cpm' as const, amountMicros: 1000 } };

describe('user-cache lookups (SQLite)', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('counts the load of a slot request once, not again at its reserve', async () => {
    dir = mkdtempSync(join(tmpdir(), 'user-cache-lookups-'));
    const lookups: boolean[] = [];
    const store = createSqliteStore({
      path: join(dir, 'ads.db'),
      userCacheSize: 10,
      metrics: { commit() {}, holds() {}, userCache: (hit) => lookups.push(hit) },
    });
    try {
      for (const id of ['r_1', 'r_2']) {
        const user = store.users.load(UID, T, HISTORY_MS) as UserState;
        const r = reservation(campaign, { id: 'crv_1' }, UID, { id });
        expect(await store.users.reserve([r], { history: user.history, historyMs: HISTORY_MS })).toBe(true);
      }
      // A miss, then a hit: one lookup a request.
      expect(lookups).toEqual([false, true]);
      // The second request's reserve still saw the first one's reservation (its own check unchanged).
      expect((store.users.load(UID, T, HISTORY_MS) as UserState).history.map((e) => e.reservationId)).toEqual(['r_1', 'r_2']);
    } finally {
      await store.close();
    }
  });
});
