/**
 * Migration 0003: free-text advertiser categories become ids of the fixed list
 * (with exactly the table categoryFromText uses), unmapped ones move to
 * legacy_category; daily report rows move into report_rows. Run on a real
 * SQLite file migrated to 0002 first, then to the latest.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CATEGORIES, categoryFromText, LEGACY_SYNONYMS } from '../../src/engine/categories.js';

const dir = new URL('../../schema/migrations/', import.meta.url);
const statements = (file: string) =>
  readFileSync(new URL(file, dir), 'utf8')
    .split('--> statement-breakpoint')
    .map((s) => s.trim())
    .filter(Boolean);

let tmp: string | undefined;
afterEach(() => tmp && rmSync(tmp, { recursive: true, force: true }));

function databaseAt0002() {
  tmp = mkdtempSync(join(tmpdir(), 'status-ads-migration-'));
  const db = new Database(join(tmp, 'ads.db'));
  for (const file of ['0000_init.sql', '0001_creative_stats.sql', '0002_durable_object_tables.sql'])
    for (const s of statements(file)) db.exec(s);
  return db;
}

const later = ['0003_mission.sql', '0004_drop_report_daily.sql'];

describe('migration 0003: fixed categories', () => {
  it('maps every id, label, IAB id and synonym as categoryFromText does, and keeps what it cannot map', () => {
    const db = databaseAt0002();
    const inputs = [
      ...CATEGORIES.flatMap((c) => [c.id, c.label, c.label.toUpperCase(), ` ${c.label} `, c.iabId]),
      ...Object.keys(LEGACY_SYNONYMS),
      'Food',
      'RESTAURANT',
      'artisan things',
      'Bäckerei',
      '',
    ];
    const insert = db.prepare('INSERT INTO advertisers (id, name, category, created_at, updated_at) VALUES (?, ?, ?, 0, 0)');
    inputs.forEach((text, i) => insert.run(`adv_${i}`, 'A', text));
    insert.run('adv_null', 'A', null);
    for (const file of later) for (const s of statements(file)) db.exec(s);

    const rows = db.prepare('SELECT id, category, legacy_category AS legacy FROM advertisers').all() as {
      id: string;
      category: string | null;
      legacy: string | null;
    }[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    inputs.forEach((text, i) => {
      const expected = categoryFromText(text) ?? null;
      expect(byId.get(`adv_${i}`), text).toEqual({ id: `adv_${i}`, category: expected, legacy: expected === null ? text : null });
    });
    expect(byId.get('adv_null')).toEqual({ id: 'adv_null', category: null, legacy: null });
    db.close();
  });

  it('moves daily report rows into report_rows as the day breakdown', () => {
    const db = databaseAt0002();
    db.prepare(
      "INSERT INTO report_daily (campaign_id, day, impressions, clicks, hides, reports, blocks, spend_micros, reach_sketch) VALUES ('cmp_1', '2026-11-20', 7, 2, 1, 0, 1, 700, 'sketch')",
    ).run();
    for (const file of later) for (const s of statements(file)) db.exec(s);
    expect(db.prepare('SELECT * FROM report_rows').all()).toEqual([
      {
        campaign_id: 'cmp_1',
        by: 'day',
        day: '2026-11-20',
        key: '',
        impressions: 7,
        clicks: 2,
        hides: 1,
        reports: 0,
        blocks: 1,
        spend_micros: 700,
        video_starts: 0,
        video_first_quartiles: 0,
        video_midpoints: 0,
        video_third_quartiles: 0,
        video_completes: 0,
        reach_sketch: 'sketch',
      },
    ]);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'report_daily'").all()).toEqual([]);
    db.close();
  });
});
