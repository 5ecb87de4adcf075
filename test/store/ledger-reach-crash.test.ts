/**
 * The SQLite ledger writes report rows (counters and reach sketches) every few seconds,
 * not with every group: after a crash (the process gone before it wrote them) the next
 * start counts the events past its mark again, so reports lose nothing and count
 * nothing twice.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { Reservation, Store, VerifiedEvent } from '../../src/store/interface.js';
import { Reach } from '../../src/store/reach.js';
import { MAX_UNWRITTEN_BYTES } from '../../src/store/sqlite/ledger.js';
import { DAY_ROWS_BYTES, ROW_DELTA_BYTES } from '../../src/store/sqlite/unwritten-rows.js';
import { sqliteFile } from '../helpers/sqlite-file.js';
import { reserveForImpressions } from '../helpers/store-records.js';

const rules = { effect: eventEffect, reportThreshold: 5 };
const uid = (i: number) => createHash('sha256').update(`user ${i}`).digest('hex');
const start = Date.UTC(2026, 10, 25, 12, 0, 0);
const day = '2026-11-25';

const file = sqliteFile('status-ads-reach-');

async function impressions(
  store: Store,
  users: number[],
  now: number,
  campaignOf = (_i: number) => 'reach',
): Promise<VerifiedEvent[]> {
  const reservations: Reservation[] = users.map((i) => ({
    id: `r-${i}`,
    uid: uid(i),
    campaignId: `cmp-${campaignOf(i)}`,
    creativeId: `cr-${campaignOf(i)}`,
    advertiserId: 'adv-reach',
    bidType: 'cpm',
    priceMicros: 100,
    servedAt: now,
    expiresAt: now + 60_000,
    viewedAt: null,
    chargedAt: null,
    country: ['DE', 'FR', 'BR'][i % 3],
    platform: 'android',
    video: false,
  }));
  return reserveForImpressions(store, reservations);
}

const reach = async (store: Store, by: 'day' | 'platform' | 'creative' = 'day') =>
  (await store.ledger.report('cmp-reach', day, day, by))[0]?.reach ?? 0;

describe('ledger report rows after a crash', () => {
  it('a restart adds the impressions whose sketches were never written', async () => {
    const path = file.path;
    const first = file.store();
    const events = await impressions(
      first,
      Array.from({ length: 90 }, (_, i) => i),
      start,
    );
    // The first group's rows are written with the second, 11 s later (changes older than 10 s); the rest are not.
    await first.ledger.record(events.slice(0, 30), start, rules);
    await first.ledger.record(events.slice(30, 60), start + 11_000, rules);
    await first.ledger.record(events.slice(60, 90), start + 11_200, rules);
    const before = await reach(first);
    expect(before).toBeGreaterThanOrEqual(88);

    // What is on disk now lacks the last group (as the files are after a kill -9).
    const disk = new Database(path, { readonly: true });
    const stored = disk
      .prepare(`SELECT impressions, reach_sketch AS sketch FROM report_rows WHERE campaign_id = 'cmp-reach' AND by = 'day'`)
      .get() as { impressions: number; sketch: string };
    disk.close();
    expect(stored.impressions).toBe(30);
    expect(Reach.parse(stored.sketch).estimate()).toBeLessThan(before);

    // A second process on the same files, the first never closed (its memory is lost).
    const second = file.store();
    expect(await reach(second)).toBe(before);
    expect(await reach(second, 'platform')).toBe(before);
    expect(await reach(second, 'creative')).toBe(before);
    const [row] = await second.ledger.report('cmp-reach', day, day);
    expect(row).toMatchObject({ impressions: 90, spendMicros: 9_000 });
  });

  it('writes the rows on close, so a clean restart has nothing to count again', async () => {
    const path = file.path;
    const first = file.store();
    const events = await impressions(
      first,
      Array.from({ length: 40 }, (_, i) => i),
      start,
    );
    await first.ledger.record(events, start, rules);
    const before = await reach(first);
    await file.closeAll();
    const disk = new Database(path, { readonly: true });
    const { sketch, impressions: stored } = disk
      .prepare(`SELECT reach_sketch AS sketch, impressions FROM report_rows WHERE by = 'day'`)
      .get() as { sketch: string | null; impressions: number };
    const mark = disk.prepare(`SELECT value FROM ledger_marks WHERE name = 'report_rows'`).pluck().get();
    const latest = disk.prepare('SELECT max(rowid) FROM events').pluck().get();
    disk.close();
    expect(stored).toBe(40);
    expect(Reach.parse(sketch).estimate()).toBe(before);
    expect(mark).toBe(latest);
    const second = file.store();
    expect(await reach(second)).toBe(before);
    expect((await second.ledger.report('cmp-reach', day, day))[0]).toMatchObject({ impressions: 40, spendMicros: 4_000 });
  });

  it('after a crash amid partial writes (oldest rows first, a bounded number per group), reports equal those before it', async () => {
    const path = file.path;
    const first = file.store();
    // 300 campaigns, 5+ rows each: more rows than one group writes, so rows are written over several groups.
    const campaigns = 300;
    const users = Array.from({ length: 3_000 }, (_, i) => i);
    const events = await impressions(first, users, start, (i) => String(i % campaigns));
    const clicks = events.filter((_, i) => i % 4 === 0).map((e) => ({ ...e, type: 'click' as const }));
    const all = [...events, ...clicks];
    let now = start;
    for (let i = 0; i < all.length; i += 150) {
      // Mostly a few hundred ms apart, now and then past the write interval.
      now += i % 900 === 0 ? 11_000 : 300;
      await first.ledger.record(all.slice(i, i + 150), now, rules);
    }
    const reports = async (store: Store) => {
      const out: unknown[] = [];
      for (let c = 0; c < campaigns; c++)
        for (const by of ['day', 'hour', 'creative', 'country', 'platform'] as const)
          out.push(await store.ledger.report(`cmp-${c}`, day, day, by));
      return out;
    };
    const before = await reports(first);
    const disk = new Database(path, { readonly: true });
    const rowMarks = disk.prepare(`SELECT count(*) FROM ledger_marks WHERE name LIKE 'row:%'`).pluck().get() as number;
    const stored = disk.prepare(`SELECT sum(impressions) FROM report_rows WHERE by = 'day'`).pluck().get() as number;
    disk.close();
    // Some rows were written on their own (row marks), and not everything is on disk: the crash case is real.
    expect(rowMarks).toBeGreaterThan(0);
    expect(stored).toBeLessThan(3_000);
    const second = file.store();
    expect(await reports(second)).toEqual(before);
    const [row] = await second.ledger.report('cmp-8', day, day);
    expect(row).toMatchObject({ impressions: 10, clicks: 10 });
  });

  it('bounds the report row changes kept in memory by bytes, not rows: beyond the bound the oldest are written at once, whatever their age', async () => {
    const path = file.path;
    const store = file.store();
    const stored = () => {
      const disk = new Database(path, { readonly: true });
      const n = disk.prepare('SELECT count(*) FROM report_rows').pluck().get() as number;
      disk.close();
      return n;
    };
    // A row with one user: its change and a one-point sparse sketch (room for 4 points, 16 bytes); five per campaign-day's holder.
    const perRow = ROW_DELTA_BYTES + 16;
    const fit = 5 * Math.floor(MAX_UNWRITTEN_BYTES / (5 * perRow + DAY_ROWS_BYTES));
    // 5 rows per campaign (day, hour, creative, country, platform), all within a few seconds: past the bound.
    const campaigns = Math.ceil((fit + 2_000) / 5);
    const events = await impressions(
      store,
      Array.from({ length: campaigns }, (_, i) => i),
      start,
      (i) => String(i),
    );
    // 10,500 rows with a user each (the bound was 10,000 rows) stay in memory: nothing written.
    for (let i = 0; i < 2_100; i += 500) await store.ledger.record(events.slice(i, Math.min(i + 500, 2_100)), start + i, rules);
    await store.ledger.record(events.slice(0, 1), start + 2_100, rules);
    expect(stored()).toBe(0);
    for (let i = 2_100; i < events.length; i += 500) await store.ledger.record(events.slice(i, i + 500), start + 2_500, rules);
    // (A repeated event starts a group and counts nothing.) The next group finds more than fits: the oldest rows go now, until the rest fit.
    await store.ledger.record(events.slice(0, 1), start + 3_000, rules);
    const written = stored();
    expect(written).toBeGreaterThanOrEqual(campaigns * 5 - fit);
    expect(written).toBeLessThan(campaigns * 5 - fit + 1_000);
    expect((await store.ledger.report('cmp-0', day, day))[0]).toMatchObject({ impressions: 1, reach: 1 });
    expect((await store.ledger.report(`cmp-${campaigns - 1}`, day, day))[0]).toMatchObject({ impressions: 1, reach: 1 });
  });
});
