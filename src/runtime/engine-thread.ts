/**
 * Node's engine thread, seen from the main thread: starts `engine-worker.ts` on a `node:worker_threads`
 * Worker and hands back a `Store`-shaped and a `Delivery`-shaped proxy whose calls run there. The main
 * thread keeps HTTP, the API edge and the app; the engine thread owns SQLite (every write: one authority
 * for caps, blocks and budgets), delivery, the catalog index, forecasts and the traffic recorder.
 */
import { Worker } from 'node:worker_threads';
import type { EngineGauges, PrometheusMetrics } from '../ops/prometheus.js';
import type { Store } from '../store/interface.js';
import { DatabaseLockError } from '../store/sqlite/db.js';
import type { EngineDeliveryApi, ForecastsApi, RemoteEngine } from '../wiring.js';
import {
  BUDGET_CALLS,
  CATALOG_CALLS,
  DELIVERY_CALLS,
  type EngineSnapshot,
  type EngineWorkerData,
  FAILED,
  fromWire,
  LEDGER_CALLS,
  OK,
  Outbox,
  PUSH,
  TRAFFIC_CALLS,
  USER_CALLS,
  type WireError,
} from './engine-rpc.js';

export interface EngineThread {
  /** The thread itself. */
  worker: Worker;
  /** The store as main uses it (catalog, reports, traffic reads, budget limits, health, close), on the engine thread. */
  store: Store;
  /** Delivery, forecasts and the index (the only one), on the engine thread (`createRemoteService`'s engine). */
  engine: RemoteEngine;
  /** Live budget holds read back before ready, and how long that took. */
  holds: number;
  holdsMs: number;
  /** The gauges the engine thread owns, as of its last snapshot (out of budget: as of the last scrape). */
  gauges: EngineGauges;
  /** The engine thread's metrics up to now, in `metrics` (before each scrape). */
  flushMetrics(): Promise<void>;
}

export interface EngineThreadOptions extends EngineWorkerData {
  /** Main's registry: the engine thread's deltas are added to it. */
  metrics: PrometheusMetrics;
  /** The engine thread died or threw: every call in flight has been rejected; the process cannot serve on. */
  onFailure: (err: Error) => void;
}

/**
 * The worker: its entry beside this file in a build (.js); where tsx runs the sources (`npm start`), tsx's
 * loader first, which its `--import` registers on the main thread only.
 */
function startWorker(workerData: EngineWorkerData): Worker {
  const entry = import.meta.url.endsWith('.ts') ? './engine-worker-tsx.mjs' : './engine-worker.js';
  return new Worker(new URL(entry, import.meta.url), { workerData });
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

type Calls<T> = { [K in keyof T]: T[K] };

/** Starts the engine thread; resolves once it has migrated, read the catalog and the budget holds. */
export async function startEngineThread(options: EngineThreadOptions): Promise<EngineThread> {
  const data: EngineWorkerData = { database: options.database, secret: options.secret, tokenSecrets: options.tokenSecrets };
  const worker = startWorker(data);
  const pending = new Map<number, Pending>();
  // A call whose arguments cannot cross: that call is rejected, the others of its turn go.
  const out = new Outbox(worker, (id, _method, err) => {
    const call = pending.get(id as number);
    pending.delete(id as number);
    call?.reject(err);
  });
  let lastId = 0;
  let failure: Error | undefined;
  let closing = false;
  let last: EngineSnapshot = {
    delta: undefined,
    userCacheEntries: 0,
    historyMs: 0,
    heapUsedBytes: 0,
    eventLoopDelayP99Seconds: 0,
    indexLoaded: false,
  };
  let outOfBudget = 0;
  let ready: Pending | undefined;
  const started = new Promise<{ holds: number; holdsMs: number }>(
    (resolve, reject) => (ready = { resolve: resolve as Pending['resolve'], reject }),
  );

  const take = (snapshot: EngineSnapshot) => {
    last = snapshot;
    if (snapshot.campaignsOutOfBudget !== undefined) outOfBudget = snapshot.campaignsOutOfBudget;
    if (snapshot.delta) options.metrics.apply(snapshot.delta);
  };

  function fail(err: Error): void {
    if (failure) return;
    failure = err;
    for (const call of pending.values()) call.reject(err);
    pending.clear();
    if (ready) ready.reject(err);
    else options.onFailure(err);
  }

  worker.on('message', (batch: unknown[]) => {
    for (let i = 0; i < batch.length; i += 3) {
      const id = batch[i] as number;
      if (id === PUSH) {
        const kind = batch[i + 1];
        if (kind === 'ready') {
          const { holds, holdsMs, snapshot } = batch[i + 2] as { holds: number; holdsMs: number; snapshot: EngineSnapshot };
          take(snapshot);
          ready?.resolve({ holds, holdsMs });
          ready = undefined;
        } else if (kind === 'snapshot') take(batch[i + 2] as EngineSnapshot);
        continue;
      }
      const call = pending.get(id);
      if (!call) continue;
      pending.delete(id);
      if (batch[i + 1] === OK) call.resolve(batch[i + 2]);
      else if (batch[i + 1] === FAILED) call.reject(fromWire(batch[i + 2] as WireError));
    }
  });
  worker.on('error', (err) =>
    fail(
      // Another process serves from DATABASE (db.ts): the same one line as without the thread.
      err.name === 'DatabaseLockError'
        ? new DatabaseLockError(err.message)
        : Object.assign(new Error(`engine thread failed: ${err.message}`), { cause: err }),
    ),
  );
  worker.on('messageerror', (err) => fail(new Error(`engine thread message could not be read: ${err.message}`)));
  worker.on('exit', (code) => {
    if (!closing) fail(new Error(`engine thread exited unexpectedly (code ${code})`));
  });

  function call(method: string, args: unknown[]): Promise<unknown> {
    if (failure) return Promise.reject(failure);
    const id = ++lastId;
    out.post(id, method, args);
    return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
  }
  const forward = <T>(prefix: string, names: readonly (keyof T & string)[]) =>
    Object.fromEntries(names.map((name) => [name, (...args: unknown[]) => call(`${prefix}.${name}`, args)])) as Calls<T>;
  const elsewhere = (what: string) => () => {
    throw new Error(`${what} runs on the engine thread (src/runtime/engine-worker.ts)`);
  };

  const delivery: EngineDeliveryApi = {
    ...forward<Omit<EngineDeliveryApi, 'historyMs'>>('delivery', DELIVERY_CALLS),
    historyMs: () => last.historyMs,
  };

  async function close(): Promise<void> {
    if (failure) throw failure;
    closing = true;
    const delta = (await call('close', [])) as EngineSnapshot['delta'];
    if (delta) options.metrics.apply(delta);
    await worker.terminate();
  }

  const store: Store = {
    catalog: {
      ...forward<Store['catalog']>('catalog', CATALOG_CALLS),
      // Read by the engine's index only.
      servable: elsewhere('catalog.servable'),
      version: elsewhere('catalog.version'),
    },
    users: forward<Store['users']>('users', USER_CALLS),
    budgets: { ...forward<Store['budgets']>('budgets', BUDGET_CALLS), view: elsewhere('budgets.view') },
    ledger: { ...forward<Store['ledger']>('ledger', LEDGER_CALLS), record: elsewhere('ledger.record') },
    traffic: forward<Store['traffic']>('traffic', TRAFFIC_CALLS),
    prune: (now, historyMs) => call('store.prune', [now, historyMs]) as Promise<number>,
    health: () => call('store.health', []) as ReturnType<Required<Store>['health']>,
    close,
  };

  const { holds, holdsMs } = await started;
  return {
    worker,
    store,
    engine: {
      delivery,
      forecasts: {
        forecast: (draft, advertiserId) =>
          call('forecasts.forecast', [draft, advertiserId]) as ReturnType<ForecastsApi['forecast']>,
      },
      // As of the engine thread's last push (it says it is ready only once its index has loaded); false once it is gone.
      indexLoaded: () => failure === undefined && last.indexLoaded,
      refreshIndex: () => call('index.refresh', []) as Promise<void>,
      // The list the engine thread seals with, as it was sent: main opens event tokens with the same.
      tokenSecrets: data.tokenSecrets,
    },
    holds,
    holdsMs,
    gauges: {
      userCacheEntries: () => last.userCacheEntries,
      campaignsOutOfBudget: () => outOfBudget,
      heapUsedBytes: () => last.heapUsedBytes,
      eventLoopDelayP99Seconds: () => last.eventLoopDelayP99Seconds,
    },
    async flushMetrics() {
      take((await call('metrics', [])) as EngineSnapshot);
    },
  };
}
