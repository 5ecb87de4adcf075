/**
 * Retention on Node deletes a chunk of rows per transaction, walking expired reservations in
 * (expires_at, rowid) order from where the last prune ended: rows sharing one expiry across a chunk's
 * edge, viewed rows kept among them and rows served before any cap window must all come out as one
 * pass over everything would leave them. Rows served before any cap window are found in expiry order
 * too (no index on `served_at`): none goes before its time, whatever its TTL. Real file, small chunks.
 */
import { describe, expect, it } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { Reservation } from '../../src/store/interface.js';
import type { SqliteUsers } from '../../src/store/sqlite/users.js';
import { sqliteFile } from '../helpers/sqlite-file.js';
import { DAY, reservation as servedSlot, T, TTL } from '../helpers/store-records.js';

const HISTORY_MS = 7 * 86_400_000;
const c = { id: 'cmp_1', advertiserId: 'adv_1', bid: { type: 'cpm' as const, amountMicros: 100 } };
const uid = (n: number) => n.toString(16).padStart(64, 'c');
const at = (id: string, n: number, servedAt: number): Reservation =>
  servedSlot(c, { id: 'crv_1' }, uid(n), { id, priceMicros: 100, servedAt, expiresAt: servedAt + TTL });

describe('retention in chunks (SQLite)', () => {
  const db = sqliteFile('prune-chunks-');

  it('deletes what one pass would, across chunk edges inside one expiry, and looks at kept rows once', async () => {
    const s = db.store();
    const users = s.users as SqliteUsers;
    const rows: { r: Reservation; viewed: boolean; old: boolean }[] = [];
    // Eleven reservations expiring at the same millisecond (chunks of 3 split them), every third one viewed;
    // four served before any cap window; two still live.
    for (let i = 0; i < 11; i++) rows.push({ r: at(`r_same_${i}`, i, T), viewed: i % 3 === 0, old: false });
    for (let i = 0; i < 4; i++)
      rows.push({ r: at(`r_old_${i}`, 20 + i, T - HISTORY_MS - 1000 * (i + 1)), viewed: i === 0, old: true });
    for (let i = 0; i < 2; i++) rows.push({ r: at(`r_live_${i}`, 30 + i, T + 2 * TTL), viewed: false, old: false });
    for (const { r } of rows) expect(await users.reserve([r])).toBe(true);
    for (const { r, viewed } of rows)
      if (viewed)
        await s.ledger.record(
          [{ type: 'impression', reservationId: r.id, uid: r.uid, campaignId: r.campaignId, creativeId: r.creativeId }],
          Math.min(r.servedAt + 1000, T + 1000),
          { effect: eventEffect, reportThreshold: 5 },
        );
    const now = T + TTL + 1;
    // Other work runs between chunks (a slot request waits for one chunk, not for the whole prune).
    let between = false;
    const pruning = users.prune(now, HISTORY_MS, 3);
    setImmediate(() => (between = true));
    const pruned = await pruning;
    expect(between).toBe(true);
    const left = await Promise.all(rows.map(async ({ r }) => (await s.users.reservation(r.uid, r.id)) !== undefined));
    const kept = rows.map(({ r, viewed, old }) => !old && (viewed || r.expiresAt > now));
    expect(left).toEqual(kept);
    // Deleted: 7 unviewed expired and 4 old reservations, and the one old viewed row's event.
    expect(pruned).toBe(7 + 4 + 1);
    // The next prune a minute later finds nothing, and the one after the live rows expire takes them.
    expect(await users.prune(now + 60_000, HISTORY_MS, 3)).toBe(0);
    expect(await users.prune(T + 3 * TTL + 1, HISTORY_MS, 3)).toBe(2);
    await db.closeAll();
  });

  it('finds rows served before any cap window in expiry order: with TTLs mixed none goes early, a longer one waits', async () => {
    const s = db.store();
    const users = s.users as SqliteUsers;
    const before = T - HISTORY_MS;
    const slot = (id: string, n: number, servedAt: number, ttl: number) =>
      servedSlot(c, { id: 'crv_1' }, uid(n), { id, priceMicros: 100, servedAt, expiresAt: servedAt + ttl });
    // All viewed (retention's pass over expired unviewed rows leaves them), each event inside the cap window or
    // its row's.
    const old = Array.from({ length: 5 }, (_, i) => slot(`r_old_${i}`, i, before - 1000 * (i + 1), TTL));
    // Served inside the window with a TTL of a second: expires before `long`, and must stay.
    const short = slot('r_short', 10, T - 6.5 * DAY, 1000);
    // Served before the window with a TTL of a day (TOKEN_TTL lowered since): behind `short` in expiry order.
    const long = slot('r_long', 11, before - 500, DAY);
    // Served a day ago with a TTL of a day: expired now, inside the window.
    const recent = slot('r_recent', 12, T - DAY, DAY);
    const rows = [...old, short, long, recent];
    for (const r of rows) expect(await users.reserve([r])).toBe(true);
    for (const r of rows)
      await s.ledger.record(
        [{ type: 'impression', reservationId: r.id, uid: r.uid, campaignId: r.campaignId, creativeId: r.creativeId }],
        Math.max(r.servedAt + 500, before + 1),
        { effect: eventEffect, reportThreshold: 5 },
      );
    const left = async () =>
      (await Promise.all(rows.map(async (r) => ((await s.users.reservation(r.uid, r.id)) ? r.id : undefined)))).filter(
        (id) => id !== undefined,
      );
    // The old rows, across chunk edges (chunks of 2); `short` stops the walk; `long` waits behind it.
    await users.prune(T, HISTORY_MS, 2);
    expect(await left()).toEqual(['r_short', 'r_long', 'r_recent']);
    // Once `short` left the window, both go; `recent` is inside it.
    await users.prune(short.servedAt + HISTORY_MS + 1, HISTORY_MS, 2);
    expect(await left()).toEqual(['r_recent']);
    await db.closeAll();
  });
});
