/**
 * A campaign object takes a user object's outbox rows once each (campaign-object.ts `apply`): rows are numbered in
 * order within their source, so the object keeps one mark per source (the last row it took) instead of a row per
 * effect. A row delivered again (its acknowledgement lost) is not applied again, a later row is, another source's
 * rows are its own, and an effect taken before by its (reservation, type) (the ledger before session 16) is not
 * taken again when its row comes with a number. Inside workerd (the object's real SQLite storage).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxEffect } from '../../src/store/durable-object/user-object.js';
import type { Reservation } from '../../src/store/interface.js';
import { reservation, servedCampaign, TTL, pseudonym as uid } from '../helpers/store-records.js';
import { makeWorkerStore } from '../helpers/worker-store.js';

describe('a campaign object taking outbox rows (workerd)', () => {
  let w: Awaited<ReturnType<typeof makeWorkerStore>>;
  beforeAll(async () => {
    w = await makeWorkerStore();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('applies each row once: a row delivered again is skipped, later rows and other sources are not', async () => {
    const { store } = w;
    const { servable, creative: made } = await servedCampaign(store);

    const now = Date.now();
    const served = [0, 1, 2, 3].map((i) => reservation(servable, made, uid(i), { servedAt: now, expiresAt: now + TTL }));
    const impression = (r: Reservation, outbox?: OutboxEffect['outbox']): OutboxEffect => ({
      reservationId: r.id,
      type: 'impression',
      campaignId: r.campaignId,
      creativeId: r.creativeId,
      country: '',
      platform: '',
      uid: r.uid,
      chargeMicros: 1000,
      at: now,
      ...(outbox ? { outbox } : {}),
    });
    const spent = async () => (await w.shard.own(servable.id, 0, now)).spentTotalMicros;
    const impressions = async () => (await w.shard.rows(servable.id, 0, '2000-01-01', '2100-01-01'))[0]?.impressions;

    // Taken by (reservation, type), then its row delivered again with a number: not again.
    await w.shard.apply(servable.id, 0, [impression(served[0])]);
    await w.shard.apply(servable.id, 0, [impression(served[0], { source: 'a', row: 1 })]);
    expect(await spent()).toBe(1000);
    // Row 2, then rows 2 and 3 (2's acknowledgement lost): 2 once, 3 once.
    await w.shard.apply(servable.id, 0, [impression(served[1], { source: 'a', row: 2 })]);
    await w.shard.apply(servable.id, 0, [
      impression(served[1], { source: 'a', row: 2 }),
      impression(served[2], { source: 'a', row: 3 }),
    ]);
    expect(await spent()).toBe(3000);
    // Another source's row 1 is its own.
    await w.shard.apply(servable.id, 0, [impression(served[3], { source: 'b', row: 1 })]);
    expect(await spent()).toBe(4000);
    // Every row seen once more: nothing.
    await w.shard.apply(servable.id, 0, [
      impression(served[0], { source: 'a', row: 1 }),
      impression(served[1], { source: 'a', row: 2 }),
      impression(served[2], { source: 'a', row: 3 }),
      impression(served[3], { source: 'b', row: 1 }),
    ]);
    expect(await spent()).toBe(4000);
    expect(await impressions()).toBe(4);
  });
});
