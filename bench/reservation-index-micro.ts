/**
 * The reservation write and the cache-miss read by the user index's layout, in process: one
 * SQLite file per layout (WAL, `synchronous = NORMAL` as the group commit, the server's memory
 * map), seeded with `--seeded` rows of random users; then rounds alternating the layouts, each
 * round `--groups` group commits of `--group` rows of random users, a checkpoint every
 * `--checkpoint-every` rows (or each of `--checkpoints`: the checkpointer's work, on another thread in
 * the server, counted here), and `--reads` history reads of random users (a user-cache miss). Prints µs of CPU per
 * row written (insert + commit + checkpoint) and per read, each layout's median over rounds.
 *
 *   npx tsx bench/reservation-index-micro.ts [--seeded=600000] [--rounds=6]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { median, numberOf } from './stats.js';

const { values: o } = parseArgs({
  strict: true,
  options: {
    seeded: { type: 'string', default: '600000' },
    users: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '6' },
    groups: { type: 'string', default: '1500' },
    group: { type: 'string', default: '17' },
    'checkpoint-every': { type: 'string', default: '1250' },
    /** Several checkpoint intervals (rows, comma-separated): each layout once per interval. */
    checkpoints: { type: 'string' },
    reads: { type: 'string', default: '5000' },
    /** Rows per request (one user's slots, adjacent in a group): 1, plus 1 with probability slots - 1. */
    slots: { type: 'string', default: '1' },
    only: { type: 'string' },
  },
});
const num = (k: keyof typeof o) => numberOf(k, o[k]);

/** The integer of a uid's first 13 hex digits, in SQL (the same for any text: a non-hex character counts -1). */
const int13 = (col: string) => {
  let e = '0';
  for (let i = 1; i <= 13; i++) e = `(${e}) * 16 + instr('0123456789abcdef', substr(${col}, ${i}, 1)) - 1`;
  return e;
};

interface Layout {
  name: string;
  index: string;
  /** The history read's user condition over the bound @uid (and @key where the layout has a column). */
  where: string;
  column?: boolean;
  /** The column is SQLite's, generated from uid (stored): writers do not name it. */
  generated?: boolean;
  /** Rows between checkpoints. */
  every?: number;
  /** No `served_at` index. */
  noServed?: boolean;
  /** No `expires_at` index. */
  noExpires?: boolean;
  /** `id` not unique (no index on it). */
  noId?: boolean;
  /** Numbers given by the writer (as the Node store does since session 14), not by SQLite. */
  numbered?: boolean;
  /**
   * The user index as a side table (key, number) filled in key-sorted batches of this many rows; the unindexed
   * tail is held in memory (read beside the table).
   */
  side?: number;
}
const LAYOUTS: Layout[] = [
  { name: 'text uid (today)', index: 'CREATE INDEX reservations_uid ON reservations (uid)', where: 'uid = @uid' },
  {
    name: 'substr(uid, 1, 16)',
    index: 'CREATE INDEX reservations_uid_prefix ON reservations (substr(uid, 1, 16))',
    where: 'substr(uid, 1, 16) = substr(@uid, 1, 16) AND uid = @uid',
  },
  {
    name: 'int of 13 hex digits, expression',
    index: `CREATE INDEX reservations_uid_int ON reservations (${int13('uid')})`,
    where: `${int13('uid')} = ${int13('@uid')} AND uid = @uid`,
  },
  {
    name: 'uid_key column (JS)',
    index: 'CREATE INDEX reservations_uid_key ON reservations (uid_key)',
    where: 'uid_key = @key AND uid = @uid',
    column: true,
  },
  {
    name: 'uid_key generated (stored)',
    index: 'CREATE INDEX reservations_uid_key ON reservations (uid_key)',
    where: 'uid_key = @key AND uid = @uid',
    generated: true,
  },
  { name: 'no user index', index: '', where: '' },
  {
    name: 'uid_key generated, no served_at index',
    index: 'CREATE INDEX reservations_uid_key ON reservations (uid_key)',
    where: 'uid_key = @key AND uid = @uid',
    generated: true,
    noServed: true,
  },
  // The Node store's layout since session 14 (side table in batches of 32,768, numbers given by the store), and the
  // same without the `id` index and one or both time indexes (session 16).
  ...[
    ['store', {}],
    ['store, no id index', { noId: true }],
    ['store, no id or served_at index', { noId: true, noServed: true }],
    ['store, no id or expires_at index', { noId: true, noExpires: true }],
    ['store, no id, served_at or expires_at index', { noId: true, noServed: true, noExpires: true }],
    ['store, no index, no uid_key column', { noId: true, noServed: true, noExpires: true, generated: false }],
    ['store, no id or served_at index, no uid_key column', { noId: true, noServed: true, generated: false }],
  ].map(([name, flags]) => ({
    name: name as string,
    index:
      'CREATE TABLE reservation_users (key INTEGER NOT NULL, number INTEGER NOT NULL, PRIMARY KEY (key, number)) WITHOUT ROWID',
    where: 'number IN (SELECT number FROM reservation_users WHERE key = @key) AND uid = @uid',
    generated: true,
    numbered: true,
    side: 32768,
    ...(flags as Partial<Layout>),
  })),
  ...[2500, 10000, 40000].map((side) => ({
    name: `side table, sorted batches of ${side}`,
    index:
      'CREATE TABLE reservation_users (key INTEGER NOT NULL, number INTEGER NOT NULL, PRIMARY KEY (key, number)) WITHOUT ROWID',
    where: 'number IN (SELECT number FROM reservation_users WHERE key = @key) AND uid = @uid',
    generated: true,
    side,
  })),
]
  .filter((l) => o.only === undefined || o.only.split(',').some((n) => l.name.startsWith(n)))
  .flatMap((l) =>
    (o.checkpoints ?? o['checkpoint-every']).split(',').map((every) => ({
      ...l,
      every: numberOf('checkpoints', every),
      name: o.checkpoints ? `${l.name}, checkpoint every ${every} rows` : l.name,
    })),
  );

const population = Array.from({ length: Math.min(num('users'), 2_000_000) }, () => randomBytes(32).toString('hex'));
const someone = () => population[Math.floor(Math.random() * population.length)];
const keyOf = (uid: string) => Number.parseInt(uid.slice(0, 13), 16);

const dir = mkdtempSync(join(tmpdir(), 'resv-index-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

let clock = Date.UTC(2026, 11, 2);
let idn = 0;
const dbs = LAYOUTS.map((layout, i) => {
  const db = new Database(join(dir, `${i}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('secure_delete = ON');
  db.pragma('wal_autocheckpoint = 0');
  db.pragma(`mmap_size = ${1 << 30}`);
  db.exec(`CREATE TABLE reservations (number INTEGER PRIMARY KEY, id TEXT NOT NULL ${layout.noId ? '' : 'UNIQUE'}, uid TEXT NOT NULL,
    campaign_id TEXT NOT NULL, creative_id TEXT NOT NULL, advertiser_id TEXT NOT NULL, bid_type TEXT NOT NULL,
    price_micros INTEGER NOT NULL, served_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, viewed_at INTEGER,
    charged_at INTEGER, country TEXT NOT NULL DEFAULT '', platform TEXT NOT NULL DEFAULT '', video INTEGER NOT NULL DEFAULT 0
    ${layout.column ? ', uid_key INTEGER' : ''}${layout.generated ? `, uid_key INTEGER GENERATED ALWAYS AS (${int13('uid')}) STORED` : ''})`);
  if (!layout.noServed) db.exec('CREATE INDEX reservations_served ON reservations (served_at)');
  if (!layout.noExpires) db.exec('CREATE INDEX reservations_expires ON reservations (expires_at)');
  if (layout.index) db.exec(layout.index);
  let number = 0;
  const insert = db.prepare(
    `INSERT INTO reservations (${layout.numbered ? 'number, ' : ''}id, uid, campaign_id, creative_id, advertiser_id, bid_type, price_micros, served_at, expires_at, country, platform, video${layout.column ? ', uid_key' : ''})
     VALUES (${layout.numbered ? '?, ' : ''}?, ?, 'cmp_000123', 'crv_000123', 'adv_000042', 'cpm', 1500, ?, ?, 'DE', 'ios', 0${layout.column ? ', ?' : ''})`,
  );
  const read = layout.where
    ? db.prepare(`SELECT id, campaign_id, creative_id, advertiser_id, served_at, expires_at FROM reservations
        WHERE ${layout.where} AND served_at > @since AND (expires_at > @now OR viewed_at IS NOT NULL) ORDER BY served_at`)
    : undefined;
  // The side table's unindexed tail: [key, number] pairs, flushed sorted once `side` are held.
  let tail: [number, number][] = [];
  const tailOf = new Map<number, number[]>();
  const addSide = layout.side ? db.prepare('INSERT INTO reservation_users (key, number) VALUES (?, ?)') : undefined;
  const flush = db.transaction((pairs: [number, number][]) => {
    for (const [key, number] of pairs) addSide?.run(key, number);
  });
  const commitGroup = db.transaction((rows: string[]) => {
    for (const uid of rows) {
      const id = `r_${(++idn).toString(36).padStart(10, '0')}`;
      const values = [id, uid, clock, clock + 900_000, ...(layout.column ? [keyOf(uid)] : [])];
      if (layout.numbered) values.unshift(++number);
      number = insert.run(...values).lastInsertRowid as number;
      if (layout.side) {
        const key = keyOf(uid);
        tail.push([key, number]);
        const held = tailOf.get(key);
        if (held) held.push(number);
        else tailOf.set(key, [number]);
      }
    }
  });
  const write = (rows: string[]) => {
    commitGroup(rows);
    if (layout.side && tail.length >= layout.side) {
      flush(tail.sort((a, b) => a[0] - b[0] || a[1] - b[1]));
      tail = [];
      tailOf.clear();
    }
  };
  const byNumber = layout.side
    ? db.prepare(`SELECT id, campaign_id, creative_id, advertiser_id, served_at, expires_at FROM reservations
        WHERE number = ? AND uid = ? AND served_at > ? AND (expires_at > ? OR viewed_at IS NOT NULL)`)
    : undefined;
  const readUser = (p: { uid: string; key: number; since: number; now: number }) => {
    const rows = read?.all(p) ?? [];
    for (const n of tailOf.get(p.key) ?? []) {
      const row = byNumber?.get(n, p.uid, p.since, p.now);
      if (row) rows.push(row);
    }
    return rows;
  };
  const settle = () => {
    if (tail.length > 0) flush(tail.sort((a, b) => a[0] - b[0] || a[1] - b[1]));
    tail = [];
    tailOf.clear();
  };
  return { layout, db, commitGroup: write, settle, read: read && readUser };
});

const seeded = num('seeded');
process.stderr.write(`seeding ${seeded} rows in ${dbs.length} layouts...\n`);
const seedUsers = Array.from({ length: seeded }, someone);
for (const d of dbs) {
  for (let i = 0; i < seeded; i += 5000) {
    clock += 1000;
    d.commitGroup(seedUsers.slice(i, i + 5000));
  }
  d.settle();
  d.db.pragma('wal_checkpoint(TRUNCATE)');
}

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const written: number[][] = dbs.map(() => []);
const readUs: number[][] = dbs.map(() => []);
const [groups, group, reads] = [num('groups'), num('group'), num('reads')];
for (let round = 0; round < num('rounds'); round++) {
  for (let k = 0; k < dbs.length; k++) {
    // Alternated order: each layout runs first, last and between.
    const i = (k + round) % dbs.length;
    const d = dbs[i];
    // A group is `group` requests, each one user's rows side by side (as the group commit writes them).
    const rows = Array.from({ length: groups }, () =>
      Array.from({ length: group }, () => {
        const uid = someone();
        return Math.random() < num('slots') - 1 ? [uid, uid] : [uid];
      }).flat(),
    );
    let since = 0;
    let start = cpu();
    for (const g of rows) {
      clock += 3;
      d.commitGroup(g);
      since += g.length;
      if (since >= (d.layout.every ?? 0)) {
        d.db.pragma('wal_checkpoint(PASSIVE)');
        since = 0;
      }
    }
    d.db.pragma('wal_checkpoint(PASSIVE)');
    written[i].push((cpu() - start) / rows.reduce((n, g) => n + g.length, 0));
    if (d.read) {
      const who = Array.from({ length: reads }, someone);
      start = cpu();
      for (const uid of who) d.read({ uid, key: keyOf(uid), since: clock - 86_400_000, now: clock });
      readUs[i].push((cpu() - start) / reads);
    }
  }
  process.stderr.write(`round ${round + 1} done\n`);
}
console.log(`| layout | µs CPU per row written (insert, commit, checkpoint): median (range) | µs per miss read |`);
console.log('| --- | --- | --- |');
dbs.forEach((d, i) => {
  const w = written[i];
  const r = readUs[i];
  const fmt = (xs: number[]) =>
    xs.length === 0 ? '—' : `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
  console.log(`| ${d.layout.name} | ${fmt(w)} | ${fmt(r)} |`);
});
