/**
 * A `Store` in Node that is the Workers backend inside workerd: every call goes
 * through test/helpers/store-bridge.worker.ts to the isolate's D1 catalog, user
 * objects and campaign objects. `makeWorkerStore` already has the shape `storeContract(name, open)` expects:
 *
 *   storeContract('workers (D1 + Durable Objects in workerd)', () => makeWorkerStore());
 *
 * `budgets.view` is synchronous in the interface, so here it answers from the
 * campaign object's snapshot fetched after the last `tryHold` or `ledger.record`
 * touching that campaign, aged to `now` as the Worker's own view does.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Env } from '../../src/config.js';
import { holdShard } from '../../src/engine/budget-leases.js';
import { bundleWorker, startLocalWorker } from '../../src/runtime/miniflare.js';
import { ageSnapshot, type BudgetSnapshot } from '../../src/store/durable-object/campaign-object.js';
import { parseBudgetMinShards } from '../../src/store/durable-object/placement.js';
import type { CampaignEffect } from '../../src/store/event-procedure.js';
import type { Store } from '../../src/store/interface.js';
import { SECRET } from './service.js';

const decode = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(decode)
    : value && typeof value === 'object'
      ? '$set' in value
        ? new Set((value as { $set: unknown[] }).$set)
        : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]))
      : value;

/** One bundle per test file: bundling is the slow part of starting a store. */
let bundled: Promise<string> | undefined;
function bridgeBundle(): Promise<string> {
  bundled ??= (async () => {
    const scriptPath = join(mkdtempSync(join(tmpdir(), 'status-ads-bridge-')), 'bridge.js');
    await bundleWorker(scriptPath, fileURLToPath(new URL('./store-bridge.worker.ts', import.meta.url)));
    return scriptPath;
  })();
  return bundled;
}

/**
 * A data folder holding only D1 with every migration applied, made once per test file:
 * a fresh store starts on a copy of it, so each start checks the migrations (two
 * queries) instead of applying them all through Miniflare's Node-side proxy (about
 * a third of a start). The bindings do not matter here: nothing but D1 is written.
 */
let migrated: Promise<string> | undefined;
function migratedDataDir(scriptPath: string): Promise<string> {
  migrated ??= (async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'status-ads-migrated-'));
    process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
    const mf = await startLocalWorker({ scriptPath, bindings: { ADMIN_KEY: 'unused-admin-key', SECRET }, dataDir });
    await mf.dispose();
    return dataDir;
  })();
  return migrated;
}

/**
 * `options.dataDir`: keep D1 and the objects' storage there (a later store on the same
 * folder starts where this one stopped, as after a restart); absent: a fresh temporary
 * folder (a copy of the migrated one: empty tables, no objects), removed on close.
 */
export async function makeWorkerStore(env: Env = {}, options: { dataDir?: string } = {}) {
  const scriptPath = await bridgeBundle();
  const dir = options.dataDir ? undefined : mkdtempSync(join(tmpdir(), 'status-ads-store-'));
  if (dir) cpSync(await migratedDataDir(scriptPath), dir, { recursive: true });
  const bindings: Record<string, string> = { ADMIN_KEY: 'unused-admin-key', SECRET, CATALOG_REFRESH_MS: '0', LOG_LEVEL: 'warn' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) bindings[k] = v;
  const mf = await startLocalWorker({ scriptPath, bindings, dataDir: options.dataDir ?? dir });
  const minShards = parseBudgetMinShards(bindings.BUDGET_MIN_SHARDS);

  async function invoke(part: string, method: string, ...args: unknown[]): Promise<any> {
    const res = await mf.dispatchFetch('http://bridge.test/', { method: 'POST', body: JSON.stringify({ part, method, args }) });
    const body = (await res.json()) as { result?: unknown; error?: string };
    if (body.error !== undefined) throw new Error(body.error);
    return body.result === null ? undefined : decode(body.result);
  }

  const views = new Map<string, { snapshot: BudgetSnapshot; now: number }>();
  const refreshView = async (campaignId: string, now: number) =>
    views.set(campaignId, { snapshot: await invoke('campaign', 'snapshot', campaignId, now), now });
  const proxy = (part: string) =>
    new Proxy(
      {},
      {
        get:
          (_t, method: string) =>
          (...args: unknown[]) =>
            invoke(part, method, ...args),
      },
    ) as any;

  const store: Store = {
    catalog: proxy('catalog'),
    users: proxy('users'),
    budgets: {
      // As the isolate routes (EdgeBudgets.shardFor): by reservation id over the shard count last seen.
      shardFor: (campaignId, reservationId) =>
        holdShard(reservationId, Math.max(minShards, views.get(campaignId)?.snapshot.shards ?? 1)),
      view: (campaignId, now) => {
        const seen = views.get(campaignId);
        return seen ? ageSnapshot(seen.snapshot, now) : { spentTodayMicros: 0, spentTotalMicros: 0, heldMicros: 0 };
      },
      async tryHold(hold, now) {
        const held = (await invoke('budgets', 'tryHold', hold, now)) as boolean;
        await refreshView(hold.campaign.id, now);
        return held;
      },
      async release(campaignId, reservationId, shard) {
        await invoke('budgets', 'release', campaignId, reservationId, ...(shard === undefined ? [] : [shard]));
        const seen = views.get(campaignId);
        if (seen) await refreshView(campaignId, seen.now);
      },
      async limit(campaign, now) {
        await invoke('budgets', 'limit', { id: campaign.id, budget: campaign.budget }, now);
        await refreshView(campaign.id, now);
      },
    },
    ledger: {
      async record(events, now, rules) {
        const result = await invoke('ledger', 'record', events, now, { reportThreshold: rules.reportThreshold });
        // Workers serve no handles: every event here carries its campaign.
        const campaigns = new Set(events.flatMap((e) => ('campaignId' in e ? [e.campaignId] : [])));
        await Promise.all([...campaigns].map((id) => refreshView(id, now)));
        return result;
      },
      report: (campaignId, from, to, by) => invoke('ledger', 'report', campaignId, from, to, ...(by ? [by] : [])),
    },
    traffic: proxy('traffic'),
    prune: (now, historyMs) => invoke('store', 'prune', now, historyMs),
    async close() {},
  };

  async function close() {
    await mf.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  /** One budget shard's own state, as its object keeps it (tests of the sharded backend). */
  const shard = {
    own: (campaignId: string, index: number, now: number): Promise<BudgetSnapshot> =>
      invoke('campaign', 'own', campaignId, index, now),
    rows: (campaignId: string, index: number, fromDay: string, toDay: string) =>
      invoke('campaign', 'rows', campaignId, index, fromDay, toDay, 'day'),
    /** The shard's side of the event procedure for `effects`, as the outbox delivers them (its clock: the real one). */
    apply: (campaignId: string, index: number, effects: CampaignEffect[], reportThreshold = 5): Promise<string[]> =>
      invoke('campaign', 'apply', campaignId, index, effects, reportThreshold),
  };
  return { store, mf, shard, close };
}
