/**
 * The full in-process serve path, without HTTP: `Delivery.slots` (pseudonymise,
 * per-user lock, user state from the LRU cache or SQLite, decide, budget hold,
 * reservation insert with its fsync, token signing) and `Delivery.events` in
 * batches of 50 (verify tokens, one durable transaction per batch).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as t from '../schema/tables.js';
import { readSettings } from '../src/config.js';
import type { EventType } from '../src/engine/types.js';
import { FsMediaStorage } from '../src/media/fs.js';
import { openDatabase } from '../src/store/sqlite/db.js';
import { createSqliteStore } from '../src/store/sqlite/index.js';
import type { SqliteUsers } from '../src/store/sqlite/users.js';
import { createService } from '../src/wiring.js';
import { auditDatabase } from './audit.js';
import { BENCH_START } from './engine.js';
import { type Counters, gc, type LatencySummary, nsHistogram, progress, summarizeNs } from './stats.js';
import { type Catalog, eventsForSlot, generateCatalog, rng, sessions, Zipf } from './workload.js';

/** Writes a generated catalog straight into a fresh database file in one transaction (seeding is not what we measure). */
export function seedDatabase(path: string, catalog: Catalog, now: number): void {
  const { db, sqlite } = openDatabase(path);
  const media = Array.from({ length: 16 }, (_, i) => ({
    sha256: i.toString(16).padStart(64, 'a'),
    mime: 'image/png',
    bytes: 20_000,
    width: 1080,
    height: 1920,
    durationMs: null,
    createdAt: now,
  }));
  const chunk = <T>(rows: T[], insert: (part: T[]) => void) => {
    for (let i = 0; i < rows.length; i += 500) insert(rows.slice(i, i + 500));
  };
  sqlite.transaction(() => {
    db.insert(t.media).values(media).run();
    chunk(
      catalog.advertisers.map((a) => ({ id: a.id, name: a.name, createdAt: now, updatedAt: now })),
      (part) => db.insert(t.advertisers).values(part).run(),
    );
    chunk(
      catalog.campaigns.map((c) => ({
        id: c.id,
        advertiserId: c.advertiserId,
        name: c.id,
        status: 'active' as const,
        startAt: now - 86_400_000,
        endAt: null,
        bidType: c.bid.type,
        bidMicros: c.bid.amountMicros,
        dailyBudgetMicros: c.budget.dailyMicros ?? null,
        totalBudgetMicros: c.budget.totalMicros ?? null,
        pacing: c.pacing,
        targeting: JSON.stringify(c.targeting),
        caps: JSON.stringify(c.caps),
        createdAt: now,
        updatedAt: now,
      })),
      (part) => db.insert(t.campaigns).values(part).run(),
    );
    chunk(
      catalog.campaigns.flatMap((c, i) =>
        c.creatives.map((cr, k) => ({
          id: cr.id,
          campaignId: c.id,
          advertiserId: c.advertiserId,
          headline: `Offer ${i}.${k}`,
          ctaType: 'website' as const,
          ctaTarget: 'https://shop.example',
          mediaSha256: media[(i + k) % media.length].sha256,
          review: 'approved' as const,
          reviewReason: null,
          createdAt: now,
          updatedAt: now,
        })),
      ),
      (part) => db.insert(t.creatives).values(part).run(),
    );
    db.insert(t.catalogVersion)
      .values({ id: 1, version: 1 })
      .onConflictDoUpdate({ target: t.catalogVersion.id, set: { version: 2 } })
      .run();
  })();
  sqlite.close();
}

export interface ServeScenario {
  campaigns: number;
  users: number;
  requests: number;
  warmup: number;
  userCacheSize: number;
  /** Requests in flight at once (what concurrent HTTP connections would give); group commit needs more than 1. */
  concurrency: number;
  seed: number;
}

export interface ServeResult {
  scenario: ServeScenario;
  /** `cpuUsPerRequest`: process CPU (user + system) per request, steadier than req/s on a shared machine. */
  slots: { perSecond: number; latency: LatencySummary; slotsPerRequest: number; cpuUsPerRequest: number };
  events: {
    perSecond: number;
    batchLatency: LatencySummary;
    accepted: number;
    duplicate: number;
    rejected: number;
    cpuUsPerEvent: number;
  };
  distinctUsers: number;
  userCacheEntries: number;
  heapUsedMB: number;
  counters: Counters;
  audit: { reservations: number; users: number };
}

export async function runServeScenario(scenario: ServeScenario): Promise<ServeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'status-ads-bench-'));
  try {
    const path = join(dir, 'ads.db');
    const catalog = generateCatalog(scenario.seed, scenario.campaigns);
    seedDatabase(path, catalog, BENCH_START);
    const settings = readSettings({ RATE_LIMIT_ADVERTISER: '0', USER_CACHE_SIZE: String(scenario.userCacheSize) });
    let now = BENCH_START;
    const store = createSqliteStore({ path, userCacheSize: settings.userCacheSize });
    const { delivery } = await createService({
      settings,
      store,
      media: new FsMediaStorage(join(dir, 'media')),
      adminKey: 'bench-admin-key',
      secret: 'bench-secret',
      clock: () => now,
    });

    const slotsHistogram = nsHistogram();
    const eventsHistogram = nsHistogram();
    const eventRandom = rng(scenario.seed ^ 0xe7e7);
    const pending: { token: string; type: EventType }[] = [];
    const users = new Set<number>();
    let slotsNs = 0;
    let eventsNs = 0;
    let slotCount = 0;
    let measuredEvents = 0;
    const events = { accepted: 0, duplicate: 0, rejected: 0 };
    const total = scenario.warmup + scenario.requests;
    const reportEvery = Math.max(1, Math.floor(total / 4));
    let i = 0;

    const flush = async (measured: boolean) => {
      const batch = pending.splice(0, 50);
      const t0 = process.hrtime.bigint();
      const outcomes = await delivery.events(batch);
      const ns = Number(process.hrtime.bigint() - t0);
      for (const o of outcomes) events[o.status]++;
      if (measured) {
        eventsHistogram.recordValue(ns);
        measuredEvents += batch.length;
      }
    };

    const feed = sessions(scenario.seed, scenario.users, total, new Zipf(scenario.users));
    const worker = async () => {
      for (let next = feed.next(); !next.done; next = feed.next()) {
        const session = next.value;
        const seq = taken++;
        const measured = seq >= scenario.warmup;
        if (seq === scenario.warmup) {
          measuredFrom = process.hrtime.bigint();
          cpuFrom = process.cpuUsage();
        }
        users.add(session.userIndex);
        const t0 = process.hrtime.bigint();
        const response = await delivery.slots({
          user: session.user,
          statuses: session.statuses,
          runs: session.runs,
          context: session.context,
        });
        const ns = Number(process.hrtime.bigint() - t0);
        if (measured) {
          slotsHistogram.recordValue(ns);
          slotCount += response.slots.length;
        }
        for (const slot of response.slots)
          for (const type of eventsForSlot(eventRandom)) pending.push({ token: slot.token, type });
        now += 0.5;
        i++;
        if (i % reportEvery === 0)
          progress(`  serve path ${scenario.campaigns} campaigns × ${scenario.users} users: ${i}/${total}`);
      }
    };
    let measuredFrom = process.hrtime.bigint();
    let taken = 0;
    let cpuFrom = process.cpuUsage();
    await Promise.all(Array.from({ length: scenario.concurrency }, worker));
    slotsNs = Number(process.hrtime.bigint() - measuredFrom);
    const slotsCpu = process.cpuUsage(cpuFrom);
    // Then the events those slots produced, in batches of 50, with the same concurrency.
    progress(`  serve path: ${pending.length} events in batches of 50`);
    const eventsFrom = process.hrtime.bigint();
    const eventsCpuFrom = process.cpuUsage();
    await Promise.all(
      Array.from({ length: scenario.concurrency }, async () => {
        while (pending.length > 0) await flush(true);
      }),
    );
    eventsNs = Number(process.hrtime.bigint() - eventsFrom);
    const eventsCpu = process.cpuUsage(eventsCpuFrom);

    const cache = (store.users as SqliteUsers).cache;
    gc();
    const heapUsedMB = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
    const userCacheEntries = cache.size;
    await store.close();
    const audit = auditDatabase(path, settings.userCap);
    return {
      scenario,
      slots: {
        perSecond: Math.round(scenario.requests / (slotsNs / 1e9)),
        latency: summarizeNs(slotsHistogram),
        slotsPerRequest: Math.round((slotCount / scenario.requests) * 100) / 100,
        cpuUsPerRequest: Math.round((slotsCpu.user + slotsCpu.system) / scenario.requests),
      },
      events: {
        perSecond: Math.round(measuredEvents / (eventsNs / 1e9)),
        batchLatency: summarizeNs(eventsHistogram),
        ...events,
        cpuUsPerEvent: Math.round(((eventsCpu.user + eventsCpu.system) / Math.max(1, measuredEvents)) * 10) / 10,
      },
      distinctUsers: users.size,
      userCacheEntries,
      heapUsedMB,
      counters: {
        capViolations: audit.capViolations,
        blockedServed: audit.blockedServed,
        budgetOverspend: audit.budgetOverspend,
        serverErrors: 0,
      },
      audit: { reservations: audit.reservations, users: audit.users },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
