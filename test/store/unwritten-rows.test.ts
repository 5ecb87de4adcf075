/**
 * The SQLite ledger's unwritten report rows (unwritten-rows.ts): a campaign-day's holder goes once its last row
 * is written, and the live path (rows found by field and value, no key string) creates exactly the rows
 * `reportKeys` names, the rule Workers and Node's recovery count by.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventEffect } from '../../src/engine/events.js';
import type { Reservation } from '../../src/store/interface.js';
import { REPORT_BREAKDOWNS, reportKeys } from '../../src/store/report-rows.js';
import { DAY_ROWS_BYTES, ROW_DELTA_BYTES, UnwrittenRows } from '../../src/store/sqlite/unwritten-rows.js';
import { utcDay } from '../../src/store/utc-day.js';
import { sqliteFile } from '../helpers/sqlite-file.js';

describe('unwritten report rows', () => {
  it('drops a campaign-day once its last row is forgotten, and makes a fresh one when it comes back', () => {
    const rows = new UnwrittenRows();
    const made = [];
    for (const campaign of ['a', 'b']) {
      for (const day of ['2026-11-25', '2026-11-26']) {
        const d = rows.dayRows(campaign, day);
        made.push(d);
        rows.total(d, 1, 0).counters[0]++;
        rows.hour(d, 23, 1, 0).counters[0]++;
        rows.keyed(d, 'country', 'DE', 1, 0).counters[0]++;
      }
    }
    expect(rows.size).toBe(12);
    // The first campaign-day's three rows: it goes, the other day of that campaign stays.
    rows.forget(3);
    expect(made[0].size).toBe(0);
    expect(rows.dayRows('a', '2026-11-26')).toBe(made[1]);
    expect([...rows.of('a', 'day', '2026-11-25', '2026-11-26')].map((r) => r.day)).toEqual(['2026-11-26']);
    const again = rows.dayRows('a', '2026-11-25');
    expect(again).not.toBe(made[0]);

    rows.forget(rows.size);
    expect(rows.size).toBe(0);
    expect(rows.bytes).toBe(0);
    for (const campaign of ['a', 'b']) {
      for (const by of REPORT_BREAKDOWNS) expect([...rows.of(campaign, by, '2026-11-25', '2026-11-26')]).toEqual([]);
    }
    // Every holder went (the one made again above held no row, so it goes with nothing: fresh once asked for).
    for (const campaign of ['a', 'b']) {
      const d = rows.dayRows(campaign, '2026-11-26');
      expect(made).not.toContain(d);
      expect(d).toMatchObject({ size: 0, total: undefined, hours: [] });
      expect(d.country.size).toBe(0);
    }
  });

  it('counts each campaign-day holder once, and frees it with its last row: one row left carries its whole holder', () => {
    const rows = new UnwrittenRows();
    const d = rows.dayRows('a', '2026-11-25');
    expect(rows.dayRows('a', '2026-11-25')).toBe(d);
    rows.total(d, 1, 0);
    rows.hour(d, 23, 1, 0);
    rows.keyed(d, 'creative', 'crv', 1, 0);
    expect(rows.bytes).toBe(3 * ROW_DELTA_BYTES + DAY_ROWS_BYTES);
    rows.total(rows.dayRows('b', '2026-11-25'), 1, 0);
    expect(rows.bytes).toBe(4 * ROW_DELTA_BYTES + 2 * DAY_ROWS_BYTES);
    rows.forget(2);
    // Campaign a's day holds its creative row alone: counted with its holder.
    expect(rows.bytes).toBe(2 * ROW_DELTA_BYTES + 2 * DAY_ROWS_BYTES);
    rows.forget(1);
    expect(rows.bytes).toBe(ROW_DELTA_BYTES + DAY_ROWS_BYTES);
    rows.forget(1);
    expect(rows.bytes).toBe(0);
  });

  const file = sqliteFile('status-ads-unwritten-rows-');
  let n = 0;
  it('creates, for any time, creative, country and platform, the rows reportKeys names (one store of the rule)', async () => {
    const context = fc.record({
      at: fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 11, 31) }),
      creativeId: fc.stringMatching(/^[a-z0-9-]{1,12}$/),
      country: fc.constantFrom('', 'DE', 'FR', 'BR', '00'),
      platform: fc.constantFrom('', 'android', 'ios', 'web'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(context, { minLength: 1, maxLength: 12 }), async (contexts) => {
        const store = file.store();
        // One campaign per event, so its rows are exactly that event's; every batch has its own time, all in one group.
        const reservations: Reservation[] = contexts.map((c) => {
          const i = n++;
          return {
            id: `r-${i}`,
            uid: createHash('sha256').update(`user ${i}`).digest('hex'),
            campaignId: `cmp-${i}`,
            creativeId: c.creativeId,
            advertiserId: 'adv',
            bidType: 'cpm',
            priceMicros: 100,
            servedAt: c.at,
            expiresAt: c.at + 600_000,
            viewedAt: null,
            chargedAt: null,
            country: c.country,
            platform: c.platform,
            video: false,
          };
        });
        await store.users.reserve(reservations);
        await Promise.all(
          reservations.map((r, i) =>
            store.ledger.record(
              [{ type: 'impression', reservationId: r.id, uid: r.uid, campaignId: r.campaignId, creativeId: r.creativeId }],
              contexts[i].at,
              { effect: eventEffect, reportThreshold: 5 },
            ),
          ),
        );
        // A clean close writes the rows as the live path made them (no recovery involved).
        await file.closeAll();
        const disk = new Database(file.path, { readonly: true });
        const stored = disk.prepare('SELECT by, day, key, impressions FROM report_rows WHERE campaign_id = ? ORDER BY by, key');
        for (const [i, r] of reservations.entries()) {
          const day = utcDay(contexts[i].at);
          const expected = reportKeys(contexts[i])
            .map(({ by, key }) => ({ by, day, key, impressions: 1 }))
            .sort((x, y) => (x.by < y.by ? -1 : x.by > y.by ? 1 : x.key < y.key ? -1 : 1));
          expect(stored.all(r.campaignId)).toEqual(expected);
        }
        disk.close();
      }),
      { numRuns: 15 },
    );
  });
});
