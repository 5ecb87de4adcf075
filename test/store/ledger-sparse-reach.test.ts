/**
 * Report rows store sparse reach sketches (a few bytes per user) until a row grows past
 * about the dense size, and rows stored by versions that wrote only the dense 4 KiB
 * sketch still read and keep counting.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { Reservation, Store } from '../../src/store/interface.js';
import { Reach } from '../../src/store/reach.js';
import { sqliteFile } from '../helpers/sqlite-file.js';

const rules = { effect: eventEffect, reportThreshold: 5 };
const uid = (i: number) => createHash('sha256').update(`sparse user ${i}`).digest('hex');
const at = Date.UTC(2026, 10, 25, 12, 0, 0);
const day = '2026-11-25';

const file = sqliteFile('status-ads-sparse-');

/** Impressions of `users`, recorded at `now` (within a minute of `at`, while their reservations hold). */
async function impressions(store: Store, users: number[], now = at) {
  const reservations: Reservation[] = users.map((i) => ({
    id: `r-${i}`,
    uid: uid(i),
    campaignId: 'cmp-sparse',
    creativeId: 'cr-sparse',
    advertiserId: 'adv-sparse',
    bidType: 'cpm',
    priceMicros: 100,
    servedAt: at,
    expiresAt: at + 60_000,
    viewedAt: null,
    chargedAt: null,
    country: i < 2_000 ? 'DE' : 'FR',
    platform: 'android',
    video: false,
  }));
  await store.users.reserve(reservations);
  const events = reservations.map((r) => ({
    type: 'impression' as const,
    reservationId: r.id,
    uid: r.uid,
    campaignId: r.campaignId,
    creativeId: r.creativeId,
  }));
  for (let i = 0; i < events.length; i += 500) await store.ledger.record(events.slice(i, i + 500), now, rules);
}

/** A sketch as versions before sparse sketches stored it: always the 4,096 registers, base64. */
function denseText(users: number[]): string {
  const registers = new Uint8Array(4096);
  for (const i of users) {
    const point = Reach.point(uid(i));
    registers[point >>> 6] = Math.max(registers[point >>> 6], point & 63);
  }
  return Buffer.from(registers).toString('base64');
}

const sketchBytes = (path: string, by: string, key: string) => {
  const disk = new Database(path, { readonly: true });
  const text = disk
    .prepare(`SELECT reach_sketch FROM report_rows WHERE campaign_id = 'cmp-sparse' AND by = ? AND key = ?`)
    .pluck()
    .get(by, key) as string;
  disk.close();
  return Buffer.from(text, 'base64').length;
};

it('stores a row with a few users in a few bytes per user, and a row past ~1,000 users as the dense 4 KiB sketch', async () => {
  const path = file.path;
  const store = file.store();
  // 2,000 users in DE (dense: past 1,024 registers), 12 in FR.
  const users = Array.from({ length: 2_012 }, (_, i) => i);
  await impressions(store, users);
  await file.closeAll();
  expect(sketchBytes(path, 'country', 'FR')).toBe(1 + 3 * 12);
  expect(sketchBytes(path, 'country', 'DE')).toBe(4096);
  const reopened = file.store();
  const rows = await reopened.ledger.report('cmp-sparse', day, day, 'country');
  const expected = (list: number[]) => {
    const reach = Reach.empty();
    for (const i of list) reach.add(uid(i));
    return reach.estimate();
  };
  expect(rows.map((r) => [r.country, r.impressions, r.reach])).toEqual([
    ['DE', 2_000, expected(users.slice(0, 2_000))],
    ['FR', 12, 12],
  ]);
});

it('reads a dense sketch an earlier version stored, adds to it, and writes it back in the sparse form while it is small', async () => {
  const path = file.path;
  // The schema, then the 'day' row as the dense-only version left it: 10 impressions of users 5000..5009.
  file.store(); // creates the schema
  await file.closeAll();
  const old = Array.from({ length: 10 }, (_, i) => 5_000 + i);
  const disk = new Database(path);
  disk
    .prepare(
      `INSERT INTO report_rows (campaign_id, by, day, key, impressions, reach_sketch) VALUES ('cmp-sparse', 'day', ?, '', 10, ?)`,
    )
    .run(day, denseText(old));
  disk.close();
  expect(sketchBytes(path, 'day', '')).toBe(4096);
  const store = file.store();
  expect((await store.ledger.report('cmp-sparse', day, day))[0]).toMatchObject({ impressions: 10, reach: 10 });
  // Five more users, two of them already counted.
  await impressions(store, [2_000, 2_001, 2_002, 5_000, 5_001]);
  expect((await store.ledger.report('cmp-sparse', day, day))[0]).toMatchObject({ impressions: 15, reach: 13 });
  await file.closeAll();
  expect(sketchBytes(path, 'day', '')).toBe(1 + 3 * 13);
  expect((await file.store().ledger.report('cmp-sparse', day, day))[0]).toMatchObject({ impressions: 15, reach: 13 });
});

it('keeps recording events when a stored sketch is damaged: the row counts on, its reach from the new users', async () => {
  const path = file.path;
  file.store(); // creates the schema
  await file.closeAll();
  // A damaged stored sketch (not base64). Rows are written inside a later batch's transaction once their
  // change is 10 s old: the union must read the damaged sketch as empty, not throw there, which rolled
  // the batch back and failed every later one (the row stayed first to be written).
  const disk = new Database(path);
  disk
    .prepare(
      `INSERT INTO report_rows (campaign_id, by, day, key, impressions, reach_sketch) VALUES ('cmp-sparse', 'day', ?, '', 7, 'not base64 !!')`,
    )
    .run(day);
  disk.close();
  const store = file.store();
  await impressions(store, [1, 2, 3]);
  await impressions(store, [4, 5], at + 20_000); // writes the row
  await impressions(store, [6], at + 40_000); // writes it again
  expect((await store.ledger.report('cmp-sparse', day, day))[0]).toMatchObject({ impressions: 13, reach: 6 });
  await file.closeAll();
  expect(sketchBytes(path, 'day', '')).toBe(1 + 3 * 6);
  expect((await file.store().ledger.report('cmp-sparse', day, day))[0]).toMatchObject({ impressions: 13, reach: 6 });
});
