/**
 * Node keeps budget holds in memory and rebuilds them from the stored reservations when a
 * process starts: live, uncharged reservations of every campaign, read in one scan of the
 * `expires_at` index (there is no per-campaign index: it would be one more B-tree written at
 * a random page by every served slot). Real files, a second store on the same database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServableCampaign } from '../../src/engine/types.js';
import type { Reservation, Store } from '../../src/store/interface.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';

const T = Date.UTC(2026, 10, 25, 12, 0, 0);
const TTL = 900_000;
const HOUR = 3_600_000;
const campaign = (id: string, dailyMicros: number) =>
  ({ id, advertiserId: 'adv_1', budget: { dailyMicros } }) as unknown as ServableCampaign;

function reservation(id: string, uid: string, campaignId: string, priceMicros: number, servedAt: number): Reservation {
  return {
    id,
    uid,
    campaignId,
    creativeId: `crv_${campaignId}`,
    advertiserId: 'adv_1',
    bidType: 'cpm',
    priceMicros,
    servedAt,
    expiresAt: servedAt + TTL,
    viewedAt: null,
    chargedAt: null,
    country: '',
    platform: '',
    video: false,
  };
}

/** The row the ledger records for a cpm reservation's impression: what says it was charged (src/store/sqlite/event-state.ts). */
function chargeEvent(sqlite: Database.Database, reservationId: string, uid: string, campaignId: string, at: number) {
  sqlite
    .prepare(`INSERT INTO events (reservation_id, type, uid, campaign_id, at, cost_micros) VALUES (?, 'impression', ?, ?, ?, 0)`)
    .run(reservationId, uid, campaignId, at);
}

describe('budget holds after a restart (SQLite)', () => {
  let dir: string;
  let path: string;
  const open: Store[] = [];
  const store = () => {
    const s = createSqliteStore({ path, userCacheSize: 100 });
    open.push(s);
    return s;
  };
  const ALICE = 'a'.repeat(64);
  const BOB = 'b'.repeat(64);
  const [c1, c2, c3] = [campaign('cmp_1', 5000), campaign('cmp_2', 5000), campaign('cmp_3', 5000)];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-holds-'));
    path = join(dir, 'ads.db');
    const first = store();
    const serve = async (c: ServableCampaign, r: Reservation) => {
      expect(
        await first.budgets.tryHold(
          { campaign: c, reservationId: r.id, amountMicros: r.priceMicros, expiresAt: r.expiresAt },
          r.servedAt,
        ),
      ).toBe(true);
      expect(await first.users.reserve([r])).toBe(true);
    };
    await serve(c1, reservation('r_expired', ALICE, c1.id, 500, T - 2 * TTL));
    await serve(c1, reservation('r_1', ALICE, c1.id, 1000, T - 60_000));
    await serve(c1, reservation('r_2', BOB, c1.id, 2000, T - 30_000));
    await serve(c2, reservation('r_3', BOB, c2.id, 3000, T - 10_000));
    await serve(c3, reservation('r_charged', ALICE, c3.id, 4000, T - 10_000));
    await first.close();
    open.length = 0;
    // Charged before the restart: its hold became spend (its billable event row written here directly, as the ledger does).
    const sqlite = new Database(path);
    chargeEvent(sqlite, 'r_charged', ALICE, c3.id, T - 5_000);
    sqlite.close();
  });

  afterEach(async () => {
    for (const s of open) await s.close();
    open.length = 0;
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds exactly the live, uncharged reservations of every campaign again', async () => {
    const restarted = store();
    expect(restarted.budgets.view(c1.id, T).heldMicros).toBe(3000);
    expect(restarted.budgets.view(c2.id, T).heldMicros).toBe(3000);
    expect(restarted.budgets.view(c3.id, T).heldMicros).toBe(0);
    // The rebuilt holds bind: 5000 a day, 3000 held.
    const hold = (id: string, amountMicros: number) =>
      restarted.budgets.tryHold({ campaign: c1, reservationId: id, amountMicros, expiresAt: T + TTL }, T);
    expect(await hold('r_4', 2001)).toBe(false);
    expect(await hold('r_5', 2000)).toBe(true);
    // And lapse with their reservations.
    expect(restarted.budgets.view(c1.id, T - 60_000 + TTL).heldMicros).toBe(4000);
    expect(restarted.budgets.view(c2.id, T + TTL).heldMicros).toBe(0);
  });

  it('a campaign first asked for after an erase holds nothing of the erased user', async () => {
    const restarted = store();
    // c1 is asked for before the erase, c2 only after it.
    expect(restarted.budgets.view(c1.id, T).heldMicros).toBe(3000);
    await restarted.users.erase(BOB);
    expect(restarted.budgets.view(c1.id, T).heldMicros).toBe(1000);
    expect(restarted.budgets.view(c2.id, T).heldMicros).toBe(0);
  });

  it('a reservation charged after the start-up read but before its campaign was asked for holds nothing', async () => {
    const restarted = store();
    expect(restarted.budgets.view(c1.id, T).heldMicros).toBe(3000);
    // The ledger writes the charging event in its commit, then tells the budgets: the account is made from the rows as they are then.
    const other = new Database(path);
    chargeEvent(other, 'r_3', BOB, c2.id, T);
    other.close();
    expect(restarted.budgets.view(c2.id, T).heldMicros).toBe(0);
  });

  it('a campaign first asked for once every stored hold lapsed holds nothing', async () => {
    const restarted = store();
    expect(restarted.budgets.view(c1.id, T).heldMicros).toBe(3000);
    expect(restarted.budgets.view(c2.id, T + HOUR).heldMicros).toBe(0);
  });
});
