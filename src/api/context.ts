/** What every route can reach: the wired dependencies and the authenticated principal. */
import type { Context } from 'hono';
import type { CatalogService } from '../catalog/service.js';
import type { Settings } from '../config.js';
import type { MediaStorage } from '../media/storage.js';
import type { Log } from '../ops/log.js';
import type { Metrics } from '../ops/metrics.js';
import type { Store } from '../store/interface.js';
import type { DeliveryApi, ForecastsApi } from '../wiring.js';

export type Principal = { kind: 'admin' } | { kind: 'advertiser'; advertiserId: string } | { kind: 'client'; clientId: string };

/**
 * The caller's network address, as the runtime knows it: Node's socket
 * (`getConnInfo`), the CF-Connecting-IP header on Workers. Undefined if unknown.
 */
export type ClientAddress = (c: Context) => string | undefined;

export interface AppDeps {
  settings: Settings;
  store: Store;
  /** Whether the index that serves slots has loaded the catalog (`/readyz`). */
  catalogLoaded: () => boolean;
  /** Catalog writes (they refresh the index). */
  catalog: CatalogService;
  delivery: DeliveryApi;
  forecasts: ForecastsApi;
  media: MediaStorage;
  adminKey: string;
  /** The deployment SECRET; the console seals its session cookies with a key derived from it. */
  secret: string;
  clock: () => number;
  /** For failed-authentication throttling; without it, nothing is throttled by address. */
  clientAddress?: ClientAddress;
  /** Request logs [silent]. */
  log?: Log;
  /** Metrics hooks [none]. */
  metrics?: Metrics;
  /** The Prometheus exposition for GET /metrics; absent: this runtime has none. */
  scrapeMetrics?: () => Promise<{ text: string; contentType: string }>;
  /** A bearer token that may read /metrics besides the operator key. */
  metricsToken?: string;
}

export type AppEnv = {
  Variables: {
    principal: Principal;
    requestId: string;
  };
};
