/** Builds the service from settings and a store: the part every runtime shares. */
import { createApp } from './api/app.js';
import type { ClientAddress } from './api/context.js';
import { createEdge } from './api/edge.js';
import { ApiError } from './api/errors.js';
import { mediaUrl } from './api/views.js';
import { CatalogIndex } from './catalog/index.js';
import { CatalogService } from './catalog/service.js';
import type { Settings } from './config.js';
import { Delivery, openingEventsHere } from './delivery/delivery.js';
import { remainingBudgetMicros } from './engine/eligibility.js';
import { TrafficRecorder } from './forecast/recorder.js';
import { Forecasts, oneForecastAtATime } from './forecast/service.js';
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
  /** Rebuild the index for CTRs after an events batch when due [true]; Workers rebuilds it in its fetch handler (see DeliveryDeps). */
  refreshCtrAfterEvents?: boolean;
  /** At most one forecast in flight in this process, another answered 429 [false]; Node turns it on (`oneForecastAtATime`). */
  forecastsOneAtATime?: boolean;
}

/** A second forecast while one runs: a 429 like the rate limits', worth retrying in a second. */
const forecastBusy = () =>
  new ApiError('rate_limited', 'A forecast is already running on this server; retry in 1 s', undefined, { 'Retry-After': '1' });

/** What delivery offers the routes and the Node slot lane (never `recordOpened`: it trusts its claims as verified). */
export type DeliveryApi = Pick<
  Delivery,
  'slotsJson' | 'events' | 'block' | 'unblock' | 'mute' | 'unmute' | 'blocks' | 'erase' | 'why' | 'prune' | 'historyMs'
>;

/**
 * Delivery as an engine side running elsewhere offers it (Node's engine thread): events arrive with their tokens
 * opened (`recordOpened`), never as tokens; `openingEventsHere` makes a `DeliveryApi` of it.
 */
export type EngineDeliveryApi = Omit<DeliveryApi, 'events'> & Pick<Delivery, 'recordOpened'>;

/** What forecasts offer the routes. */
export type ForecastsApi = Pick<Forecasts, 'forecast'>;

/**
 * The engine side as the app sees it: delivery, forecasts (over the engine's index and traffic recorder: the
 * only index there is), whether that index is loaded, and its refresh after a catalog write.
 */
interface EngineSide {
  delivery: DeliveryApi;
  forecasts: ForecastsApi;
  /** Whether the engine's index has loaded the catalog (`/readyz`). */
  indexLoaded(): boolean;
  /** Rebuilds the engine's index if the catalog changed; resolves once it has. */
  refreshIndex(): Promise<void>;
}

/** An engine side running elsewhere (Node's engine thread): its delivery records opened events only. */
export interface RemoteEngine extends Omit<EngineSide, 'delivery'> {
  delivery: EngineDeliveryApi;
  /**
   * The slot-token secrets the engine seals with (current first): the one key list, which the side that opens
   * event tokens (`createRemoteService`) takes from here rather than from its own options.
   */
  tokenSecrets: string[];
}

export type EngineOptions = Pick<
  ServiceOptions,
  | 'settings'
  | 'store'
  | 'secret'
  | 'tokenSecrets'
  | 'clock'
  | 'metrics'
  | 'serialiseUsers'
  | 'flushTraffic'
  | 'refreshCtrAfterEvents'
>;

/**
 * Servable campaigns whose remaining budget cannot pay for one more billable event (a gauge): read where the
 * budgets are (the engine thread on Node). A scrape walks at most `slice` campaigns at once: a catalog that fits
 * is counted exactly there; a larger one is walked `slice` campaigns per turn of the event loop after the scrape,
 * and scrapes read the last whole walk's count meanwhile, so a scrape never stalls slots and events for the whole
 * catalog (~80 ms at 100,000 campaigns).
 */
export function outOfBudgetGauge(
  store: Pick<Store, 'budgets'>,
  clock: () => number,
  slice = 5_000,
): (index: CatalogIndex) => number {
  let last = 0;
  let walking = false;
  return (index) => {
    if (walking) return last;
    const campaigns = index.candidates({}, true)[Symbol.iterator]();
    const now = clock();
    let count = 0;
    let next = campaigns.next();
    // Counts up to `slice` campaigns; true once the walk is done.
    const step = (): boolean => {
      for (let n = 0; n < slice && !next.done; n++, next = campaigns.next()) {
        const campaign = next.value;
        if (campaign.status === 'active' && remainingBudgetMicros(campaign, store.budgets.view(campaign.id, now)) <= 0) count++;
      }
      return next.done === true;
    };
    if (step()) return (last = count);
    walking = true;
    const more = () => {
      let done: boolean;
      try {
        done = step();
      } catch {
        done = true; // the store closed under the walk (shutdown): that walk's count is not kept
        count = last;
      }
      if (done) {
        last = count;
        walking = false;
      } else setImmediate(more);
    };
    setImmediate(more);
    return last;
  };
}

/** Where a creative's media is served from (the catalog's views), by content hash. */
export const mediaUrlRule =
  (settings: Pick<Settings, 'publicUrl'>) =>
  (sha: string): string =>
    mediaUrl(settings.publicUrl, sha);

/** The slot-token secrets of these options, current first: `tokenSecrets`, else the one derived from `secret`. */
const tokenSecretsOf = (options: Pick<ServiceOptions, 'secret' | 'tokenSecrets'>): string[] =>
  options.tokenSecrets ?? [options.secret];

/**
 * The engine side: the index of what can be served, the traffic recorder, delivery and forecasts over a store,
 * and the token secrets its delivery seals with.
 */
export async function createEngine(options: EngineOptions) {
  const clock = options.clock ?? Date.now;
  const tokenSecrets = tokenSecretsOf(options);
  const index = new CatalogIndex(options.store.catalog, mediaUrlRule(options.settings));
  await index.refresh(true);
  const traffic = new TrafficRecorder(options.store.traffic, clock, options.settings.trafficFlushMs);
  const delivery = new Delivery({
    settings: options.settings,
    store: options.store,
    index,
    pseudonymize: createPseudonymizer(options.secret),
    signer: new TokenSigner(tokenSecrets),
    clock,
    metrics: options.metrics,
    traffic,
    serialiseUsers: options.serialiseUsers,
    flushTraffic: options.flushTraffic,
    refreshCtrAfterEvents: options.refreshCtrAfterEvents,
  });
  const forecasts = new Forecasts({
    traffic: options.store.traffic,
    recorder: traffic,
    index,
    floorCpmMicros: options.settings.floorCpmMicros,
    clock,
  });
  return { index, traffic, delivery, forecasts, tokenSecrets };
}

/** The app and the slot lane's edge over an engine side (its delivery, forecasts and index), wherever it runs. */
function serviceOver(options: ServiceOptions, engine: EngineSide, clock: () => number) {
  const catalog = new CatalogService(options.store, engine.refreshIndex);
  const deps = {
    ...options,
    catalog,
    delivery: engine.delivery,
    forecasts: options.forecastsOneAtATime ? oneForecastAtATime(engine.forecasts, forecastBusy) : engine.forecasts,
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
  const engine: EngineSide = {
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
 * Event tokens are opened here, while the engine thread commits earlier batches (see openingEventsHere), with
 * the engine's own key list: `options.tokenSecrets` plays no part, so the two sides cannot disagree.
 */
export function createRemoteService(options: Omit<ServiceOptions, 'tokenSecrets'>, engine: RemoteEngine) {
  const clock = options.clock ?? Date.now;
  const delivery = openingEventsHere(engine.delivery, new TokenSigner(engine.tokenSecrets), clock);
  const { forecasts, indexLoaded, refreshIndex } = engine;
  return serviceOver(options, { delivery, forecasts, indexLoaded, refreshIndex }, clock);
}
