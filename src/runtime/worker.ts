/**
 * The Cloudflare Workers entry: hosting only. The same app as Node (createService/createApp),
 * wired to D1 (catalog), R2 (media), one Durable Object per pseudonymous user and one per
 * campaign; the object classes here delegate to src/store/durable-object/. See docs/deploy.md.
 */

import { DurableObject } from 'cloudflare:workers';
import type {
  D1Database,
  DurableObjectNamespace,
  DurableObjectState,
  ExecutionContext,
  R2Bucket,
} from '@cloudflare/workers-types';
import { drizzle } from 'drizzle-orm/durable-sqlite';
import { drainUnreadBody } from '../api/middleware/body-limit.js';
import { type Env, readSettings } from '../config.js';
import { LEASES, type LeaseBudget, type RenewRequest } from '../engine/budget-leases.js';
import type { HistoryEntry, ServableCampaign } from '../engine/types.js';
import { R2MediaStorage } from '../media/r2.js';
import { type AnalyticsDataset, analyticsEngineMetrics } from '../ops/analytics-engine.js';
import { createIsolateMetrics, fanOutMetrics } from '../ops/isolate-metrics.js';
import { jsonLinesLog } from '../ops/log.js';
import { tokenSecretsFrom } from '../privacy/token.js';
import type { SqlCatalog } from '../store/catalog.js';
import { createD1Catalog } from '../store/d1/index.js';
import { CampaignObjectService, type HoldRequest, type TrimTarget } from '../store/durable-object/campaign-object.js';
import {
  type CampaignObjectRpc,
  createEdgeStore,
  type EdgeBudgets,
  type ObjectDirectory,
  type UserObjectRpc,
} from '../store/durable-object/index.js';
import { campaignObjectName, parseBudgetMinShards, parseUserShards, userObjectName } from '../store/durable-object/placement.js';
import { migrateObject, type ObjectAlarms, UserObjectService } from '../store/durable-object/user-object.js';
import type { CampaignEffect } from '../store/event-procedure.js';
import type { ReportBy, Reservation, Store, TrafficBatch, TrafficStore, VerifiedEvent } from '../store/interface.js';
import { SqlTraffic } from '../store/traffic.js';
import { createService } from '../wiring.js';

export interface WorkerEnv {
  DB: D1Database;
  MEDIA: R2Bucket;
  USERS: DurableObjectNamespace;
  CAMPAIGNS: DurableObjectNamespace;
  TRAFFIC: DurableObjectNamespace;
  ADMIN_KEY?: string;
  SECRET?: string;
  /** How often an isolate checks D1's catalog version, in ms [1000]. */
  CATALOG_REFRESH_MS?: string;
  /** Users' state in this many shared objects, or 0 for one object per user [1024]. */
  USER_SHARDS?: string;
  /** Campaign budgets split over at least this many shard objects [1: as each campaign's rate needs]. */
  BUDGET_MIN_SHARDS?: string;
  /** Optional Workers Analytics Engine dataset for metrics. */
  ANALYTICS?: AnalyticsDataset;
  [setting: string]: unknown;
}

function stringVars(env: WorkerEnv): Env {
  const vars: Env = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') vars[name] = value;
  return vars;
}

function directory(env: WorkerEnv, userShards: number): ObjectDirectory {
  return {
    user: (uid) => env.USERS.get(env.USERS.idFromName(userObjectName(uid, userShards))) as unknown as UserObject,
    campaign(campaignId, shard = 0) {
      const stub = env.CAMPAIGNS.get(
        env.CAMPAIGNS.idFromName(campaignObjectName(campaignId, shard)),
      ) as unknown as CampaignObject;
      return {
        tryHold: (hold, now) => stub.tryHold(campaignId, shard, hold, now),
        view: (now, exact) => stub.view(campaignId, now, exact),
        own: (now) => stub.own(campaignId, shard, now),
        report: (from, to, by) => stub.report(campaignId, from, to, by),
        rows: (from, to, by) => stub.rows(campaignId, shard, from, to, by),
        apply: (effects, threshold) => stub.apply(campaignId, shard, effects, threshold),
        release: (ids) => stub.release(campaignId, shard, ids),
        limit: (budget, now) => stub.limit(campaignId, budget, now),
        forgetReporter: (uid) => stub.forgetReporter(campaignId, uid),
        renew: (request) => stub.renew(campaignId, request),
        recall: (now, budget) => stub.recall(campaignId, shard, now, budget),
        trim: (target, budget, now) => stub.trim(campaignId, shard, target, budget, now),
      } satisfies CampaignObjectRpc;
    },
    traffic: () => env.TRAFFIC.get(env.TRAFFIC.idFromName('traffic')) as unknown as TrafficObject,
  };
}

/** Everything one isolate shares between requests and the objects it hosts. */
interface Isolate {
  catalog: SqlCatalog;
  objects: ObjectDirectory;
  store: Store & { budgets: EdgeBudgets };
  service: Awaited<ReturnType<typeof createService>>;
  /** Rebuilds the catalog index if D1's catalog version moved (checked at most every CATALOG_REFRESH_MS), and for CTRs every CTR_REFRESH_MS [5 min]. */
  freshIndex(): Promise<void>;
}

let isolate: Promise<Isolate> | undefined;

function isolateFor(env: WorkerEnv): Promise<Isolate> {
  isolate ??= buildIsolate(env).catch((err) => {
    isolate = undefined;
    throw err;
  });
  return isolate;
}

async function buildIsolate(env: WorkerEnv): Promise<Isolate> {
  const vars = stringVars(env);
  const settings = readSettings(vars);
  if (!env.ADMIN_KEY || !env.SECRET) {
    throw new Error('ADMIN_KEY and SECRET must be set (wrangler secret put ADMIN_KEY; wrangler secret put SECRET)');
  }
  const catalog = createD1Catalog(env.DB);
  const objects = directory(env, parseUserShards(vars.USER_SHARDS));
  const store = createEdgeStore({ catalog, objects, budgetMinShards: parseBudgetMinShards(vars.BUDGET_MIN_SHARDS) });
  const tokenSecrets = tokenSecretsFrom(vars, env.SECRET);
  const isolateMetrics = createIsolateMetrics();
  const service = await createService({
    settings,
    store,
    media: new R2MediaStorage(env.MEDIA),
    adminKey: env.ADMIN_KEY,
    secret: env.SECRET,
    tokenSecrets,
    // Failed-authentication throttling by the caller's address, as Cloudflare's edge saw it.
    clientAddress: (c) => c.req.header('CF-Connecting-IP'),
    // One JSON line per request on console.log: Workers Logs and `wrangler tail` collect them.
    log: jsonLinesLog(settings.logLevel),
    // GET /metrics shows this isolate's counters; Workers Analytics Engine gets them all when a
    // dataset is bound as ANALYTICS (docs/deploy.md, "Metrics").
    metrics: env.ANALYTICS ? fanOutMetrics(isolateMetrics, analyticsEngineMetrics(env.ANALYTICS)) : isolateMetrics,
    scrapeMetrics: () => isolateMetrics.scrape(),
    metricsToken: settings.metricsToken || undefined,
    // Many isolates serve one user anyway; the user object's conditional reserve decides.
    serialiseUsers: false,
    // Traffic counts due are flushed after the answer, under the request's waitUntil (the fetch handler).
    flushTraffic: false,
    // The CTR cadence is kept by freshIndex, under the request that waits for the rebuild. An events batch that
    // started one and answered first would leave it to be cancelled with its request (workerd cancels a request's
    // I/O once it has answered): it never settled, and every later request, each checking the index first, waited
    // on it for good.
    refreshCtrAfterEvents: false,
  });
  let checkedAt = Date.now();
  let rebuiltAt = checkedAt;
  return {
    catalog,
    objects,
    store,
    service,
    async freshIndex() {
      const now = Date.now();
      if (now - checkedAt < settings.catalogRefreshMs) return;
      checkedAt = now;
      // CTR counters change without a version bump (campaign objects flush them to D1):
      // rebuild on their cadence too.
      const rebuild = now - rebuiltAt >= settings.ctrRefreshMs;
      if (rebuild) rebuiltAt = now;
      await service.index.refresh(rebuild);
    },
  };
}

/** The isolate's Store (D1 + objects), for tools and tests that drive the backend directly. */
export async function storeFor(env: WorkerEnv): Promise<Store & { budgets: EdgeBudgets }> {
  return (await isolateFor(env)).store;
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    const { service, freshIndex } = await isolateFor(env);
    await freshIndex();
    const response = await service.app.fetch(request, env, ctx as never);
    // An answer given before the body was read (a wrong key on an upload) goes out once the body is in.
    await drainUnreadBody(request);
    // The traffic counts, once per TRAFFIC_FLUSH_MS, go to the traffic object after the answer: this
    // request's waitUntil keeps the call alive (workerd ties it to the request that made it), and
    // no answer waits on it. The flush never rejects; counts it could not write are kept for the next.
    const flushing = service.traffic.flushIfDue();
    if (flushing) ctx.waitUntil(flushing);
    return response;
  },
};

const alarmsOf = (ctx: DurableObjectState): ObjectAlarms => ({
  get: () => ctx.storage.getAlarm(),
  set: (at) => ctx.storage.setAlarm(at),
});

/** One pseudonymous user's object: see UserObjectService. */
export class UserObject extends DurableObject<WorkerEnv> implements UserObjectRpc {
  private service: UserObjectService;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    const db = drizzle(ctx.storage as never);
    this.service = new UserObjectService(db, alarmsOf(ctx), async () => {
      const iso = await isolateFor(env);
      return {
        objects: iso.objects,
        reportThreshold: iso.service.settings.reportThreshold,
        historyMs: () => iso.service.delivery.historyMs(),
      };
    });
    void ctx.blockConcurrencyWhile(() => migrateObject(db));
  }

  load(uid: string, now: number, historyMs: number) {
    return this.service.load(uid, now, historyMs);
  }
  reserve(reservations: Reservation[], basedOn?: { history: HistoryEntry[]; historyMs: number }) {
    return this.service.reserve(reservations, basedOn);
  }
  unreserve(uid: string, reservationIds: string[]) {
    return this.service.unreserve(uid, reservationIds);
  }
  block(uid: string, advertiserId: string, now: number) {
    return this.service.block(uid, advertiserId, now);
  }
  unblock(uid: string, advertiserId: string) {
    return this.service.unblock(uid, advertiserId);
  }
  blocks(uid: string) {
    return this.service.blocks(uid);
  }
  mute(uid: string, category: string, now: number) {
    return this.service.mute(uid, category, now);
  }
  unmute(uid: string, category: string) {
    return this.service.unmute(uid, category);
  }
  mutes(uid: string) {
    return this.service.mutes(uid);
  }
  reservation(uid: string, id: string) {
    return this.service.reservation(uid, id);
  }
  record(events: VerifiedEvent[], now: number, reportThreshold: number) {
    return this.service.record(events, now, reportThreshold);
  }
  prune(now: number, historyMs: number) {
    return this.service.prune(now, historyMs);
  }
  erase(uid: string) {
    return this.service.erase(uid);
  }
  alarm() {
    return this.service.alarm();
  }
}

/** One budget shard of a campaign (shard 0: its own object, coordinator, reports): see CampaignObjectService. */
export class CampaignObject extends DurableObject<WorkerEnv> {
  private service: CampaignObjectService;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    const db = drizzle(ctx.storage as never);
    const vars = stringVars(env);
    // Other shards of the same campaign: reached from here without building the whole isolate.
    const peers = directory(env, parseUserShards(vars.USER_SHARDS)).campaign;
    this.service = new CampaignObjectService(
      db,
      alarmsOf(ctx),
      async () => (await isolateFor(env)).catalog,
      async () => peers,
      { ...LEASES, minShards: parseBudgetMinShards(vars.BUDGET_MIN_SHARDS) },
    );
    void ctx.blockConcurrencyWhile(() => migrateObject(db));
  }

  tryHold(campaignId: string, shard: number, hold: HoldRequest, now: number) {
    return this.service.tryHold(campaignId, shard, hold, now);
  }
  view(campaignId: string, now: number, exact?: boolean) {
    return this.service.view(campaignId, now, exact);
  }
  own(campaignId: string, shard: number, now: number) {
    return this.service.own(campaignId, shard, now);
  }
  report(campaignId: string, fromDay: string, toDay: string, by: ReportBy) {
    return this.service.report(campaignId, fromDay, toDay, by);
  }
  rows(campaignId: string, shard: number, fromDay: string, toDay: string, by: ReportBy) {
    return this.service.rows(campaignId, shard, fromDay, toDay, by);
  }
  apply(campaignId: string, shard: number, effects: CampaignEffect[], reportThreshold: number) {
    return this.service.apply(campaignId, shard, effects, reportThreshold);
  }
  release(campaignId: string, shard: number, reservationIds: string[]) {
    return this.service.release(campaignId, shard, reservationIds);
  }
  limit(campaignId: string, budget: ServableCampaign['budget'], now: number) {
    return this.service.limit(campaignId, budget, now);
  }
  forgetReporter(campaignId: string, uid: string) {
    return this.service.forgetReporter(campaignId, uid);
  }
  renew(campaignId: string, request: RenewRequest) {
    return this.service.renew(campaignId, request);
  }
  recall(campaignId: string, shard: number, now: number, budget?: LeaseBudget) {
    return this.service.recall(campaignId, shard, now, budget);
  }
  trim(campaignId: string, shard: number, target: TrimTarget, budget: LeaseBudget, now: number) {
    return this.service.trim(campaignId, shard, target, budget, now);
  }
  alarm() {
    return this.service.alarm();
  }
}

/**
 * The deployment's traffic aggregates (forecast basis): isolates merge their
 * in-memory counts and reach sketches into it every TRAFFIC_FLUSH_MS; forecasts
 * read it. Single writer, so sketch merges never race.
 */
export class TrafficObject extends DurableObject<WorkerEnv> implements TrafficStore {
  private traffic: SqlTraffic;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    const db = drizzle(ctx.storage as never);
    this.traffic = new SqlTraffic(db as never);
    void ctx.blockConcurrencyWhile(() => migrateObject(db));
  }

  async add(batch: TrafficBatch) {
    this.traffic.addNow(batch);
  }

  async read(fromDay: string, toDay: string) {
    return this.traffic.readNow(fromDay, toDay);
  }
}
