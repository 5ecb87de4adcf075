/**
 * Retention and erasure with a simulated clock: prune drops per-user history
 * once no cap window or token needs it; erase removes every row of a user. The
 * database files are scanned byte by byte (after a checkpoint, -wal included):
 * the raw user id never appears, and after erase neither does its pseudonym.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPseudonymizer } from '../../src/privacy/pseudonym.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { makeService, SECRET, type TestService } from '../helpers/service.js';

const pseudonym = createPseudonymizer(SECRET);
const MINUTE = 60_000;

/** Rows, in any table and any column, whose value contains `needle`. */
function rowsMentioning(dir: string, needle: string): string[] {
  const db = new Database(join(dir, 'ads.db'), { readonly: true });
  try {
    const found: string[] = [];
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[];
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[]) {
        if (Object.values(row).some((v) => typeof v === 'string' && v.includes(needle)))
          found.push(`${name}: ${JSON.stringify(row)}`);
      }
    }
    return found;
  } finally {
    db.close();
  }
}

/** The raw bytes of the database file and its WAL, as they are on disk. */
function fileBytes(dir: string): string {
  const wal = join(dir, 'ads.db-wal');
  return Buffer.concat([readFileSync(join(dir, 'ads.db')), existsSync(wal) ? readFileSync(wal) : Buffer.alloc(0)]).toString(
    'latin1',
  );
}

const count = (dir: string, table: string, uid: string) => {
  const db = new Database(join(dir, 'ads.db'), { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM "${table}" WHERE uid = ?`).get(uid) as { n: number }).n;
  } finally {
    db.close();
  }
};

const logged: string[] = [];
beforeAll(() => {
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));
  }
});
afterAll(() => vi.restoreAllMocks());

describe('retention: prune keeps only what caps and token TTL need', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await makeService({ TOKEN_TTL: '900', USER_CAP_WINDOW_SECONDS: '3600' });
  });
  afterEach(() => s.close());

  it('drops unviewed reservations after the token TTL, and all history after the longest cap window', async () => {
    const { campaignId, advertiser } = await s.seedCampaign({ campaign: { caps: [{ impressions: 1, windowSeconds: 7200 }] } });
    const client = await s.newClient();
    const viewer = 'raw-viewer-5f1c0e2a';
    const skipper = 'raw-skipper-9d3b7a41';
    const [viewerUid, skipperUid] = await Promise.all([pseudonym(viewer), pseudonym(skipper)]);
    expect(s.delivery.historyMs()).toBe(7200 * 1000);

    const viewed = await s.call('POST', '/v1/slots', client.key, { user: viewer, statuses: 10 });
    const token = viewed.body.slots[0].token;
    await s.call('POST', '/v1/events', client.key, { events: [{ token, type: 'impression' }] });
    await s.call('POST', '/v1/slots', client.key, { user: skipper, statuses: 10 });

    expect(await s.delivery.prune(s.clock.now)).toBe(0);

    // Past the token TTL: the unviewed reservation is released and deleted; the impression still counts toward the cap.
    s.clock.advance(15 * MINUTE + 1);
    await s.delivery.prune(s.clock.now);
    expect(count(s.dir, 'reservations', skipperUid)).toBe(0);
    expect(count(s.dir, 'reservations', viewerUid)).toBe(1);
    expect(count(s.dir, 'events', viewerUid)).toBe(1);
    const capped = await s.call('POST', '/v1/slots', client.key, { user: viewer, statuses: 10 });
    expect(capped.body.slots).toHaveLength(0); // 1 per 2 h, still enforced after pruning

    // Past the longest cap window: nothing per-user is left but the user's own choices (none here).
    s.clock.advance(2 * 60 * MINUTE);
    await s.delivery.prune(s.clock.now);
    for (const uid of [viewerUid, skipperUid]) {
      expect(count(s.dir, 'reservations', uid)).toBe(0);
      expect(count(s.dir, 'events', uid)).toBe(0);
      expect(rowsMentioning(s.dir, uid)).toEqual([]);
    }
    // Aggregates survive; replaying the pruned token is rejected as expired, never counted again.
    const day = new Date(s.clock.now).toISOString().slice(0, 10);
    const report = await s.call('GET', `/v1/reports?campaign=${campaignId}&from=2026-11-01&to=${day}`, advertiser.key);
    expect(report.body.rows.reduce((a: number, r: { impressions: number }) => a + r.impressions, 0)).toBe(1);
    const replay = await s.call('POST', '/v1/events', client.key, { events: [{ token, type: 'impression' }] });
    expect(replay.body.results[0]).toEqual({ status: 'rejected', reason: 'expired_token' });
    // And the user can be served again.
    expect((await s.call('POST', '/v1/slots', client.key, { user: viewer, statuses: 10 })).body.slots).toHaveLength(1);

    // Pruned history is gone from the bytes too (the retention job checkpoints the WAL itself).
    await s.delivery.prune(s.clock.now);
    const bytes = fileBytes(s.dir);
    expect(bytes.includes(skipperUid), 'pruned pseudonym found in the database files').toBe(false);
    expect(bytes.includes(viewer), `viewer found in the database files`).toBe(false);
    expect(bytes.includes(skipper), `skipper found in the database files`).toBe(false);
  });
});

describe('events go with their reservations (erase finds them through reservations)', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await makeService({ TOKEN_TTL: '900', USER_CAP_WINDOW_SECONDS: '3600' });
  });
  afterEach(() => s.close());

  it('retention deletes the events of a reservation it deletes, however recent the events', async () => {
    await s.seedCampaign({ seed: 21 });
    const client = await s.newClient();
    const raw = 'raw-hider-71c0d9e4';
    const uid = await pseudonym(raw);
    const served = await s.call('POST', '/v1/slots', client.key, { user: raw, statuses: 10 });
    const token = served.body.slots[0].token;
    // Hidden without an impression: the reservation stays unviewed, so it goes once its token expires.
    s.clock.advance(14 * MINUTE);
    const hidden = await s.call('POST', '/v1/events', client.key, { events: [{ token, type: 'hide' }] });
    expect(hidden.body.results[0]).toEqual({ status: 'accepted' });
    expect(count(s.dir, 'events', uid)).toBe(1);

    s.clock.advance(MINUTE + 1);
    await s.delivery.prune(s.clock.now);
    expect(count(s.dir, 'reservations', uid)).toBe(0);
    // The event is a minute old, far inside the history window, and still goes with its reservation.
    expect(count(s.dir, 'events', uid)).toBe(0);
    // The choice itself stays (the user's own, until erased).
    expect(count(s.dir, 'user_hides', uid)).toBe(1);
  });

  it('a database with events whose reservation is gone (older versions pruned by age only) loses them on start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orphan-events-'));
    try {
      const path = join(dir, 'ads.db');
      await createSqliteStore({ path, userCacheSize: 10 }).close();
      const db = new Database(path);
      db.prepare(
        `INSERT INTO events (reservation, type, uid, campaign_id, at, cost_micros) VALUES (-1, 'hide', 'u_orphan', 'c_x', 1, 0)`,
      ).run();
      db.prepare(`DELETE FROM ledger_marks WHERE name = 'events_by_reservation'`).run();
      db.close();
      await createSqliteStore({ path, userCacheSize: 10 }).close();
      const after = new Database(path, { readonly: true });
      try {
        expect(after.prepare(`SELECT count(*) FROM events WHERE uid = 'u_orphan'`).pluck().get()).toBe(0);
      } finally {
        after.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the events table has no index on uid: one random page less per event', () => {
    const db = new Database(join(s.dir, 'ads.db'), { readonly: true });
    try {
      const indexes = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'`).pluck().all();
      expect(indexes.sort()).toEqual(['events_at', 'sqlite_autoindex_events_1']);
    } finally {
      db.close();
    }
  });
});

describe('erase removes every row of a user', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await makeService();
  });
  afterEach(() => s.close());

  it('leaves no row, no byte of the pseudonym and no byte of the raw id', async () => {
    const first = await s.seedCampaign({ seed: 11 });
    const second = await s.seedCampaign({ advertiser: await s.newAdvertiser('Florist'), seed: 12 });
    const client = await s.newClient();
    const raw = 'raw-erase-me-3c9e51d7';
    const other = 'raw-keep-me-8a2f44b0';
    const uid = await pseudonym(raw);

    // Give the user every kind of state: reservations, events of every type, a block, a hide, a report.
    const slots = await s.call('POST', '/v1/slots', client.key, { user: raw, statuses: 20 });
    expect(slots.body.slots.length).toBe(2);
    const [a, b] = slots.body.slots.map((x: { token: string }) => x.token);
    await s.call('POST', '/v1/events', client.key, {
      events: [
        { token: a, type: 'impression' },
        { token: a, type: 'click' },
        { token: a, type: 'report' },
        { token: a, type: 'hide' },
        { token: b, type: 'impression' },
        { token: b, type: 'block' },
      ],
    });
    await s.call('POST', '/v1/users/block', client.key, { user: raw, advertiser: first.advertiser.id });
    await s.call('POST', '/v1/slots', client.key, { user: other, statuses: 20 });
    const again = await s.call('POST', '/v1/slots', client.key, { user: raw, statuses: 20 });
    expect(again.body.slots).toHaveLength(0); // blocked both
    expect(rowsMentioning(s.dir, uid).length).toBeGreaterThanOrEqual(8);

    const erased = await s.call('POST', '/v1/users/erase', client.key, { user: raw });
    expect(erased.status).toBe(204);

    expect(rowsMentioning(s.dir, uid)).toEqual([]);
    for (const table of ['reservations', 'events', 'user_blocks', 'user_hides', 'creative_reports'])
      expect(count(s.dir, table, uid)).toBe(0);
    // Other users are untouched.
    expect(rowsMentioning(s.dir, await pseudonym(other)).length).toBeGreaterThan(0);
    // The bytes are gone too, not just the rows: secure_delete overwrites them in the main file, and
    // truncating checkpoints (after erase and after each retention run) drop the old WAL frames.
    // No checkpoint of our own here: the files are read as the service left them.
    await s.delivery.prune(s.clock.now);
    const bytes = fileBytes(s.dir);
    expect(bytes.includes(uid), `uid found in the database files`).toBe(false);
    expect(bytes.includes(raw), `raw found in the database files`).toBe(false);
    expect(bytes.includes(other), `other found in the database files`).toBe(false);
    // No cached state survives either: the user is a stranger again and sees both advertisers.
    expect((await s.call('POST', '/v1/users/blocks', client.key, { user: raw })).body.advertisers).toEqual([]);
    const fresh = await s.call('POST', '/v1/slots', client.key, { user: raw, statuses: 20 });
    expect(fresh.body.slots.map((x: { ad: { advertiser: { id: string } } }) => x.ad.advertiser.id).sort()).toEqual(
      [first.advertiser.id, second.advertiser.id].sort(),
    );
  });
});

describe('raw user ids never leave the request body', () => {
  it('appear in no log line of the suites above', () => {
    expect(logged.join('\n')).not.toMatch(/raw-(viewer|skipper|erase-me|keep-me)/);
  });

  it('no route takes a user id in its path or query', async () => {
    const s = await makeService();
    try {
      const doc = (await s.call('GET', '/openapi.json', undefined)).body;
      for (const [path, item] of Object.entries(
        doc.paths as Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>,
      )) {
        expect(path).not.toMatch(/user(?!s\/)/i);
        for (const op of Object.values(item)) for (const p of op.parameters ?? []) expect(p.name).not.toMatch(/user|uid/i);
      }
    } finally {
      await s.close();
    }
  });
});
