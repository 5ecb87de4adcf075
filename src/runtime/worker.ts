/**
 * The Cloudflare Workers entry: the same app as Node (createService/newApp),
 * wired to D1 (catalog), R2 (media), one Durable Object per pseudonymous user
 * (UserObject: caps, reservations, blocks, hides, event idempotency; it runs the
 * shared read-decide-reserve itself) and one per campaign (CampaignObject:
 * spend, budget holds, report aggregates). See docs/deploy.md.
 */
import type { D1Database, DurableObjectNamespace, DurableObjectState, ExecutionContext, R2Bucket } from '@cloudflare/workers-types';
import { DurableObject } from 'cloudflare:workers';
import { drizzle } from 'drizzle-orm/durable-sqlite';
import { readSettings, type Env, type Settings } from '../config.js';
import { CTR_REFRESH_MS, Delivery, type UserSlotsInput } from '../delivery/delivery.js';
import { KeyedLock } from '../delivery/keyed-lock.js';
import { R2MediaStorage } from '../media/r2.js';
import { createPseudonymizer, type Pseudonymizer } from '../privacy/pseudonym.js';
import { TokenSigner, tokenSecretsFrom } from '../privacy/token.js';
import { eventEffect } from '../engine/events.js';
import type { ServableCampaign } from '../engine/types.js';
import type { SqlCatalog } from '../store/catalog.js';
import { openD1Catalog } from '../store/d1/index.js';
import { CampaignObjectStore, ctrFlushed, pendingCtr, type HoldRequest } from '../store/durable-object/campaign-object.js';
import { createEdgeStore, type EdgeBudgets, type CampaignObjectRpc, type ObjectDirectory, type UserObjectRpc } from '../store/durable-object/index.js';
import { migrateObject, UserObjectStore, type ObjectDb } from '../store/durable-object/user-object.js';
import type { CampaignEffect } from '../store/event-procedure.js';
import type { Reservation, Store, VerifiedEvent } from '../store/interface.js';
import { createService } from '../wiring.js';

export interface WorkerEnv {
  DB: D1Database;
  MEDIA: R2Bucket;
  USERS: DurableObjectNamespace;
  CAMPAIGNS: DurableObjectNamespace;
  ADMIN_KEY?: string;
  SECRET?: string;
  /** How often an isolate checks D1's catalog version, in ms [1000]. */
  CATALOG_REFRESH_MS?: string;
  [setting: string]: unknown;
}

/** Retry delay for effects a campaign object did not acknowledge. */
const OUTBOX_RETRY_MS = 5_000;
/** How often a campaign object drops applied-effect rows past their retention. */
const PRUNE_APPLIED_EVERY_MS = 3_600_000;
/** How often a campaign object adds its impression and click counts to D1 (CTR estimates): bounded D1 writes. */
const CTR_FLUSH_MS = 30_000;

function stringVars(env: WorkerEnv): Env {
  const vars: Env = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') vars[name] = value;
  return vars;
}

function directory(env: WorkerEnv): ObjectDirectory {
  return {
    user: (uid) => env.USERS.get(env.USERS.idFromName(uid)) as unknown as UserObject,
    campaign(campaignId) {
      const stub = env.CAMPAIGNS.get(env.CAMPAIGNS.idFromName(campaignId)) as unknown as CampaignObject;
      return {
        tryHold: (hold, now) => stub.tryHold(campaignId, hold, now),
        view: (now) => stub.view(campaignId, now),
        report: (from, to) => stub.report(campaignId, from, to),
        apply: (effects, threshold) => stub.apply(campaignId, effects, threshold),
        release: (ids) => stub.release(campaignId, ids),
        limit: (budget, now) => stub.limit(campaignId, budget, now),
        forgetReporter: (uid) => stub.forgetReporter(campaignId, uid),
      } satisfies CampaignObjectRpc;
    },
  };
}

/** Everything one isolate shares between requests and the objects it hosts. */
interface Isolate {
  settings: Settings;
  catalog: SqlCatalog;
  objects: ObjectDirectory;
  store: Store & { budgets: EdgeBudgets };
  service: Awaited<ReturnType<typeof createService>>;
  signer: TokenSigner;
  pseudonymize: Pseudonymizer;
  /** Rebuilds the catalog index if D1's catalog version moved (checked at most every CATALOG_REFRESH_MS), and for CTRs every CTR_REFRESH_MS. */
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
  const refreshMs = Number(vars.CATALOG_REFRESH_MS ?? 1000);
  const catalog = openD1Catalog(env.DB);
  const objects = directory(env);
  const store = createEdgeStore({ catalog, objects });
  const tokenSecrets = tokenSecretsFrom(vars, env.SECRET);
  const service = await createService({
    settings,
    store,
    media: new R2MediaStorage(env.MEDIA),
    adminKey: env.ADMIN_KEY,
    secret: env.SECRET,
    tokenSecrets,
    // Failed-authentication throttling by the caller's address, as Cloudflare's edge saw it.
    clientAddress: (c) => c.req.header('CF-Connecting-IP'),
    async serveSlots(uid, input) {
      try {
        return await (objects.user(uid) as unknown as UserObject).serve(uid, input);
      } catch (err) {
        // Fail closed: without the user's object we cannot know caps or blocks.
        console.error(`[slots] user object unavailable, serving no ad: ${(err as Error).message}`);
        return input.explain ? { slots: [], explain: [] } : { slots: [] };
      }
    },
  });
  let checkedAt = Date.now();
  let rebuiltAt = checkedAt;
  return {
    settings,
    catalog,
    objects,
    store,
    service,
    signer: new TokenSigner(tokenSecrets),
    pseudonymize: createPseudonymizer(env.SECRET),
    async freshIndex() {
      const now = Date.now();
      if (now - checkedAt < refreshMs) return;
      checkedAt = now;
      // CTR counters change without a version bump: rebuild on their cadence too, since
      // isolates hosting user objects never see the events that trigger it on Node.
      const rebuild = now - rebuiltAt >= CTR_REFRESH_MS;
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
    return service.app.fetch(request, env, ctx as never);
  },
};

/**
 * One pseudonymous user: its reservations, impressions, blocks, hides and event
 * ledger in the object's SQLite. Every call runs one at a time (the lock spans
 * the awaits on campaign objects), so a decision reads and reserves atomically.
 */
export class UserObject extends DurableObject<WorkerEnv> implements UserObjectRpc {
  private state: UserObjectStore;
  private lock = new KeyedLock();
  private delivery: Delivery | undefined;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    const db = drizzle(ctx.storage as never);
    this.state = new UserObjectStore(db);
    void ctx.blockConcurrencyWhile(() => migrateObject(db));
  }

  private serial<T>(work: () => T | Promise<T>): Promise<T> {
    return this.lock.run('user', async () => work());
  }

  private deliveryOf(iso: Isolate): Delivery {
    if (this.delivery) return this.delivery;
    const state = this.state;
    const store: Store = {
      ...iso.store,
      users: {
        load: async (uid, now, historyMs) => state.load(uid, now, historyMs),
        reserve: async (reservations) => state.reserve(reservations),
        reservation: async (uid, id) => state.reservation(uid, id),
        block: async (uid, advertiserId, now) => state.block(uid, advertiserId, now),
        unblock: async (uid, advertiserId) => state.unblock(uid, advertiserId),
        blocks: async (uid) => state.blocks(uid),
        erase: async () => {
          throw new Error('erase goes through UserObject.erase');
        },
      },
    };
    const delivery = new Delivery({
      settings: iso.settings,
      store,
      index: iso.service.index,
      pseudonymize: iso.pseudonymize,
      signer: iso.signer,
      clock: Date.now,
    });
    return (this.delivery = delivery);
  }

  async serve(uid: string, input: UserSlotsInput) {
    const iso = await isolateFor(this.env);
    await iso.freshIndex();
    return this.serial(async () => {
      const result = await this.deliveryOf(iso).serve(uid, input);
      await this.schedule(Date.now() + this.deliveryOf(iso).historyMs());
      return result;
    });
  }

  async load(uid: string, now: number, historyMs: number) {
    return this.serial(() => this.state.load(uid, now, historyMs));
  }

  async prune(now: number, historyMs: number) {
    return this.serial(() => this.state.prune(now, historyMs).removed);
  }

  async reserve(reservations: Reservation[]) {
    return this.serial(() => this.state.reserve(reservations));
  }

  async block(uid: string, advertiserId: string, now: number) {
    return this.serial(() => this.state.block(uid, advertiserId, now));
  }

  async unblock(uid: string, advertiserId: string) {
    return this.serial(() => this.state.unblock(uid, advertiserId));
  }

  async blocks(uid: string) {
    return this.state.blocks(uid);
  }

  async reservation(uid: string, id: string) {
    return this.state.reservation(uid, id);
  }

  async record(events: VerifiedEvent[], now: number, reportThreshold: number) {
    return this.serial(async () => {
      const outcomes = this.state.record(events, now, { effect: eventEffect });
      const sentToReview = await this.deliver(reportThreshold);
      return { outcomes, sentToReview };
    });
  }

  /** Hands outbox effects to their campaign objects; what fails stays queued and is retried by alarm. */
  private async deliver(reportThreshold: number): Promise<string[]> {
    const byCampaign = new Map<string, { ids: number[]; effects: CampaignEffect[] }>();
    for (const { id, effect } of this.state.pending()) {
      let group = byCampaign.get(effect.campaignId);
      if (!group) byCampaign.set(effect.campaignId, (group = { ids: [], effects: [] }));
      group.ids.push(id);
      group.effects.push(effect);
    }
    if (byCampaign.size === 0) return [];
    const iso = await isolateFor(this.env);
    const sentToReview: string[] = [];
    let failed = false;
    await Promise.all(
      [...byCampaign].map(async ([campaignId, group]) => {
        try {
          sentToReview.push(...(await iso.objects.campaign(campaignId).apply(group.effects, reportThreshold)));
          this.state.delivered(group.ids);
        } catch (err) {
          failed = true;
          console.error(`[events] campaign object ${campaignId} unavailable, effects queued: ${(err as Error).message}`);
        }
      }),
    );
    if (failed) await this.schedule(Date.now() + OUTBOX_RETRY_MS);
    return sentToReview;
  }

  async erase(uid: string) {
    const iso = await isolateFor(this.env);
    return this.serial(async () => {
      await this.deliver(iso.settings.reportThreshold);
      if (this.state.pending().length > 0) throw new Error('campaign objects unavailable; erase not done, retry');
      const traces = this.state.traces(uid);
      const campaigns = new Set([...traces.holds.map((h) => h.campaignId), ...traces.reports.map((r) => r.campaignId)]);
      await Promise.all(
        [...campaigns].map(async (campaignId) => {
          const campaign = iso.objects.campaign(campaignId);
          await campaign.release(traces.holds.filter((h) => h.campaignId === campaignId).map((h) => h.reservationId));
          if (traces.reports.some((r) => r.campaignId === campaignId)) await campaign.forgetReporter(uid);
        }),
      );
      this.state.erase(uid);
    });
  }

  /** Sets the alarm no later than `at`. */
  private async schedule(at: number) {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** Retries undelivered effects and drops history no cap or token needs any more. */
  async alarm() {
    const iso = await isolateFor(this.env);
    await this.serial(async () => {
      await this.deliver(iso.settings.reportThreshold);
      const historyMs = this.deliveryOf(iso).historyMs();
      const { oldestServedAt } = this.state.prune(Date.now(), historyMs);
      if (oldestServedAt !== undefined) await this.schedule(oldestServedAt + historyMs + 1);
    });
  }
}

/**
 * One campaign's budget authority and counters, network-wide. Each check-and-hold
 * is synchronous on the object's SQLite, so holds never interleave mid-check.
 * Expired holds are dropped on every read; applied-effect rows hourly; CTR
 * counts go to D1 at most every CTR_FLUSH_MS.
 */
export class CampaignObject extends DurableObject<WorkerEnv> {
  private db: ObjectDb;
  private stores = new Map<string, CampaignObjectStore>();
  private prunedAt = 0;
  private ctrFlushedAt = 0;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    this.db = drizzle(ctx.storage as never);
    void ctx.blockConcurrencyWhile(() => migrateObject(this.db));
  }

  private of(campaignId: string): CampaignObjectStore {
    let store = this.stores.get(campaignId);
    if (!store) this.stores.set(campaignId, (store = new CampaignObjectStore(this.db, campaignId)));
    return store;
  }

  async tryHold(campaignId: string, hold: HoldRequest, now: number) {
    return this.of(campaignId).tryHold(hold, now);
  }

  async view(campaignId: string, now: number) {
    return this.of(campaignId).snapshot(now);
  }

  async report(campaignId: string, fromDay: string, toDay: string) {
    return this.of(campaignId).report(fromDay, toDay);
  }

  async apply(campaignId: string, effects: CampaignEffect[], reportThreshold: number): Promise<string[]> {
    const store = this.of(campaignId);
    const iso = await isolateFor(this.env);
    const sent = await store.apply(effects, reportThreshold, Date.now(), iso.catalog);
    const now = Date.now();
    if (now - this.prunedAt > PRUNE_APPLIED_EVERY_MS) {
      this.prunedAt = now;
      store.prune(now);
    }
    if (now - this.ctrFlushedAt >= CTR_FLUSH_MS) await this.flushCtr();
    else if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(this.ctrFlushedAt + CTR_FLUSH_MS);
    return sent;
  }

  /** Adds this object's pending impression and click counts to D1's creative_stats (CTR estimates). */
  private async flushCtr() {
    this.ctrFlushedAt = Date.now();
    const pending = pendingCtr(this.db);
    if (pending.length === 0) return;
    try {
      await (await isolateFor(this.env)).catalog.addCtrCounts(pending, this.ctrFlushedAt);
      ctrFlushed(this.db, pending);
    } catch (err) {
      console.error(`[ctr] could not add counts to D1, retrying: ${(err as Error).message}`);
      await this.ctx.storage.setAlarm(Date.now() + CTR_FLUSH_MS);
    }
  }

  async alarm() {
    await this.flushCtr();
  }

  async release(campaignId: string, reservationIds: string[]) {
    this.of(campaignId).release(reservationIds);
  }

  async limit(campaignId: string, budget: ServableCampaign['budget'], now: number) {
    this.of(campaignId).limit(budget, now);
  }

  async forgetReporter(campaignId: string, uid: string) {
    this.of(campaignId).forgetReporter(uid);
  }
}
