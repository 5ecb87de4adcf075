/**
 * A user object's reservation numbers (the events key) after a prune and a restart: report events
 * outlive their pruned reservation, so an object started afresh over kept storage (eviction or a
 * restart) numbers its next reservation past them, and that reservation's report is its own, not a
 * duplicate of the pruned one's (inside workerd).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { Reservation, VerifiedEvent } from '../../src/store/interface.js';
import { advertiser, campaign, creative, media, reservation, T, TTL } from '../helpers/store-records.js';
import { makeWorkerStore } from '../helpers/worker-store.js';

const HISTORY_MS = 3_600_000;
const rules = { effect: eventEffect, reportThreshold: 5 };
const report = (r: Reservation): VerifiedEvent => ({
  type: 'report',
  reservationId: r.id,
  uid: r.uid,
  campaignId: r.campaignId,
  creativeId: r.creativeId,
});

describe('user object reservation numbers (workerd)', () => {
  it('a reservation served after a prune and a restart is numbered past the kept report events: its report is accepted', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'status-ads-user-numbers-'));
    try {
      const uid = createHash('sha256').update('user-numbers').digest('hex');
      const first = await makeWorkerStore({}, { dataDir });
      const owner = advertiser();
      await first.store.catalog.createAdvertiser(owner, `hash-${owner.id}`);
      const record = campaign(owner.id);
      await first.store.catalog.createCampaign(record);
      const image = media();
      await first.store.catalog.putMedia(image);
      const creativeRecord = creative(record, image.sha256, { review: 'approved' });
      await first.store.catalog.createCreative(creativeRecord);

      const r1 = reservation(record, creativeRecord, uid, { servedAt: T, expiresAt: T + TTL });
      await first.store.users.reserve([r1]);
      const number1 = (await first.store.users.reservation(uid, r1.id))?.number as number;
      expect(number1).toBeGreaterThan(0);
      expect((await first.store.ledger.record([report(r1)], T + 10, rules)).outcomes).toEqual([{ status: 'accepted' }]);
      // Past the history window: r1 goes, its report event stays (erase finds the campaigns the user reported through it).
      const later = T + HISTORY_MS + TTL;
      expect(await first.store.prune(later, HISTORY_MS)).toBeGreaterThan(0);
      expect(await first.store.users.reservation(uid, r1.id)).toBeUndefined();
      await first.close();

      // The same storage, a new object instance: it counts numbers from what the tables hold.
      const second = await makeWorkerStore({}, { dataDir });
      try {
        const r2 = reservation(record, creativeRecord, uid, { servedAt: later, expiresAt: later + TTL });
        await second.store.users.reserve([r2]);
        const number2 = (await second.store.users.reservation(uid, r2.id))?.number as number;
        expect(number2).toBeGreaterThan(number1);
        expect((await second.store.ledger.record([report(r2)], later + 10, rules)).outcomes).toEqual([{ status: 'accepted' }]);
        expect((await second.store.ledger.record([report(r2)], later + 20, rules)).outcomes).toEqual([{ status: 'duplicate' }]);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
