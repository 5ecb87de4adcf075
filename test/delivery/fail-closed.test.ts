/** Fail closed: when a user's caps, reservations or blocks cannot be read (error or timeout), no ad is served. */

import { describe, expect, it, vi } from 'vitest';
import { CatalogIndex } from '../../src/catalog/index.js';
import { readSettings } from '../../src/config.js';
import { Delivery } from '../../src/delivery/delivery.js';
import { advertiserCard } from '../../src/engine/card.js';
import type { ServableCampaign, UserState } from '../../src/engine/types.js';
import { TokenSigner } from '../../src/privacy/token.js';
import type { Store } from '../../src/store/interface.js';

const NOW = Date.UTC(2026, 10, 25, 12);

const campaign: ServableCampaign = {
  id: 'cmp_1',
  advertiserId: 'adv_1',
  advertiser: advertiserCard({ id: 'adv_1', name: 'Bakery' }),
  status: 'active',
  startAt: NOW - 1000,
  endAt: null,
  bid: { type: 'cpm', amountMicros: 2_000_000 },
  budget: {},
  pacing: 'asap',
  targeting: {},
  caps: [],
  creatives: [
    {
      id: 'crv_1',
      headline: 'Bread',
      cta: { type: 'website', target: 'https://bakery.example' },
      media: { url: '/media/x', mime: 'image/png', width: 90, height: 160 },
      predictedCtr: 0.01,
    },
  ],
  hasCreatives: true,
};

function delivery(users: Partial<Store['users']>, tryHold: Store['budgets']['tryHold'] = async () => true) {
  const reserve = vi.fn(async () => {});
  const release = vi.fn(async () => {});
  const unreserve = vi.fn(async () => {});
  const store = {
    users: { reserve, unreserve, ...users },
    budgets: { view: () => ({ spentTodayMicros: 0, spentTotalMicros: 0, heldMicros: 0 }), tryHold, release },
  } as unknown as Store;
  const index = new CatalogIndex(undefined as never, (sha) => `/media/${sha}`);
  index.build([campaign]);
  const d = new Delivery({
    settings: readSettings({}),
    store,
    index,
    pseudonymize: async (id) => `p-${id}`,
    signer: new TokenSigner('secret'),
    clock: () => NOW,
    userStateTimeoutMs: 50,
  });
  return { d, reserve, release, unreserve };
}

const empty = (): UserState => ({ history: [], blocks: new Set(), hides: new Set(), mutes: new Set() });

describe('delivery fails closed', () => {
  it('serves when the user state loads', async () => {
    const { d, reserve } = delivery({ load: async () => empty() });
    expect((await d.slots({ user: 'u', statuses: 10 })).slots).toHaveLength(1);
    expect(reserve).toHaveBeenCalledTimes(1);
  });

  it('serves nothing when loading the user state throws', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { d, reserve } = delivery({ load: async () => Promise.reject(new Error('disk on fire')) });
    expect(await d.slots({ user: 'u', statuses: 10 })).toEqual({ slots: [] });
    expect(await d.slots({ user: 'u', statuses: 10, explain: true })).toEqual({ slots: [], explain: [] });
    expect(reserve).not.toHaveBeenCalled();
    error.mockRestore();
  });

  it('serves nothing when the store throws before it returns a promise', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { d, reserve } = delivery({
      load: () => {
        throw new Error('no such object');
      },
    });
    expect(await d.slots({ user: 'u', statuses: 10 })).toEqual({ slots: [] });
    expect(reserve).not.toHaveBeenCalled();
    error.mockRestore();
  });

  it('serves when a synchronous store answers at once, and nothing when its read throws', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const served = delivery({ load: () => empty() }, () => true);
    expect((await served.d.slots({ user: 'u', statuses: 10 })).slots).toHaveLength(1);
    const failed = delivery({
      load: () => {
        throw new Error('SQLITE_IOERR');
      },
    });
    expect(await failed.d.slots({ user: 'u', statuses: 10 })).toEqual({ slots: [] });
    expect(failed.reserve).not.toHaveBeenCalled();
    expect(String(error.mock.calls[0])).toContain('user state unavailable');
    error.mockRestore();
  });

  it('leaves a slot unfilled when its budget hold throws at once (a synchronous budget store)', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { d, reserve, unreserve } = delivery({ load: () => empty() }, () => {
      throw new Error('budget accounts unreadable');
    });
    expect(await d.slots({ user: 'u', statuses: 10 })).toEqual({ slots: [] });
    // Reserved with the others, then taken back: no token was issued for it.
    expect(reserve).toHaveBeenCalledTimes(1);
    expect(unreserve).toHaveBeenCalledTimes(1);
    expect(String(error.mock.calls[0])).toContain('budget unavailable for cmp_1');
    error.mockRestore();
  });

  it('serves nothing when loading the user state times out', async () => {
    const { d, reserve } = delivery({ load: () => new Promise<UserState>(() => {}) });
    const started = Date.now();
    expect(await d.slots({ user: 'u', statuses: 10 })).toEqual({ slots: [] });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(reserve).not.toHaveBeenCalled();
  });

  it('serves nothing when the reservations cannot be stored', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { d, release } = delivery({ load: async () => empty(), reserve: async () => Promise.reject(new Error('read-only')) });
    expect(await d.slots({ user: 'u', statuses: 10 })).toEqual({ slots: [] });
    // The budget held for the unserved slot is given back.
    expect(release).toHaveBeenCalledTimes(1);
    error.mockRestore();
  });

  it('never logs the raw user id', async () => {
    const logged: unknown[] = [];
    const error = vi.spyOn(console, 'error').mockImplementation((...args) => logged.push(args));
    const { d } = delivery({ load: async () => Promise.reject(new Error('down')) });
    await d.slots({ user: 'raw-user-id-123', statuses: 10 });
    expect(JSON.stringify(logged)).not.toContain('raw-user-id-123');
    error.mockRestore();
  });
});
