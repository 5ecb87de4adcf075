/**
 * A slot response that throws after its budget holds were taken (here: the token seal fails) is not
 * answered, so nothing of it may stay taken: its holds are given back and its reservations taken back at
 * once, not left to hold budget and count toward caps until the token TTL. Real SQLite store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CatalogIndex } from '../../src/catalog/index.js';
import { readSettings } from '../../src/config.js';
import { Delivery } from '../../src/delivery/delivery.js';
import { createPrometheusMetrics } from '../../src/ops/prometheus.js';
import { type TokenClaims, TokenSigner } from '../../src/privacy/token.js';
import type { Reservation, Store } from '../../src/store/interface.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { servableCampaign } from '../helpers/servable.js';

const NOW = Date.UTC(2026, 10, 25, 12);

/** A signer whose `slotToken` throws from the `failAt`-th call on (counting from 1), as long as `failing` is on. */
class FailingSigner extends TokenSigner {
  calls = 0;
  failing = true;
  constructor(private failAt: number) {
    super('secret');
  }
  override slotToken(claims: TokenClaims): string | Promise<string> {
    if (this.failing && ++this.calls >= this.failAt) throw new Error('the seal failed');
    return super.slotToken(claims);
  }
}

/** A signer whose every seal is a promise (as on Workers), the `failAt`-th one rejected. */
class RejectingSigner extends TokenSigner {
  calls = 0;
  constructor(private failAt: number) {
    super('secret');
  }
  override slotToken(claims: TokenClaims): Promise<string> {
    if (++this.calls === this.failAt) return Promise.reject(new Error('the seal was rejected'));
    return Promise.resolve(super.slotToken(claims));
  }
}

/** The store with its budget holds answered as promises (the Workers shape), and every stored reservation's id noted. */
function promisedHolds(store: Store, reservedIds: string[]): Store {
  const { users, budgets } = store;
  return {
    ...store,
    users: Object.assign(Object.create(users), {
      reserve: (reservations: Reservation[], basedOn?: Parameters<Store['users']['reserve']>[1]) => {
        for (const r of reservations) reservedIds.push(r.id);
        return users.reserve(reservations, basedOn);
      },
      unreserve: users.unreserve.bind(users),
      load: users.load.bind(users),
    }),
    budgets: Object.assign(Object.create(budgets), {
      view: budgets.view.bind(budgets),
      tryHold: (hold: Parameters<Store['budgets']['tryHold']>[0], now: number) =>
        Promise.resolve().then(() => budgets.tryHold(hold, now)),
      release: budgets.release.bind(budgets),
    }),
  };
}

describe('a slot response that throws after its holds were taken', () => {
  let dir: string;
  let store: ReturnType<typeof createSqliteStore>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'abandoned-'));
    store = createSqliteStore({ path: join(dir, 'ads.db'), userCacheSize: 100 });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives its budget holds back and takes its reservations back at once', async () => {
    const campaigns = [1, 2, 3].map((n) => servableCampaign(n, NOW, { dailyMicros: 50_000_000 }));
    const index = new CatalogIndex(undefined as never, (sha) => `/media/${sha}`);
    index.build(campaigns);
    // The second token of the response fails: both slots' holds and reservations were taken by then.
    const signer = new FailingSigner(2);
    const settings = readSettings({});
    const metrics = createPrometheusMetrics();
    const sum = async (series: RegExp) =>
      [...(await metrics.scrape()).text.matchAll(series)].reduce((total, m) => total + Number(m[1]), 0);
    const servedCount = () => sum(/^ads_slots_served_total\{[^}]*\} (\d+)$/gm);
    const unfilledCount = () => sum(/^ads_slots_unfilled_total\{[^}]*\} (\d+)$/gm);
    const abandonedCount = () => sum(/^ads_slots_unfilled_total\{reason="abandoned"\} (\d+)$/gm);
    const d = new Delivery({
      settings,
      store,
      index,
      pseudonymize: (id) => `p-${id}`,
      signer,
      clock: () => NOW,
      metrics,
    });
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await expect(d.slots({ user: 'u', statuses: 20 })).rejects.toThrow('the seal failed');
    } finally {
      error.mockRestore();
    }
    expect(signer.calls).toBe(2);
    for (const c of campaigns) expect(store.budgets.view(c.id, NOW).heldMicros, c.id).toBe(0);
    const history = (await store.users.load('p-u', NOW, d.historyMs())).history;
    expect(history).toEqual([]);
    // Nothing was answered, so nothing counts as served: each place given an ad counts as unfilled, `abandoned`.
    expect(await servedCount()).toBe(0);
    const abandoned = await abandonedCount();
    expect(abandoned).toBeGreaterThanOrEqual(2);
    const places = await unfilledCount();

    // The same user is served afterwards, with holds for exactly what was answered.
    signer.failing = false;
    const served = await d.slots({ user: 'u', statuses: 20 });
    expect(served.slots.length).toBeGreaterThanOrEqual(2);
    let held = 0;
    for (const c of campaigns) held += store.budgets.view(c.id, NOW).heldMicros;
    expect(held).toBeGreaterThan(0);
    expect((await store.users.load('p-u', NOW, d.historyMs())).history).toHaveLength(served.slots.length);
    expect(await servedCount()).toBe(served.slots.length);
    // The same request decided alike: served plus unfilled count its places once, answered or abandoned.
    expect(served.slots.length).toBe(abandoned);
    expect((await servedCount()) + (await unfilledCount()) - places).toBe(places);
    expect(await abandonedCount()).toBe(abandoned);
  });

  it('does the same when holds and seals are promises and a seal rejects: the rows are gone from SQLite', async () => {
    const campaigns = [1, 2, 3].map((n) => servableCampaign(n, NOW, { dailyMicros: 50_000_000 }));
    const index = new CatalogIndex(undefined as never, (sha) => `/media/${sha}`);
    index.build(campaigns);
    const reservedIds: string[] = [];
    const signer = new RejectingSigner(2);
    const d = new Delivery({
      settings: readSettings({}),
      store: promisedHolds(store, reservedIds),
      index,
      pseudonymize: (id) => `p-${id}`,
      signer,
      clock: () => NOW,
    });
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await expect(d.slots({ user: 'u', statuses: 20 })).rejects.toThrow('the seal was rejected');
    } finally {
      error.mockRestore();
    }
    expect(reservedIds.length).toBeGreaterThanOrEqual(2);
    for (const c of campaigns) expect(store.budgets.view(c.id, NOW).heldMicros, c.id).toBe(0);
    // Read from the reservations table itself, not the user cache.
    for (const id of reservedIds) expect(await store.users.reservation('p-u', id), id).toBeUndefined();
  });
});
