/**
 * A user's reservations are found through `reservation_users` (key, number), which the Node store fills in key-sorted
 * batches (src/store/sqlite/users.ts `UserIndex`, migration 0011): history and erasure must see every row whether its
 * entry is written, held or being written; a process stopped with entries held must find them when it starts again;
 * a number SQLite gives again must get its entry at once; no entry may outlive its row; and a database of the
 * previous version must migrate with every row's entry. Real SQLite files; small batches so each state is reached.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterEach, describe, expect, it } from 'vitest';
import type { UserState } from '../../src/engine/types.js';
import type { Reservation } from '../../src/store/interface.js';
import { SqliteBudgets } from '../../src/store/sqlite/budgets.js';
import { migrationsFolder, openDatabase, walTruncation } from '../../src/store/sqlite/db.js';
import { SqliteUsers } from '../../src/store/sqlite/users.js';
import { WalSync } from '../../src/store/sqlite/wal-sync.js';
import { uidKey } from '../../src/store/user-history.js';
import { sqliteFile } from '../helpers/sqlite-file.js';
import { reservation, T, TTL } from '../helpers/store-records.js';

const HISTORY_MS = 3_600_000;
const CAMPAIGN = { id: 'cmp_1', advertiserId: 'adv_1', bid: { type: 'cpm' as const, amountMicros: 1000 } };
const slot = (uid: string): Reservation => reservation(CAMPAIGN, { id: 'crv_1' }, uid);
/** A pseudonym whose key is `n`. */
const user = (n: number) => `${n.toString(16).padStart(13, '0')}${'e'.repeat(51)}`;

describe('the user index in sorted batches (SQLite)', () => {
  const file = sqliteFile('user-index-');
  const opened: Database.Database[] = [];
  afterEach(() => {
    for (const sqlite of opened.splice(0)) if (sqlite.open) sqlite.close();
  });

  /** A store's users on the file (a process); `stop` closes the connection, dropping whatever it held in memory. */
  function open(batch: number, path = file.path) {
    const { db, sqlite } = openDatabase(path);
    opened.push(sqlite);
    const users = new SqliteUsers(
      db,
      new SqliteBudgets(db),
      100,
      new WalSync(path, sqlite),
      walTruncation(sqlite),
      undefined,
      batch,
    );
    const history = (uid: string) => {
      users.cache.clear();
      return (users.load(uid, T, HISTORY_MS) as UserState).history.map((e) => e.reservationId).sort();
    };
    const entries = () =>
      sqlite.prepare('SELECT key, number FROM reservation_users ORDER BY key, number').raw().all() as [number, number][];
    const rows = () =>
      sqlite.prepare('SELECT uid_key, number FROM reservations ORDER BY uid_key, number').raw().all() as [number, number][];
    const mark = () => sqlite.prepare(`SELECT value FROM ledger_marks WHERE name = 'reservation_users'`).pluck().get();
    const stop = () => sqlite.close();
    return { users, history, entries, rows, mark, stop };
  }

  it('reads and erases a user whose entries are written, held or being written', async () => {
    const s = open(4);
    const target = user(1);
    const theirs: string[] = [];
    const seen = { held: false, written: false };
    for (let i = 0; i < 24; i++) {
      const mine = slot(target);
      theirs.push(mine.id);
      // One group commit: the target's row and two of other users'.
      await Promise.all([s.users.reserve([mine]), s.users.reserve([slot(user(100 + i)), slot(user(100 + i))])]);
      expect(s.history(target)).toEqual([...theirs].sort());
      const written = s.entries().filter(([key]) => key === uidKey(target)).length;
      if (written < theirs.length) seen.held = true;
      if (written > 0) seen.written = true;
    }
    expect(seen).toEqual({ held: true, written: true });

    await s.users.erase(target);
    expect(s.history(target)).toEqual([]);
    // Later commits write the rest of the sealed batches: the erased rows' entries were held, and must not appear.
    for (let i = 0; i < 12; i++) await s.users.reserve([slot(user(200 + i)), slot(user(200 + i))]);
    expect(s.entries().filter(([key]) => key === uidKey(target))).toEqual([]);
    // No entry without its row.
    const rows = new Set(s.rows().map((r) => JSON.stringify(r)));
    expect(s.entries().filter((e) => !rows.has(JSON.stringify(e)))).toEqual([]);
  });

  it('finds, after a stop with entries held, every row past the mark', async () => {
    const s = open(1000);
    const target = user(2);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = slot(target);
      ids.push(r.id);
      await s.users.reserve([r]);
    }
    // Held in memory only: the table has none of them.
    expect(s.entries()).toEqual([]);
    s.stop();

    const restarted = open(1000);
    expect(restarted.entries()).toEqual(restarted.rows());
    expect(restarted.mark()).toBe(Math.max(...restarted.rows().map((r) => r[1])));
    expect(restarted.history(target)).toEqual([...ids].sort());
  });

  it('writes the entries still held when the store is closed cleanly', async () => {
    const store = file.store();
    const target = user(6);
    for (let i = 0; i < 5; i++) await store.users.reserve([slot(target), slot(user(7))]);
    const raw = new Database(file.path, { readonly: true });
    opened.push(raw);
    const count = (q: string) => raw.prepare(q).pluck().get();
    // The default batch is far from full: every entry is held.
    expect(count('SELECT count(*) FROM reservation_users')).toBe(0);
    raw.close();
    await store.close();

    // Read before any store starts on the file again (a start would write them too).
    const after = new Database(file.path, { readonly: true });
    opened.push(after);
    const all = (q: string) => after.prepare(q).raw().all();
    expect(all('SELECT key, number FROM reservation_users ORDER BY key, number')).toEqual(
      all('SELECT uid_key, number FROM reservations ORDER BY uid_key, number'),
    );
    expect(all('SELECT key FROM reservation_users')).toHaveLength(10);
    expect(after.prepare(`SELECT value FROM ledger_marks WHERE name = 'reservation_users'`).pluck().get()).toBe(
      after.prepare('SELECT max(number) FROM reservations').pluck().get(),
    );
  });

  it('keeps, stopped after any commit, every row at or below the mark with its entry (the mark never passes a held row)', async () => {
    // Batch 4 with two users per commit, their keys far apart (one rising, one falling): batches are sealed and
    // drained over several commits while newer rows are held, so a mark moved past a held row leaves that row's
    // entry unwritten for good (a start adds only rows past the mark).
    for (let stopAt = 1; stopAt < 40; stopAt++) {
      const path = `${file.path}.${stopAt}`;
      const s = open(4, path);
      for (let i = 0; i < stopAt; i++)
        await Promise.all([s.users.reserve([slot(user(1000 - i))]), s.users.reserve([slot(user(i))])]);
      const mark = s.mark() as number;
      const written = new Set(s.entries().map(([key, number]) => `${key}:${number}`));
      const missing = s.rows().filter(([key, number]) => number <= mark && !written.has(`${key}:${number}`));
      expect({ stopAt, missing }).toEqual({ stopAt, missing: [] });
      s.stop();
      const restarted = open(4, path);
      expect({ stopAt, entries: restarted.entries() }).toEqual({ stopAt, entries: restarted.rows() });
      restarted.stop();
    }
  });

  it('numbers no row at or below the mark, even once the last rows are taken back (SQLite alone would number them again)', async () => {
    const s = open(2);
    const [a, b, c] = [user(3), user(4), user(5)];
    const a1 = slot(a);
    const a2 = slot(a);
    const b1 = slot(b);
    await s.users.reserve([a1, a2]); // a batch: sealed
    await s.users.reserve([b1]); // its entries written, the mark moved up to a2's number
    expect(s.mark()).toBeGreaterThanOrEqual(a2.number as number);
    // The last rows taken back: the next row is still numbered past every number given, so past the mark.
    await s.users.unreserve(b, [b1.id]);
    await s.users.unreserve(a, [a2.id]);
    const c1 = slot(c);
    await s.users.reserve([c1]);
    expect(c1.number).toBe((b1.number as number) + 1);
    expect(c1.number).toBeGreaterThan(s.mark() as number);
    s.stop();

    // A start adds the rows past the mark: c1 is found (its entry was held).
    const restarted = open(2);
    expect(restarted.history(c)).toEqual([c1.id]);
    expect(restarted.history(a)).toEqual([a1.id]);
    expect(restarted.history(b)).toEqual([]);
  });

  it('takes a row’s entry away with the row when it is taken back or pruned, written or held', async () => {
    const s = open(2);
    const noOrphans = () => {
      const rows = new Set(s.rows().map((r) => JSON.stringify(r)));
      expect(s.entries().filter((e) => !rows.has(JSON.stringify(e)))).toEqual([]);
    };
    const [kept, taken] = [slot(user(10)), slot(user(11))];
    await s.users.reserve([kept]);
    await s.users.reserve([taken]); // a batch sealed: both held
    await s.users.unreserve(taken.uid, [taken.id]);
    for (let i = 0; i < 3; i++) await s.users.reserve([slot(user(12 + i))]); // the batch written
    expect(s.entries().map(([key]) => key)).toContain(uidKey(kept.uid));
    noOrphans();
    // Everything expired unviewed and served before any cap window: written entries and held ones.
    await s.users.prune(T + TTL + HISTORY_MS + 1, HISTORY_MS);
    expect(s.rows()).toEqual([]);
    expect(s.entries()).toEqual([]);
    // New rows: numbered again from 1, then past the mark, held and written (a held entry of a pruned row would be too).
    for (let i = 0; i < 10; i++) await s.users.reserve([slot(user(20 + i))]);
    noOrphans();
  });

  it('migrates a database of the previous version: every row gets its entry, the mark is its highest number', async () => {
    // The previous version's schema: the migrations up to 0010.
    const folder = join(file.path, '..', 'migrations-0010');
    mkdirSync(join(folder, 'meta'), { recursive: true });
    const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as {
      entries: { idx: number; tag: string }[];
    };
    journal.entries = journal.entries.filter((e) => e.idx <= 10);
    expect(journal.entries.at(-1)?.tag).toBe('0010_uid_key');
    writeFileSync(join(folder, 'meta/_journal.json'), JSON.stringify(journal));
    for (const { tag } of journal.entries) cpSync(join(migrationsFolder, `${tag}.sql`), join(folder, `${tag}.sql`));
    const old = new Database(file.path);
    migrate(drizzle({ client: old }), { migrationsFolder: folder });
    const insert = old.prepare(
      `INSERT INTO reservations (number, id, uid, campaign_id, creative_id, advertiser_id, bid_type, price_micros, served_at,
         expires_at, viewed_at) VALUES (?, ?, ?, 'cmp_1', 'crv_1', 'adv_1', 'cpm', 1000, ?, ?, NULL)`,
    );
    // Two users whose keys collide, one other, a uid that is no pseudonym; gaps in the numbers.
    const [p, q, r] = [`${'a'.repeat(13)}${'0'.repeat(51)}`, `${'a'.repeat(13)}${'1'.repeat(51)}`, user(7)];
    insert.run(3, 'r_p1', p, T, T + TTL);
    insert.run(8, 'r_q1', q, T, T + TTL);
    insert.run(9, 'r_r1', r, T, T + TTL);
    insert.run(15, 'r_p2', p, T + 1, T + TTL);
    insert.run(40, 'r_x1', 'not-a-pseudonym', T, T + TTL);
    const before = old.prepare('SELECT * FROM reservations ORDER BY number').all();
    old.close();

    const s = open(1000);
    expect(opened.at(-1)?.prepare('SELECT * FROM reservations ORDER BY number').all()).toEqual(before);
    expect(s.entries()).toEqual(s.rows());
    expect(s.rows()).toHaveLength(5);
    expect(s.mark()).toBe(40);
    expect(
      opened
        .at(-1)
        ?.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reservations' ORDER BY name`)
        .pluck()
        .all(),
    ).toEqual(['reservations_expires']);
    expect(s.history(p)).toEqual(['r_p1', 'r_p2']);
    expect(s.history(q)).toEqual(['r_q1']);
    expect(s.history(r)).toEqual(['r_r1']);
    expect(s.history('not-a-pseudonym')).toEqual(['r_x1']);
    await s.users.erase(p);
    expect(s.history(p)).toEqual([]);
    expect(s.history(q)).toEqual(['r_q1']);
    expect(s.entries()).toEqual(s.rows());
  });
});
