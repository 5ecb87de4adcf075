/**
 * A slot request whose attempt is refused as a conflict (the user's history changed between its read and its
 * reserve: another process served the same user) is decided again; each place it asked for is still counted once,
 * served or one unfilled reason, from the attempt that answered: the refused attempt's holds refused (`budget`)
 * and its decision's unfilled places are not counted too, and when every attempt conflicts the places are counted
 * (`unavailable` for those the last decision gave an ad). Real SQLite store; the other process's reservation and
 * budget hold are real writes to it, made just before this request's own. (In one Node process the per-user lock
 * keeps this from happening; on Workers the user object refuses such a reserve: the same Delivery code.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CatalogIndex } from '../../src/catalog/index.js';
import { readSettings } from '../../src/config.js';
import { Delivery } from '../../src/delivery/delivery.js';
import { placementCapacity } from '../../src/engine/placement.js';
import { createPrometheusMetrics } from '../../src/ops/prometheus.js';
import { TokenSigner } from '../../src/privacy/token.js';
import type { Reservation, Store } from '../../src/store/interface.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { servableCampaign } from '../helpers/servable.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const DAILY = 50_000_000;

/**
 * The store as another process racing this one sees it: before each of the first `conflicts` reserves, a
 * reservation of the same user is stored (so the reserve, based on the history read before, is refused); before
 * the first hold, that campaign's whole budget is held by another request (so the hold is refused).
 */
function racing(store: Store, conflicts: number): Store {
  const { users, budgets } = store;
  let reserves = 0;
  let holds = 0;
  return {
    ...store,
    users: Object.assign(Object.create(users), {
      // A snapshot of the history, as a read from another process's store is (the user object's, on Workers), not
      // this process's cached array, which the other writes below would extend in place.
      load: async (...args: Parameters<Store['users']['load']>) => {
        const user = await users.load(...args);
        return { ...user, history: [...user.history] };
      },
      reserve: async (reservations: Reservation[], basedOn?: Parameters<Store['users']['reserve']>[1]) => {
        if (reserves++ < conflicts) {
          const other = { ...reservations[0], id: `r-other-${reserves}` };
          expect(await users.reserve([other])).toBe(true);
        }
        return users.reserve(reservations, basedOn);
      },
    }),
    budgets: Object.assign(Object.create(budgets), {
      tryHold: (hold: Parameters<Store['budgets']['tryHold']>[0], now: number) => {
        if (holds++ === 0)
          expect(budgets.tryHold({ ...hold, reservationId: 'r-other-hold', amountMicros: DAILY }, now)).toBe(true);
        return budgets.tryHold(hold, now);
      },
    }),
  };
}

describe('a slot request refused as a conflict and decided again', () => {
  let dir: string;
  let store: ReturnType<typeof createSqliteStore>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'conflict-counts-'));
    store = createSqliteStore({ path: join(dir, 'ads.db'), userCacheSize: 100 });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve(conflicts: number) {
    const campaigns = [1, 2, 3].map((n) => servableCampaign(n, NOW, { dailyMicros: DAILY }));
    const index = new CatalogIndex(undefined as never, (sha) => `/media/${sha}`);
    index.build(campaigns);
    const settings = readSettings({});
    const metrics = createPrometheusMetrics();
    const d = new Delivery({
      settings,
      store: racing(store, conflicts),
      index,
      pseudonymize: (id) => `p-${id}`,
      signer: new TokenSigner('secret'),
      clock: () => NOW,
      metrics,
    });
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    let slots: number;
    try {
      slots = (await d.slots({ user: 'u', statuses: 20 })).slots.length;
    } finally {
      error.mockRestore();
    }
    const text = (await metrics.scrape()).text;
    const sum = (series: RegExp) => [...text.matchAll(series)].reduce((total, m) => total + Number(m[1]), 0);
    return {
      slots,
      places: placementCapacity({ statuses: 20 }, settings.placement),
      served: sum(/^ads_slots_served_total\{[^}]*\} (\d+)$/gm),
      unfilled: sum(/^ads_slots_unfilled_total\{[^}]*\} (\d+)$/gm),
      budget: sum(/^ads_slots_unfilled_total\{reason="budget"\} (\d+)$/gm),
      unavailable: sum(/^ads_slots_unfilled_total\{reason="unavailable"\} (\d+)$/gm),
    };
  }

  it('counts each place once, from the attempt that answered (a hold refused in the refused attempt is not counted)', async () => {
    const counts = await serve(1);
    expect(counts.slots).toBeGreaterThan(0);
    expect(counts.served).toBe(counts.slots);
    expect(counts.served + counts.unfilled).toBe(counts.places);
  });

  it('counts each place once when every attempt conflicts: none served, those given an ad `unavailable`', async () => {
    const counts = await serve(3);
    expect(counts.slots).toBe(0);
    expect(counts.served).toBe(0);
    expect(counts.unavailable).toBeGreaterThan(0);
    expect(counts.unfilled).toBe(counts.places);
  });
});
