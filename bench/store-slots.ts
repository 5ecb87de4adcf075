/**
 * The slot request's storage alone, in-process: what `Delivery.serveOnce` asks of the
 * Node store per request — `users.load` (LRU cache, SQLite on a miss), one budget hold
 * per slot, `users.reserve` (group commit, then the WAL sync off the event loop) — with
 * nothing else around it, so before/after pairs of a storage change compare closely
 * on a shared machine. Not part of `npm run bench`:
 *
 *   npx tsx bench/store-slots.ts [--requests 40000] [--seeded 600000] [--users 1000000]
 *     [--cache 20000] [--concurrency 32] [--rounds 3]
 *
 * The database first gets the HTTP bench's catalog (1,000 campaigns) and `--seeded`
 * reservations of other users (what the events harness seeds: the tables are as large
 * as in `npm run bench -- --only=http`). Requests are the HTTP workload's sessions (`sessions`: Zipf users, their
 * feeds): each asks for as many slots as its feed has places (`placementCapacity` with the default placement), at
 * most 8 live per user (the default user cap): ~1.2 rows a request are written, as the HTTP bench's servers write
 * over a run as long (1.15–1.4; `engine-cpu.ts` prints slots served per request), not the 1.0–1.1
 * of a fixed 1–3 slots a request. Reported per request: main-thread busy time
 * (event-loop utilisation), process CPU (user + system, every thread: the WAL sync and the checkpointer included),
 * cache misses, rows written.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { readSettings } from '../src/config.js';
import { placementCapacity } from '../src/engine/placement.js';
import type { ServableCampaign } from '../src/engine/types.js';
import { timeOrderedId } from '../src/privacy/crypto.js';
import type { Reservation } from '../src/store/interface.js';
import { openDatabase } from '../src/store/sqlite/db.js';
import { createSqliteStore } from '../src/store/sqlite/index.js';
import { seedDatabase } from './serve.js';
import { generateCatalog, rng, sessions, Zipf } from './workload.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '40000' },
    warmup: { type: 'string', default: '20000' },
    seeded: { type: 'string', default: '600000' },
    users: { type: 'string', default: '1000000' },
    cache: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    seed: { type: 'string', default: '42' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(`npx tsx bench/store-slots.ts [options]   the slot request's storage alone, in process
  --requests=N     measured requests per round [40000]
  --warmup=N       requests before measuring [20000]
  --seeded=N       other users' reservations stored first [600000]
  --users=N        Zipf user population [1000000]
  --cache=N        user cache size (USER_CACHE_SIZE) [20000]
  --concurrency=N  requests in flight [32]
  --rounds=N       measured rounds [3]
  --seed=N         workload seed [42]`);
  process.exit(0);
}
const n = (k: keyof typeof values) => Number(values[k]);

const uidOf = (i: number) => createHash('sha256').update(`bench-user-${i}`).digest('hex');

function seed(path: string, now: number): void {
  const catalog = generateCatalog(n('seed'), 1000);
  seedDatabase(path, catalog, now);
  const { sqlite } = openDatabase(path);
  const r = rng(7);
  const insert = sqlite.prepare(
    `INSERT INTO reservations (id, uid, campaign_id, creative_id, advertiser_id, bid_type, price_micros, served_at, expires_at,
       country, platform, video) VALUES (?, ?, ?, ?, ?, 'cpm', 1000, ?, ?, 'DE', 'android', 0)`,
  );
  sqlite.transaction(() => {
    for (let i = 0; i < n('seeded'); i++) {
      const c = catalog.campaigns[Math.floor(r() * catalog.campaigns.length)];
      const id = `r_${Math.floor(r() * 2 ** 48).toString(36)}${Math.floor(r() * 2 ** 48).toString(36)}`;
      insert.run(
        id,
        uidOf(-1 - Math.floor(r() * 400_000)),
        `ev_${c.id}`,
        `ev_${c.creatives[0].id}`,
        c.advertiserId,
        now,
        now + 900_000,
      );
    }
  })();
  sqlite.close();
}

async function round(path: string) {
  // The checkpointer's worker is unreferenced: while it holds the commits (the WAL past WAL_RESTART_MB, after ~60,000
  // requests) nothing else here keeps the process alive, and Node would exit (code 13) with the round unfinished.
  const alive = setInterval(() => {}, 1000);
  try {
    return await measure(path);
  } finally {
    clearInterval(alive);
  }
}

async function measure(path: string) {
  const start = Date.now();
  let now = start;
  const store = createSqliteStore({ path, userCacheSize: n('cache') });
  const catalog = generateCatalog(n('seed'), 1000);
  const campaigns = catalog.campaigns.map(
    (c) =>
      ({
        id: c.id,
        advertiserId: c.advertiserId,
        budget: { dailyMicros: 1e15 },
        creatives: c.creatives,
      }) as unknown as ServableCampaign,
  );
  const feeds = sessions(n('seed'), n('users'), Infinity, new Zipf(n('users')));
  const { placement } = readSettings({});
  const r = rng(n('seed'));
  const uids = new Map<number, string>();
  const historyMs = 3_600_000;
  let misses = 0;
  let conflicts = 0;
  let rows = 0;
  const request = async () => {
    const session = feeds.next().value!;
    const index = session.userIndex;
    let uid = uids.get(index);
    if (!uid) uids.set(index, (uid = uidOf(index)));
    const before = (store.users as unknown as { cache: { has(k: string): boolean } }).cache.has(uid);
    if (!before) misses++;
    const user = await store.users.load(uid, now, historyMs);
    // The places the feed offers, bounded by the deployment-wide user cap (8 an hour by default) as decide() would.
    const count = Math.min(placementCapacity(session, placement), Math.max(0, 8 - user.history.length));
    const asked: Reservation[] = [];
    for (let k = 0; k < count; k++) {
      const campaign = campaigns[Math.floor(r() * campaigns.length)];
      const creative = (campaign as unknown as { creatives: { id: string }[] }).creatives[0];
      const id = timeOrderedId('r', now);
      await store.budgets.tryHold({ campaign, reservationId: id, amountMicros: 1500, expiresAt: now + 900_000 }, now);
      asked.push({
        id,
        uid,
        campaignId: campaign.id,
        creativeId: creative.id,
        advertiserId: campaign.advertiserId,
        bidType: 'cpm',
        priceMicros: 1500,
        servedAt: now,
        expiresAt: now + 900_000,
        viewedAt: null,
        chargedAt: null,
        country: 'DE',
        platform: 'android',
        video: false,
      });
    }
    if (!(await store.users.reserve(asked, { history: user.history, historyMs }))) conflicts++;
    rows += asked.length;
    now += 0.25;
  };
  const run = async (requests: number) => {
    let left = requests;
    await Promise.all(
      Array.from({ length: n('concurrency') }, async () => {
        while (left-- > 0) await request();
      }),
    );
  };
  await run(n('warmup'));
  misses = 0;
  conflicts = 0;
  rows = 0;
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await run(n('requests'));
  const wallMs = performance.now() - t0;
  const busy = performance.eventLoopUtilization(elu);
  const used = process.cpuUsage(cpu);
  await store.close();
  const per = (x: number) => Math.round((x / n('requests')) * 10) / 10;
  return {
    mainUs: per(busy.active * 1000),
    cpuUs: per(used.user + used.system),
    sysUs: per(used.system),
    perSecond: Math.round(n('requests') / (wallMs / 1000)),
    missShare: Math.round((misses / n('requests')) * 100) / 100,
    rowsPerRequest: Math.round((rows / n('requests')) * 100) / 100,
    conflicts,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'store-slots-'));
try {
  const seeded = join(tmpdir(), `store-slots-seed-${n('seeded')}-${process.cwd().replace(/\W/g, '_')}.db`);
  if (!existsSync(seeded)) seed(seeded, Date.now());
  for (let i = 1; i <= n('rounds'); i++) {
    const path = join(dir, `ads-${i}-${randomBytes(4).toString('hex')}.db`);
    copyFileSync(seeded, path);
    console.log(JSON.stringify({ round: i, ...(await round(path)) }));
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
