/** Operator routes (admin key): advertisers, feed-client keys, creative review. */
import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { randomId } from '../../privacy/crypto.js';
import { hashApiKey, newApiKey } from '../../privacy/keys.js';
import type { AppDeps, AppEnv } from '../context.js';
import { ApiError } from '../errors.js';
import { type App, jsonBody, jsonResponse, problems, security } from '../openapi.js';
import { Advertiser, AdvertiserProfileInput, Client, ClientInput, Creative, filledOrNull, Id, ReviewInput } from '../schemas.js';
import { advertiserView, clientView, creativeView } from '../views.js';

const tags = ['operator'];

export const createAdvertiserRoute = createRoute({
  method: 'post',
  path: '/v1/advertisers',
  tags,
  security,
  summary: 'Create an advertiser and its API key',
  request: { body: jsonBody(AdvertiserProfileInput) },
  responses: {
    201: jsonResponse(z.object({ advertiser: Advertiser, apiKey: z.string() }), 'Created; the key is shown only once'),
    ...problems(400, 401, 403, 413, 415, 429),
  },
});

export const listAdvertisersRoute = createRoute({
  method: 'get',
  path: '/v1/advertisers',
  tags,
  security,
  summary: 'List advertisers',
  responses: { 200: jsonResponse(z.object({ advertisers: z.array(Advertiser) }), 'All advertisers'), ...problems(401, 403, 429) },
});

export const createClientRoute = createRoute({
  method: 'post',
  path: '/v1/clients',
  tags,
  security,
  summary: 'Create a feed-client key',
  request: { body: jsonBody(ClientInput) },
  responses: {
    201: jsonResponse(z.object({ client: Client, apiKey: z.string() }), 'Created; the key is shown only once'),
    ...problems(400, 401, 403, 413, 415, 429),
  },
});

export const reviewQueueRoute = createRoute({
  method: 'get',
  path: '/v1/review',
  tags,
  security,
  summary: 'Creatives pending review',
  responses: {
    200: jsonResponse(
      z.object({ creatives: z.array(Creative.extend({ advertiser: Advertiser })) }),
      'Pending creatives, oldest first',
    ),
    ...problems(401, 403, 429),
  },
});

export const reviewRoute = createRoute({
  method: 'post',
  path: '/v1/creatives/{id}/review',
  tags,
  security,
  summary: 'Approve or reject a creative',
  request: { params: z.object({ id: Id }), body: jsonBody(ReviewInput) },
  responses: { 200: jsonResponse(Creative, 'The reviewed creative'), ...problems(400, 401, 403, 404, 413, 415, 429) },
});

export function registerOperatorRoutes(app: App, deps: AppDeps, admin: MiddlewareHandler<AppEnv>) {
  const { store, settings, clock } = deps;
  for (const path of ['/v1/advertisers', '/v1/clients', '/v1/review', '/v1/creatives/:id/review']) app.use(path, admin);

  app.openapi(createAdvertiserRoute, async (c) => {
    const input = c.req.valid('json');
    const now = clock();
    const apiKey = newApiKey('advertiser');
    const advertiser = {
      id: randomId('adv'),
      name: input.name,
      description: filledOrNull(input.description),
      address: filledOrNull(input.address),
      email: input.email ?? null,
      website: input.website ?? null,
      category: input.category ?? null,
      createdAt: now,
      updatedAt: now,
    };
    await deps.catalog.createAdvertiser(advertiser, await hashApiKey(apiKey));
    return c.json({ advertiser: advertiserView(advertiser), apiKey }, 201);
  });

  app.openapi(listAdvertisersRoute, async (c) => {
    const advertisers = await store.catalog.listAdvertisers();
    return c.json({ advertisers: advertisers.map(advertiserView) }, 200);
  });

  app.openapi(createClientRoute, async (c) => {
    const input = c.req.valid('json');
    const apiKey = newApiKey('client');
    const client = { id: randomId('cli'), name: input.name, createdAt: clock() };
    await deps.catalog.createClient(client, await hashApiKey(apiKey));
    return c.json({ client: clientView(client), apiKey }, 201);
  });

  app.openapi(reviewQueueRoute, async (c) => {
    const pending = await store.catalog.listCreatives({ review: 'pending' });
    const creatives = [];
    for (const creative of pending) {
      const [media, advertiser] = await Promise.all([
        store.catalog.getMedia(creative.mediaSha256),
        store.catalog.getAdvertiser(creative.advertiserId),
      ]);
      if (media && advertiser)
        creatives.push({ ...creativeView(creative, media, settings.publicUrl), advertiser: advertiserView(advertiser) });
    }
    return c.json({ creatives }, 200);
  });

  app.openapi(reviewRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { decision, reason } = c.req.valid('json');
    const creative = await deps.catalog.setReview(
      id,
      decision === 'approve' ? 'approved' : 'rejected',
      decision === 'reject' ? (reason ?? null) : null,
      clock(),
    );
    if (!creative) throw new ApiError('not_found', `No creative ${id}`);
    const media = await store.catalog.getMedia(creative.mediaSha256);
    if (!media) throw new ApiError('not_found', `No media for creative ${id}`);
    return c.json(creativeView(creative, media, settings.publicUrl), 200);
  });
}
