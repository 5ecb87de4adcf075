/**
 * Users whose pseudonyms share the first 13 hex digits share `uid_key` (migration 0010), and on Workers, sharing hex
 * digits 16–23 as well, a user object: every read by key must also check the uid. Run on both backends: history,
 * the holds an erasure releases, and erasure of one user keep the other's rows (on Workers this fails if the user
 * object's reads go by the key alone).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { userObjectName } from '../../src/store/durable-object/placement.js';
import type { Reservation, Store } from '../../src/store/interface.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { uidKey } from '../../src/store/user-history.js';
import { advertiser, campaign, creative, media, reservation, T, TTL } from '../helpers/store-records.js';
import { makeWorkerStore } from '../helpers/worker-store.js';

const HISTORY_MS = 3_600_000;
// Same digits 0–12 (the key) and 16–23 (the shared user object); different elsewhere.
const A = `${'a'.repeat(13)}000${'b'.repeat(8)}${'0'.repeat(40)}`;
const B = `${'a'.repeat(13)}111${'b'.repeat(8)}${'1'.repeat(40)}`;

async function sqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'uid-key-collision-'));
  const store = createSqliteStore({ path: join(dir, 'ads.db'), userCacheSize: 1 });
  return {
    store,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe.each([
  ['sqlite', sqlite],
  ['workers (D1 + Durable Objects in workerd)', () => makeWorkerStore()],
])('users sharing a key: %s', (_name, open: () => Promise<{ store: Store; close(): Promise<void> }>) => {
  it('keeps their history, holds and erasure apart', async () => {
    expect(uidKey(A)).toBe(uidKey(B));
    expect(userObjectName(A, 1024)).toBe(userObjectName(B, 1024));
    const { store, close } = await open();
    try {
      const a = advertiser();
      await store.catalog.createAdvertiser(a, `hash-${a.id}`);
      const c = campaign(a.id, { budget: { totalMicros: 10_000 } });
      await store.catalog.createCampaign(c);
      const m = media();
      await store.catalog.putMedia(m);
      const k = creative(c, m.sha256, { review: 'approved' });
      await store.catalog.createCreative(k);
      const servable = (await store.catalog.servable((sha) => `/media/${sha}`)).find((s) => s.id === c.id);
      if (!servable) throw new Error('campaign not servable');
      const serve = async (r: Reservation) => {
        const shard = store.budgets.shardFor?.(c.id, r.id, T) ?? 0;
        if (shard > 0) r.budgetShard = shard;
        expect(
          await store.budgets.tryHold(
            { campaign: servable, reservationId: r.id, amountMicros: r.priceMicros, expiresAt: r.expiresAt, shard },
            T,
          ),
        ).toBe(true);
        expect(await store.users.reserve([r])).toBe(true);
        return r;
      };
      const a1 = await serve(reservation(c, k, A));
      const a2 = await serve(reservation(c, k, A, { servedAt: T + 1, expiresAt: T + 1 + TTL }));
      const b1 = await serve(reservation(c, k, B, { servedAt: T + 2, expiresAt: T + 2 + TTL }));
      const history = async (uid: string) =>
        (await store.users.load(uid, T + 10, HISTORY_MS)).history.map((e) => e.reservationId).sort();
      expect(await history(A)).toEqual([a1.id, a2.id].sort());
      expect(await history(B)).toEqual([b1.id]);
      expect(store.budgets.view(c.id, T + 10).heldMicros).toBe(3000);

      await store.users.erase(A);
      expect(await history(A)).toEqual([]);
      expect(await history(B)).toEqual([b1.id]);
      expect(await store.users.reservation(B, b1.id)).toMatchObject({ id: b1.id, uid: B });
      // A's holds are released (both backends do at once), B's is still held: with one more hold (which also refreshes
      // the Workers test store's budget view), 2,000.
      await serve(reservation(c, k, 'c'.repeat(64), { servedAt: T + 3, expiresAt: T + 3 + TTL }));
      expect(store.budgets.view(c.id, T + 10).heldMicros).toBe(2000);
    } finally {
      await close();
    }
  });
});
