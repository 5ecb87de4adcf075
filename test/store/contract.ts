/**
 * The store contract: one suite every backend must pass, written against the
 * `Store` interface only (no SQL, no backend internals). A backend's test file
 * calls `storeContract(name, open)`; `open` must return a fresh, empty store
 * whose per-user history window is at least CONTRACT_HISTORY_MS.
 */
import { afterEach, beforeEach, expect, describe as vitestDescribe, it as vitestIt } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { ServableCampaign } from '../../src/engine/types.js';
import type { CampaignRecord as Campaign, Creative, EventRules, Reservation, Store } from '../../src/store/interface.js';
import { advertiser, campaign, creative, DAY, event, media, reservation, T, TTL } from '../helpers/store-records.js';

/** Backends under contract keep per-user history for (at least) this long. */
export const CONTRACT_HISTORY_MS = 3_600_000;

const mediaUrl = (sha: string) => `/media/${sha}`;
const rules = (reportThreshold = 5): EventRules => ({ effect: eventEffect, reportThreshold });
const uid = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

/** The three numbers of a budget view (backends may return richer objects). */
function budget(store: Store, campaignId: string, now: number) {
  const { spentTodayMicros, spentTotalMicros, heldMicros } = store.budgets.view(campaignId, now);
  return { spentTodayMicros, spentTotalMicros, heldMicros };
}

/** A reservation as the store keeps it: with the number it gave it (the events key). */
const stored = (r: Reservation) => ({ ...r, number: expect.any(Number) });

/** The contract's groups of cases. */
export type ContractGroup = 'catalog' | 'users' | 'budgets' | 'ledger' | 'prune';

/**
 * Registers the contract for one backend. `gaps` names cases the backend knowingly
 * does not pass, each with its reason (as drizzle's driver tests list theirs); they are skipped.
 * `only`: register just the cases it accepts (a variant of a backend whose other cases
 * another file runs unchanged, e.g. its budgets split over shards).
 */
export function storeContract(
  name: string,
  open: () => Promise<{ store: Store; close(): Promise<void> }>,
  gaps: Record<string, string> = {},
  only?: (group: ContractGroup, title: string) => boolean,
) {
  /** The cases of the group being collected: a group with none selected is left out altogether. */
  let cases: [string, () => Promise<void>][] = [];
  const describe = (group: ContractGroup, fn: () => void) => {
    cases = [];
    fn();
    const selected = cases.filter(([title]) => !only || only(group, title));
    if (selected.length === 0) return;
    vitestDescribe(group, () => {
      for (const [title, test] of selected)
        if (title in gaps) vitestIt.skip(`${title} — skipped: ${gaps[title]}`, test);
        else vitestIt(title, test);
    });
  };
  const it = (title: string, fn: () => Promise<void>) => {
    cases.push([title, fn]);
  };
  vitestDescribe(`store contract: ${name}`, () => {
    let store: Store;
    let close: () => Promise<void>;

    beforeEach(async () => {
      ({ store, close } = await open());
    });
    afterEach(async () => {
      await close();
    });

    /** An advertiser with one campaign and one approved creative. */
    async function seed(campaignOverrides: Partial<Campaign> = {}, review: Creative['review'] = 'approved') {
      const a = advertiser();
      await store.catalog.createAdvertiser(a, `hash-${a.id}`);
      const c = campaign(a.id, campaignOverrides);
      await store.catalog.createCampaign(c);
      const m = media();
      await store.catalog.putMedia(m);
      const k = creative(c, m.sha256, { review });
      await store.catalog.createCreative(k);
      return { a, c, k, m };
    }

    async function servableOf(campaignId: string): Promise<ServableCampaign> {
      const found = (await store.catalog.servable(mediaUrl)).find((s) => s.id === campaignId);
      if (!found) throw new Error(`campaign ${campaignId} not servable`);
      return found;
    }

    /**
     * Holds a reservation's price as delivery does: at the budget shard the store routes it
     * to (if it splits budgets), kept with the reservation so its charges reach that shard.
     */
    async function hold(c: Campaign | ServableCampaign, r: Reservation, now = r.servedAt): Promise<boolean> {
      const shard = store.budgets.shardFor?.(c.id, r.id, now) ?? 0;
      if (shard > 0) r.budgetShard = shard;
      const campaign = 'creatives' in c ? c : await servableOf(c.id);
      return store.budgets.tryHold(
        { campaign, reservationId: r.id, amountMicros: r.priceMicros, expiresAt: r.expiresAt, shard },
        now,
      );
    }

    /** Serves a slot as delivery does: hold the price against budgets, then reserve. */
    async function serve(c: Campaign, k: Creative, user: string, overrides: Partial<Reservation> = {}) {
      const r = reservation(c, k, user, overrides);
      const held = await hold(c, r);
      expect(held).toBe(true);
      await store.users.reserve([r]);
      return r;
    }

    describe('catalog', () => {
      it('creates, lists, gets and updates advertisers', async () => {
        const a = advertiser({ name: 'Alpha', email: 'a@example.com', createdAt: T });
        const b = advertiser({ name: 'Beta', createdAt: T + 1 });
        await store.catalog.createAdvertiser(a, 'hash-a');
        await store.catalog.createAdvertiser(b, 'hash-b');
        expect(await store.catalog.getAdvertiser(a.id)).toEqual(a);
        expect((await store.catalog.listAdvertisers()).map((x) => x.id)).toEqual([a.id, b.id]);
        const updated = await store.catalog.updateAdvertiser(
          a.id,
          { website: 'https://alpha.example', description: 'Bread' },
          T + 5,
        );
        expect(updated).toMatchObject({
          id: a.id,
          name: 'Alpha',
          email: 'a@example.com',
          website: 'https://alpha.example',
          description: 'Bread',
          updatedAt: T + 5,
        });
        expect(await store.catalog.getAdvertiser(a.id)).toEqual(updated);
        expect(await store.catalog.updateAdvertiser('adv_missing', { name: 'X' }, T)).toBeUndefined();
        expect(await store.catalog.getAdvertiser('adv_missing')).toBeUndefined();
      });

      it('finds keys by hash for advertisers and clients, and nothing else', async () => {
        const a = advertiser();
        await store.catalog.createAdvertiser(a, 'hash-of-advertiser-key');
        await store.catalog.createClient({ id: 'cli_1', name: 'Messenger', createdAt: T }, 'hash-of-client-key');
        expect(await store.catalog.findKey('hash-of-advertiser-key')).toEqual({ kind: 'advertiser', ownerId: a.id });
        expect(await store.catalog.findKey('hash-of-client-key')).toEqual({ kind: 'client', ownerId: 'cli_1' });
        expect(await store.catalog.findKey('hash-unknown')).toBeUndefined();
        expect(await store.catalog.findKey('')).toBeUndefined();
      });

      it('creates, lists (per advertiser), gets and patches campaigns', async () => {
        const a = advertiser();
        const b = advertiser();
        await store.catalog.createAdvertiser(a, 'ha');
        await store.catalog.createAdvertiser(b, 'hb');
        const c1 = campaign(a.id, {
          targeting: { countries: ['DE', 'AT'], languages: ['de'], platforms: ['ios'] },
          caps: [{ impressions: 2, windowSeconds: 3600 }],
          budget: { dailyMicros: 5_000_000, totalMicros: 50_000_000 },
          endAt: T + DAY,
          pacing: 'even',
        });
        const c2 = campaign(a.id, { createdAt: T + 1, bid: { type: 'cpc', amountMicros: 300_000 } });
        const c3 = campaign(b.id);
        for (const c of [c1, c2, c3]) await store.catalog.createCampaign(c);
        expect(await store.catalog.getCampaign(c1.id)).toEqual(c1);
        expect(await store.catalog.getCampaign(c2.id)).toEqual(c2);
        expect((await store.catalog.listCampaigns(a.id)).map((c) => c.id)).toEqual([c1.id, c2.id]);
        expect((await store.catalog.listCampaigns(b.id)).map((c) => c.id)).toEqual([c3.id]);
        expect(await store.catalog.listCampaigns('adv_nobody')).toEqual([]);

        const patched = await store.catalog.updateCampaign(
          c1.id,
          { status: 'paused', budget: { totalMicros: 7 }, caps: [], endAt: null },
          T + 9,
        );
        expect(patched).toEqual({ ...c1, status: 'paused', budget: { totalMicros: 7 }, caps: [], endAt: null, updatedAt: T + 9 });
        expect(await store.catalog.getCampaign(c1.id)).toEqual(patched);
        const renamed = await store.catalog.updateCampaign(c1.id, { name: 'Renamed' }, T + 10);
        expect(renamed).toMatchObject({ name: 'Renamed', status: 'paused', budget: { totalMicros: 7 }, targeting: c1.targeting });
        expect(await store.catalog.updateCampaign('cmp_missing', { name: 'x' }, T)).toBeUndefined();
        expect(await store.catalog.getCampaign('cmp_missing')).toBeUndefined();
      });

      it('stores media once per content address', async () => {
        const m = media(42);
        await store.catalog.putMedia(m);
        await store.catalog.putMedia({ ...m, createdAt: T + 1 });
        expect(await store.catalog.getMedia(m.sha256)).toEqual(m);
        expect(await store.catalog.getMedia('f'.repeat(64))).toBeUndefined();
      });

      it('creates, lists and reviews creatives', async () => {
        const a = advertiser();
        await store.catalog.createAdvertiser(a, 'ha');
        const c1 = campaign(a.id);
        const c2 = campaign(a.id);
        await store.catalog.createCampaign(c1);
        await store.catalog.createCampaign(c2);
        const m = media();
        await store.catalog.putMedia(m);
        const k1 = creative(c1, m.sha256, { createdAt: T });
        const k2 = creative(c1, m.sha256, { createdAt: T + 1, cta: { type: 'call', target: '+4930123456' } });
        const k3 = creative(c2, m.sha256, { createdAt: T + 2 });
        for (const k of [k1, k2, k3]) await store.catalog.createCreative(k);
        expect(await store.catalog.getCreative(k2.id)).toEqual(k2);
        expect(await store.catalog.getCreative('crv_missing')).toBeUndefined();
        expect((await store.catalog.listCreatives({ campaignId: c1.id })).map((k) => k.id)).toEqual([k1.id, k2.id]);
        expect((await store.catalog.listCreatives({ review: 'pending' })).map((k) => k.id)).toEqual([k1.id, k2.id, k3.id]);

        const approved = await store.catalog.setReview(k1.id, 'approved', null, T + 5);
        expect(approved).toEqual({ ...k1, review: 'approved', updatedAt: T + 5 });
        const rejected = await store.catalog.setReview(k2.id, 'rejected', 'blurry', T + 6);
        expect(rejected).toMatchObject({ review: 'rejected', reviewReason: 'blurry' });
        expect((await store.catalog.listCreatives({ review: 'pending' })).map((k) => k.id)).toEqual([k3.id]);
        expect((await store.catalog.listCreatives({ review: 'approved', campaignId: c1.id })).map((k) => k.id)).toEqual([k1.id]);
        expect(await store.catalog.listCreatives({ review: 'approved', campaignId: c2.id })).toEqual([]);
        expect(await store.catalog.setReview('crv_missing', 'approved', null, T)).toBeUndefined();
      });

      it('servable() holds active and paused campaigns (never archived), with only their approved creatives', async () => {
        const a = advertiser({ name: 'Shown Name' });
        await store.catalog.createAdvertiser(a, 'ha');
        const active = campaign(a.id, { targeting: { countries: ['DE'] }, caps: [{ impressions: 1, windowSeconds: 60 }] });
        const paused = campaign(a.id, { status: 'paused' });
        const archived = campaign(a.id, { status: 'archived' });
        const empty = campaign(a.id);
        const pendingOnly = campaign(a.id);
        for (const c of [active, paused, archived, empty, pendingOnly]) await store.catalog.createCampaign(c);
        const m = media(7);
        await store.catalog.putMedia(m);
        const approved = creative(active, m.sha256, { review: 'approved', headline: 'Approved one' });
        const pending = creative(active, m.sha256, { review: 'pending' });
        const rejected = creative(active, m.sha256, { review: 'rejected', reviewReason: 'no' });
        const onPaused = creative(paused, m.sha256, { review: 'approved' });
        const onPendingOnly = creative(pendingOnly, m.sha256, { review: 'pending' });
        for (const k of [approved, pending, rejected, onPaused, onPendingOnly]) await store.catalog.createCreative(k);

        const servable = await store.catalog.servable(mediaUrl);
        expect(servable.map((s) => s.id).sort()).toEqual([active.id, paused.id, empty.id, pendingOnly.id].sort());
        expect(servable.find((x) => x.id === paused.id)).toMatchObject({ status: 'paused', creatives: [{ id: onPaused.id }] });
        const s = servable.find((x) => x.id === active.id)!;
        expect(s).toMatchObject({
          advertiserId: a.id,
          advertiser: { id: a.id, name: 'Shown Name' },
          status: 'active',
          startAt: active.startAt,
          endAt: null,
          bid: active.bid,
          budget: active.budget,
          pacing: active.pacing,
          targeting: { countries: ['DE'] },
          caps: [{ impressions: 1, windowSeconds: 60 }],
          hasCreatives: true,
        });
        expect(s.creatives.map((k) => k.id)).toEqual([approved.id]);
        expect(s.creatives[0]).toMatchObject({
          headline: 'Approved one',
          cta: approved.cta,
          media: { url: mediaUrl(m.sha256), mime: 'image/png', width: 90, height: 160 },
        });
        expect(s.creatives[0].predictedCtr).toBeGreaterThan(0);
        expect(s.creatives[0].predictedCtr).toBeLessThan(1);
        expect(servable.find((x) => x.id === empty.id)).toMatchObject({ creatives: [], hasCreatives: false });
        expect(servable.find((x) => x.id === pendingOnly.id)).toMatchObject({ creatives: [], hasCreatives: true });

        // Approval, pausing and rejection show up in the next servable().
        await store.catalog.setReview(pending.id, 'approved', null, T + 1);
        await store.catalog.setReview(approved.id, 'rejected', 'misleading', T + 1);
        await store.catalog.updateCampaign(paused.id, { status: 'active' }, T + 1);
        await store.catalog.updateCampaign(empty.id, { status: 'archived' }, T + 1);
        const after = await store.catalog.servable(mediaUrl);
        expect(after.map((x) => x.id).sort()).toEqual([active.id, paused.id, pendingOnly.id].sort());
        expect(after.find((x) => x.id === active.id)!.creatives.map((k) => k.id)).toEqual([pending.id]);
        expect(after.find((x) => x.id === paused.id)!.creatives.map((k) => k.id)).toEqual([onPaused.id]);
      });

      it('version() moves on every change that affects servable()', async () => {
        const versions = [await store.catalog.version()];
        const bumped = async () => {
          const v = await store.catalog.version();
          expect(v).toBeGreaterThan(versions.at(-1)!);
          versions.push(v);
        };
        const a = advertiser();
        await store.catalog.createAdvertiser(a, 'ha');
        const c = campaign(a.id);
        await store.catalog.createCampaign(c);
        await bumped();
        await store.catalog.updateCampaign(c.id, { status: 'paused' }, T + 1);
        await bumped();
        const m = media();
        await store.catalog.putMedia(m);
        const k = creative(c, m.sha256);
        await store.catalog.createCreative(k);
        await bumped();
        await store.catalog.setReview(k.id, 'approved', null, T + 2);
        await bumped();
        await store.catalog.updateAdvertiser(a.id, { name: 'New name' }, T + 3);
        await bumped();
        // Reads do not move it.
        await store.catalog.servable(mediaUrl);
        await store.catalog.listCampaigns(a.id);
        expect(await store.catalog.version()).toBe(versions.at(-1));
      });
    });

    describe('users', () => {
      it('loads an empty state for an unknown user', async () => {
        const state = await store.users.load(uid(1), T, CONTRACT_HISTORY_MS);
        expect(state.history).toEqual([]);
        expect([...state.blocks]).toEqual([]);
        expect([...state.hides]).toEqual([]);
        expect(await store.users.blocks(uid(1))).toEqual([]);
      });

      it('remembers reservations as live history until they expire', async () => {
        const { c, k } = await seed();
        const r1 = await serve(c, k, uid(1));
        const r2 = await serve(c, k, uid(1), { servedAt: T + 1000, expiresAt: T + 1000 + TTL });
        await serve(c, k, uid(2));
        const state = await store.users.load(uid(1), T + 2000, CONTRACT_HISTORY_MS);
        expect(state.history.map((e) => e.reservationId).sort()).toEqual([r1.id, r2.id].sort());
        expect(state.history.find((e) => e.reservationId === r1.id)).toEqual({
          reservationId: r1.id,
          campaignId: c.id,
          creativeId: k.id,
          advertiserId: c.advertiserId,
          servedAt: T,
          expiresAt: T + TTL,
          viewed: false,
        });
        // Past expiry an unviewed reservation no longer counts toward caps.
        const later = await store.users.load(uid(1), T + TTL + 500, CONTRACT_HISTORY_MS);
        const live = later.history.filter((e) => e.viewed || e.expiresAt > T + TTL + 500);
        expect(live.map((e) => e.reservationId)).toEqual([r2.id]);
        expect((await store.users.reservation(r1.uid, r1.id))?.uid).toBe(uid(1));
      });

      it('reserves a whole response at once, and nothing for an empty one', async () => {
        const { c, k } = await seed();
        const { c: c2, k: k2 } = await seed();
        const batch = [reservation(c, k, uid(5)), reservation(c2, k2, uid(5))];
        await store.users.reserve(batch);
        await store.users.reserve([]);
        const state = await store.users.load(uid(5), T + 1, CONTRACT_HISTORY_MS);
        expect(state.history.map((e) => e.reservationId).sort()).toEqual(batch.map((r) => r.id).sort());
        for (const r of batch) expect(await store.users.reservation(r.uid, r.id)).toEqual(stored(r));
      });

      it('reserves and unreserves a response of many slots at once (a 1,000-status feed)', async () => {
        const { c, k } = await seed();
        const batch = Array.from({ length: 40 }, () => reservation(c, k, uid(6), { budgetShard: 1 }));
        expect(await store.users.reserve(batch, { history: [], historyMs: CONTRACT_HISTORY_MS })).toBe(true);
        const state = await store.users.load(uid(6), T + 1, CONTRACT_HISTORY_MS);
        expect(state.history.map((e) => e.reservationId).sort()).toEqual(batch.map((r) => r.id).sort());
        await store.users.unreserve(
          uid(6),
          batch.slice(0, 30).map((r) => r.id),
        );
        const after = await store.users.load(uid(6), T + 1, CONTRACT_HISTORY_MS);
        expect(after.history.map((e) => e.reservationId).sort()).toEqual(
          batch
            .slice(30)
            .map((r) => r.id)
            .sort(),
        );
      });

      it('refuses a response decided on a history a concurrent response changed, storing nothing', async () => {
        const { c, k } = await seed();
        // A snapshot: a backend may hand out its live cached state.
        const seen = { ...(await store.users.load(uid(7), T, CONTRACT_HISTORY_MS)) };
        seen.history = [...seen.history];
        const first = reservation(c, k, uid(7));
        expect(await store.users.reserve([first], { history: seen.history, historyMs: CONTRACT_HISTORY_MS })).toBe(true);
        // Decided on the same (now stale) history: refused.
        const second = reservation(c, k, uid(7));
        expect(await store.users.reserve([second], { history: seen.history, historyMs: CONTRACT_HISTORY_MS })).toBe(false);
        expect(await store.users.reservation(uid(7), second.id)).toBeUndefined();
        // Decided again on the history as it is now: stored.
        const fresh = await store.users.load(uid(7), T, CONTRACT_HISTORY_MS);
        expect(await store.users.reserve([second], { history: fresh.history, historyMs: CONTRACT_HISTORY_MS })).toBe(true);
        expect((await store.users.load(uid(7), T, CONTRACT_HISTORY_MS)).history.map((e) => e.reservationId).sort()).toEqual(
          [first.id, second.id].sort(),
        );
      });

      it('refuses a stale decision also when the user left the cache between the decision and the reserve', async () => {
        const { c, k } = await seed();
        const seen = { ...(await store.users.load(uid(10), T, CONTRACT_HISTORY_MS)) };
        seen.history = [...seen.history];
        expect(
          await store.users.reserve([reservation(c, k, uid(10))], { history: seen.history, historyMs: CONTRACT_HISTORY_MS }),
        ).toBe(true);
        // Other users loaded meanwhile: a small cache drops uid(10), so the check must read it again.
        for (const other of [11, 12]) await store.users.load(uid(other), T, CONTRACT_HISTORY_MS);
        const stale = reservation(c, k, uid(10));
        expect(await store.users.reserve([stale], { history: seen.history, historyMs: CONTRACT_HISTORY_MS })).toBe(false);
        expect(await store.users.reservation(uid(10), stale.id)).toBeUndefined();
      });

      it('unreserves a refused reservation of its user only: it stops counting toward caps at once', async () => {
        const { c, k } = await seed();
        const { c: c2, k: k2 } = await seed();
        const kept = reservation(c, k, uid(8));
        const refused = reservation(c2, k2, uid(8));
        const seen = { ...(await store.users.load(uid(8), T, CONTRACT_HISTORY_MS)) };
        seen.history = [...seen.history];
        expect(await store.users.reserve([kept, refused], { history: seen.history, historyMs: CONTRACT_HISTORY_MS })).toBe(true);
        const other = reservation(c2, k2, uid(9));
        await store.users.reserve([other]);
        // Another user's id and an unknown id are ignored; an empty list is no call at all.
        await store.users.unreserve(uid(8), [refused.id, other.id, 'r_unknown']);
        await store.users.unreserve(uid(8), []);
        expect(await store.users.reservation(uid(8), refused.id)).toBeUndefined();
        expect(await store.users.reservation(uid(8), kept.id)).toEqual(stored(kept));
        expect(await store.users.reservation(uid(9), other.id)).toEqual(stored(other));
        const after = await store.users.load(uid(8), T + 1, CONTRACT_HISTORY_MS);
        expect(after.history.map((e) => e.reservationId)).toEqual([kept.id]);
        // A response decided on the history that still held the refused reservation gained nothing since: stored.
        const withRefused = [...after.history, { ...after.history[0], reservationId: refused.id, campaignId: c2.id }];
        const next = reservation(c, k, uid(8));
        expect(await store.users.reserve([next], { history: withRefused, historyMs: CONTRACT_HISTORY_MS })).toBe(true);
        // Erase finds no hold of the refused reservation to give back, and removes the rest.
        await store.users.erase(uid(8));
        expect(await store.users.reservation(uid(8), kept.id)).toBeUndefined();
      });

      it('blocks, lists and unblocks advertisers per user', async () => {
        await store.users.block(uid(1), 'adv_a', T);
        await store.users.block(uid(1), 'adv_b', T + 1);
        await store.users.block(uid(1), 'adv_a', T + 2);
        await store.users.block(uid(2), 'adv_c', T);
        expect((await store.users.blocks(uid(1))).sort()).toEqual(['adv_a', 'adv_b']);
        expect([...(await store.users.load(uid(1), T + 3, CONTRACT_HISTORY_MS)).blocks].sort()).toEqual(['adv_a', 'adv_b']);
        await store.users.unblock(uid(1), 'adv_a');
        await store.users.unblock(uid(1), 'adv_never');
        expect(await store.users.blocks(uid(1))).toEqual(['adv_b']);
        expect([...(await store.users.load(uid(1), T + 4, CONTRACT_HISTORY_MS)).blocks]).toEqual(['adv_b']);
        expect(await store.users.blocks(uid(2))).toEqual(['adv_c']);
      });

      it('erase removes every row carrying the uid, and only that uid', async () => {
        const { c, k } = await seed();
        const r = await serve(c, k, uid(1));
        const hidden = await serve(c, k, uid(1), { servedAt: T + 1, expiresAt: T + 1 + TTL });
        const other = await serve(c, k, uid(2));
        await store.users.block(uid(1), 'adv_x', T);
        await store.ledger.record([event(r, 'impression'), event(hidden, 'hide'), event(hidden, 'report')], T + 10, rules(2));
        await store.ledger.record([event(other, 'impression')], T + 10, rules(2));

        await store.users.erase(uid(1));
        const state = await store.users.load(uid(1), T + 20, CONTRACT_HISTORY_MS);
        expect(state.history).toEqual([]);
        expect([...state.blocks]).toEqual([]);
        expect([...state.hides]).toEqual([]);
        expect(await store.users.blocks(uid(1))).toEqual([]);
        expect(await store.users.reservation(r.uid, r.id)).toBeUndefined();
        expect(await store.users.reservation(hidden.uid, hidden.id)).toBeUndefined();
        // Its events are gone: a replay is not a duplicate, it has nothing to attach to.
        const replay = await store.ledger.record([event(r, 'impression')], T + 30, rules(2));
        expect(replay.outcomes).toEqual([{ status: 'rejected', reason: expect.any(String) }]);
        // Its report no longer counts toward review.
        const third = await serve(c, k, uid(3), { servedAt: T + 40, expiresAt: T + 40 + TTL });
        const reported = await store.ledger.record([event(third, 'report')], T + 41, rules(2));
        expect(reported.sentToReview).toEqual([]);
        expect((await store.catalog.getCreative(k.id))?.review).toBe('approved');
        // Other users are untouched.
        expect(await store.users.reservation(other.uid, other.id)).toMatchObject({ uid: uid(2) });
        expect((await store.users.load(uid(2), T + 50, CONTRACT_HISTORY_MS)).history.map((e) => e.reservationId)).toEqual([
          other.id,
        ]);
        expect((await store.ledger.record([event(other, 'impression')], T + 50, rules(2))).outcomes).toEqual([
          { status: 'duplicate' },
        ]);
      });

      it('erase never leaves budget held past the erased reservations’ expiry', async () => {
        const { c, k } = await seed({ budget: { totalMicros: 1000 } });
        const campaign = await servableOf(c.id);
        await serve(c, k, uid(1));
        expect(
          await store.budgets.tryHold({ campaign, reservationId: 'r_more', amountMicros: 1000, expiresAt: T + TTL }, T),
        ).toBe(false);
        await store.users.erase(uid(1));
        // A backend may release at once (SQLite does) or let the hold lapse; never later than the token's expiry.
        expect(budget(store, c.id, T + TTL).heldMicros).toBe(0);
        expect(
          await store.budgets.tryHold(
            { campaign, reservationId: 'r_later', amountMicros: 1000, expiresAt: T + 2 * TTL },
            T + TTL,
          ),
        ).toBe(true);
      });
    });

    describe('budgets', () => {
      it('starts at zero and holds within budget only', async () => {
        const { c } = await seed({ budget: { dailyMicros: 3000, totalMicros: 5000 } });
        const campaign = await servableOf(c.id);
        expect(budget(store, c.id, T)).toEqual({ spentTodayMicros: 0, spentTotalMicros: 0, heldMicros: 0 });
        const hold = (id: string, amountMicros: number, now = T) =>
          store.budgets.tryHold({ campaign, reservationId: id, amountMicros, expiresAt: now + TTL }, now);
        expect(await hold('r1', 2000)).toBe(true);
        expect(await hold('r2', 1001)).toBe(false);
        expect(await hold('r3', 1000)).toBe(true);
        expect(await hold('r4', 1)).toBe(false);
        expect(budget(store, c.id, T).heldMicros).toBe(3000);
        // Holds lapse when their reservations expire.
        expect(budget(store, c.id, T + TTL).heldMicros).toBe(0);
        expect(await hold('r5', 3000, T + TTL)).toBe(true);
      });

      it('never lets holds and spend exceed a budget, whatever the sequence', async () => {
        const { c, k } = await seed({ budget: { totalMicros: 10_000 } });
        const campaign = await servableOf(c.id);
        let now = T;
        for (let i = 0; i < 40; i++) {
          now += 60_000;
          const r = reservation(c, k, uid(i % 3), { servedAt: now, expiresAt: now + TTL, priceMicros: 500 + ((i * 37) % 900) });
          if (await hold(campaign, r, now)) {
            await store.users.reserve([r]);
            if (i % 2 === 0) await store.ledger.record([event(r, 'impression')], now + 1, rules());
          }
          const view = budget(store, c.id, now + 1);
          expect(view.spentTotalMicros + view.heldMicros).toBeLessThanOrEqual(10_000);
        }
        expect(budget(store, c.id, now + 1).spentTotalMicros).toBeGreaterThan(5_000);
      });

      it('release gives a hold back at once; releasing twice or unknown holds is harmless', async () => {
        const { c } = await seed({ budget: { totalMicros: 1000 } });
        const campaign = await servableOf(c.id);
        expect(await store.budgets.tryHold({ campaign, reservationId: 'r_a', amountMicros: 1000, expiresAt: T + TTL }, T)).toBe(
          true,
        );
        expect(await store.budgets.tryHold({ campaign, reservationId: 'r_b', amountMicros: 1, expiresAt: T + TTL }, T)).toBe(
          false,
        );
        await store.budgets.release(c.id, 'r_a');
        await store.budgets.release(c.id, 'r_a');
        await store.budgets.release(c.id, 'r_unknown');
        await store.budgets.release('cmp_unknown', 'r_a');
        expect(budget(store, c.id, T).heldMicros).toBe(0);
        expect(await store.budgets.tryHold({ campaign, reservationId: 'r_b', amountMicros: 1000, expiresAt: T + TTL }, T)).toBe(
          true,
        );
      });

      it('a lowered budget cuts outstanding holds: spend never exceeds the budget in force', async () => {
        const { c, k } = await seed({ budget: { totalMicros: 10_000 } });
        const served: Reservation[] = [];
        for (let i = 0; i < 10; i++) served.push(await serve(c, k, uid(i), { priceMicros: 1000 }));
        expect(budget(store, c.id, T + 1).heldMicros).toBe(10_000);
        const lowered = await store.catalog.updateCampaign(c.id, { budget: { totalMicros: 3000 } }, T + 1);
        await store.budgets.limit(lowered!, T + 1);
        const cut = budget(store, c.id, T + 2);
        expect(cut.spentTotalMicros + cut.heldMicros).toBeLessThanOrEqual(3000);
        const result = await store.ledger.record(
          served.map((r) => event(r, 'impression')),
          T + 10,
          rules(),
        );
        expect(result.outcomes.every((o) => o.status === 'accepted')).toBe(true);
        expect(budget(store, c.id, T + 11)).toEqual({ spentTodayMicros: 3000, spentTotalMicros: 3000, heldMicros: 0 });
        const [row] = await store.ledger.report(c.id, '2026-11-25', '2026-11-25');
        expect(row).toMatchObject({ impressions: 10, spendMicros: 3000 });
        // A lowered daily budget binds the same way.
        const { c: d, k: dk } = await seed({ budget: { dailyMicros: 5000 } });
        const daily = [await serve(d, dk, uid(1), { priceMicros: 2000 }), await serve(d, dk, uid(2), { priceMicros: 2000 })];
        await store.budgets.limit((await store.catalog.updateCampaign(d.id, { budget: { dailyMicros: 2500 } }, T + 1))!, T + 1);
        await store.ledger.record(
          daily.map((r) => event(r, 'impression')),
          T + 10,
          rules(),
        );
        expect(budget(store, d.id, T + 11).spentTodayMicros).toBe(2500);
      });

      it('the budget in force binds across event batches recorded one after another, and a new UTC day starts from its own spend', async () => {
        const { c, k } = await seed({ budget: { dailyMicros: 2000, totalMicros: 4000 } });
        for (let i = 0; i < 2; i++) {
          const r = await serve(c, k, uid(i), { priceMicros: 1000 });
          await store.ledger.record([event(r, 'impression')], T + 10 + i, rules());
        }
        expect(budget(store, c.id, T + 20)).toMatchObject({ spentTodayMicros: 2000, spentTotalMicros: 2000 });
        const tomorrow = T + DAY;
        const next: Reservation[] = [];
        for (let i = 0; i < 2; i++) {
          next.push(await serve(c, k, uid(10 + i), { priceMicros: 1000, servedAt: tomorrow, expiresAt: tomorrow + TTL }));
        }
        const lowered = await store.catalog.updateCampaign(c.id, { budget: { dailyMicros: 2000, totalMicros: 3500 } }, tomorrow);
        await store.budgets.limit(lowered!, tomorrow);
        // Each batch its own commit: the second finds what the first spent, in total and today.
        for (const [i, r] of next.entries()) await store.ledger.record([event(r, 'impression')], tomorrow + 10 + i, rules());
        // Spend as the reports have it: what the total in force leaves, 1500 of the two 1000 impressions, also when
        // the budget is split over shards (the cut leaves each shard a share of what is left, on both budgets'
        // ceilings: a shard whose daily ceiling fell with its cut holds once charged them nothing).
        const days = await store.ledger.report(c.id, '2026-11-25', '2026-11-26');
        expect(days.map((d) => [d.date, d.impressions])).toEqual([
          ['2026-11-25', 2],
          ['2026-11-26', 2],
        ]);
        expect(days[0].spendMicros).toBe(2000);
        expect(days[1].spendMicros).toBe(1500);
      });

      it('an unbounded campaign always holds', async () => {
        const { c } = await seed();
        const campaign = await servableOf(c.id);
        for (let i = 0; i < 5; i++) {
          expect(
            await store.budgets.tryHold({ campaign, reservationId: `r${i}`, amountMicros: 1e9, expiresAt: T + TTL }, T),
          ).toBe(true);
        }
      });

      it('daily spend resets at the UTC day; total spend does not', async () => {
        const { c, k } = await seed({ budget: { dailyMicros: 1000, totalMicros: 1500 } });
        const r = await serve(c, k, uid(1));
        await store.ledger.record([event(r, 'impression')], T + 1, rules());
        expect(budget(store, c.id, T + 2)).toEqual({ spentTodayMicros: 1000, spentTotalMicros: 1000, heldMicros: 0 });
        const campaign = await servableOf(c.id);
        expect(
          await store.budgets.tryHold({ campaign, reservationId: 'r_today', amountMicros: 1, expiresAt: T + TTL }, T + 2),
        ).toBe(false);
        const tomorrow = T + DAY;
        expect(budget(store, c.id, tomorrow)).toEqual({ spentTodayMicros: 0, spentTotalMicros: 1000, heldMicros: 0 });
        expect(
          await store.budgets.tryHold(
            { campaign, reservationId: 'r_tomorrow', amountMicros: 600, expiresAt: tomorrow + TTL },
            tomorrow,
          ),
        ).toBe(false);
        expect(
          await store.budgets.tryHold(
            { campaign, reservationId: 'r_tomorrow2', amountMicros: 500, expiresAt: tomorrow + TTL },
            tomorrow,
          ),
        ).toBe(true);
      });
    });

    describe('ledger', () => {
      it('accepts an event once: duplicates in the same batch and across batches', async () => {
        const { c, k } = await seed();
        const r = await serve(c, k, uid(1));
        const first = await store.ledger.record(
          [event(r, 'impression'), event(r, 'impression'), event(r, 'click')],
          T + 10,
          rules(),
        );
        expect(first.outcomes).toEqual([{ status: 'accepted' }, { status: 'duplicate' }, { status: 'accepted' }]);
        const again = await store.ledger.record([event(r, 'click'), event(r, 'impression'), event(r, 'hide')], T + 20, rules());
        expect(again.outcomes).toEqual([{ status: 'duplicate' }, { status: 'duplicate' }, { status: 'accepted' }]);
        const [row] = await store.ledger.report(c.id, '2026-11-25', '2026-11-25');
        expect(row).toMatchObject({ impressions: 1, clicks: 1, hides: 1 });
      });

      it('rejects unknown reservations and claims that do not match the reservation', async () => {
        const { c, k } = await seed();
        const { c: otherCampaign } = await seed();
        const r = await serve(c, k, uid(1));
        const result = await store.ledger.record(
          [
            { ...event(r, 'impression'), reservationId: 'r_unknown' },
            { ...event(r, 'impression'), uid: uid(9) },
            { ...event(r, 'impression'), campaignId: otherCampaign.id },
            { ...event(r, 'impression'), creativeId: 'crv_other' },
            event(r, 'impression'),
          ],
          T + 10,
          rules(),
        );
        expect(result.outcomes.slice(0, 4)).toEqual([
          { status: 'rejected', reason: expect.any(String) },
          { status: 'rejected', reason: expect.any(String) },
          { status: 'rejected', reason: expect.any(String) },
          { status: 'rejected', reason: expect.any(String) },
        ]);
        expect(result.outcomes[4]).toEqual({ status: 'accepted' });
        // Counted under the reservation's creative only.
        const rows = await store.ledger.report(c.id, '2026-11-25', '2026-11-25', 'creative');
        expect(rows).toEqual([expect.objectContaining({ creativeId: r.creativeId, impressions: 1 })]);
      });

      it('converts the reservation on impression: it keeps counting after its token expires', async () => {
        const { c, k } = await seed();
        const r = await serve(c, k, uid(1));
        await store.ledger.record([event(r, 'impression')], T + 100, rules());
        expect(await store.users.reservation(r.uid, r.id)).toMatchObject({ id: r.id, viewedAt: T + 100 });
        const state = await store.users.load(uid(1), T + TTL + 60_000, CONTRACT_HISTORY_MS);
        expect(state.history).toEqual([expect.objectContaining({ reservationId: r.id, viewed: true })]);
      });

      it('charges a cpm reservation once, on its impression, at its price', async () => {
        const { c, k } = await seed({ budget: { totalMicros: 100_000 } });
        const r = await serve(c, k, uid(1), { priceMicros: 1234 });
        expect(budget(store, c.id, T + 1)).toEqual({ spentTodayMicros: 0, spentTotalMicros: 0, heldMicros: 1234 });
        await store.ledger.record([event(r, 'click'), event(r, 'impression'), event(r, 'impression')], T + 10, rules());
        await store.ledger.record([event(r, 'impression')], T + 20, rules());
        expect(budget(store, c.id, T + 30)).toEqual({ spentTodayMicros: 1234, spentTotalMicros: 1234, heldMicros: 0 });
        expect((await store.users.reservation(r.uid, r.id))?.chargedAt).toBe(T + 10);
        const [row] = await store.ledger.report(c.id, '2026-11-25', '2026-11-25');
        expect(row).toMatchObject({ impressions: 1, clicks: 1, spendMicros: 1234 });
      });

      it('charges a cpc reservation once, on its click', async () => {
        const { c, k } = await seed({ bid: { type: 'cpc', amountMicros: 400_000 }, budget: { totalMicros: 1_000_000 } });
        const r = await serve(c, k, uid(1), { priceMicros: 250_000 });
        await store.ledger.record([event(r, 'impression')], T + 10, rules());
        expect(budget(store, c.id, T + 11)).toMatchObject({ spentTotalMicros: 0, heldMicros: 250_000 });
        await store.ledger.record([event(r, 'click'), event(r, 'click')], T + 20, rules());
        await store.ledger.record([event(r, 'click')], T + 30, rules());
        expect(budget(store, c.id, T + 31)).toEqual({ spentTodayMicros: 250_000, spentTotalMicros: 250_000, heldMicros: 0 });
        const [row] = await store.ledger.report(c.id, '2026-11-25', '2026-11-25');
        expect(row).toMatchObject({ impressions: 1, clicks: 1, spendMicros: 250_000 });
      });

      it('hide and block events change the user’s state', async () => {
        const { c, k } = await seed();
        const r = await serve(c, k, uid(1));
        const result = await store.ledger.record([event(r, 'hide'), event(r, 'block')], T + 10, rules());
        expect(result.outcomes).toEqual([{ status: 'accepted' }, { status: 'accepted' }]);
        const state = await store.users.load(uid(1), T + 11, CONTRACT_HISTORY_MS);
        expect([...state.hides]).toEqual([k.id]);
        expect([...state.blocks]).toEqual([c.advertiserId]);
        expect(await store.users.blocks(uid(1))).toEqual([c.advertiserId]);
        expect([...(await store.users.load(uid(2), T + 11, CONTRACT_HISTORY_MS)).hides]).toEqual([]);
      });

      it('sends a creative back to review at the threshold of distinct reporters', async () => {
        const { c, k } = await seed();
        const before = await store.catalog.version();
        const r1 = await serve(c, k, uid(1));
        const r1b = await serve(c, k, uid(1), { servedAt: T + 1, expiresAt: T + 1 + TTL });
        const r2 = await serve(c, k, uid(2));
        const r3 = await serve(c, k, uid(3));
        // The same user reporting twice counts once.
        const first = await store.ledger.record(
          [event(r1, 'report'), event(r1b, 'report'), event(r2, 'report')],
          T + 10,
          rules(3),
        );
        expect(first.sentToReview).toEqual([]);
        expect((await store.catalog.getCreative(k.id))?.review).toBe('approved');
        const second = await store.ledger.record([event(r3, 'report')], T + 20, rules(3));
        expect(second.outcomes).toEqual([{ status: 'accepted' }]);
        expect(second.sentToReview).toEqual([k.id]);
        expect((await store.catalog.getCreative(k.id))?.review).toBe('pending');
        expect(await store.catalog.version()).toBeGreaterThan(before);
        expect((await servableOf(c.id)).creatives).toEqual([]);
        const [row] = await store.ledger.report(c.id, '2026-11-25', '2026-11-25');
        expect(row.reports).toBe(4);
      });

      it('after an operator re-approves a creative, only new reports count toward the threshold', async () => {
        const { c, k } = await seed();
        const first = [await serve(c, k, uid(1)), await serve(c, k, uid(2))];
        expect(
          (
            await store.ledger.record(
              first.map((r) => event(r, 'report')),
              T + 10,
              rules(2),
            )
          ).sentToReview,
        ).toEqual([k.id]);
        await store.catalog.setReview(k.id, 'approved', null, T + 20);
        // One new reporter, and an earlier reporter reporting again, make two distinct reporters since the review.
        const third = await serve(c, k, uid(3), { servedAt: T + 30, expiresAt: T + 30 + TTL });
        expect((await store.ledger.record([event(third, 'report')], T + 31, rules(2))).sentToReview).toEqual([]);
        expect((await store.catalog.getCreative(k.id))?.review).toBe('approved');
        const again = await serve(c, k, uid(1), { servedAt: T + 40, expiresAt: T + 40 + TTL });
        expect((await store.ledger.record([event(again, 'report')], T + 41, rules(2))).sentToReview).toEqual([k.id]);
        expect((await store.catalog.getCreative(k.id))?.review).toBe('pending');
      });

      it('reports one row per UTC day with activity, within the range, in order', async () => {
        const { c, k } = await seed();
        const { c: other, k: otherK } = await seed();
        const day1 = T;
        const day2 = T + DAY;
        const day4 = T + 3 * DAY;
        const a = await serve(c, k, uid(1), { servedAt: day1, expiresAt: day1 + TTL, priceMicros: 1000 });
        const b = await serve(c, k, uid(2), { servedAt: day1, expiresAt: day1 + TTL, priceMicros: 1000 });
        const d = await serve(c, k, uid(1), { servedAt: day2, expiresAt: day2 + TTL, priceMicros: 700 });
        const e = await serve(c, k, uid(3), { servedAt: day4, expiresAt: day4 + TTL, priceMicros: 900 });
        const x = await serve(other, otherK, uid(1));
        await store.ledger.record(
          [event(a, 'impression'), event(b, 'impression'), event(b, 'report'), event(a, 'click')],
          day1 + 10,
          rules(),
        );
        await store.ledger.record([event(x, 'impression')], day1 + 10, rules());
        await store.ledger.record([event(d, 'impression'), event(d, 'hide'), event(d, 'block')], day2 + 10, rules());
        await store.ledger.record([event(e, 'impression')], day4 + 10, rules());

        const rows = await store.ledger.report(c.id, '2026-11-25', '2026-11-30');
        expect(rows).toEqual([
          {
            date: '2026-11-25',
            impressions: 2,
            reach: 2,
            clicks: 1,
            hides: 0,
            reports: 1,
            blocks: 0,
            spendMicros: 2000,
            videoStarts: 0,
            videoFirstQuartiles: 0,
            videoMidpoints: 0,
            videoThirdQuartiles: 0,
            videoCompletes: 0,
          },
          {
            date: '2026-11-26',
            impressions: 1,
            reach: 1,
            clicks: 0,
            hides: 1,
            reports: 0,
            blocks: 1,
            spendMicros: 700,
            videoStarts: 0,
            videoFirstQuartiles: 0,
            videoMidpoints: 0,
            videoThirdQuartiles: 0,
            videoCompletes: 0,
          },
          {
            date: '2026-11-28',
            impressions: 1,
            reach: 1,
            clicks: 0,
            hides: 0,
            reports: 0,
            blocks: 0,
            spendMicros: 900,
            videoStarts: 0,
            videoFirstQuartiles: 0,
            videoMidpoints: 0,
            videoThirdQuartiles: 0,
            videoCompletes: 0,
          },
        ]);
        expect((await store.ledger.report(c.id, '2026-11-26', '2026-11-27')).map((r) => r.date)).toEqual(['2026-11-26']);
        expect(await store.ledger.report(c.id, '2026-12-01', '2026-12-31')).toEqual([]);
        expect(await store.ledger.report('cmp_missing', '2026-11-25', '2026-11-30')).toEqual([]);
      });

      it('estimates reach as unique users without double counting a returning user', async () => {
        const { c, k } = await seed();
        let now = T;
        for (let i = 0; i < 60; i++) {
          now += 1000;
          const r = await serve(c, k, uid(i % 20), { servedAt: now, expiresAt: now + TTL });
          await store.ledger.record([event(r, 'impression')], now + 1, rules());
        }
        const [row] = await store.ledger.report(c.id, '2026-11-25', '2026-11-25');
        expect(row.impressions).toBe(60);
        expect(row.reach).toBeGreaterThanOrEqual(19);
        expect(row.reach).toBeLessThanOrEqual(21);
      });
    });

    describe('prune', () => {
      it('drops history no cap or token needs, and keeps what they do', async () => {
        const { c, k } = await seed();
        const oldViewed = await serve(c, k, uid(1));
        const oldUnviewed = await serve(c, k, uid(1));
        await store.ledger.record([event(oldViewed, 'impression')], T + 10, rules());
        const later = T + 3 * DAY;
        const live = await serve(c, k, uid(1), { servedAt: later, expiresAt: later + TTL });
        const recentExpired = await serve(c, k, uid(2), { servedAt: later - TTL - 1000, expiresAt: later - 1000 });
        const recentViewed = await serve(c, k, uid(2), { servedAt: later - TTL - 1000, expiresAt: later - 1000 });
        await store.ledger.record([event(recentViewed, 'impression')], later - TTL, rules());

        const removed = await store.prune(later, CONTRACT_HISTORY_MS);
        expect(removed).toBeGreaterThanOrEqual(2);
        expect(await store.users.reservation(oldViewed.uid, oldViewed.id)).toBeUndefined();
        expect(await store.users.reservation(oldUnviewed.uid, oldUnviewed.id)).toBeUndefined();
        expect(await store.users.reservation(recentExpired.uid, recentExpired.id)).toBeUndefined();
        expect(await store.users.reservation(live.uid, live.id)).toBeDefined();
        expect(await store.users.reservation(recentViewed.uid, recentViewed.id)).toBeDefined();
        expect((await store.users.load(uid(1), later, CONTRACT_HISTORY_MS)).history.map((e) => e.reservationId)).toEqual([
          live.id,
        ]);
        expect((await store.users.load(uid(2), later, CONTRACT_HISTORY_MS)).history.map((e) => e.reservationId)).toEqual([
          recentViewed.id,
        ]);
        // Aggregates survive pruning.
        const [row] = await store.ledger.report(c.id, '2026-11-25', '2026-11-25');
        expect(row.impressions).toBe(1);
        // A second prune at the same time finds nothing more.
        expect(await store.prune(later, CONTRACT_HISTORY_MS)).toBe(0);
      });
    });
  });
}
