/**
 * A user's reservations are found by `uid_key` (migration 0010), the integer of the pseudonym's first 13 hex digits that
 * SQLite makes from `uid`: `uidKey` must give the same number for any text (reads bind it), the user index by that key
 * (`reservation_users`, migration 0011) must be what the history read and erasure use, users whose keys collide must
 * still see only their own rows, and a database of the version before 0010 must migrate with its rows' keys made.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { UserState } from '../../src/engine/types.js';
import type { Reservation } from '../../src/store/interface.js';
import { migrationsFolder, openDatabase } from '../../src/store/sqlite/db.js';
import type { SqliteUsers } from '../../src/store/sqlite/users.js';
import { uidKey } from '../../src/store/user-history.js';
import { sqliteFile } from '../helpers/sqlite-file.js';
import { reservation as servedSlot, T, TTL } from '../helpers/store-records.js';

const HISTORY_MS = 3_600_000;
const slot = (uid: string, id: string): Reservation =>
  servedSlot({ id: 'cmp_1', advertiserId: 'adv_1', bid: { type: 'cpm', amountMicros: 1000 } }, { id: 'crv_1' }, uid, { id });
const ids = (state: UserState | Promise<UserState>) => (state as UserState).history.map((e) => e.reservationId);

describe('uidKey', () => {
  it('is the integer of the first 13 hex digits of a pseudonym', () => {
    expect(uidKey(`0123456789abc${'f'.repeat(51)}`)).toBe(0x0123456789abc);
    expect(uidKey('f'.repeat(64))).toBe(0xfffffffffffff);
    expect(Number.isSafeInteger(uidKey('f'.repeat(64)))).toBe(true);
  });

  it('equals the key SQLite makes from the same text, for any well-formed text without NUL', () => {
    const { sqlite } = openDatabase(':memory:');
    const insert = sqlite.prepare(
      `INSERT INTO reservations (id, uid, campaign_id, creative_id, advertiser_id, bid_type, price_micros, served_at, expires_at)
       VALUES ('r', ?, 'c', 'k', 'a', 'cpm', 0, 0, 0)`,
    );
    const key = sqlite.prepare(`SELECT uid_key FROM reservations WHERE id = 'r'`).pluck();
    const remove = sqlite.prepare(`DELETE FROM reservations`);
    const hexish = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCg-'), maxLength: 20 });
    fc.assert(
      fc.property(fc.oneof(hexish, fc.string({ unit: 'grapheme', maxLength: 16 }), fc.string({ unit: 'binary' })), (uid) => {
        // SQLite's text ends at a NUL; neither it nor a lone surrogate is in a pseudonym (hex) or any raw id (pseudonym.ts).
        fc.pre(!/[\0\uD800-\uDFFF]/u.test(uid));
        insert.run(uid);
        const stored = key.get();
        remove.run();
        expect(stored).toBe(uidKey(uid));
      }),
      { numRuns: 500 },
    );
    sqlite.close();
  });
});

describe('reservations by user key (SQLite)', () => {
  const db = sqliteFile('reservations-uid-key-');
  // Two pseudonyms with the same first 13 hex digits: one key.
  const A = `${'a'.repeat(13)}${'0'.repeat(51)}`;
  const B = `${'a'.repeat(13)}${'1'.repeat(51)}`;

  it('tells apart users whose keys collide: history, erasure', async () => {
    expect(uidKey(A)).toBe(uidKey(B));
    const store = db.store();
    expect(await store.users.reserve([slot(A, 'r_a1'), slot(A, 'r_a2')])).toBe(true);
    expect(await store.users.reserve([slot(B, 'r_b1')])).toBe(true);
    await db.closeAll();
    // A restarted process: nothing cached, both read from SQLite.
    const restarted = db.store();
    const users = restarted.users as unknown as SqliteUsers;
    expect(ids(users.load(A, T, HISTORY_MS))).toEqual(['r_a1', 'r_a2']);
    expect(ids(users.load(B, T, HISTORY_MS))).toEqual(['r_b1']);
    await restarted.users.erase(A);
    users.cache.clear();
    expect(ids(users.load(A, T, HISTORY_MS))).toEqual([]);
    expect(ids(users.load(B, T, HISTORY_MS))).toEqual(['r_b1']);
    expect(await restarted.users.reservation(B, 'r_b1')).toMatchObject({ id: 'r_b1', uid: B });
  });

  it("has the store's own history reads and erase statements use the user index by key, never a scan of reservations", async () => {
    const store = db.store();
    const users = store.users as unknown as {
      db: { $client: Database.Database };
      statements: { readUser: Database.Statement; readHeldUser: Database.Statement };
    };
    const sqlite = users.db.$client;
    const plan = (sql: string, params: unknown) =>
      (sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params as never) as { detail: string }[]).map((r) => r.detail);
    const byKey = (lines: string[]) => {
      expect(lines.join('; ')).toMatch(/SEARCH (reservation_users|u) USING PRIMARY KEY \(key=\?\)/);
      expect(lines.filter((l) => /^SCAN (reservations|r)\b/.test(l))).toEqual([]);
    };
    byKey(plan(users.statements.readUser.source, { uid: A, key: uidKey(A), since: 0, now: 0 }));
    byKey(plan(users.statements.readHeldUser.source, { uid: A, key: uidKey(A), held: '[1]', since: 0, now: 0 }));

    // Erase's statements are built by drizzle when it runs: record each SQL text it prepares (the real statements run).
    const prepared: string[] = [];
    const prepare = sqlite.prepare.bind(sqlite);
    const spy = vi.spyOn(sqlite, 'prepare').mockImplementation((sql: string) => {
      prepared.push(sql);
      return prepare(sql);
    });
    try {
      await store.users.erase(A);
    } finally {
      spy.mockRestore();
    }
    const reads = prepared.filter((sql) => sql.includes('"reservations"'));
    // The select of live reservations, the events' subquery, the delete.
    expect(reads.length).toBeGreaterThanOrEqual(3);
    for (const sql of reads)
      byKey(
        plan(
          sql,
          Array.from(sql.match(/\?/g) ?? [], () => null),
        ),
      );
  });

  it('migrates a database of the previous version: its rows get their keys and are read by them', async () => {
    // The previous version's schema: the migrations up to 0009.
    const folder = join(db.path, '..', 'migrations-0009');
    mkdirSync(join(folder, 'meta'), { recursive: true });
    const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as {
      entries: { idx: number; tag: string }[];
    };
    journal.entries = journal.entries.filter((e) => e.idx <= 9);
    writeFileSync(join(folder, 'meta/_journal.json'), JSON.stringify(journal));
    for (const { tag } of journal.entries) cpSync(join(migrationsFolder, `${tag}.sql`), join(folder, `${tag}.sql`));
    const old = new Database(db.path);
    migrate(drizzle({ client: old }), { migrationsFolder: folder });
    // Gaps in `number` (events name reservations by it) and a value other than the default in every column.
    const insert = old.prepare(
      `INSERT INTO reservations (number, id, uid, campaign_id, creative_id, advertiser_id, bid_type, price_micros, served_at,
         expires_at, viewed_at, charged_at, country, platform, video) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const uid = `0123456789abc${'d'.repeat(51)}`;
    insert.run(4, 'r_1', uid, 'cmp_1', 'crv_1', 'adv_1', 'cpm', 1500, T, T + TTL, null, null, 'DE', 'android', 1);
    insert.run(
      9,
      'r_2',
      'not-a-pseudonym',
      'cmp_2',
      'crv_2',
      'adv_2',
      'cpc',
      2500,
      T - 1,
      T + TTL + 1,
      T + 3,
      T + 4,
      'FR',
      'ios',
      0,
    );
    insert.run(23, 'r_3', uid, 'cmp_3', 'crv_3', 'adv_3', 'cpm', 3500, T + 1, T + TTL + 2, null, null, 'US', 'web', 1);
    const event = old.prepare(
      `INSERT INTO events (reservation, type, uid, campaign_id, at, cost_micros) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    event.run(23, 'impression', uid, 'cmp_3', T + 10, 3500);
    event.run(9, 'click', 'not-a-pseudonym', 'cmp_2', T + 11, 2500);
    event.run(-5, 'impression', 'gone', 'cmp_9', T + 12, 7); // an orphan: kept as it is
    const reservationsBefore = old.prepare('SELECT * FROM reservations ORDER BY number').all();
    const eventsBefore = old.prepare('SELECT rowid, * FROM events ORDER BY rowid').all();
    old.close();

    // The migration alone (the store's start may tidy events later).
    const file = openDatabase(db.path).sqlite;
    const after = file.prepare('SELECT * FROM reservations ORDER BY number').all() as Record<string, unknown>[];
    // Every row whole, only `uid_key` added.
    expect(after.map(({ uid_key, ...row }) => row)).toEqual(reservationsBefore);
    expect(after.map((r) => [r.number, r.uid_key])).toEqual([
      [4, 0x0123456789abc],
      [9, uidKey('not-a-pseudonym')],
      [23, 0x0123456789abc],
    ]);
    expect(file.prepare('SELECT rowid, * FROM events ORDER BY rowid').all()).toEqual(eventsBefore);
    expect(
      file
        .prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reservations' ORDER BY name`)
        .pluck()
        .all(),
    ).toEqual(['reservations_expires']);
    file.close();
    const store = db.store();
    const users = store.users as unknown as SqliteUsers;
    const state = users.load(uid, T + 2, HISTORY_MS) as UserState;
    expect(state.history.map((e) => [e.reservationId, e.viewed])).toEqual([
      ['r_1', false],
      ['r_3', true],
    ]);
    expect(ids(users.load('not-a-pseudonym', T + 2, HISTORY_MS))).toEqual(['r_2']);
  });
});
