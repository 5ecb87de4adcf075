/**
 * Node keeps budget holds in memory and rebuilds them from the stored reservations when a
 * process starts: live, uncharged reservations of every campaign, read in one scan of the
 * `expires_at` index (there is no per-campaign index: it would be one more B-tree written at
 * a random page by every served slot), before the server listens or at the first budget use,
 * never again per campaign. Real files, a second store on the same database.
 */
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServableCampaign } from '../../src/engine/types.js';
import type { Reservation, Store } from '../../src/store/interface.js';
import { LOAD_RETRY_MS, SqliteBudgets, sortTogether } from '../../src/store/sqlite/budgets.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { sqliteFile } from '../helpers/sqlite-file.js';
import { reservation as servedSlot, T, TTL } from '../helpers/store-records.js';

const HOUR = 3_600_000;
const campaign = (id: string, dailyMicros: number) =>
  ({ id, advertiserId: 'adv_1', budget: { dailyMicros } }) as unknown as ServableCampaign;

function reservation(id: string, uid: string, campaignId: string, priceMicros: number, servedAt: number): Reservation {
  const c = { id: campaignId, advertiserId: 'adv_1', bid: { type: 'cpm' as const, amountMicros: priceMicros } };
  return servedSlot(c, { id: `crv_${campaignId}` }, uid, { id, priceMicros, servedAt, expiresAt: servedAt + TTL });
}

/** The row the ledger records for a cpm reservation's impression: what says it was charged (src/store/sqlite/event-state.ts). */
function chargeEvent(sqlite: Database.Database, reservationId: string, uid: string, campaignId: string, at: number) {
  sqlite
    .prepare(
      `INSERT INTO events (reservation, type, uid, campaign_id, at, cost_micros)
       SELECT number, 'impression', ?, ?, ?, 0 FROM reservations WHERE id = ?`,
    )
    .run(uid, campaignId, at, reservationId);
}

describe('budget holds after a restart (SQLite)', () => {
  const db = sqliteFile('sqlite-holds-');
  const store = db.store;
  const ALICE = 'a'.repeat(64);
  const BOB = 'b'.repeat(64);
  const [c1, c2, c3] = [campaign('cmp_1', 5000), campaign('cmp_2', 5000), campaign('cmp_3', 5000)];

  beforeEach(async () => {
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
    await db.closeAll();
    // Charged before the restart: its hold became spend (its billable event row written here directly, as the ledger does).
    const sqlite = new Database(db.path);
    chargeEvent(sqlite, 'r_charged', ALICE, c3.id, T - 5_000);
    sqlite.close();
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

  it('a stored hold charged after the start-up read ends when the ledger tells the budgets', async () => {
    const restarted = store();
    expect(restarted.budgets.view(c1.id, T).heldMicros).toBe(3000);
    // Every stored hold is in memory now (c2's too): the ledger's commit, then its call to the budgets, ends it.
    const { eventEffect } = await import('../../src/engine/events.js');
    const outcomes = await restarted.ledger.record(
      [{ type: 'impression', reservationId: 'r_3', uid: BOB, campaignId: c2.id, creativeId: `crv_${c2.id}` }],
      T,
      { effect: eventEffect, reportThreshold: 5 },
    );
    expect(outcomes.outcomes).toEqual([{ status: 'accepted' }]);
    expect(restarted.budgets.view(c2.id, T)).toMatchObject({ heldMicros: 0, spentTodayMicros: 3000, spentTotalMicros: 3000 });
  });

  it('reads every stored hold back once, before any budget use: no campaign reads reservations later', async () => {
    const restarted = store() as ReturnType<typeof store> & { loadHolds(now: number): number };
    expect(restarted.loadHolds(T)).toBe(3);
    // What the server does before it listens; from then on the reservations table is not read for budgets at all.
    const other = new Database(db.path);
    other.exec('ALTER TABLE reservations RENAME TO reservations_away');
    try {
      expect(restarted.budgets.view(c1.id, T).heldMicros).toBe(3000);
      expect(restarted.budgets.view(c2.id, T).heldMicros).toBe(3000);
      expect(restarted.budgets.view(c3.id, T).heldMicros).toBe(0);
      expect(
        await restarted.budgets.tryHold({ campaign: c1, reservationId: 'r_4', amountMicros: 2001, expiresAt: T + TTL }, T),
      ).toBe(false);
      expect(restarted.loadHolds(T)).toBe(3);
    } finally {
      other.exec('ALTER TABLE reservations_away RENAME TO reservations');
      other.close();
    }
  });

  it('the first budget use reads every campaign’s holds; later campaigns read no reservations', async () => {
    const restarted = store();
    expect(restarted.budgets.view(c1.id, T).heldMicros).toBe(3000);
    const other = new Database(db.path);
    other.exec('ALTER TABLE reservations RENAME TO reservations_away');
    try {
      // Before, each campaign's first use read its own rows back here.
      expect(restarted.budgets.view(c2.id, T).heldMicros).toBe(3000);
    } finally {
      other.exec('ALTER TABLE reservations_away RENAME TO reservations');
      other.close();
    }
  });

  it('a first budget use whose read-back fails changes nothing; uses fail for a second without a scan, then read every hold back', async () => {
    const restarted = store();
    const other = new Database(db.path);
    other.exec('ALTER TABLE reservations RENAME TO reservations_away');
    try {
      expect(() => restarted.budgets.view(c1.id, T)).toThrow(/reservations/);
    } finally {
      other.exec('ALTER TABLE reservations_away RENAME TO reservations');
      other.close();
    }
    // The table is back, but a use within LOAD_RETRY_MS fails closed with the same error, scanning nothing.
    expect(() => restarted.budgets.view(c1.id, T + LOAD_RETRY_MS - 1)).toThrow(/reservations/);
    expect(() => restarted.budgets.view(c2.id, T + 1)).toThrow(/reservations/);
    // Counted as done before: the campaign held nothing, and admitted 3000 more than its budget leaves.
    expect(restarted.budgets.view(c1.id, T + LOAD_RETRY_MS).heldMicros).toBe(3000);
    expect(
      await restarted.budgets.tryHold(
        { campaign: c1, reservationId: 'r_4', amountMicros: 2001, expiresAt: T + TTL },
        T + LOAD_RETRY_MS,
      ),
    ).toBe(false);
  });

  it('a read-back that keeps failing scans once per LOAD_RETRY_MS, not once per budget use', async () => {
    const restarted = store();
    const sqlite = (restarted as unknown as { budgets: { db: { $client: Database.Database } } }).budgets.db.$client;
    const prepare = vi.spyOn(sqlite, 'prepare');
    const other = new Database(db.path);
    other.exec('ALTER TABLE reservations RENAME TO reservations_away');
    try {
      for (let i = 0; i < 50; i++) expect(() => restarted.budgets.view(c1.id, T + i * 50)).toThrow(/reservations/);
      const scans = prepare.mock.calls.filter(([sql]) => /FROM reservations r/.test(sql)).length;
      // 50 uses over 2.5 s: the first, then one at 1 s and one at 2 s.
      expect(scans).toBe(3);
    } finally {
      prepare.mockRestore();
      other.exec('ALTER TABLE reservations_away RENAME TO reservations');
      other.close();
    }
  });

  it('a lowered budget cuts the holds read back, newest first', async () => {
    const restarted = store();
    await restarted.budgets.limit({ id: c1.id, budget: { dailyMicros: 1500 } }, T);
    // r_2 (2000, the newer) goes; r_1 (1000) stays until it is given back (or lapses).
    expect(restarted.budgets.view(c1.id, T).heldMicros).toBe(1000);
    await restarted.budgets.release(c1.id, 'r_1');
    expect(restarted.budgets.view(c1.id, T).heldMicros).toBe(0);
  });

  it('charging a campaign not asked for since the start leaves its account to be made from the rows later', async () => {
    const restarted = store();
    const load = vi.spyOn(SqliteBudgets.prototype as unknown as { load(): unknown }, 'load');
    const { eventEffect } = await import('../../src/engine/events.js');
    const outcomes = await restarted.ledger.record(
      [{ type: 'impression', reservationId: 'r_3', uid: BOB, campaignId: c2.id, creativeId: `crv_${c2.id}` }],
      T,
      { effect: eventEffect, reportThreshold: 5 },
    );
    expect(outcomes.outcomes).toEqual([{ status: 'accepted' }]);
    // The event path made no account (the start-up read of every stored hold stays off it)...
    expect(load).not.toHaveBeenCalled();
    load.mockRestore();
    // ...and the account made later holds the charge as spend, not as a hold.
    expect(restarted.budgets.view(c2.id, T)).toMatchObject({ heldMicros: 0, spentTodayMicros: 3000, spentTotalMicros: 3000 });
  });

  it('the retention job drops lapsed holds of campaigns nobody asks for; the budget figures stay as they were', async () => {
    const figures = (s: Store, id: string, now: number) => {
      const { heldMicros, spentTodayMicros, spentTotalMicros } = s.budgets.view(id, now);
      return { heldMicros, spentTodayMicros, spentTotalMicros };
    };
    // c3 gets a hold taken by this process; c1 is asked for, c2 never is until the end (a paused campaign).
    const start = async (s: ReturnType<typeof store>) => {
      expect(s.loadHolds(T)).toBe(3);
      expect(await s.budgets.tryHold({ campaign: c3, reservationId: 'r_4', amountMicros: 100, expiresAt: T + TTL }, T)).toBe(
        true,
      );
      expect(s.budgets.view(c1.id, T).heldMicros).toBe(3000);
    };
    const someLapsed = T - 60_000 + TTL;
    const allLapsed = T + TTL;
    // One process never runs the retention job: the figures to match (one process on the file at a time).
    const unswept = store();
    await start(unswept);
    const expected = {
      some: figures(unswept, c1.id, someLapsed),
      all: [c1, c2, c3].map((c) => figures(unswept, c.id, allLapsed)),
    };
    await db.closeAll();
    // The next runs it.
    const swept = store();
    const budgets = swept.budgets as SqliteBudgets;
    await start(swept);
    expect(budgets.holdsKept()).toBe(4);
    // While some hold of a campaign is live its arrays stay; what lapsed no longer counts, as without the job.
    await swept.prune(someLapsed, 24 * HOUR);
    expect(budgets.holdsKept()).toBe(4);
    expect(figures(swept, c1.id, someLapsed)).toEqual(expected.some);
    expect(expected.some.heldMicros).toBe(2000);
    // Once every hold lapsed, the job drops them all, asked for or not.
    await swept.prune(allLapsed, 24 * HOUR);
    expect(budgets.holdsKept()).toBe(0);
    expect([c1, c2, c3].map((c) => figures(swept, c.id, allLapsed))).toEqual(expected.all);
    for (const f of expected.all) expect(f.heldMicros).toBe(0);
  });

  it('a campaign first asked for once every stored hold lapsed holds nothing', async () => {
    const restarted = store();
    expect(restarted.budgets.view(c1.id, T).heldMicros).toBe(3000);
    expect(restarted.budgets.view(c2.id, T + HOUR).heldMicros).toBe(0);
  });
});

describe('spend in memory across UTC midnight (SQLite)', () => {
  const db = sqliteFile('sqlite-midnight-');
  const store = db.store;
  const UID = 'e'.repeat(64);
  const c1 = campaign('cmp_1', 1_000_000);
  const EVE = Date.UTC(2026, 10, 25, 23, 59, 50);
  const MIDNIGHT = Date.UTC(2026, 10, 26);

  /** Serves `id` at `servedAt` (its hold taken) and records its impression at `at`: one 5000 µ charge. */
  async function serveAndCharge(s: Store, id: string, servedAt: number, at: number) {
    const r = reservation(id, UID, c1.id, 5000, servedAt);
    expect(
      await s.budgets.tryHold({ campaign: c1, reservationId: id, amountMicros: 5000, expiresAt: r.expiresAt }, servedAt),
    ).toBe(true);
    expect(await s.users.reserve([r])).toBe(true);
    const { eventEffect } = await import('../../src/engine/events.js');
    const result = await s.ledger.record(
      [{ type: 'impression', reservationId: id, uid: UID, campaignId: c1.id, creativeId: `crv_${c1.id}` }],
      at,
      { effect: eventEffect, reportThreshold: 5 },
    );
    expect(result.outcomes).toEqual([{ status: 'accepted' }]);
  }

  async function afterRestart(now: number) {
    await db.closeAll();
    const { spentTodayMicros, spentTotalMicros, heldMicros } = store().budgets.view(c1.id, now);
    return { spentTodayMicros, spentTotalMicros, heldMicros };
  }

  it('the first charge after midnight counts once (the day is read back with the commit in it)', async () => {
    const s = store();
    // Held before midnight; its impression is the first thing to touch the account after it.
    await serveAndCharge(s, 'r_1', EVE, MIDNIGHT + 10_000);
    const { spentTodayMicros, spentTotalMicros, heldMicros } = s.budgets.view(c1.id, MIDNIGHT + 11_000);
    expect({ spentTodayMicros, spentTotalMicros, heldMicros }).toEqual({
      spentTodayMicros: 5000,
      spentTotalMicros: 5000,
      heldMicros: 0,
    });
    expect(await afterRestart(MIDNIGHT + 11_000)).toEqual({ spentTodayMicros: 5000, spentTotalMicros: 5000, heldMicros: 0 });
  });

  it('a group carrying the previous day’s events does not move the account back a day', async () => {
    const s = store();
    await serveAndCharge(s, 'r_1', EVE - 60_000, EVE);
    // The account moves on to the new day...
    expect(s.budgets.view(c1.id, MIDNIGHT + 1_000).spentTodayMicros).toBe(0);
    // ...then a group stamped before midnight commits: yesterday's spend, not today's.
    await serveAndCharge(s, 'r_2', EVE, EVE + 5_000);
    const { spentTodayMicros, spentTotalMicros } = s.budgets.view(c1.id, EVE + 6_000);
    expect({ spentTodayMicros, spentTotalMicros }).toEqual({ spentTodayMicros: 0, spentTotalMicros: 10_000 });
    expect(await afterRestart(MIDNIGHT + 2_000)).toEqual({ spentTodayMicros: 0, spentTotalMicros: 10_000, heldMicros: 0 });
  });
});

describe('one campaign with more live holds than a call can take as arguments (SQLite)', () => {
  const db = sqliteFile('sqlite-many-holds-');
  const UID = 'c'.repeat(64);
  // Over the ~150k elements a spread into a call's arguments overflows Node's stack at.
  const COUNT = 250_000;
  // SQLite orders text by UTF-8 bytes, the search by UTF-16 code units: U+FF21 sorts before U+1F600 in
  // bytes, after it in code units. Alternating them makes the read-back order need sorting.
  const id = (i: number) => `r_${String.fromCodePoint(i % 2 === 0 ? 0xff21 : 0x1f600)}_${i}`;
  const price = (i: number) => 1 + (i % 7);

  it('reads them back, sorted for the search (ids not in code unit order)', async () => {
    await db.store().close();
    const sqlite = new Database(db.path);
    const insert = sqlite.prepare(
      `INSERT INTO reservations (id, uid, campaign_id, creative_id, advertiser_id, bid_type, price_micros, served_at, expires_at)
       VALUES (?, ?, 'cmp_many', 'crv_many', 'adv_1', 'cpm', ?, ?, ?)`,
    );
    sqlite.transaction(() => {
      for (let i = 0; i < COUNT; i++) insert.run(id(i), UID, price(i), T - 60_000, T - 60_000 + TTL + i);
    })();
    sqlite.close();
    let total = 0;
    for (let i = 0; i < COUNT; i++) total += price(i);

    const restarted = createSqliteStore({ path: db.path, userCacheSize: 100 });
    try {
      expect(restarted.loadHolds(T)).toBe(COUNT);
      expect(restarted.budgets.view('cmp_many', T).heldMicros).toBe(total);
      // Each id is found with its own amount (the arrays were sorted together), from either end of the order.
      for (const i of [0, 1, COUNT - 2, COUNT - 1, 12_345]) {
        await restarted.budgets.release('cmp_many', id(i));
        total -= price(i);
        expect(restarted.budgets.view('cmp_many', T).heldMicros).toBe(total);
      }
      // And lapse at their own expiry: holds 0 and 1 were given back, 2 lapses now, 3 and later are live.
      expect(restarted.budgets.view('cmp_many', T - 60_000 + TTL + 2).heldMicros).toBe(total - price(2));
    } finally {
      await restarted.close();
    }
  });
});

describe('holds taken out of order (SQLite)', () => {
  const id = (ms: number, tail: string) => `r_${ms.toString(16).padStart(12, '0')}${tail}`;
  const hold = (budgets: SqliteBudgets, reservationId: string, expiresAt: number, now: number) =>
    budgets.tryHold({ campaign: campaign('cmp_o', 1e12), reservationId, amountMicros: 100, expiresAt }, now);

  it('a hold that expires before one taken earlier (a shorter TTL, a clock stepped back) ends at its own expiry', () => {
    const store = createSqliteStore({ path: ':memory:', userCacheSize: 10 });
    const budgets = store.budgets as SqliteBudgets;
    expect(hold(budgets, id(T, 'a'), T + TTL, T)).toBe(true);
    // The TTL shortened to 5 minutes, then the clock stepped back a second.
    expect(hold(budgets, id(T + 1, 'b'), T + 1 + 300_000, T + 1)).toBe(true);
    expect(hold(budgets, id(T - 1000, 'c'), T - 1000 + 300_000, T - 1000)).toBe(true);
    expect(hold(budgets, id(T + 2, 'd'), T + TTL + 2, T + 2)).toBe(true);
    expect(budgets.view('cmp_o', T + 298_999).heldMicros).toBe(400);
    // Before, the first hold kept both short ones held until it expired itself.
    expect(budgets.view('cmp_o', T + 299_000).heldMicros).toBe(300);
    expect(budgets.view('cmp_o', T + 300_001).heldMicros).toBe(200);
    expect(budgets.view('cmp_o', T + TTL).heldMicros).toBe(100);
    expect(budgets.view('cmp_o', T + TTL + 2).heldMicros).toBe(0);
    expect(budgets.holdsKept()).toBe(0);
    expect(budgets.holdsApart()).toBe(0);
  });

  it('an id out of time order is kept apart only while its hold is live', () => {
    const store = createSqliteStore({ path: ':memory:', userCacheSize: 10 });
    const budgets = store.budgets as SqliteBudgets;
    for (let i = 0; i < 10; i++) expect(hold(budgets, id(T + i, 'x'), T + TTL, T + i)).toBe(true);
    // A clock stepped back 1 ms.
    expect(hold(budgets, id(T + 8, 'stray'), T + TTL, T + 10)).toBe(true);
    expect(budgets.holdsApart()).toBe(1);
    for (let i = 11; i < 20; i++) expect(hold(budgets, id(T + i, 'x'), T + TTL, T + i)).toBe(true);
    // Found, and every other hold still found by the search.
    budgets.charged('cmp_o', [id(T + 8, 'stray'), id(T + 8, 'x'), id(T + 15, 'x')], 0, T + 20);
    expect(budgets.view('cmp_o', T + 20).heldMicros).toBe(1700);
    // Before, one id out of order put every later hold of the campaign on a map from id to place for good.
    expect(budgets.holdsApart()).toBe(0);
  });
});

describe('sortTogether', () => {
  it('sorts three parallel arrays by the first, in place, however long', () => {
    const n = 300_000;
    const ids = Array.from({ length: n }, (_, i) => `id_${String(n - i).padStart(7, '0')}`);
    const amounts = Array.from({ length: n }, (_, i) => n - i);
    const expiries = Array.from({ length: n }, (_, i) => 2 * (n - i));
    sortTogether(ids, amounts, expiries);
    expect(ids.length).toBe(n);
    for (const k of [0, 1, n / 2, n - 1]) {
      expect([ids[k], amounts[k], expiries[k]]).toEqual([`id_${String(k + 1).padStart(7, '0')}`, k + 1, 2 * (k + 1)]);
    }
    // Code unit order, not UTF-8 byte order.
    const small = ['\uff21', '\u{1f600}'];
    sortTogether(small, [1, 2], [3, 4]);
    expect(small).toEqual(['\u{1f600}', '\uff21']);
  });
});
