/**
 * A budget shard's event batch is one transaction in its Durable Object (campaign-object.ts `apply`): when a statement
 * fails midway, what the object keeps in memory beside its tables (running hold totals, spend) must match the
 * tables rolled back, so the batch delivered again charges exactly once and the shard holds no more than before.
 * Inside workerd (the objects' real SQLite storage), two shards per campaign.
 *
 * Not pinned here: `apply` also reads the shard's lease before its transaction (`if (capped) this.lease(now)`). That
 * line is defensive and not observable today: inside the transaction the lease is first read by the first charge's
 * `remainingMicros`, before any `addSpend`, and nothing before it writes what the lease is derived from (spend,
 * holds), so a lease derived there equals one derived before, on a shard with a saved lease or without one (a fresh
 * shard derives spend + held, unchanged until that first charge). Removing the line passes this test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignEffect } from '../../src/store/event-procedure.js';
import type { Reservation } from '../../src/store/interface.js';
import { reservation, servedCampaign, TTL, pseudonym as uid } from '../helpers/store-records.js';
import { makeWorkerStore } from '../helpers/worker-store.js';

describe('a budget shard whose event batch fails midway (workerd)', () => {
  let w: Awaited<ReturnType<typeof makeWorkerStore>>;
  beforeAll(async () => {
    w = await makeWorkerStore({ BUDGET_MIN_SHARDS: '2' });
  });
  afterAll(async () => {
    await w?.close();
  });

  it('changes nothing: its holds and spend are as before, and the batch delivered again charges once', async () => {
    const { store } = w;
    const { servable, creative: made } = await servedCampaign(store, { budget: { totalMicros: 10_000 } });

    // The object applies with its own clock: holds live now.
    const now = Date.now();
    const held: Reservation[] = [];
    for (let i = 0; held.length < 3 && i < 200; i++) {
      const r = reservation(servable, made, uid(i), { servedAt: now, expiresAt: now + TTL });
      if (store.budgets.shardFor?.(servable.id, r.id, now) !== 1) continue;
      r.budgetShard = 1;
      const took = await store.budgets.tryHold(
        { campaign: servable, reservationId: r.id, amountMicros: r.priceMicros, expiresAt: r.expiresAt, shard: 1 },
        now,
      );
      expect(took).toBe(true);
      held.push(r);
    }
    expect(held).toHaveLength(3);
    const effect = (r: Reservation, type: CampaignEffect['type'], chargeMicros: number): CampaignEffect => ({
      reservationId: r.id,
      type,
      campaignId: r.campaignId,
      creativeId: r.creativeId,
      country: '',
      platform: '',
      uid: r.uid,
      chargeMicros,
      at: now,
      shard: 1,
    });
    const charges = [effect(held[0], 'impression', 1000), effect(held[1], 'impression', 1000)];
    const before = await w.shard.own(servable.id, 1, now);
    expect(before).toMatchObject({ heldMicros: 3000, spentTodayMicros: 0, spentTotalMicros: 0 });

    // Two charges, then a report its table refuses (no reporter): the whole batch rolls back.
    const broken = { ...effect(held[2], 'report', 0), uid: null as unknown as string };
    await expect(w.shard.apply(servable.id, 1, [...charges, broken])).rejects.toThrow();
    expect(await w.shard.own(servable.id, 1, now)).toEqual(before);

    // Delivered again (without the bad item): charged once, the holds they charged gone, the third still held.
    await w.shard.apply(servable.id, 1, charges);
    const charged = await w.shard.own(servable.id, 1, now);
    expect(charged).toMatchObject({ heldMicros: 1000, spentTodayMicros: 2000, spentTotalMicros: 2000 });
    await w.shard.apply(servable.id, 1, charges);
    expect(await w.shard.own(servable.id, 1, now)).toEqual(charged);

    // The shard still holds within its lease and the campaign's budget: the rest of the budget is reachable, no more.
    let more = 0;
    for (let i = 0; i < 40; i++) {
      const r = reservation(servable, made, uid(1000 + i), { servedAt: now, expiresAt: now + TTL });
      const shard = store.budgets.shardFor?.(servable.id, r.id, now) ?? 0;
      if (
        await store.budgets.tryHold(
          { campaign: servable, reservationId: r.id, amountMicros: r.priceMicros, expiresAt: r.expiresAt, shard },
          now,
        )
      )
        more++;
    }
    // 10,000 of budget: 2,000 spent and 1,000 held before.
    expect(more).toBe(7);
  });
});
