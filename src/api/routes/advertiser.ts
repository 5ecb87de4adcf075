/** Advertiser routes (advertiser key): own profile, campaigns, creatives, reports. Others' resources are 404. */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { MediaError, probeMedia } from '../../media/probe.js';
import { randomId, sha256Hex } from '../../privacy/crypto.js';
import type { CampaignPatch as CampaignPatchRecord, CampaignRecord } from '../../store/interface.js';
import { REPORT_COUNTERS, type ReportBy } from '../../store/report-rows.js';
import type { AppDeps, AppEnv } from '../context.js';
import { toCsv } from '../csv.js';
import { ApiError } from '../errors.js';
import { type App, jsonBody, jsonResponse, problems, security } from '../openapi.js';
import {
  Advertiser,
  AdvertiserPatch,
  Campaign,
  CampaignInput,
  CampaignPatch,
  Creative,
  CreativeUpload,
  END_AFTER_START,
  Forecast,
  ForecastInput,
  filledOrNull,
  Id,
  ReportQuery,
  ReportRow,
} from '../schemas.js';

/** The CSV column that names each row's key. */
const REPORT_KEY_COLUMN: Record<ReportBy, string> = {
  day: 'date',
  hour: 'hour',
  creative: 'creativeId',
  country: 'country',
  platform: 'platform',
};

import { advertiserView, campaignView, creativeView } from '../views.js';

const tags = ['advertiser'];
const IdParam = z.object({ id: Id });

export const getMeRoute = createRoute({
  method: 'get',
  path: '/v1/me',
  tags,
  security,
  summary: 'Your business profile',
  responses: { 200: jsonResponse(Advertiser, 'Profile'), ...problems(401, 403, 429) },
});
export const patchMeRoute = createRoute({
  method: 'patch',
  path: '/v1/me',
  tags,
  security,
  summary: 'Update your business profile',
  request: { body: jsonBody(AdvertiserPatch) },
  responses: { 200: jsonResponse(Advertiser, 'Updated profile'), ...problems(400, 401, 403, 413, 415, 429) },
});
export const createCampaignRoute = createRoute({
  method: 'post',
  path: '/v1/campaigns',
  tags,
  security,
  summary: 'Create a campaign',
  request: { body: jsonBody(CampaignInput) },
  responses: { 201: jsonResponse(Campaign, 'Created campaign'), ...problems(400, 401, 403, 413, 415, 429) },
});
export const listCampaignsRoute = createRoute({
  method: 'get',
  path: '/v1/campaigns',
  tags,
  security,
  summary: 'Your campaigns',
  responses: { 200: jsonResponse(z.object({ campaigns: z.array(Campaign) }), 'Campaigns'), ...problems(401, 403, 429) },
});
export const getCampaignRoute = createRoute({
  method: 'get',
  path: '/v1/campaigns/{id}',
  tags,
  security,
  summary: 'One campaign',
  request: { params: IdParam },
  responses: { 200: jsonResponse(Campaign, 'Campaign'), ...problems(401, 403, 404, 429) },
});
export const patchCampaignRoute = createRoute({
  method: 'patch',
  path: '/v1/campaigns/{id}',
  tags,
  security,
  summary: 'Change a campaign',
  request: { params: IdParam, body: jsonBody(CampaignPatch) },
  responses: { 200: jsonResponse(Campaign, 'Updated campaign'), ...problems(400, 401, 403, 404, 413, 415, 429) },
});
export const uploadCreativeRoute = createRoute({
  method: 'post',
  path: '/v1/campaigns/{id}/creatives',
  tags,
  security,
  summary: 'Upload a creative (image png/jpeg/webp ≤ 5 MB, or mp4 video ≤ 16 MB and ≤ 30 s)',
  request: { params: IdParam, body: { required: true, content: { 'multipart/form-data': { schema: CreativeUpload } } } },
  responses: {
    201: jsonResponse(Creative, 'Created creative, pending review'),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
  },
});
export const listCreativesRoute = createRoute({
  method: 'get',
  path: '/v1/campaigns/{id}/creatives',
  tags,
  security,
  summary: "A campaign's creatives with their review state, oldest first",
  request: { params: IdParam },
  responses: { 200: jsonResponse(z.object({ creatives: z.array(Creative) }), 'Creatives'), ...problems(401, 403, 404, 429) },
});
export const getCreativeRoute = createRoute({
  method: 'get',
  path: '/v1/creatives/{id}',
  tags,
  security,
  summary: 'One creative with its review state',
  request: { params: IdParam },
  responses: { 200: jsonResponse(Creative, 'Creative'), ...problems(401, 403, 404, 429) },
});
export const reportsRoute = createRoute({
  method: 'get',
  path: '/v1/reports',
  tags,
  security,
  summary: 'Report rows for one campaign, by day, hour (UTC), creative, country or platform; JSON or CSV',
  request: { query: ReportQuery },
  responses: {
    200: {
      description: 'One row per key with activity; with format=csv, the same columns as CSV with a header row',
      content: {
        'application/json': { schema: z.object({ rows: z.array(ReportRow) }) },
        'text/csv': { schema: z.string() },
      },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});
export const forecastRoute = createRoute({
  method: 'post',
  path: '/v1/forecast',
  tags,
  security,
  summary: 'Forecast one day of a campaign draft before spending',
  request: { body: jsonBody(ForecastInput) },
  responses: {
    200: jsonResponse(Forecast, 'Expected delivery tomorrow, with a low/high range and its basis'),
    ...problems(400, 401, 403, 413, 415, 429),
  },
});

function advertiserId(c: Context<AppEnv>): string {
  const principal = c.get('principal');
  if (principal.kind !== 'advertiser') throw new ApiError('forbidden', 'This route needs an advertiser key');
  return principal.advertiserId;
}

function scheduleFields(schedule: { start: string; end?: string } | undefined, now: number) {
  if (!schedule) return { startAt: now, endAt: null };
  return { startAt: Date.parse(schedule.start), endAt: schedule.end ? Date.parse(schedule.end) : null };
}

/** One object field of a merge patch (RFC 7396) applied: members sent replace, `null` removes, the rest is kept. */
function merged<T extends object>(current: T, patch: { [K in keyof T]?: T[K] | null }): T {
  const out: Record<string, unknown> = { ...(current as Record<string, unknown>) };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (value !== undefined) out[key] = value;
  }
  return out as T;
}

export function registerAdvertiserRoutes(app: App, deps: AppDeps, advertiser: MiddlewareHandler<AppEnv>) {
  const { store, clock, settings } = deps;
  // '/v1/campaigns/*' also matches '/v1/campaigns' itself; listing both would authenticate twice.
  for (const path of ['/v1/me', '/v1/campaigns/*', '/v1/reports', '/v1/forecast']) app.use(path, advertiser);
  app.on('GET', '/v1/creatives/:id', advertiser);

  /** The campaign if it belongs to the caller; otherwise 404, never revealing it exists. */
  async function ownCampaign(c: Context<AppEnv>, id: string): Promise<CampaignRecord> {
    const campaign = await store.catalog.getCampaign(id);
    if (!campaign || campaign.advertiserId !== advertiserId(c)) throw new ApiError('not_found', `No campaign ${id}`);
    return campaign;
  }

  app.openapi(getMeRoute, async (c) => {
    const me = await store.catalog.getAdvertiser(advertiserId(c));
    if (!me) throw new ApiError('not_found', 'Your advertiser no longer exists');
    return c.json(advertiserView(me), 200);
  });

  app.openapi(patchMeRoute, async (c) => {
    const patch = c.req.valid('json');
    for (const field of ['description', 'address'] as const) if (field in patch) patch[field] = filledOrNull(patch[field]);
    const me = await deps.catalog.updateAdvertiser(advertiserId(c), patch, clock());
    if (!me) throw new ApiError('not_found', 'Your advertiser no longer exists');
    return c.json(advertiserView(me), 200);
  });

  app.openapi(createCampaignRoute, async (c) => {
    const input = c.req.valid('json');
    const now = clock();
    const campaign: CampaignRecord = {
      id: randomId('cmp'),
      advertiserId: advertiserId(c),
      name: input.name,
      status: input.status,
      ...scheduleFields(input.schedule, now),
      bid: input.bid,
      budget: input.budget,
      pacing: input.pacing,
      targeting: input.targeting,
      caps: input.caps,
      createdAt: now,
      updatedAt: now,
    };
    await deps.catalog.createCampaign(campaign);
    return c.json(campaignView(campaign), 201);
  });

  app.openapi(listCampaignsRoute, async (c) => {
    const campaigns = await store.catalog.listCampaigns(advertiserId(c));
    return c.json({ campaigns: campaigns.map(campaignView) }, 200);
  });

  app.openapi(getCampaignRoute, async (c) => {
    return c.json(campaignView(await ownCampaign(c, c.req.valid('param').id)), 200);
  });

  app.openapi(patchCampaignRoute, async (c) => {
    const { id } = c.req.valid('param');
    const current = await ownCampaign(c, id);
    const { schedule, bid, budget, targeting, ...rest } = c.req.valid('json');
    const patch: CampaignPatchRecord = {
      ...rest,
      ...(bid && { bid: { ...current.bid, ...bid } }),
      ...(budget && { budget: merged(current.budget, budget) }),
      ...(targeting && { targeting: merged(current.targeting, targeting) }),
    };
    if (schedule?.start !== undefined) patch.startAt = Date.parse(schedule.start);
    if (schedule?.end !== undefined) patch.endAt = schedule.end === null ? null : Date.parse(schedule.end);
    const endAt = patch.endAt !== undefined ? patch.endAt : current.endAt;
    const startAt = patch.startAt ?? current.startAt;
    if (endAt !== null && endAt <= startAt) {
      throw new ApiError('validation', `schedule.end: ${END_AFTER_START}`, [{ path: 'schedule.end', message: END_AFTER_START }]);
    }
    const updated = await deps.catalog.updateCampaign(id, patch, clock());
    if (!updated) throw new ApiError('not_found', `No campaign ${id}`);
    return c.json(campaignView(updated), 200);
  });

  app.openapi(uploadCreativeRoute, async (c) => {
    const { id } = c.req.valid('param');
    const campaign = await ownCampaign(c, id);
    const form = c.req.valid('form');
    const bytes = new Uint8Array(await form.file.arrayBuffer());
    let probed: Awaited<ReturnType<typeof probeMedia>>;
    try {
      probed = await probeMedia(bytes);
    } catch (err) {
      if (!(err instanceof MediaError)) throw err;
      const code =
        err.kind === 'unsupported' ? 'unsupported_media_type' : err.kind === 'too_large' ? 'payload_too_large' : 'unprocessable';
      throw new ApiError(code, err.message, [{ path: 'file', message: err.message }]);
    }
    const now = clock();
    const sha256 = await sha256Hex(bytes);
    await deps.media.put(sha256, bytes);
    const media = {
      sha256,
      mime: probed.mime,
      bytes: bytes.length,
      width: probed.width,
      height: probed.height,
      durationMs: probed.durationMs ?? null,
      createdAt: now,
    };
    await deps.catalog.putMedia(media);
    const creative = {
      id: randomId('crv'),
      campaignId: campaign.id,
      advertiserId: campaign.advertiserId,
      headline: form.headline,
      cta: { type: form.ctaType, target: form.ctaTarget },
      mediaSha256: sha256,
      review: 'pending' as const,
      reviewReason: null,
      createdAt: now,
      updatedAt: now,
    };
    await deps.catalog.createCreative(creative);
    return c.json(creativeView(creative, media, settings.publicUrl), 201);
  });

  app.openapi(listCreativesRoute, async (c) => {
    const campaign = await ownCampaign(c, c.req.valid('param').id);
    const creatives = [];
    for (const creative of await store.catalog.listCreatives({ campaignId: campaign.id })) {
      const media = await store.catalog.getMedia(creative.mediaSha256);
      if (media) creatives.push(creativeView(creative, media, settings.publicUrl));
    }
    return c.json({ creatives }, 200);
  });

  app.openapi(getCreativeRoute, async (c) => {
    const { id } = c.req.valid('param');
    const creative = await store.catalog.getCreative(id);
    if (!creative || creative.advertiserId !== advertiserId(c)) throw new ApiError('not_found', `No creative ${id}`);
    const media = await store.catalog.getMedia(creative.mediaSha256);
    if (!media) throw new ApiError('not_found', `No media for creative ${id}`);
    return c.json(creativeView(creative, media, settings.publicUrl), 200);
  });

  app.openapi(reportsRoute, async (c) => {
    const { campaign, from, to, by, format } = c.req.valid('query');
    if (from > to)
      throw new ApiError('validation', '"from" must not be after "to"', [{ path: 'from', message: 'must not be after "to"' }]);
    await ownCampaign(c, campaign);
    const rows = await store.ledger.report(campaign, from, to, by);
    if (format === 'json') return c.json({ rows }, 200);
    const csv = toCsv(
      [REPORT_KEY_COLUMN[by], 'impressions', 'reach', ...REPORT_COUNTERS.filter((k) => k !== 'impressions')],
      rows,
    );
    return c.body(csv, 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      // A report, like every JSON answer: never kept by a browser or a shared proxy (SECURITY.md).
      'Cache-Control': 'no-store',
      'Content-Disposition': `attachment; filename="report-${campaign}-${by}-${from}-${to}.csv"`,
    });
  });

  app.openapi(forecastRoute, async (c) => c.json(await deps.forecasts.forecast(c.req.valid('json'), advertiserId(c)), 200));
}
