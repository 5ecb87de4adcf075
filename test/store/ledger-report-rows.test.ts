/**
 * The SQLite ledger's unwritten report rows (held per campaign and day, unwritten-rows.ts): rows a group wrote
 * inside a transaction that then rolled back stay in memory, written by a later group, counted once; and a
 * restart after that counts nothing twice. The same for the write of every row before an erase (its marks too),
 * and for a campaign's rows of two UTC days, in two groups or in one.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { Reservation, Store, VerifiedEvent } from '../../src/store/interface.js';
import { sqliteFile } from '../helpers/sqlite-file.js';
import { reserveForImpressions } from '../helpers/store-records.js';

const rules = { effect: eventEffect, reportThreshold: 5 };
const uid = (i: number) => createHash('sha256').update(`user ${i}`).digest('hex');
const start = Date.UTC(2026, 10, 25, 12, 0, 0);
const day = '2026-11-25';
const file = sqliteFile('status-ads-report-rows-');

async function impressions(
  store: Store,
  users: number[],
  campaign: (i: number) => string,
  country = (i: number) => ['DE', 'FR', 'BR'][i % 3],
): Promise<VerifiedEvent[]> {
  const reservations: Reservation[] = users.map((i) => ({
    id: `r-${i}`,
    uid: uid(i),
    campaignId: `cmp-${campaign(i)}`,
    creativeId: `cr-${campaign(i)}`,
    advertiserId: 'adv',
    bidType: 'cpm',
    priceMicros: 100,
    servedAt: start,
    expiresAt: start + 600_000,
    viewedAt: null,
    chargedAt: null,
    country: country(i),
    platform: ['android', 'ios'][i % 2],
    video: false,
  }));
  return reserveForImpressions(store, reservations);
}

const BREAKDOWNS = ['day', 'hour', 'creative', 'country', 'platform'] as const;
const reports = async (store: Store, campaigns: string[]) => {
  const out: unknown[] = [];
  for (const c of campaigns) for (const by of BREAKDOWNS) out.push(await store.ledger.report(`cmp-${c}`, day, day, by));
  return out;
};
const storedImpressions = (path: string) => {
  const disk = new Database(path, { readonly: true });
  const n = disk.prepare(`SELECT coalesce(sum(impressions), 0) FROM report_rows WHERE by = 'day'`).pluck().get() as number;
  disk.close();
  return n;
};

describe('ledger report rows held per campaign', () => {
  it('rows written by a group that rolled back stay unwritten, are written by the next group and count once, also after a restart', async () => {
    const first = file.store();
    const events = await impressions(
      first,
      Array.from({ length: 120 }, (_, i) => i),
      (i) => String(i % 4),
    );
    const campaigns = ['0', '1', '2', '3'];
    await first.ledger.record(events.slice(0, 60), start, rules);
    expect(storedImpressions(file.path)).toBe(0);
    const before = await reports(first, campaigns);

    // 11 s later the group writes the rows first (older than 10 s), then an event fails: all of it rolls back.
    const poisoned = events[70].reservationId;
    const failing = {
      ...rules,
      effect: (...args: Parameters<typeof eventEffect>) =>
        (args[0] as { id?: string }).id === poisoned ? failNow() : eventEffect(...args),
    };
    await expect(first.ledger.record(events.slice(60, 90), start + 11_000, failing)).rejects.toThrow('store down');
    expect(storedImpressions(file.path)).toBe(0);
    expect(await reports(first, campaigns)).toEqual(before);

    // The next group writes them (and its own changes wait): nothing lost, nothing twice.
    await first.ledger.record(events.slice(60, 120), start + 11_500, rules);
    expect(storedImpressions(file.path)).toBe(60);
    const after = await reports(first, campaigns);
    expect((await first.ledger.report('cmp-0', day, day))[0]).toMatchObject({ impressions: 30, reach: 30 });
    expect((await first.ledger.report('cmp-3', day, day, 'platform')).map((r) => r.impressions)).toEqual([30]);

    // A second process on the files, the first never closed: the unwritten half is counted again, once.
    const second = file.store();
    expect(await reports(second, campaigns)).toEqual(after);
  });

  it('keeps a campaign’s rows of two UTC days apart and forgets each row once written', async () => {
    const store = file.store();
    const events = await impressions(
      store,
      Array.from({ length: 42 }, (_, i) => i),
      () => 'x',
      (i) => (i === 40 ? 'US' : ['DE', 'FR', 'BR'][i % 3]),
    );
    const lateOnDay = Date.UTC(2026, 10, 25, 23, 59, 59);
    await store.ledger.record(events.slice(0, 20), lateOnDay, rules);
    await store.ledger.record(events.slice(20, 40), lateOnDay + 2_000, rules);
    const hours = async (s: Store) =>
      (await s.ledger.report('cmp-x', day, '2026-11-26', 'hour')).map((r) => [r.hour, r.impressions]);
    expect(await hours(store)).toEqual([
      ['2026-11-25T23', 20],
      ['2026-11-26T00', 20],
    ]);
    // A new country row 5 s on: it is too young to be written by the next group, so the second day stays held.
    await store.ledger.record(events.slice(40, 41), lateOnDay + 5_000, rules);
    // 13 s on, this group writes every row but that one (and forgets them); its own impression, of a reservation
    // not seen before, makes the second day's hour row again, from zero and from the group's first rowid.
    await store.ledger.record(events.slice(41, 42), lateOnDay + 13_000, rules);
    expect(storedImpressions(file.path)).toBe(41);
    const expected = [
      ['2026-11-25T23', 20],
      ['2026-11-26T00', 22],
    ];
    expect(await hours(store)).toEqual(expected);
    // A second process on the file, the first never closed: only the unwritten impressions are counted again.
    expect(await hours(file.store())).toEqual(expected);
  });

  it('keeps two UTC days apart within one group (concurrent batches around midnight)', async () => {
    const store = file.store();
    const events = await impressions(
      store,
      Array.from({ length: 30 }, (_, i) => i),
      () => 'x',
    );
    const late = Date.UTC(2026, 10, 25, 23, 59, 59);
    // One group: day 1, day 2, then day 1 again after day 2 in the campaign's classes.
    await Promise.all([
      store.ledger.record(events.slice(0, 10), late, rules),
      store.ledger.record(events.slice(10, 20), late + 2_000, rules),
      store.ledger.record(events.slice(20, 30), late, rules),
    ]);
    const expected = [
      ['2026-11-25T23', 20],
      ['2026-11-26T00', 10],
    ];
    const hours = async (s: Store) =>
      (await s.ledger.report('cmp-x', day, '2026-11-26', 'hour')).map((r) => [r.hour, r.impressions]);
    const days = async (s: Store) => (await s.ledger.report('cmp-x', day, '2026-11-26')).map((r) => [r.date, r.impressions]);
    const expectedDays = [
      [day, 20],
      ['2026-11-26', 10],
    ];
    expect(await hours(store)).toEqual(expected);
    expect(await days(store)).toEqual(expectedDays);
    // Written by a later group, then read by a restarted process.
    await store.ledger.record([], late + 20_000, rules);
    expect(storedImpressions(file.path)).toBe(30);
    expect(await hours(store)).toEqual(expected);
    await file.closeAll();
    const second = file.store();
    expect(await hours(second)).toEqual(expected);
    expect(await days(second)).toEqual(expectedDays);
  });

  // The write before an erase (or prune, or close) rolled back by a real SQLite error: a trigger on `ledger_marks`.
  it.each([
    ['the erase is retried', (s: Store) => s.users.erase(uid(99))],
    [
      'a later group holds only a duplicate',
      async (s: Store, events: VerifiedEvent[]) => {
        await s.ledger.record(events.slice(0, 1), start + 30_000, rules);
      },
    ],
  ])('a write of every row that rolls back moves no mark: after %s and a restart nothing counts twice', async (_, next) => {
    const first = file.store();
    const events = await impressions(
      first,
      Array.from({ length: 30 }, (_, i) => i),
      (i) => 'abc'[Math.floor(i / 10)],
    );
    const campaigns = ['a', 'b', 'c'];
    await first.ledger.record(events.slice(0, 10), start, rules);
    await first.ledger.record(events.slice(10, 20), start + 5_000, rules);
    // Writes a's rows (older than 10 s) with row marks; b's and c's stay unwritten.
    await first.ledger.record(events.slice(20, 30), start + 11_000, rules);
    const before = await reports(first, campaigns);

    const disk = new Database(file.path);
    disk.exec(`CREATE TABLE test_fail (x); INSERT INTO test_fail VALUES (1);
      CREATE TRIGGER test_fail_drop BEFORE DELETE ON ledger_marks WHEN EXISTS (SELECT 1 FROM test_fail)
      BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;`);
    await expect(first.users.erase(uid(99))).rejects.toThrow('disk I/O error');
    disk.exec('DELETE FROM test_fail');
    disk.close();
    expect(await reports(first, campaigns)).toEqual(before);

    await next(first, events);
    expect(await reports(first, campaigns)).toEqual(before);
    await file.closeAll();
    const second = file.store();
    const impressionsOf = async (c: string) => (await second.ledger.report(`cmp-${c}`, day, day))[0].impressions;
    expect([await impressionsOf('a'), await impressionsOf('b'), await impressionsOf('c')]).toEqual([10, 10, 10]);
    expect(await reports(second, campaigns)).toEqual(before);
  });
});

function failNow(): never {
  throw new Error('store down');
}
