/**
 * Store behaviour, run unchanged against the SQLite backend and the Workers
 * backend (D1 + Durable Objects inside workerd, through test/helpers/worker-store.ts).
 * When test/store/contract.ts lands, point it at the same two factories and
 * drop the cases it covers; WORKER_STORE_GAPS lists what Workers skip and why.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { ServableCampaign } from '../../src/engine/types.js';
import type { Campaign, Reservation, Store } from '../../src/store/interface.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { makeWorkerStore } from '../helpers/worker-store.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const DAY = new Date(NOW).toISOString().slice(0, 10);
const rules = { effect: eventEffect, reportThreshold: 5 };
const id = (prefix: string) => `${prefix}_${randomBytes(6).toString('hex')}`;
const uid = () => randomBytes(32).toString('hex');

function campaignRow(advertiserId: string, budget: Campaign['budget'] = {}): Campaign {
  return {
    id: id('cmp'),
    advertiserId,
    name: 'C',
    status: 'active',
    startAt: NOW - 1000,
    endAt: null,
    bid: { type: 'cpm', amountMicros: 100_000 },
    budget,
    pacing: 'asap',
    targeting: {},
    caps: [{ impressions: 2, windowSeconds: 3600 }],
    createdAt: NOW,
    updatedAt: NOW,
  };
}

const servable = (c: Campaign): ServableCampaign => ({ ...c, advertiserName: 'A', creatives: [], hasCreatives: false });

function reservation(user: string, c: Campaign, priceMicros = 100): Reservation {
  return {
    id: id('r'),
    uid: user,
    campaignId: c.id,
    creativeId: id('crv'),
    advertiserId: c.advertiserId,
    bidType: 'cpm',
    priceMicros,
    servedAt: NOW,
    expiresAt: NOW + 900_000,
    viewedAt: null,
    chargedAt: null,
  };
}

function storeBehaviour(name: string, open: () => Promise<{ store: Store; close(): Promise<void> }>) {
  describe(`store: ${name}`, () => {
    let backend: { store: Store; close(): Promise<void> };
    let s: Store;
    beforeAll(async () => {
      backend = await open();
      s = backend.store;
    }, 60_000);
    afterAll(async () => {
      await backend?.close();
    });

    async function advertiser() {
      const a = { id: id('adv'), name: 'A', description: null, address: null, email: null, website: null, category: null, createdAt: NOW, updatedAt: NOW };
      await s.catalog.createAdvertiser(a, id('hash'));
      return a;
    }

    it('catalog: keys, campaigns and the version that caches watch', async () => {
      const a = await advertiser();
      const hash = id('hash');
      await s.catalog.createClient({ id: id('cli'), name: 'M', createdAt: NOW }, hash);
      expect(await s.catalog.findKey(hash)).toMatchObject({ kind: 'client' });
      const before = await s.catalog.version();
      const c = campaignRow(a.id, { totalMicros: 1000 });
      await s.catalog.createCampaign(c);
      expect(await s.catalog.version()).toBeGreaterThan(before);
      expect(await s.catalog.getCampaign(c.id)).toEqual(c);
      const updated = await s.catalog.updateCampaign(c.id, { status: 'paused' }, NOW + 1);
      expect(updated?.status).toBe('paused');
      expect((await s.catalog.listCampaigns(a.id)).map((x) => x.id)).toEqual([c.id]);
      expect(await s.catalog.updateCampaign(id('cmp'), { status: 'paused' }, NOW)).toBeUndefined();
    });

    it('catalog: only approved creatives of active campaigns are servable', async () => {
      const a = await advertiser();
      const c = campaignRow(a.id);
      await s.catalog.createCampaign(c);
      const sha256 = randomBytes(32).toString('hex');
      await s.catalog.putMedia({ sha256, mime: 'image/png', bytes: 10, width: 9, height: 16, durationMs: null, createdAt: NOW });
      const creative = { id: id('crv'), campaignId: c.id, advertiserId: a.id, headline: 'H', cta: { type: 'website' as const, target: 'https://x.example' }, mediaSha256: sha256, review: 'pending' as const, reviewReason: null, createdAt: NOW, updatedAt: NOW };
      await s.catalog.createCreative(creative);
      const find = async () => (await s.catalog.servable((h) => `/media/${h}`)).find((x) => x.id === c.id);
      expect((await find())?.creatives).toEqual([]);
      await s.catalog.setReview(creative.id, 'approved', null, NOW);
      expect((await find())?.creatives.map((x) => x.id)).toEqual([creative.id]);
      expect((await find())?.advertiserName).toBe(a.name);
      expect((await s.catalog.listCreatives({ campaignId: c.id }))[0].review).toBe('approved');
    });

    it('users: reservations count in history; blocks; erase leaves nothing', async () => {
      const a = await advertiser();
      const c = campaignRow(a.id);
      const user = uid();
      const r = reservation(user, c);
      await s.users.reserve([r]);
      const state = await s.users.load(user, NOW + 1);
      expect(state.history.map((h) => h.reservationId)).toEqual([r.id]);
      await s.users.block(user, a.id, NOW);
      await s.users.block(user, a.id, NOW);
      expect(await s.users.blocks(user)).toEqual([a.id]);
      expect((await s.users.load(user, NOW + 2)).blocks.has(a.id)).toBe(true);
      await s.users.unblock(user, a.id);
      expect(await s.users.blocks(user)).toEqual([]);
      await s.users.block(user, a.id, NOW);
      await s.users.erase(user);
      const erased = await s.users.load(user, NOW + 3);
      expect(erased.history).toEqual([]);
      expect(erased.blocks.size).toBe(0);
    });

    it('budgets: a hold that would exceed the budget is refused', async () => {
      const a = await advertiser();
      const c = servable(campaignRow(a.id, { totalMicros: 250 }));
      const hold = () => s.budgets.tryHold({ campaign: c, reservationId: id('r'), amountMicros: 100, expiresAt: NOW + 900_000 }, NOW);
      expect([await hold(), await hold(), await hold()]).toEqual([true, true, false]);
      expect(s.budgets.view(c.id, NOW).heldMicros).toBe(200);
    });

    it('ledger: events count once, charges become spend, reports aggregate', async () => {
      const a = await advertiser();
      const c = campaignRow(a.id, { totalMicros: 10_000 });
      const user = uid();
      const r = reservation(user, c);
      expect(await s.budgets.tryHold({ campaign: servable(c), reservationId: r.id, amountMicros: r.priceMicros, expiresAt: r.expiresAt }, NOW)).toBe(true);
      await s.users.reserve([r]);
      const event = { type: 'impression' as const, reservationId: r.id, uid: user, campaignId: c.id, creativeId: r.creativeId };
      const first = await s.ledger.record([event, event], NOW + 10, rules);
      expect(first.outcomes.map((o) => o.status)).toEqual(['accepted', 'duplicate']);
      expect((await s.ledger.record([event], NOW + 20, rules)).outcomes[0].status).toBe('duplicate');
      const forged = await s.ledger.record([{ ...event, reservationId: id('r') }], NOW + 30, rules);
      expect(forged.outcomes[0].status).toBe('rejected');
      expect(s.budgets.view(c.id, NOW + 40)).toMatchObject({ spentTotalMicros: 100, spentTodayMicros: 100, heldMicros: 0 });
      const rows = await s.ledger.report(c.id, DAY, DAY);
      expect(rows).toEqual([{ date: DAY, impressions: 1, reach: 1, clicks: 0, hides: 0, reports: 0, blocks: 0, spendMicros: 100 }]);
      expect((await s.users.load(user, NOW + 50)).history[0].viewed).toBe(true);
    });

    it('ledger: a block event blocks the advertiser for that user', async () => {
      const a = await advertiser();
      const c = campaignRow(a.id);
      const user = uid();
      const r = reservation(user, c);
      await s.users.reserve([r]);
      await s.ledger.record([{ type: 'block', reservationId: r.id, uid: user, campaignId: c.id, creativeId: r.creativeId }], NOW, rules);
      expect(await s.users.blocks(user)).toEqual([a.id]);
    });
  });
}

storeBehaviour('sqlite', async () => {
  const store = createSqliteStore({ path: ':memory:', userCacheSize: 100, historyMs: () => 3_600_000 });
  return { store, close: () => store.close() };
});

storeBehaviour('workers (D1 + Durable Objects in workerd)', () => makeWorkerStore());
