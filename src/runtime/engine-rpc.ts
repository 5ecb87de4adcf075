/**
 * The wire between the main thread and the engine thread (engine-thread.ts, engine-worker.ts): calls by
 * method name with structured-clone arguments, answers by call id, errors carried as their class and code.
 * What one side posts during one event-loop turn leaves as one message (an array), in order.
 */
import type { MessagePort } from 'node:worker_threads';
import { ApiError } from '../api/errors.js';
import type { MetricsDelta } from '../ops/prometheus.js';
import type { BudgetStore, CatalogStore, LedgerStore, TrafficStore, UserStore } from '../store/interface.js';
import type { EngineDeliveryApi } from '../wiring.js';

/** What the engine thread starts from (the rest of its settings it reads from the same environment). */
export interface EngineWorkerData {
  database: string;
  secret: string;
  tokenSecrets: string[];
}

/**
 * The engine thread's side of GET /metrics: its deltas since the last snapshot and the gauges it owns. Pushed
 * every second with what is cheap to read; `campaignsOutOfBudget` (a walk over every servable campaign's
 * budget) only in the answer to a scrape's `metrics` call.
 */
export interface EngineSnapshot {
  delta: MetricsDelta | undefined;
  userCacheEntries: number;
  campaignsOutOfBudget?: number;
  historyMs: number;
  /** The engine isolate's V8 heap in use (bytes). */
  heapUsedBytes: number;
  /** The 99th percentile of the engine thread's event-loop delay over the last complete push interval (seconds). */
  eventLoopDelayP99Seconds: number;
  /** Whether the engine's index has loaded the catalog (`/readyz`). */
  indexLoaded: boolean;
}

// The calls that cross as they are ('<prefix>.<name>', structured-clone arguments and answers; a slot request's
// answer is its JSON, one string: `Delivery.slotsJson`). Left out:
// what takes a function (`ledger.record`'s event rules: the engine thread has its own), answers synchronously
// (`budgets.view`: the engine thread's gauges use it), or only the engine's index uses (`catalog.servable`,
// `catalog.version`); and `delivery.events`: tokens are opened on main, the engine records (`recordOpened`).
export const DELIVERY_CALLS = [
  'slotsJson',
  'recordOpened',
  'block',
  'unblock',
  'mute',
  'unmute',
  'blocks',
  'erase',
  'why',
  'prune',
] as const satisfies readonly (keyof EngineDeliveryApi)[];
export const CATALOG_CALLS = [
  'createAdvertiser',
  'listAdvertisers',
  'getAdvertiser',
  'updateAdvertiser',
  'createClient',
  'findKey',
  'createCampaign',
  'listCampaigns',
  'getCampaign',
  'updateCampaign',
  'putMedia',
  'getMedia',
  'createCreative',
  'getCreative',
  'listCreatives',
  'setReview',
  'sendToReview',
  'addCtrCounts',
] as const satisfies readonly (keyof CatalogStore)[];
export const USER_CALLS = [
  'load',
  'reserve',
  'unreserve',
  'reservation',
  'block',
  'unblock',
  'blocks',
  'mute',
  'unmute',
  'mutes',
  'erase',
] as const satisfies readonly (keyof UserStore)[];
export const BUDGET_CALLS = ['tryHold', 'release', 'limit'] as const satisfies readonly (keyof BudgetStore)[];
export const LEDGER_CALLS = ['report'] as const satisfies readonly (keyof LedgerStore)[];
export const TRAFFIC_CALLS = ['add', 'read'] as const satisfies readonly (keyof TrafficStore)[];

/**
 * tsc fails unless `Names` holds every method of `T` (the error names the missing ones): engine-thread.ts
 * forwards exactly the listed names and types the result as the whole interface, so a method left out of a
 * list would otherwise be undefined on main at run time.
 */
type Every<T, Names, Missing = Exclude<keyof T, Names>> = [Missing] extends [never] ? true : { missing: Missing };
type Holds<_ extends true> = true;
/**
 * Checked by tsc: each list is complete but for what main never calls across (see above; `historyMs` is read
 * from the engine's snapshot; `shardFor` is optional, the Workers store's; `numbered` is read by `why`, which
 * runs on the engine thread).
 */
export type CallListsComplete = [
  Holds<Every<Omit<EngineDeliveryApi, 'historyMs'>, (typeof DELIVERY_CALLS)[number]>>,
  Holds<Every<Omit<CatalogStore, 'servable' | 'version'>, (typeof CATALOG_CALLS)[number]>>,
  Holds<Every<Omit<UserStore, 'numbered'>, (typeof USER_CALLS)[number]>>,
  Holds<Every<Omit<BudgetStore, 'view' | 'shardFor'>, (typeof BUDGET_CALLS)[number]>>,
  Holds<Every<Omit<LedgerStore, 'record'>, (typeof LEDGER_CALLS)[number]>>,
  Holds<Every<TrafficStore, (typeof TRAFFIC_CALLS)[number]>>,
];

/** Either end of the wire: the Worker object on main, `parentPort` on the engine thread. */
export interface Port {
  postMessage(message: unknown): void;
}

/**
 * Items posted during one event-loop turn, sent as one message at its check phase (setImmediate): under
 * load a turn serves many connections, and one message per turn costs each side less than one per call
 * (measured: a message per call took 1.14–1.17 × the CPU per slot request at about the same req/s).
 */
export class Outbox {
  private queue: unknown[] = [];
  private scheduled = false;

  constructor(
    private port: Port | MessagePort,
    /**
     * An item that could not be posted (its payload cannot be structured-cloned: a function, a class with
     * a private field, …): the rest of its batch has left without it; the sender fails that one call.
     */
    private unsendable: (a: unknown, b: unknown, err: Error) => void,
  ) {}

  /** Three slots per item: what the receiver reads as (id or kind, a, b). */
  post(a: unknown, b: unknown, c: unknown): void {
    this.queue.push(a, b, c);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  readonly flush = (): void => {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    try {
      this.port.postMessage(batch);
    } catch {
      // Nothing of the batch has left (the clone failed before sending): each item on its own, in order.
      for (let i = 0; i < batch.length; i += 3) {
        try {
          this.port.postMessage(batch.slice(i, i + 3));
        } catch (err) {
          this.unsendable(batch[i], batch[i + 1], err instanceof Error ? err : new Error(String(err)));
        }
      }
    }
  };
}

/** An error as it crosses the wire. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** ApiError's code, or a system or SQLite error's code. */
  code?: string;
  errors?: ApiError['errors'];
  headers?: Record<string, string>;
}

export function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const wire: WireError = { name: err instanceof ApiError ? 'ApiError' : err.name, message: err.message, stack: err.stack };
  const { code } = err as { code?: unknown };
  if (typeof code === 'string') wire.code = code;
  if (err instanceof ApiError) {
    if (err.errors) wire.errors = err.errors;
    if (err.headers) wire.headers = err.headers;
  }
  return wire;
}

/** The error again, as the class the API maps to its problem answer (ApiError keeps its code, errors, headers). */
export function fromWire(wire: WireError): Error {
  const err =
    wire.name === 'ApiError'
      ? new ApiError(wire.code as ApiError['code'], wire.message, wire.errors, wire.headers)
      : Object.assign(new Error(wire.message), wire.code === undefined ? {} : { code: wire.code });
  if (wire.name !== 'ApiError') err.name = wire.name;
  // Where it was thrown (the engine thread), which is what a 500's log line needs.
  if (wire.stack) err.stack = wire.stack;
  return err;
}

/** Call ids are positive; id 0 carries a push from the engine thread (kind, payload). */
export const PUSH = 0;
/** Answer status. */
export const OK = 0;
export const FAILED = 1;
