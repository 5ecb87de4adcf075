/**
 * Campaign budgets split over shard objects, inside workerd (BUDGET_MIN_SHARDS forces K):
 * concurrent holds never pass the budget and its last units stay usable, a budget cut
 * reaches every shard, reports add up across shards, and the coordinator's records
 * survive a restart. The contract suite runs the same way in workers-sharded.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { ServableCampaign } from '../../src/engine/types.js';
import type { CampaignRecord, Reservation, Store } from '../../src/store/interface.js';
import { reservation, servedCampaign, T, TTL, pseudonym as uid } from '../helpers/store-records.js';
import { makeWorkerStore } from '../helpers/worker-store.js';

const SHARDS = 4;
/** Pseudonyms are HMAC-SHA256 hex: uniformly random bits (the reach sketch relies on it). */

type WorkerStore = Awaited<ReturnType<typeof makeWorkerStore>>;

/** An advertiser, one campaign with `budget`, one approved creative; returns what serving needs. */
async function seed(store: Store, budget: CampaignRecord['budget']) {
  const { campaign, servable, creative } = await servedCampaign(store, { budget });
  return { campaign, servable, creativeId: creative.id };
}

function reservationAt(c: ServableCampaign, creativeId: string, user: string, now = T): Reservation {
  return reservation(c, { id: creativeId }, user, { servedAt: now, expiresAt: now + TTL });
}

/** Holds as delivery does: at the shard the store routes to, kept with the reservation. */
async function hold(store: Store, c: ServableCampaign, r: Reservation, now = T): Promise<boolean> {
  const shard = store.budgets.shardFor?.(c.id, r.id, now) ?? 0;
  if (shard > 0) r.budgetShard = shard;
  return store.budgets.tryHold(
    { campaign: c, reservationId: r.id, amountMicros: r.priceMicros, expiresAt: r.expiresAt, shard },
    now,
  );
}

/** Concurrent calls, 30 at a time (many more loopback connections at once can fail on a loaded machine). */
async function inWaves<T, R>(items: T[], call: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += 30) out.push(...(await Promise.all(items.slice(i, i + 30).map(call))));
  return out;
}

async function perShard(w: WorkerStore, campaignId: string, now: number) {
  return Promise.all(Array.from({ length: SHARDS }, (_, i) => w.shard.own(campaignId, i, now)));
}

describe(`campaign budgets over ${SHARDS} shard objects (workerd)`, () => {
  let w: WorkerStore;
  beforeAll(async () => {
    w = await makeWorkerStore({ BUDGET_MIN_SHARDS: String(SHARDS) });
  });
  afterAll(async () => {
    await w?.close();
  });

  it('concurrent holds spread over the shards never pass the budget, and its last units stay usable', async () => {
    const { store } = w;
    const { servable, creativeId } = await seed(store, { totalMicros: 40_000 });
    // 120 holds of 1000 against 40,000, 30 at a time, routed by reservation id to all shards.
    const first = reservationAt(servable, creativeId, uid(0));
    expect(await hold(store, servable, first)).toBe(true);
    const wave = Array.from({ length: 120 }, (_, i) => reservationAt(servable, creativeId, uid(i + 1)));
    const answers = await inWaves(wave, (r) => hold(store, servable, r));
    const shards = await perShard(w, servable.id, T);
    const held = shards.reduce((s, x) => s + x.heldMicros, 0);
    expect(held).toBeLessThanOrEqual(40_000);
    expect(held).toBe((answers.filter(Boolean).length + 1) * 1000);
    expect(shards.filter((x) => x.heldMicros > 0).length).toBeGreaterThan(1);
    // One at a time, the rest of the budget is still reachable from any shard (unspent leases are recalled).
    let more = 0;
    for (let i = 0; i < 60 && (await hold(store, servable, reservationAt(servable, creativeId, uid(500 + i)))); i++) more++;
    const after = await perShard(w, servable.id, T);
    expect(after.reduce((s, x) => s + x.heldMicros, 0)).toBe(40_000);
    expect(more).toBe(40 - 1 - answers.filter(Boolean).length);
  });

  it('a budget cut reaches every shard: spend + holds fit it everywhere, and no shard holds more', async () => {
    const { store } = w;
    const { campaign, servable, creativeId } = await seed(store, { dailyMicros: 60_000 });
    const served: Reservation[] = [];
    for (let i = 0; i < 40; i++) {
      const r = reservationAt(servable, creativeId, uid(1000 + i));
      expect(await hold(store, servable, r)).toBe(true);
      served.push(r);
    }
    for (const r of served) await store.users.reserve([r]);
    const before = await perShard(w, servable.id, T + 1);
    expect(before.filter((x) => x.heldMicros > 0).length).toBeGreaterThan(1);

    const lowered = (await store.catalog.updateCampaign(
      campaign.id,
      { budget: { dailyMicros: 10_000 } },
      T + 1,
    )) as CampaignRecord;
    await store.budgets.limit(lowered, T + 1);
    const cut = await perShard(w, servable.id, T + 2);
    expect(cut.reduce((s, x) => s + x.spentTodayMicros + x.heldMicros, 0)).toBeLessThanOrEqual(10_000);
    // Every shard that held more than its share lost holds, not just the coordinator.
    expect(cut.filter((x, i) => x.heldMicros < before[i].heldMicros).length).toBeGreaterThan(1);
    // Charges of every served slot: spend across shards reaches the new budget and never passes it.
    await store.ledger.record(
      served.map((r) => ({
        type: 'impression',
        reservationId: r.id,
        uid: r.uid,
        campaignId: r.campaignId,
        creativeId: r.creativeId,
      })),
      T + 10,
      { effect: eventEffect, reportThreshold: 5 },
    );
    const spent = await perShard(w, servable.id, T + 11);
    expect(spent.reduce((s, x) => s + x.spentTodayMicros, 0)).toBe(10_000);
    expect(spent.reduce((s, x) => s + x.heldMicros, 0)).toBe(0);
    // No shard holds anything more under the cut budget.
    const refreshed = { ...servable, budget: lowered.budget };
    for (let shard = 0; shard < SHARDS; shard++) {
      const r = reservationAt(refreshed, creativeId, uid(2000 + shard), T + 20);
      expect(
        await store.budgets.tryHold(
          { campaign: refreshed, reservationId: r.id, amountMicros: 1000, expiresAt: r.expiresAt, shard },
          T + 20,
        ),
      ).toBe(false);
    }
  });

  it('a cut of more holds than one statement can name releases them all', async () => {
    const { store } = w;
    const { campaign, servable, creativeId } = await seed(store, { totalMicros: 1_000_000 });
    const many = Array.from({ length: 150 }, (_, i) => reservationAt(servable, creativeId, uid(6000 + i)));
    // All on the coordinator's own shard: one object cuts 150 holds.
    const held = await inWaves(many, async (r) =>
      store.budgets.tryHold({ campaign: servable, reservationId: r.id, amountMicros: 1000, expiresAt: r.expiresAt, shard: 0 }, T),
    );
    expect(held.every(Boolean)).toBe(true);
    const paused = (await store.catalog.updateCampaign(campaign.id, { budget: { totalMicros: 0 } }, T + 1)) as CampaignRecord;
    await store.budgets.limit(paused, T + 1);
    expect((await perShard(w, servable.id, T + 2)).reduce((s, x) => s + x.heldMicros, 0)).toBe(0);
  });

  it('reports add every shard’s counters and spend once, and merge reach', async () => {
    const { store } = w;
    const { servable, creativeId } = await seed(store, {});
    const served: Reservation[] = [];
    for (let i = 0; i < 24; i++) {
      // 12 users, twice each: reach counts each once although their slots sit on different shards.
      const r = reservationAt(servable, creativeId, uid(3000 + (i % 12)));
      expect(await hold(store, servable, r)).toBe(true);
      await store.users.reserve([r]);
      served.push(r);
    }
    const event = (r: Reservation, type: 'impression' | 'click') => ({
      type,
      reservationId: r.id,
      uid: r.uid,
      campaignId: r.campaignId,
      creativeId: r.creativeId,
    });
    const rules = { effect: eventEffect, reportThreshold: 5 };
    await store.ledger.record(
      served.map((r) => event(r, 'impression')),
      T + 10,
      rules,
    );
    await store.ledger.record(
      served.slice(0, 5).map((r) => event(r, 'click')),
      T + 11,
      rules,
    );
    // A retried batch changes nothing.
    await store.ledger.record(
      served.map((r) => event(r, 'impression')),
      T + 12,
      rules,
    );
    const byShard = await Promise.all(
      Array.from({ length: SHARDS }, (_, i) => w.shard.rows(servable.id, i, '2026-11-25', '2026-11-25')),
    );
    expect(byShard.filter((rows: unknown[]) => rows.length > 0).length).toBeGreaterThan(1);
    const [row] = await store.ledger.report(servable.id, '2026-11-25', '2026-11-25');
    expect(row).toMatchObject({ impressions: 24, clicks: 5, spendMicros: 24 * 1000, reach: 12 });
  });
});

describe('a sharded campaign across a restart (workerd, storage kept)', () => {
  it('the coordinator’s records survive: leases granted before are still counted, so the budget is never handed out twice', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'status-ads-shards-'));
    try {
      const first = await makeWorkerStore({ BUDGET_MIN_SHARDS: String(SHARDS) }, { dataDir });
      const { servable, creativeId } = await seed(first.store, { totalMicros: 20_000 });
      let held = 0;
      for (let i = 0; i < 12; i++)
        if (await hold(first.store, servable, reservationAt(servable, creativeId, uid(4000 + i)))) held++;
      await first.close();

      const second = await makeWorkerStore({ BUDGET_MIN_SHARDS: String(SHARDS) }, { dataDir });
      try {
        for (let i = 0; i < 30; i++)
          if (await hold(second.store, servable, reservationAt(servable, creativeId, uid(5000 + i)))) held++;
        const shards = await perShard(second, servable.id, T);
        expect(shards.reduce((s, x) => s + x.heldMicros, 0)).toBe(20_000);
        expect(held).toBe(20);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
