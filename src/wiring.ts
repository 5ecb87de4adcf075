/** Builds the service from settings and a store: the part every runtime shares. */
import { createApp } from './api/app.js';
import type { ClientAddress } from './api/context.js';
import { createEdge } from './api/edge.js';
import { mediaUrl } from './api/views.js';
import { CatalogIndex } from './catalog/index.js';
import { CatalogService } from './catalog/service.js';
import type { Settings } from './config.js';
import { Delivery } from './delivery/delivery.js';
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

export async function createService(options: ServiceOptions) {
  const clock = options.clock ?? Date.now;
  const index = new CatalogIndex(options.store.catalog, (sha) => mediaUrl(options.settings.publicUrl, sha));
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
  const catalog = new CatalogService(options.store, index);
  const forecasts = new Forecasts({
    traffic: options.store.traffic,
    recorder: traffic,
    index,
    floorCpmMicros: options.settings.floorCpmMicros,
    clock,
  });
  const deps = { ...options, index, catalog, delivery, forecasts, clock };
  // The rules before each route, shared by the app and (on Node) the slot lane.
  const edge = createEdge(deps);
  const app = createApp(deps, edge);
  return { app, edge, index, catalog, delivery, forecasts, traffic, settings: options.settings };
}
