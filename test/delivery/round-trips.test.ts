/**
 * Round trips on a slot request's critical path, counted without clocks: every store call the
 * slot path makes (user load/reserve/unreserve, budget hold/release) waits at a gate, and the
 * test opens the gate one wave at a time. On Workers each wave is a round of Durable Object
 * calls, so the count here is the count there (issue #12: at most two). Real SQLite store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CatalogIndex } from '../../src/catalog/index.js';
import { readSettings } from '../../src/config.js';
import { Delivery } from '../../src/delivery/delivery.js';
import { TokenSigner } from '../../src/privacy/token.js';
import type { Store } from '../../src/store/interface.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { servableCampaign } from '../helpers/servable.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const HOUR = 3_600_000;

/** Wraps the slot path's store calls so each waits until the test opens the current wave. */
function gate(store: Store, refuse: Set<string>) {
  let waiting: { call: string; go: () => void }[] = [];
  const calls: string[][] = [];
  const gated =
    <A extends unknown[], R>(name: string, fn: (...args: A) => R | Promise<R>) =>
    async (...args: A): Promise<R> => {
      await new Promise<void>((go) => waiting.push({ call: name, go }));
      return await fn(...args);
    };
  const { users, budgets } = store;
  const gatedStore: Store = {
    ...store,
    users: Object.assign(Object.create(users), {
      load: gated('users.load', users.load.bind(users)),
      reserve: gated('users.reserve', users.reserve.bind(users)),
      unreserve: gated('users.unreserve', users.unreserve.bind(users)),
    }),
    budgets: Object.assign(Object.create(budgets), {
      view: budgets.view.bind(budgets),
      // Refusing here is what a campaign's authority does when another request took the budget first.
      tryHold: gated('budgets.tryHold', (hold: Parameters<Store['budgets']['tryHold']>[0], now: number) =>
        refuse.has(hold.campaign.id) ? Promise.resolve(false) : budgets.tryHold(hold, now),
      ),
      release: gated('budgets.release', budgets.release.bind(budgets)),
    }),
  };
  /** Runs `work`, opening one wave of gated calls at a time; returns its result and the waves. */
  async function waves<T>(work: () => Promise<T>): Promise<{ result: T; waves: string[][] }> {
    let done = false;
    const running = work().finally(() => (done = true));
    calls.length = 0;
    // Each pass lets the event loop run until the work finished or issued its next calls.
    for (let idle = 0; !done && idle < 10_000; ) {
      await new Promise((r) => setImmediate(r));
      if (waiting.length === 0) {
        idle++;
        continue;
      }
      idle = 0;
      const wave = waiting;
      waiting = [];
      calls.push(wave.map((w) => w.call).sort());
      for (const w of wave) w.go();
    }
    return { result: await running, waves: [...calls] };
  }
  return { store: gatedStore, waves };
}

describe('a slot request on the critical path', () => {
  let dir: string;
  let store: ReturnType<typeof createSqliteStore>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'round-trips-'));
    store = createSqliteStore({ path: join(dir, 'ads.db'), userCacheSize: 100 });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function delivery(refuse = new Set<string>()) {
    const gated = gate(store, refuse);
    const index = new CatalogIndex(undefined as never, (sha) => `/media/${sha}`);
    index.build([servableCampaign(1, NOW), servableCampaign(2, NOW), servableCampaign(3, NOW)]);
    const d = new Delivery({
      settings: readSettings({}),
      store: gated.store,
      index,
      pseudonymize: async (id) => `p-${id}`,
      signer: new TokenSigner('secret'),
      clock: () => NOW,
    });
    return { d, waves: gated.waves };
  }

  it('makes two waves of store calls: the user, then the holds and the reservation together', async () => {
    const { d, waves } = delivery();
    const { result, waves: seen } = await waves(() => d.slots({ user: 'u1', statuses: 20 }));
    expect(result.slots.length).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual([['users.load'], [...result.slots.map(() => 'budgets.tryHold'), 'users.reserve'].sort()]);
    const history = (await store.users.load('p-u1', NOW, HOUR)).history;
    expect(history.map((e) => e.campaignId).sort()).toEqual(result.slots.map((s) => s.ad.campaignId).sort());
  });

  it('takes back the reservation of a refused hold before answering: a third wave on that path only', async () => {
    const { d, waves } = delivery(new Set(['cmp_3']));
    const { result, waves: seen } = await waves(() => d.slots({ user: 'u2', statuses: 20, explain: true }));
    const served = result.slots.map((s) => s.ad.campaignId);
    expect(served).not.toContain('cmp_3');
    expect(served.length).toBeGreaterThanOrEqual(1);
    expect(seen).toHaveLength(3);
    expect(seen[1]).toContain('users.reserve');
    expect(seen[2]).toEqual(['users.unreserve']);
    expect(result.explain?.find((e) => e.campaignId === 'cmp_3')).toMatchObject({ outcome: 'rejected', reason: 'budget' });
    // Nothing of the refused slot is left to count toward caps or to charge; the served ones stay.
    const history = (await store.users.load('p-u2', NOW, HOUR)).history;
    expect(history.map((e) => e.campaignId).sort()).toEqual([...served].sort());
    // So does the file, read by a process started after this one was killed (closed after the test).
    await store.abandon();
    store = createSqliteStore({ path: join(dir, 'ads.db'), userCacheSize: 1 });
    const stored = (await store.users.load('p-u2', NOW, HOUR)).history.map((e) => e.campaignId);
    expect(stored.sort()).toEqual([...served].sort());
  });
});
