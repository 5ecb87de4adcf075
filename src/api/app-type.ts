/**
 * The app's type for Hono's typed client (`hc<AppType>`), built from the same
 * route definitions that validate requests and generate /openapi.json. Routes
 * are registered as statements (not one chain), so the instance type would
 * carry no routes; this lists them once instead. A test checks it against the
 * OpenAPI document, so a new route cannot be left out.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './context.js';
import {
  createCampaignRoute,
  forecastRoute,
  getCampaignRoute,
  getCreativeRoute,
  getMeRoute,
  listCampaignsRoute,
  listCreativesRoute,
  patchCampaignRoute,
  patchMeRoute,
  reportsRoute,
  uploadCreativeRoute,
} from './routes/advertiser.js';
import {
  blockRoute,
  blocksRoute,
  eraseRoute,
  eventsRoute,
  muteRoute,
  slotsRoute,
  unblockRoute,
  unmuteRoute,
  whyRoute,
} from './routes/feed.js';
import { healthRoute, metricsRoute, readyRoute } from './routes/health.js';
import {
  createAdvertiserRoute,
  createClientRoute,
  listAdvertisersRoute,
  reviewQueueRoute,
  reviewRoute,
} from './routes/operator.js';
import { mediaRoute, problemTypeRoute } from './routes/public.js';

/** Every route of the API, in the order of the product spec. */
export const apiRoutes = [
  createAdvertiserRoute,
  listAdvertisersRoute,
  createClientRoute,
  reviewQueueRoute,
  reviewRoute,
  getMeRoute,
  patchMeRoute,
  createCampaignRoute,
  listCampaignsRoute,
  getCampaignRoute,
  patchCampaignRoute,
  uploadCreativeRoute,
  listCreativesRoute,
  getCreativeRoute,
  reportsRoute,
  forecastRoute,
  slotsRoute,
  eventsRoute,
  blockRoute,
  unblockRoute,
  muteRoute,
  unmuteRoute,
  blocksRoute,
  eraseRoute,
  whyRoute,
  healthRoute,
  readyRoute,
  metricsRoute,
  mediaRoute,
  problemTypeRoute,
] as const;

type Registered<Routes extends readonly unknown[]> = { [K in keyof Routes]: { route: Routes[K]; handler: never } };

declare const app: OpenAPIHono<AppEnv>;
/** What `openapiRoutes` would make of all routes: the app with every route's input and output types. */
export type AppType = ReturnType<typeof app.openapiRoutes<Registered<typeof apiRoutes>>>;
