/** Builds the service from settings and a store: the part every runtime shares. */
import { newApp } from './api/app.js';
import type { ClientAddress } from './api/context.js';
import { mediaUrl } from './api/views.js';
import { CatalogIndex } from './catalog/index.js';
import { CatalogService } from './catalog/service.js';
import type { Settings } from './config.js';
import { Delivery, type DeliveryDeps } from './delivery/delivery.js';
import type { MediaStorage } from './media/storage.js';
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
  /** Where a user's slot decision runs when not in this process (see DeliveryDeps). */
  serveSlots?: DeliveryDeps['serveSlots'];
}

export async function createService(options: ServiceOptions) {
  const clock = options.clock ?? Date.now;
  const index = new CatalogIndex(options.store.catalog, (sha) => mediaUrl(options.settings.publicUrl, sha));
  await index.refresh(true);
  const delivery = new Delivery({
    settings: options.settings,
    store: options.store,
    index,
    pseudonymize: createPseudonymizer(options.secret),
    signer: new TokenSigner(options.tokenSecrets ?? options.secret),
    clock,
    serveSlots: options.serveSlots,
  });
  const catalog = new CatalogService(options.store, index);
  const app = newApp({ ...options, index, catalog, delivery, clock });
  return { app, index, catalog, delivery };
}
