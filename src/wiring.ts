/** Builds the service from settings and a store: the part every runtime shares. */
import { createApp } from './api/app.js';
import type { ClientAddress } from './api/context.js';
import { createEdge } from './api/edge.js';
import { mediaUrl } from './api/views.js';
import { CatalogIndex } from './catalog/index.js';
import { CatalogService } from './catalog/service.js';
import type { Settings } from './config.js';
import { Delivery, openingEventsHere } from './delivery/delivery.js';
import { remainingBudgetMicros } from './engine/eligibility.js';
import { TrafficRecorder } from './forecast/recorder.js';
import { Forecasts } from './forecast/service.js';
import type { MediaStorage } from './media/storage.js';
import type { Log } from './ops/log.js';
import type { Metrics } from './ops/metrics.js';
import { createPseudonymizer } from './privacy/pseudonym.js';
import { TokenSigner } from './privacy/token.js';
import type { Store } from './store/interface.js';

export interface ServiceOptions {
  settings: Settings;
  store: Store;
  media: MediaStorage;
  adminKey: string;
  secret: string;
  /** Slot-token secrets, current first, then previous ones still accepted (`tokenSecretsFrom`); default: derived from `secret`. */
  tokenSecrets?: string[];
  clock?: () => number;
  /** The caller's address on this runtime (failed-authentication throttling). */
  clientAddress?: ClientAddress;
  /** Request logs [silent]. */
  log?: Log;
  /** Metrics hooks for the API and delivery [none]; the store takes its own at creation. */
  metrics?: Metrics;
  /** The Prometheus text for GET /metrics (Node). */
  scrapeMetrics?: () => Promise<{ text: string; contentType: string }>;
  /** METRICS_TOKEN: may read /metrics besides the operator key. */
  metricsToken?: string;
  /** Serialise one user's slot requests inside this process [true]; Workers turns it off (see DeliveryDeps). */
  serialiseUsers?: boolean;
  /** Flush due traffic counts inside the slot request [true]; Workers flushes after the answer (see DeliveryDeps). */
  flushTraffic?: boolean;
}

/** What delivery offers the routes and the Node slot lane. */
export type DeliveryApi = Pick<
  Delivery,
  | 'slots'
  | 'events'
  | 'recordOpened'
  | 'block'
  | 'unblock'
  | 'mute'
  | 'unmute'
  | 'blocks'
  | 'erase'
  | 'why'
  | 'prune'
  | 'historyMs'
>;

/** What forecasts offer the routes. */
export type ForecastsApi = Pick<Forecasts, 'forecast'>;

/**
 * The engine side as the app sees it: delivery, forecasts (over the engine's index and traffic recorder: the
 * only index there is), whether that index is loaded, and its refresh after a catalog write.
 */
export interface RemoteEngine {
  delivery: DeliveryApi;
  forecasts: ForecastsApi;
  /** Whether the engine's index has loaded the catalog (`/readyz`). */
  indexLoaded(): boolean;
  /** Rebuilds the engine's index if the catalog changed; resolves once it has. */
  refreshIndex(): Promise<void>;
}

export type EngineOptions = Pick<
  ServiceOptions,
  'settings' | 'store' | 'secret' | 'tokenSecrets' | 'clock' | 'metrics' | 'serialiseUsers' | 'flushTraffic'
>;

/**
 * Servable campaigns whose remaining budget cannot pay for one more billable event (a gauge): read where the
 * budgets are (the engine thread on Node).
 */
export function countOutOfBudget(index: CatalogIndex, store: Pick<Store, 'budgets'>, now: number): number {
  let count = 0;
  for (const campaign of index.candidates({}, true)) {
    if (campaign.status === 'active' && remainingBudgetMicros(campaign, store.budgets.view(campaign.id, now)) <= 0) count++;
  }
  return count;
}

/** Where a creative's media is served from (the catalog's views), by content hash. */
export const mediaUrlRule =
  (settings: Pick<Settings, 'publicUrl'>) =>
  (sha: string): string =>
    mediaUrl(settings.publicUrl, sha);

/** The engine side: the index of what can be served, the traffic recorder, delivery and forecasts over a store. */
export async function createEngine(options: EngineOptions) {
  const clock = options.clock ?? Date.now;
  const index = new CatalogIndex(options.store.catalog, mediaUrlRule(options.settings));
  await index.refresh(true);
  const traffic = new TrafficRecorder(options.store.traffic, clock, options.settings.trafficFlushMs);
  const delivery = new Delivery({
    settings: options.settings,
    store: options.store,
    index,
    pseudonymize: createPseudonymizer(options.secret),
    signer: new TokenSigner(options.tokenSecrets ?? options.secret),
    clock,
    metrics: options.metrics,
    traffic,
    serialiseUsers: options.serialiseUsers,
    flushTraffic: options.flushTraffic,
  });
  const forecasts = new Forecasts({
    traffic: options.store.traffic,
    recorder: traffic,
    index,
    floorCpmMicros: options.settings.floorCpmMicros,
    clock,
  });
  return { index, traffic, delivery, forecasts };
}

/** The app and the slot lane's edge over an engine side (its delivery, forecasts and index), wherever it runs. */
function serviceOver(options: ServiceOptions, engine: RemoteEngine, clock: () => number) {
  const catalog = new CatalogService(options.store, engine.refreshIndex);
  const deps = {
    ...options,
    catalog,
    delivery: engine.delivery,
    forecasts: engine.forecasts,
    catalogLoaded: engine.indexLoaded,
    clock,
  };
  // The rules before each route, shared by the app and (on Node) the slot lane.
  const edge = createEdge(deps);
  const app = createApp(deps, edge);
  return { app, edge, catalog, delivery: engine.delivery, settings: options.settings };
}

/** The whole service in this process (Workers, Node with ENGINE_THREAD=off, tests): the engine side built here. */
export async function createService(options: ServiceOptions) {
  const clock = options.clock ?? Date.now;
  const { index, traffic, delivery, forecasts } = await createEngine({ ...options, clock });
  const engine: RemoteEngine = {
    delivery,
    forecasts,
    indexLoaded: () => index.loaded,
    refreshIndex: () => index.refresh(),
  };
  return { ...serviceOver(options, engine, clock), delivery, forecasts, index, traffic };
}

/**
 * The service whose engine side runs elsewhere (Node's engine thread, `src/runtime/engine-thread.ts`; `store`
 * is then its proxy): no index here — forecasts and `/readyz` read the engine's, the one that serves slots.
 */
export function createRemoteService(options: ServiceOptions, engine: RemoteEngine) {
  const clock = options.clock ?? Date.now;
  // Event tokens are opened here, while the engine thread commits earlier batches (see openingEventsHere).
  const delivery = openingEventsHere(engine.delivery, new TokenSigner(options.tokenSecrets ?? options.secret), clock);
  return serviceOver(options, { ...engine, delivery }, clock);
}
