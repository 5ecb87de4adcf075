/**
 * The engine thread (Node, `engine-thread.ts` starts it): the only owner of the SQLite store — its connection,
 * user cache, budget holds, ledger, traffic flush and retention prune — with delivery, its own index copy and
 * the traffic recorder, answering the main thread's calls in the order they were posted.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { mediaUrl } from '../api/views.js';
import { readSettings } from '../config.js';
import type { SlotsResult } from '../delivery/delivery.js';
import { createMetricsRecorder } from '../ops/prometheus.js';
import type { Store } from '../store/interface.js';
import { createSqliteStore } from '../store/sqlite/index.js';
import { countOutOfBudget, createEngine } from '../wiring.js';
import {
  BUDGET_CALLS,
  CATALOG_CALLS,
  DELIVERY_CALLS,
  type EngineSnapshot,
  type EngineWorkerData,
  FAILED,
  LEDGER_CALLS,
  OK,
  Outbox,
  PUSH,
  TRAFFIC_CALLS,
  toWire,
  USER_CALLS,
} from './engine-rpc.js';

/** How often the engine's metric deltas and gauges reach main's registry between scrapes. */
const PUSH_EVERY_MS = 1000;

if (!parentPort) throw new Error('engine-worker.ts runs as a worker thread (engine-thread.ts starts it)');
const port = parentPort;
const { database, secret, tokenSecrets } = workerData as EngineWorkerData;
const settings = readSettings(process.env);
const metrics = createMetricsRecorder();
const store = createSqliteStore({ path: database, userCacheSize: settings.userCacheSize, metrics });
const { index, traffic, delivery } = await createEngine({ settings, store, secret, tokenSecrets, metrics });
// Before main listens: the first slot requests find every campaign's live holds in memory.
const reading = performance.now();
const holds = store.loadHolds(Date.now());
const holdsMs = Math.round(performance.now() - reading);

const out = new Outbox(port);

function snapshot(): EngineSnapshot {
  return {
    delta: metrics.take(),
    userCacheEntries: store.userCacheSize(),
    campaignsOutOfBudget: countOutOfBudget(index, store, Date.now()),
    historyMs: delivery.historyMs(),
  };
}

/**
 * Slots as they cross to main: each ad view (one frozen object per creative and index build) is sent whole
 * the first time it appears after another view of its creative, and by number after that, so main keeps
 * one object per view and its JSON is made once there (`slotsJson`).
 */
const viewIds = new WeakMap<object, number>();
const sentView = new Map<string, number>();
let nextViewId = 1;
function encodeSlots(result: SlotsResult): unknown[] {
  const wire: unknown[] = [result.explain];
  for (const { after, token, ad } of result.slots) {
    let id = viewIds.get(ad);
    if (id === undefined) viewIds.set(ad, (id = nextViewId++));
    const fresh = sentView.get(ad.creativeId) !== id;
    if (fresh) sentView.set(ad.creativeId, id);
    wire.push(after, token, id, fresh ? ad : 0);
  }
  return wire;
}

type Method = (...args: never[]) => unknown;
const methods = new Map<string, Method>();
const forward = (prefix: string, target: object, names: readonly string[]) => {
  for (const name of names) {
    const fn = (target as Record<string, Method>)[name].bind(target);
    methods.set(`${prefix}.${name}`, fn);
  }
};
forward('delivery', delivery, DELIVERY_CALLS);
methods.set('delivery.slots', (async (input: Parameters<typeof delivery.slots>[0]) =>
  encodeSlots(await delivery.slots(input))) as Method);
forward('catalog', store.catalog, CATALOG_CALLS);
// The media URL rule is a function: this thread's own (the same settings).
methods.set('catalog.servable', () => store.catalog.servable((sha) => mediaUrl(settings.publicUrl, sha)));
forward('users', store.users, USER_CALLS);
forward('budgets', store.budgets, BUDGET_CALLS);
forward('ledger', store.ledger, LEDGER_CALLS);
forward('traffic', store.traffic, TRAFFIC_CALLS);
methods.set('store.prune', ((now: number, historyMs: number) => store.prune(now, historyMs)) as Method);
methods.set('store.health', () => (store as Required<Store>).health());
methods.set('recorder.flush', () => traffic.flush());
// After a catalog write on main: rebuilt from the store (the write is committed) before main answers it.
methods.set('index.refresh', () => index.refresh());
methods.set('metrics', snapshot);

const pushing = setInterval(() => out.post(PUSH, 'snapshot', snapshot()), PUSH_EVERY_MS);
methods.set('close', async () => {
  clearInterval(pushing);
  const delta = metrics.take();
  await store.close();
  return delta;
});

const answer = (id: number) => [(value: unknown) => out.post(id, OK, value), (err: unknown) => out.post(id, FAILED, toWire(err))];

port.on('message', (batch: unknown[]) => {
  for (let i = 0; i < batch.length; i += 3) {
    const id = batch[i] as number;
    const method = methods.get(batch[i + 1] as string);
    let result: unknown;
    try {
      if (!method) throw new Error(`the engine thread has no method ${String(batch[i + 1])}`);
      result = method(...(batch[i + 2] as never[]));
    } catch (err) {
      out.post(id, FAILED, toWire(err));
      continue;
    }
    if (result instanceof Promise) {
      const [ok, failed] = answer(id);
      result.then(ok, failed);
    } else out.post(id, OK, result);
  }
});

out.post(PUSH, 'ready', { holds, holdsMs, snapshot: snapshot() });
