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
  db.exec(`CREATE TABLE reservations (number INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, uid TEXT NOT NULL,
    campaign_id TEXT NOT NULL, creative_id TEXT NOT NULL, advertiser_id TEXT NOT NULL, bid_type TEXT NOT NULL,
    price_micros INTEGER NOT NULL, served_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, viewed_at INTEGER,
    charged_at INTEGER, country TEXT NOT NULL DEFAULT '', platform TEXT NOT NULL DEFAULT '', video INTEGER NOT NULL DEFAULT 0
    ${layout.column ? ', uid_key INTEGER' : ''}${layout.generated ? `, uid_key INTEGER GENERATED ALWAYS AS (${int13('uid')}) STORED` : ''})`);
  db.exec('CREATE INDEX reservations_served ON reservations (served_at)');
  db.exec('CREATE INDEX reservations_expires ON reservations (expires_at)');
  if (layout.index) db.exec(layout.index);
  const insert = db.prepare(
    `INSERT INTO reservations (id, uid, campaign_id, creative_id, advertiser_id, bid_type, price_micros, served_at, expires_at, country, platform, video${layout.column ? ', uid_key' : ''})
     VALUES (?, ?, 'cmp_000123', 'crv_000123', 'adv_000042', 'cpm', 1500, ?, ?, 'DE', 'ios', 0${layout.column ? ', ?' : ''})`,
  );
  const read = layout.where
    ? db.prepare(`SELECT id, campaign_id, creative_id, advertiser_id, served_at, expires_at FROM reservations
        WHERE ${layout.where} AND served_at > @since AND (expires_at > @now OR viewed_at IS NOT NULL) ORDER BY served_at`)
    : undefined;
  const commitGroup = db.transaction((rows: string[]) => {
    for (const uid of rows) {
      const id = `r_${(++idn).toString(36).padStart(10, '0')}`;
      if (layout.column) insert.run(id, uid, clock, clock + 900_000, keyOf(uid));
      else insert.run(id, uid, clock, clock + 900_000);
    }
  });
  return { layout, db, commitGroup, read };
});

const seeded = num('seeded');
process.stderr.write(`seeding ${seeded} rows in ${dbs.length} layouts...\n`);
const seedUsers = Array.from({ length: seeded }, someone);
for (const d of dbs) {
  for (let i = 0; i < seeded; i += 5000) {
    clock += 1000;
    d.commitGroup(seedUsers.slice(i, i + 5000));
  }
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
    const rows = Array.from({ length: groups }, () => Array.from({ length: group }, someone));
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
    written[i].push((cpu() - start) / (groups * group));
    if (d.read) {
      const who = Array.from({ length: reads }, someone);
      start = cpu();
      for (const uid of who) d.read.all({ uid, key: keyOf(uid), since: clock - 86_400_000, now: clock });
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
