/**
 * A campaign object reads its spend once per event batch and counts the batch's charges in memory (campaign-object.ts
 * `apply`, `spending`), then keeps the result for the next batch: every charge must still see the ones before it,
 * in the same batch and in the next one. Inside workerd (the object's real SQLite storage).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignEffect } from '../../src/store/event-procedure.js';
import type { Reservation } from '../../src/store/interface.js';
import { reservation, servedCampaign, TTL, pseudonym as uid } from '../helpers/store-records.js';
import { makeWorkerStore } from '../helpers/worker-store.js';

describe('a campaign object charging several events (workerd)', () => {
  let w: Awaited<ReturnType<typeof makeWorkerStore>>;
  beforeAll(async () => {
    w = await makeWorkerStore();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('charges within the budget across one batch and the next: each charge sees the spend before it', async () => {
    const { store } = w;
    const { servable, creative: made } = await servedCampaign(store, { budget: { totalMicros: 2500 } });

    // The object applies with its own clock: today's spend, the day it keeps in memory.
    const now = Date.now();
    // The budget in force, as the catalog tells it on a change (charges are bounded by it, not by holds alone).
    await store.budgets.limit(servable, now);
    const served = [0, 1, 2, 3].map((i) => reservation(servable, made, uid(i), { servedAt: now, expiresAt: now + TTL }));
    const charge = (r: Reservation): CampaignEffect => ({
      reservationId: r.id,
      type: 'impression',
      campaignId: r.campaignId,
      creativeId: r.creativeId,
      country: '',
      platform: '',
      uid: r.uid,
      chargeMicros: 1000,
      at: now,
    });
    // Before any spend is read: a first batch of three 1000 charges against 2500.
    await w.shard.apply(servable.id, 0, served.slice(0, 3).map(charge));
    expect(await w.shard.own(servable.id, 0, now)).toMatchObject({ spentTodayMicros: 2500, spentTotalMicros: 2500 });
    // The next batch starts from what the last one left: nothing more to spend.
    await w.shard.apply(servable.id, 0, [charge(served[3])]);
    expect(await w.shard.own(servable.id, 0, now)).toMatchObject({ spentTodayMicros: 2500, spentTotalMicros: 2500 });
    const [row] = await w.shard.rows(servable.id, 0, '2000-01-01', '2100-01-01');
    expect(row).toMatchObject({ impressions: 4, spendMicros: 2500 });
  });
});
