/** Feed-client routes (client key): slots, events, blocks, erase, why. User ids only ever in bodies. */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { SlotsJson } from '../../delivery/slots-json.js';
import type { DeliveryApi } from '../../wiring.js';
import type { AppDeps, AppEnv, Principal } from '../context.js';
import { ApiError, clientGone } from '../errors.js';
import { envelopedJson, typedJson } from '../middleware/request-log.js';
import { type App, jsonBody, jsonResponse, problems, security, validationError } from '../openapi.js';
import {
  EventResult,
  EventsInput,
  isPlainEventsInput,
  plainSlotsInput,
  SlotsInput,
  SlotsResponse,
  UserAdvertiserInput,
  UserBlocks,
  UserCategoryInput,
  UserInput,
  WhyInput,
} from '../schemas.js';

const tags = ['feed'];
/**
 * `application/json`, alone or with `charset=utf-8`: the types the hot paths read themselves (the zod routes'
 * media-type gate and validator take them as JSON). Any other type goes to the zod route, which decides.
 */
export const JSON_MEDIA_TYPE = /^application\/json(;\s*charset=utf-8)?$/i;
const noContent = { description: 'Done' };

export const slotsRoute = createRoute({
  method: 'post',
  path: '/v1/slots',
  tags,
  security,
  summary: 'Ad slots for one user’s feed',
  request: { body: jsonBody(SlotsInput) },
  responses: {
    200: jsonResponse(SlotsResponse, 'Slots, in feed order'),
    ...problems(400, 401, 403, 413, 415, 429),
  },
});
export const eventsRoute = createRoute({
  method: 'post',
  path: '/v1/events',
  tags,
  security,
  summary: 'Report what users saw and did (≤ 500 per call)',
  request: { body: jsonBody(EventsInput) },
  responses: {
    200: jsonResponse(
      z.object({ results: z.array(EventResult) }),
      'One result per event, in order; committed before this answer',
    ),
    ...problems(400, 401, 403, 413, 415, 429),
  },
});
export const blockRoute = createRoute({
  method: 'post',
  path: '/v1/users/block',
  tags,
  security,
  summary: 'Block an advertiser for a user',
  request: { body: jsonBody(UserAdvertiserInput) },
  responses: { 204: noContent, ...problems(400, 401, 403, 404, 413, 415, 429) },
});
export const unblockRoute = createRoute({
  method: 'post',
  path: '/v1/users/unblock',
  tags,
  security,
  summary: 'Unblock an advertiser for a user',
  request: { body: jsonBody(UserAdvertiserInput) },
  responses: { 204: noContent, ...problems(400, 401, 403, 413, 415, 429) },
});
export const muteRoute = createRoute({
  method: 'post',
  path: '/v1/users/mute',
  tags,
  security,
  summary: 'Mute a whole category of ads for a user',
  request: { body: jsonBody(UserCategoryInput) },
  responses: { 204: noContent, ...problems(400, 401, 403, 413, 415, 429) },
});
export const unmuteRoute = createRoute({
  method: 'post',
  path: '/v1/users/unmute',
  tags,
  security,
  summary: 'Unmute a category of ads for a user',
  request: { body: jsonBody(UserCategoryInput) },
  responses: { 204: noContent, ...problems(400, 401, 403, 413, 415, 429) },
});
export const blocksRoute = createRoute({
  method: 'post',
  path: '/v1/users/blocks',
  tags,
  security,
  summary: 'The advertisers a user blocked and the categories they muted',
  request: { body: jsonBody(UserInput) },
  responses: {
    200: jsonResponse(UserBlocks, 'Blocked advertiser ids and muted categories'),
    ...problems(400, 401, 403, 413, 415, 429),
  },
});
export const eraseRoute = createRoute({
  method: 'post',
  path: '/v1/users/erase',
  tags,
  security,
  summary: 'Erase every trace of a user',
  request: { body: jsonBody(UserInput) },
  responses: { 204: noContent, ...problems(400, 401, 403, 413, 415, 429) },
});
export const whyRoute = createRoute({
  method: 'post',
  path: '/v1/why',
  tags,
  security,
  summary: 'Why am I seeing this ad?',
  request: { body: jsonBody(WhyInput) },
  responses: {
    200: jsonResponse(
      z.object({ advertiser: z.object({ id: z.string(), name: z.string() }), reasons: z.array(z.string()) }),
      'Plain-words reasons',
    ),
    ...problems(400, 401, 403, 413, 415, 429),
  },
});

/**
 * The parsed body of an `application/json` request, or undefined (another type, or not JSON): the
 * hot routes then leave the request to their zod route, which answers exactly as for any route.
 */
async function plainJson(c: Context<AppEnv>): Promise<unknown> {
  if (!JSON_MEDIA_TYPE.test(c.req.header('content-type') ?? '')) return undefined;
  try {
    return await c.req.json();
  } catch {
    return undefined;
  }
}

/**
 * The slot request's body (text of an `application/json` request) as SlotsInput, or a thrown 400 naming what
 * is wrong: not JSON, or each field SlotsInput refuses. A plain body passes the hand-written check; only
 * the rest pays for zod.
 */
export function slotsInputFrom(text: string): z.infer<typeof SlotsInput> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError('bad_request', 'Malformed JSON in request body');
  }
  const plain = plainSlotsInput(body);
  if (plain) return plain;
  const parsed = SlotsInput.safeParse(body);
  if (!parsed.success) throw validationError(parsed.error, body);
  return parsed.data;
}

/** The slot request served: its answer's JSON (`slotsJson`, made where delivery runs). */
export function slotsAnswer(delivery: DeliveryApi, input: z.infer<typeof SlotsInput>, principal: Principal): Promise<SlotsJson> {
  // Object.assign, not a spread: V8 spreads bodies of varying shape (statuses or runs, context or not) through its
  // slow path, ~1.5 µs per request.
  return delivery.slotsJson(Object.assign({ clientId: clientIdOf(principal) }, input));
}

/** The calling feed client: slot tokens are bound to it. */
function clientIdOf(principal: Principal): string {
  return principal.kind === 'client' ? principal.clientId : '';
}
const clientId = (c: Context<AppEnv>) => clientIdOf(c.get('principal'));

export function registerFeedRoutes(app: App, deps: AppDeps, client: MiddlewareHandler<AppEnv>) {
  const { delivery } = deps;
  for (const path of ['/v1/slots', '/v1/events', '/v1/users/*', '/v1/why']) app.use(path, client);

  // The hot paths read a JSON_MEDIA_TYPE body themselves and answer with the envelope's headers in one plain
  // object; any other type goes to the zod route below. Slots: slotsInputFrom is the whole body rule (the
  // Node slot lane serves through it too). Events: a well-formed body (checked by hand, strictly, against
  // EventsInput's rules) is served here; anything else falls through to the zod route, which names each
  // field (the body is read once: the zod route finds it in Hono's body cache).
  app.post('/v1/slots', async (c, next) => {
    if (!JSON_MEDIA_TYPE.test(c.req.header('content-type') ?? '')) return next();
    let text: string;
    try {
      text = await c.req.text();
    } catch (err) {
      // A body that is not UTF-8 (jsonBodyText's 400) is the client's mistake; any other failure is its hang-up.
      throw err instanceof ApiError ? err : clientGone();
    }
    return envelopedJson(c, await slotsAnswer(delivery, slotsInputFrom(text), c.get('principal')));
  });
  // The answer is already JSON (made where delivery runs); what c.json would write, byte for byte, and typed as
  // c.json types it: the route's handler check holds SlotsResult to the 200 schema.
  app.openapi(slotsRoute, async (c) => typedJson(c, await delivery.slotsJson({ ...c.req.valid('json'), clientId: clientId(c) })));

  app.post('/v1/events', async (c, next) => {
    const body = await plainJson(c);
    if (!isPlainEventsInput(body)) return next();
    return envelopedJson(c, JSON.stringify({ results: await delivery.events(body.events, clientId(c)) }));
  });
  app.openapi(eventsRoute, async (c) => {
    const { events } = c.req.valid('json');
    return c.json({ results: await delivery.events(events, clientId(c)) }, 200);
  });

  app.openapi(blockRoute, async (c) => {
    const { user, advertiser } = c.req.valid('json');
    if (!(await deps.store.catalog.getAdvertiser(advertiser))) {
      throw new ApiError('not_found', `No advertiser ${advertiser}`);
    }
    await delivery.block(user, advertiser);
    return c.body(null, 204);
  });

  app.openapi(unblockRoute, async (c) => {
    const { user, advertiser } = c.req.valid('json');
    await delivery.unblock(user, advertiser);
    return c.body(null, 204);
  });

  app.openapi(muteRoute, async (c) => {
    const { user, category } = c.req.valid('json');
    await delivery.mute(user, category);
    return c.body(null, 204);
  });

  app.openapi(unmuteRoute, async (c) => {
    const { user, category } = c.req.valid('json');
    await delivery.unmute(user, category);
    return c.body(null, 204);
  });

  app.openapi(blocksRoute, async (c) => c.json(await delivery.blocks(c.req.valid('json').user), 200));

  app.openapi(eraseRoute, async (c) => {
    await delivery.erase(c.req.valid('json').user);
    return c.body(null, 204);
  });

  app.openapi(whyRoute, async (c) => {
    const answer = await delivery.why(c.req.valid('json').token, clientId(c));
    if (!answer)
      throw new ApiError('validation', 'token is not a valid, unexpired slot token', [
        { path: 'token', message: 'invalid or expired' },
      ]);
    return c.json(answer, 200);
  });
}
