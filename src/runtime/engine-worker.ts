/**
 * The engine thread (Node, `engine-thread.ts` starts it): the only owner of the SQLite store — its connection,
 * user cache, budget holds, ledger, traffic flush and retention prune — with delivery, the index, forecasts and
 * the traffic recorder, answering the main thread's calls in the order they were posted.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { readSettings } from '../config.js';
import { createMetricsRecorder } from '../ops/prometheus.js';
import type { Store } from '../store/interface.js';
import { createEngine } from '../wiring.js';
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
import { openEngineStore } from './node-engine.js';

/** How often the engine's metric deltas and cheap gauges reach main's registry between scrapes. */
const PUSH_EVERY_MS = 1000;

if (!parentPort) throw new Error('engine-worker.ts runs as a worker thread (engine-thread.ts starts it)');
const port = parentPort;
const { database, secret, tokenSecrets } = workerData as EngineWorkerData;
const settings = readSettings(process.env);
const metrics = createMetricsRecorder();
const engineStore = openEngineStore(settings, database, metrics);
const { store } = engineStore;
const { index, delivery, forecasts } = await createEngine({ settings, store, secret, tokenSecrets, metrics });
// Before main listens.
const { holds, holdsMs } = engineStore.loadHolds();

// An answer that cannot cross (never expected: every answer is plain data) fails its call instead; a push is dropped.
const out = new Outbox(port, (id, kind, err) => {
  if (id === PUSH) console.error(`[engine] a ${String(kind)} push could not be sent: ${err.message}`);
  else out.post(id, FAILED, toWire(err));
});

// This thread's event-loop delay (prom-client's nodejs_eventloop_lag_* describe main's): the p99 of each push interval.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let loopDelayP99 = 0;

/** What is cheap to read: sent every second, and with every scrape. */
function snapshot(): EngineSnapshot {
  return {
    delta: metrics.take(),
    userCacheEntries: store.userCacheSize(),
    historyMs: delivery.historyMs(),
    heapUsedBytes: getHeapStatistics().used_heap_size,
    eventLoopDelayP99Seconds: loopDelayP99,
    indexLoaded: index.loaded,
  };
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
forward('catalog', store.catalog, CATALOG_CALLS);
forward('users', store.users, USER_CALLS);
forward('budgets', store.budgets, BUDGET_CALLS);
forward('ledger', store.ledger, LEDGER_CALLS);
forward('traffic', store.traffic, TRAFFIC_CALLS);
methods.set('store.prune', ((now: number, historyMs: number) => store.prune(now, historyMs)) as Method);
methods.set('store.health', () => (store as Required<Store>).health());
methods.set('forecasts.forecast', ((draft: Parameters<typeof forecasts.forecast>[0], advertiserId: string) =>
  forecasts.forecast(draft, advertiserId)) as Method);
// After a catalog write on main: rebuilt from the store (the write is committed) before main answers it.
methods.set('index.refresh', () => index.refresh());
// A scrape: the cheap part, and the out-of-budget gauge, which walks every servable campaign's budget account
// (creating the ones not used yet) and so runs only when someone asks, as it does on one thread.
methods.set('metrics', () => ({ ...snapshot(), campaignsOutOfBudget: engineStore.outOfBudget(index) }));

const pushing = setInterval(() => {
  loopDelayP99 = loopDelay.percentile(99) / 1e9;
  loopDelay.reset();
  out.post(PUSH, 'snapshot', snapshot());
}, PUSH_EVERY_MS);
methods.set('close', async () => {
  clearInterval(pushing);
  loopDelay.disable();
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
