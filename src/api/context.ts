/** What every route can reach: the wired dependencies and the authenticated principal. */
import type { Settings } from '../config.js';
import type { CatalogIndex } from '../catalog/index.js';
import type { Delivery } from '../delivery/delivery.js';
import type { MediaStorage } from '../media/storage.js';
import type { Store } from '../store/interface.js';

export type Principal = { kind: 'admin' } | { kind: 'advertiser'; advertiserId: string } | { kind: 'client'; clientId: string };

export interface AppDeps {
  settings: Settings;
  store: Store;
  index: CatalogIndex;
  delivery: Delivery;
  media: MediaStorage;
  adminKey: string;
  clock: () => number;
}

export type AppEnv = {
  Variables: {
    principal: Principal;
  };
};
