import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { Reservation, VerifiedEvent } from '../../src/store/interface.js';
import { makeService, type TestService } from '../helpers/service.js';

/** Reach must count exactly what was committed, whatever the ledger keeps in memory (e.g. parsed sketches). */
describe('ledger reach after a failed batch', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await makeService();
  });
  afterEach(() => s.close());

  const rules = { effect: eventEffect, reportThreshold: 5 };
  const uid = (i: number) => createHash('sha256').update(String(i)).digest('hex');

  async function reserve(
    campaignId: string,
    creativeId: string,
    advertiserId: string,
    users: number[],
  ): Promise<VerifiedEvent[]> {
    const now = s.clock.now;
    const reservations: Reservation[] = users.map((i) => ({
      id: `r-${i}`,
      uid: uid(i),
      campaignId,
      creativeId,
      advertiserId,
      bidType: 'cpm',
      priceMicros: 100,
      servedAt: now,
      expiresAt: now + 60_000,
      viewedAt: null,
      chargedAt: null,
      country: '',
      platform: '',
      video: false,
    }));
    await s.store.users.reserve(reservations);
    return reservations.map((r) => ({ type: 'impression', reservationId: r.id, uid: r.uid, campaignId, creativeId }));
  }

  it('a batch that rolls back leaves reach as it was, and later batches count correctly', async () => {
    const { campaignId, creativeId, advertiser } = await s.seedCampaign();
    const day = new Date(s.clock.now).toISOString().slice(0, 10);
    const reach = async () => (await s.store.ledger.report(campaignId, day, day))[0]?.reach ?? 0;
    const events = await reserve(
      campaignId,
      creativeId,
      advertiser.id,
      Array.from({ length: 60 }, (_, i) => i),
    );

    await s.store.ledger.record(events.slice(0, 20), s.clock.now, rules);
    expect(await reach()).toBe(20);

    // The 10th event of this batch fails after 9 impressions were added to the sketch (as a cache would hold it).
    const poisoned = events[29].reservationId;
    const failing = {
      ...rules,
      effect: (...args: Parameters<typeof eventEffect>) =>
        (args[0] as { id?: string }).id === poisoned ? failNow() : eventEffect(...args),
    };
    await expect(s.store.ledger.record(events.slice(20, 40), s.clock.now, failing)).rejects.toThrow('store down');
    expect(await reach()).toBe(20);

    // Other users next: a sketch that kept the rolled-back users would now say 49.
    await s.store.ledger.record(events.slice(40, 60), s.clock.now, rules);
    expect(await reach()).toBe(40);
    await s.store.ledger.record(events.slice(20, 40), s.clock.now, rules);
    expect(await reach()).toBe(60);
    const [row] = await s.store.ledger.report(campaignId, day, day);
    expect(row).toMatchObject({ impressions: 60, spendMicros: 6000 });
  });
});

function failNow(): never {
  throw new Error('store down');
}
