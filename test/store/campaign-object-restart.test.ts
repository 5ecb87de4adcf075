/**
 * A campaign object that starts afresh over kept storage (after eviction or a restart) and
 * whose first call charges a held reservation: its running hold totals are built from the
 * table once, and the charged hold is taken off them once (inside workerd).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import { reservation, servedCampaign, T, TTL } from '../helpers/store-records.js';
import { makeWorkerStore } from '../helpers/worker-store.js';

const uid = (n: number) => createHash('sha256').update(`restart-${n}`).digest('hex');

describe('a campaign object started afresh over kept storage (workerd)', () => {
  it('a first call that charges one of two holds leaves the other held, so the budget admits no extra hold', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'status-ads-campaign-restart-'));
    try {
      const first = await makeWorkerStore({}, { dataDir });
      // Two holds of 1000 fill the budget.
      const { servable, creative: creativeRecord } = await servedCampaign(first.store, { budget: { totalMicros: 2000 } });
      const hold = (store: typeof first.store, n: number) => {
        const r = reservation(servable, creativeRecord, uid(n), { servedAt: T, expiresAt: T + TTL });
        return Promise.resolve(
          store.budgets.tryHold({ campaign: servable, reservationId: r.id, amountMicros: 1000, expiresAt: r.expiresAt }, T),
        ).then((held) => ({ r, held }));
      };
      const r1 = await hold(first.store, 1);
      const r2 = await hold(first.store, 2);
      expect([r1.held, r2.held]).toEqual([true, true]);
      await first.store.users.reserve([r1.r, r2.r]);
      await first.close();

      const second = await makeWorkerStore({}, { dataDir });
      try {
        // The campaign object's first call after the restart: the outbox charges r1.
        const { r } = r1;
        await second.store.ledger.record(
          [{ type: 'impression', reservationId: r.id, uid: r.uid, campaignId: r.campaignId, creativeId: r.creativeId }],
          T + 10,
          { effect: eventEffect, reportThreshold: 5 },
        );
        const own = await second.shard.own(servable.id, 0, T + 11);
        expect(own).toMatchObject({ spentTotalMicros: 1000, heldMicros: 1000 });
        // Spend 1000 + r2 held 1000 = the budget: nothing more is held.
        expect((await hold(second.store, 3)).held).toBe(false);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
