/**
 * The event ledger alone, in process (no HTTP, no tokens): CPU per event of
 * `SqliteLedger.record` on a database that looks like a busy server's — hundreds of
 * thousands of reservations and events already stored — in batches of 100, `concurrency`
 * batches at a time (what 32 HTTP connections give the group commit). Quicker and
 * steadier than the HTTP bench on a shared machine; the HTTP bench is the judge.
 *
 *   npx tsx bench/ledger-micro.ts --help
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { eventEffect } from '../src/engine/events.js';
import type { EventType } from '../src/engine/types.js';
import type { VerifiedEvent } from '../src/store/interface.js';
import type { openDatabase as OpenDatabase } from '../src/store/sqlite/db.js';
import { createSqliteStore } from '../src/store/sqlite/index.js';
import {
  DAY_ROWS_BYTES,
  ROW_DELTA_BYTES,
  type RowDelta,
  SKETCH_BYTES,
  UnwrittenRows,
} from '../src/store/sqlite/unwritten-rows.js';
import type { seedDatabase as SeedDatabase } from './serve.js';
import { eventsForSlot, generateCatalog, rng } from './workload.js';

const { values } = parseArgs({
  options: {
    reservations: { type: 'string', default: '700000' },
    'old-events': { type: 'string', default: '1000000' },
    ids: { type: 'string', default: 'time' },
    batches: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '32' },
    /** Mean delay from serving to an event, seconds (exponential), at 55,000 slots/s: how far events stray from serving order. */
    jitter: { type: 'string', default: '10' },
    seed: { type: 'string', default: '42' },
    /** SQL run on the seeded database before the ledger opens it (schema experiments). */
    sql: { type: 'string', default: '' },
    /** SQL run on this tree's copy only, after the copy for --before is made (one side of a schema experiment). */
    'this-sql': { type: 'string', default: '' },
    profile: { type: 'string' },
    /** Another tree (with its node_modules): its ledger on a copy of the same database, groups alternated with this one's. */
    before: { type: 'string' },
    'row-bytes': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(`npx tsx bench/ledger-micro.ts [options]
  --reservations=N  served slots stored, served at 55,000/s before now [700000]
  --old-events=N    events already stored (older reservations') [1000000]
  --ids=time|random reservation ids as the server mints them (time) or random [time]
  --jitter=S        mean delay from serving to events, seconds (exponential) [10]
  --batches=N       measured batches of 100 events [400]
  --concurrency=N   batches submitted at once (one group commit) [32]
  --sql=SQL         run on the seeded database first (schema experiments)
  --this-sql=SQL    run on this tree's database only, after --before's copy is made
  --profile=FILE    write a .cpuprofile of the measured part
  --before=DIR      also run DIR's ledger (a tree with node_modules) on a copy of the same
                    database, the same groups alternated with this tree's: CPU per event of each
  --seed=N          [42]
  --row-bytes       only measure the memory an unwritten report row change takes against what is counted
                    for it (ROW_DELTA_BYTES and DAY_ROWS_BYTES in src/store/sqlite/unwritten-rows.ts): heap
                    and array buffers after a full collection, per change held, with 5 rows per campaign-day
                    (the fewest an event makes), with ~8, with campaign-days left holding one or two, with
                    sketches, and with large breakdowns partly written; prints the lowest ratio`);
  process.exit(0);
}
if (values['row-bytes']) {
  rowBytes();
  process.exit(0);
}

/**
 * Bytes per unwritten row change as the ledger makes them (a campaign-day's holder shared by its rows, the
 * row's key strings the events' own), without sketches and with them.
 */
function rowBytes() {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const memory = () => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const campaigns = Array.from({ length: 20_000 }, (_, i) => `cmp_${String(i).padStart(10, '0')}`);
  const creatives = Array.from({ length: 40_000 }, (_, i) => `crv_${String(i).padStart(10, '0')}`);
  const countries = ['DE', 'US', 'FR', 'BR'];
  const platforms = ['ios', 'android', 'web'];
  let lowest = Number.POSITIVE_INFINITY;
  const report = (shape: string, rows: UnwrittenRows, before: number) => {
    const bytes = (memory() - before) / rows.size;
    const counted = rows.bytes / rows.size;
    lowest = Math.min(lowest, counted / bytes);
    console.log(
      `${shape}: ${rows.size} changes, ${bytes.toFixed(0)} bytes each, ${counted.toFixed(0)} counted ` +
        `(${(counted / bytes).toFixed(2)} ×; ROW_DELTA_BYTES ${ROW_DELTA_BYTES}, DAY_ROWS_BYTES ${DAY_ROWS_BYTES}, SKETCH_BYTES ${SKETCH_BYTES})`,
    );
  };
  for (const [shape, few] of [
    ['5 rows per campaign-day', true],
    ['~8 rows per campaign-day', false],
  ] as const) {
    for (let round = 0; round < 3; round++) {
      const before = memory();
      const rows = new UnwrittenRows();
      for (let c = 0; c < campaigns.length; c++) {
        const d = rows.dayRows(campaigns[c], '2026-12-02');
        rows.total(d, 1, 0).counters[0]++;
        rows.hour(d, c % 24, 1, 0).counters[0]++;
        for (const k of few ? [creatives[c]] : [creatives[2 * c], creatives[2 * c + 1]])
          rows.keyed(d, 'creative', k, 1, 0).counters[0]++;
        for (const k of countries.slice(0, few ? 1 : 1 + (c % 4))) rows.keyed(d, 'country', k, 1, 0).counters[0]++;
        for (const k of platforms.slice(0, few ? 1 : 1 + (c % 3))) rows.keyed(d, 'platform', k, 1, 0).counters[0]++;
      }
      report(shape, rows, before);
      rows.forget(rows.size);
    }
  }
  // Campaign-days left holding their last one or two rows (the others written first), their hours array grown to
  // all 24 hours (hour 23) or not (hour 0): each holder is carried by one or two changes.
  for (const left of [1, 2]) {
    for (const hour of [0, 23]) {
      for (let round = 0; round < 2; round++) {
        const before = memory();
        const rows = new UnwrittenRows();
        const days = campaigns.map((c) => rows.dayRows(c, '2026-12-02'));
        for (const d of days) {
          rows.total(d, 1, 0).counters[0]++;
          rows.hour(d, hour, 1, 0).counters[0]++;
          rows.keyed(d, 'country', countries[0], 1, 0).counters[0]++;
        }
        for (const d of days) rows.keyed(d, 'platform', platforms[0], 1, 0).counters[0]++;
        for (const [c, d] of days.entries()) rows.keyed(d, 'creative', creatives[c], 1, 0).counters[0]++;
        rows.forget(days.length * (5 - left));
        days.length = 0;
        report(`${left} row(s) left per campaign-day, hour ${hour}`, rows, before);
        rows.forget(rows.size);
      }
    }
  }
  // Every row with a sketch of 1 or 17 users (17: its points past V8's on-heap typed array size), as impressions make them.
  for (const points of [1, 17]) {
    for (let round = 0; round < 2; round++) {
      const before = memory();
      const rows = new UnwrittenRows();
      const sketch = (delta: RowDelta) => {
        const reach = rows.sketch(delta);
        const bytes = reach.bytes;
        for (let i = 0; i < points; i++) reach.addPoint(((i * 797) % 4096) * 64 + 1);
        rows.bytes += reach.bytes - bytes;
      };
      for (let c = 0; c < campaigns.length; c++) {
        const d = rows.dayRows(campaigns[c], '2026-12-02');
        sketch(rows.total(d, 1, 0));
        sketch(rows.hour(d, c % 24, 1, 0));
        sketch(rows.keyed(d, 'creative', creatives[c], 1, 0));
        sketch(rows.keyed(d, 'country', countries[0], 1, 0));
        sketch(rows.keyed(d, 'platform', platforms[0], 1, 0));
      }
      report(`5 rows per campaign-day, a ${points}-user sketch each`, rows, before);
      rows.forget(rows.size);
    }
  }
  // One breakdown with hundreds or thousands of rows per campaign-day (a creative or country map), its oldest
  // 74% written: V8 shrinks a map only below a quarter of its capacity, so the rest keep its grown table.
  for (const per of [256, 4096]) {
    const before = memory();
    const rows = new UnwrittenRows();
    const days = campaigns.slice(0, 200_000 / per).map((c) => rows.dayRows(c, '2026-12-02'));
    for (let k = 0; k < per; k++) for (const [c, d] of days.entries()) rows.keyed(d, 'creative', `crv_${c}_${k}`, 1, 0);
    rows.forget(Math.floor(rows.size * 0.74));
    days.length = 0;
    report(`${per} creatives per campaign-day, oldest 74% written`, rows, before);
    rows.forget(rows.size);
  }
  console.log(`lowest counted ÷ measured: ${lowest.toFixed(2)} ×`);
}
const reservationCount = Number(values.reservations);
const oldEvents = Number(values['old-events']);
const batches = Number(values.batches);
const concurrency = Number(values.concurrency);
const jitterMs = Number(values.jitter) * 1000;
const SLOTS_PER_MS = 55;

const dir = mkdtempSync(join(tmpdir(), 'ledger-micro-'));
try {
  const path = join(dir, 'ads.db');
  const now = Date.now();
  const catalog = generateCatalog(42, 1000);
  // With --before the older tree seeds (its schema): this tree's store migrates its copy on open, as a deploy would.
  const seeder = values.before ? resolve(values.before) : fileURLToPath(new URL('..', import.meta.url));
  const { seedDatabase } = (await import(join(seeder, 'bench/serve.ts'))) as { seedDatabase: typeof SeedDatabase };
  const { openDatabase } = (await import(join(seeder, 'src/store/sqlite/db.ts'))) as { openDatabase: typeof OpenDatabase };
  seedDatabase(path, catalog, now - 86_400_000);
  const r = rng(Number(values.seed));
  const hex = (n: number) =>
    Array.from({ length: n }, () =>
      Math.floor(r() * 16)
        .toString(16)
        .slice(0, 1),
    ).join('');
  const uids = Array.from({ length: 200_000 }, () => hex(64));
  const idAt = (servedAt: number) =>
    values.ids === 'time' ? `r_${Math.floor(servedAt).toString(16).padStart(12, '0')}${hex(18)}` : `r_${hex(30)}`;
  // Served over the last reservationCount / 55,000 s; older events' reservations before that.
  const firstServed = now - reservationCount / SLOTS_PER_MS;
  const rows: { id: string; uid: string; campaign: (typeof catalog.campaigns)[number]; servedAt: number; number?: number }[] = [];
  for (let i = 0; i < reservationCount; i++) {
    const servedAt = firstServed + i / SLOTS_PER_MS;
    const campaign = catalog.campaigns[Math.floor(r() * catalog.campaigns.length)];
    rows.push({ id: idAt(servedAt), uid: uids[Math.floor(r() * uids.length)], campaign, servedAt });
  }
  {
    const { sqlite } = openDatabase(path);
    const insertReservation = sqlite.prepare(
      `INSERT INTO reservations (id, uid, campaign_id, creative_id, advertiser_id, bid_type, price_micros, served_at, expires_at,
         country, platform, video) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'DE', 'android', 0)`,
    );
    // Keyed by the reservation's id before migration 0009, by its number since (these reservations are gone: no number of one).
    const byId = (sqlite.prepare('PRAGMA table_info(events)').all() as { name: string }[]).some(
      (c) => c.name === 'reservation_id',
    );
    const insertOld = sqlite.prepare(
      `INSERT INTO events (${byId ? 'reservation_id' : 'reservation'}, type, uid, campaign_id, at, cost_micros) VALUES (?, 'impression', ?, ?, ?, 1000)`,
    );
    sqlite.transaction(() => {
      // Events of reservations already pruned or long converted: the events table's size, not its content, matters here.
      const oldFirst = firstServed - oldEvents / SLOTS_PER_MS;
      for (let i = 0; i < oldEvents; i++) {
        const at = oldFirst + i / SLOTS_PER_MS;
        insertOld.run(byId ? idAt(at) : -1 - i, uids[Math.floor(r() * uids.length)], catalog.campaigns[0].id, Math.floor(at));
      }
      for (const row of rows) {
        const c = row.campaign;
        // The rowid: the reservation's number (migration 0009 keeps it), which the token carries.
        row.number = insertReservation.run(
          row.id,
          row.uid,
          c.id,
          c.creatives[0].id,
          c.advertiserId,
          c.bid.type,
          c.bid.amountMicros,
          Math.floor(row.servedAt),
          Math.floor(row.servedAt) + 900_000,
        ).lastInsertRowid as number;
      }
    })();
    if (values.sql) sqlite.exec(values.sql);
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    sqlite.close();
  }
  // Events in the order they would arrive: serving time plus an exponential delay.
  const arrivals: { at: number; event: VerifiedEvent }[] = [];
  for (const row of rows) {
    for (const type of eventsForSlot(r) as EventType[]) {
      arrivals.push({
        at: row.servedAt - Math.log(1 - r()) * jitterMs,
        event: {
          type,
          reservationId: row.id,
          reservationNumber: row.number,
          uid: row.uid,
          campaignId: row.campaign.id,
          creativeId: row.campaign.creatives[0].id,
        },
      });
    }
  }
  arrivals.sort((a, b) => a.at - b.at);
  // This tree's ledger, and with --before another tree's on a copy of the same database: the same groups, alternated.
  // The copy is made before either opens it (a store writes its marks on open).
  if (values.before) copyFileSync(path, join(dir, 'before.db'));
  if (values['this-sql']) {
    const { sqlite } = openDatabase(path);
    sqlite.exec(values['this-sql']);
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    sqlite.close();
  }
  const trees = [{ name: '.', store: createSqliteStore({ path, userCacheSize: 20_000 }), effect: eventEffect }];
  if (values.before) {
    const other = resolve(values.before);
    const { createSqliteStore: create } = (await import(join(other, 'src/store/sqlite/index.ts'))) as {
      createSqliteStore: typeof createSqliteStore;
    };
    const { eventEffect: effect } = (await import(join(other, 'src/engine/events.ts'))) as { eventEffect: typeof eventEffect };
    trees.push({ name: other, store: create({ path: join(dir, 'before.db'), userCacheSize: 20_000 }), effect });
  }
  // Budget accounts as a serving process has them (slot requests made them): their start-up read is not the ledger's cost.
  for (const { store } of trees) for (const c of catalog.campaigns) store.budgets.view(c.id, now);
  const used = trees.map(() => ({ user: 0, system: 0, accepted: 0, wall: 0 }));
  let next = 0;
  const run = async (count: number, measure: boolean) => {
    for (let k = 0; k < count; k += concurrency) {
      const batches: VerifiedEvent[][] = [];
      for (let c = 0; c < concurrency && k + c < count; c++) {
        batches.push(arrivals.slice(next, next + 100).map((a) => a.event));
        next += 100;
      }
      // Alternate which tree goes first, so neither always finds the caches as the other left them.
      for (let j = 0; j < trees.length; j++) {
        const t = (j + k / concurrency) % trees.length;
        const { store, effect } = trees[t];
        const rules = { effect, reportThreshold: 5 };
        const cpu = process.cpuUsage();
        const t0 = performance.now();
        const results = await Promise.all(batches.map((batch) => store.ledger.record(batch, now, rules)));
        if (!measure) continue;
        const u = process.cpuUsage(cpu);
        used[t].user += u.user;
        used[t].system += u.system;
        used[t].wall += performance.now() - t0;
        for (const res of results) used[t].accepted += res.outcomes.filter((o) => o.status === 'accepted').length;
      }
    }
  };
  // The checkpointer's worker is unref'd: while a WAL hold waits for it, nothing else here keeps the event loop
  // alive, and the process would end silently, its results unprinted (a server has its listener).
  const keepAlive = setInterval(() => {}, 1000);
  await run(Math.min(64, batches / 4), false); // warm-up
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  if (values.profile) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  await run(batches, true);
  if (values.profile) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(values.profile, JSON.stringify(profile));
  }
  for (const [t, { name }] of trees.entries()) {
    const { user, system, accepted, wall } = used[t];
    console.log(
      `${name}: ids=${values.ids} reservations=${reservationCount} old-events=${oldEvents} jitter=${values.jitter}s: ${accepted} accepted, ` +
        `${((user + system) / accepted).toFixed(1)} µs CPU/event (user ${(user / accepted).toFixed(1)}, sys ${(system / accepted).toFixed(1)}), ` +
        `${Math.round(accepted / (wall / 1000))} events/s wall`,
    );
  }
  for (const { store } of trees) await store.close();
  clearInterval(keepAlive);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
