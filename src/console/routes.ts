/**
 * GET /console: the web console for advertisers and operators. Routes here only
 * translate between pages and the API (called in-process with the signed-in
 * key); every rule and every error message is the API's.
 */
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppDeps, AppEnv } from '../api/context.js';
import type { App } from '../api/openapi.js';
import type {
  AdvertiserView,
  CampaignView,
  ClientView,
  CreativeView,
  ForecastView,
  PendingCreative,
  ProblemView,
  ReportRowView,
} from './api.js';
import { ConsoleApi } from './api.js';
import { ASSETS } from './assets/index.js';
import {
  blankCampaign,
  CAMPAIGN_ERROR_FIELDS,
  campaignBody,
  campaignValues,
  changedFields,
  keepOtherCaps,
  postedCampaign,
} from './campaign-form.js';
import { addDays, daysBetween, type FieldErrors, type FormFields, fieldErrors, hasErrors, isoDay, text } from './forms.js';
import {
  type ConsoleRole,
  checkCsrf,
  checkSignInToken,
  clearSession,
  clearSignInToken,
  type NewKey,
  randomToken,
  SESSION_TTL_MS,
  type Session,
  SessionSealer,
  sameOrigin,
  signInToken,
} from './session.js';
import {
  campaignFormPage,
  campaignPage as campaignPageView,
  campaignsPage,
  forecastPage,
  type ProfileValues,
  profilePage,
  REPORT_BREAKDOWNS,
  type ReportBreakdown,
  reportsPage,
  type UploadValues,
} from './views/advertiser.js';
import { type Html, html } from './views/html.js';
import { page } from './views/layout.js';
import {
  advertisersPage as advertisersPageView,
  clientsPage,
  type ReviewError,
  reviewPage as reviewPageView,
  signInPage,
} from './views/operator.js';

/** No inline script or style anywhere; media previews of a chosen file are blob: URLs. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const NOTICES: Record<string, string> = {
  'profile-saved': 'Profile saved.',
  'campaign-created': 'Campaign created. Upload a creative next.',
  'campaign-saved': 'Campaign saved.',
  paused: 'Campaign paused.',
  resumed: 'Campaign resumed.',
  uploaded: 'Creative uploaded. It is pending review.',
  approved: 'Creative approved. It can serve now.',
  rejected: 'Creative rejected.',
};

const PROFILE_FIELDS = ['name', 'description', 'address', 'email', 'website', 'category'] as const;
const UPLOAD_FIELDS = { file: 'file', headline: 'headline', ctaType: 'ctaType', ctaTarget: 'ctaTarget' };
const REPORT_FIELDS = { campaign: 'campaign', by: 'by', from: 'from', to: 'to' };
const isBreakdown = (by: string): by is ReportBreakdown => REPORT_BREAKDOWNS.some(([value]) => value === by);
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** An API answer the page cannot carry on from. */
class ApiFailure extends Error {
  constructor(readonly problem: ProblemView) {
    super(problem.detail);
  }
}

function need<T>(result: { ok: true; data: T } | { ok: false; problem: ProblemView }): T {
  if (!result.ok) throw new ApiFailure(result.problem);
  return result.data;
}

const profileValues = (a: Partial<AdvertiserView>): ProfileValues => ({
  name: a.name ?? '',
  description: a.description ?? '',
  address: a.address ?? '',
  email: a.email ?? '',
  website: a.website ?? '',
  category: a.category ?? '',
});

/** Profile form → API body: every field, an emptied one as `null` (a change clears it; a new advertiser leaves it out). */
function profileBody(v: ProfileValues): Record<string, string | null> {
  const body: Record<string, string | null> = { name: v.name };
  for (const field of ['description', 'address'] as const) body[field] = v[field].trim() ? v[field] : null;
  for (const field of ['email', 'website', 'category'] as const) body[field] = v[field].trim() || null;
  return body;
}

type Handler = (c: Context<AppEnv>, session: Session, api: ConsoleApi, form: FormFields) => Promise<Response>;

export function registerConsole(app: App, deps: AppDeps) {
  const sealer = new SessionSealer(deps.secret);
  // A form sent back with its errors is a page that loaded (200), with the errors in it: a 4xx document
  // is logged as an error in the browser's console. 4xx is kept for refusals and pages that are not there.
  const render = (
    c: Context,
    document: Html,
    status: 200 | 201 | 400 | 401 | 403 | 404 | 413 | 415 | 422 | 429 | 500 | 502 = 200,
  ) => c.html(`<!doctype html>${document}`, status);

  app.use('/console', pageHeaders);
  app.use('/console/*', pageHeaders);
  async function pageHeaders(c: Context, next: () => Promise<void>) {
    await next();
    c.header('Content-Security-Policy', CSP);
    // Not no-referrer: with it, browsers send "Origin: null" on form posts, and the origin check needs the real one.
    c.header('Referrer-Policy', 'same-origin');
    if (!c.req.path.startsWith('/console/assets/')) c.header('Cache-Control', 'no-store');
  }
  // Forms are small; an upload carries the API's largest media (16 MB video) plus its fields.
  // Refused before the body is read, so the form cannot be sent back: a console page that says why, and the way back.
  const tooLarge = (detail: string, back?: (path: string) => { href: string; label: string }) => async (c: Context) =>
    errorPage(
      c,
      await sealer.read(c, Date.now()),
      { type: 'about:blank', title: 'Too large', status: 413, detail },
      back?.(c.req.path),
    );
  const formLimit = bodyLimit({ maxSize: 64 * 1024, onError: tooLarge('This form is too large.') });
  const uploadLimit = bodyLimit({
    maxSize: 17 * 1024 * 1024,
    onError: tooLarge('This file is too large: images up to 5 MB, videos up to 16 MB.', (path) => ({
      href: path.replace(/\/creatives$/, '#upload'),
      label: 'Back to the campaign',
    })),
  });
  app.use('/console/*', async (c, next) => {
    if (c.req.method !== 'POST') return next();
    return (/\/creatives$/.test(c.req.path) ? uploadLimit : formLimit)(c, next);
  });

  app.get('/console/assets/:name', (c) => {
    const asset = ASSETS[c.req.param('name')];
    if (!asset) return c.text('Not found', 404);
    return c.body(asset.body, 200, { 'Content-Type': asset.type, 'Cache-Control': 'public, max-age=31536000, immutable' });
  });

  function errorPage(
    c: Context,
    session: Session | undefined,
    problem: ProblemView,
    back = { href: '/console', label: 'Back to the console' },
  ) {
    const status = ([400, 403, 404, 413, 415, 422, 429].includes(problem.status) ? problem.status : 502) as 400;
    return render(
      c,
      page({ title: problem.title, session }, [
        html`<p role="alert">${problem.detail}</p>`,
        html`<p><a href="${back.href}">${back.label}</a></p>`,
      ]),
      status,
    );
  }

  /** A page for one role: the session, the API with its key, the form (checked for CSRF) for posts. */
  function as(role: ConsoleRole, handler: Handler) {
    return async (c: Context<AppEnv>) => {
      const session = await sealer.read(c, Date.now());
      if (!session || session.role !== role) return c.redirect('/console', 303);
      let form: FormFields = {};
      if (c.req.method === 'POST') {
        form = (await c.req.parseBody({ all: true })) as FormFields;
        if (!sameOrigin(c) || !checkCsrf(session, form.csrf)) {
          return errorPage(c, session, {
            type: 'about:blank',
            title: 'Form expired',
            status: 403,
            detail: 'This form was not sent from this console page. Reload the page and try again.',
          });
        }
      }
      try {
        return await handler(c, session, new ConsoleApi(app, c, session.key), form);
      } catch (err) {
        if (!(err instanceof ApiFailure)) throw err;
        if (err.problem.status === 401) {
          clearSession(c);
          return c.redirect('/console', 303);
        }
        return errorPage(c, session, err.problem);
      }
    };
  }
  const notice = (c: Context) => NOTICES[c.req.query('done') ?? ''];

  // ---------- signing in and out ----------

  app.get('/console', async (c) => {
    const session = await sealer.read(c, Date.now());
    if (session) return c.redirect(session.role === 'admin' ? '/console/review' : '/console/campaigns', 303);
    return render(c, signInPage({ token: signInToken(c) }));
  });

  app.post('/console/sign-in', async (c) => {
    const form = (await c.req.parseBody()) as FormFields;
    // A wrong key is the form sent back with its error (200); a stale form or throttling is a refusal.
    const again = (error: string, status: 200 | 403 | 429 = 200) =>
      render(c, signInPage({ token: signInToken(c), error }), status);
    if (!sameOrigin(c) || !checkSignInToken(c, form.csrf)) return again('The sign-in form expired. Please try again.', 403);
    const key = text(form, 'apiKey').trim();
    if (!key) return again('Enter your API key.');
    const api = new ConsoleApi(app, c, key);
    const me = await api.get<AdvertiserView>('/v1/me');
    let role: ConsoleRole;
    let name: string;
    if (me.ok) {
      role = 'advertiser';
      name = me.data.name;
    } else if (me.status === 403) {
      const operator = await api.get('/v1/advertisers');
      if (!operator.ok) return again('This is a feed-client key. Feed clients use the API, not the console.');
      role = 'admin';
      name = 'Operator';
    } else if (me.status === 401) {
      return again('This API key is not valid.');
    } else {
      return again(me.problem.detail, me.status === 429 ? 429 : 200);
    }
    await sealer.write(c, { key, role, name, csrf: randomToken(), expiresAt: Date.now() + SESSION_TTL_MS });
    clearSignInToken(c);
    return c.redirect(role === 'admin' ? '/console/review' : '/console/campaigns', 303);
  });

  app.post('/console/sign-out', async (c) => {
    const session = await sealer.read(c, Date.now());
    const form = (await c.req.parseBody()) as FormFields;
    if (session && sameOrigin(c) && checkCsrf(session, form.csrf)) clearSession(c);
    return c.redirect('/console', 303);
  });

  // ---------- advertiser ----------

  app.get(
    '/console/profile',
    as('advertiser', async (c, session, api) => {
      const me = need(await api.get<AdvertiserView>('/v1/me'));
      return render(c, profilePage({ session, profile: me, values: profileValues(me), errors: {}, notice: notice(c) }));
    }),
  );

  app.post(
    '/console/profile',
    as('advertiser', async (c, session, api, form) => {
      const values = profileValues(Object.fromEntries(PROFILE_FIELDS.map((f) => [f, text(form, f)])));
      const saved = await api.call<AdvertiserView>('PATCH', '/v1/me', profileBody(values));
      if (saved.ok) {
        // The name in the header follows the profile.
        await sealer.write(c, { ...session, name: saved.data.name });
        return c.redirect('/console/profile?done=profile-saved', 303);
      }
      if (saved.status !== 400) need(saved);
      const me = need(await api.get<AdvertiserView>('/v1/me'));
      const errors = fieldErrors(
        saved.ok ? ({} as ProblemView) : saved.problem,
        Object.fromEntries(PROFILE_FIELDS.map((f) => [f, f])),
      );
      return render(c, profilePage({ session, profile: me, values, errors }));
    }),
  );

  app.get(
    '/console/campaigns',
    as('advertiser', async (c, session, api) => {
      const { campaigns } = need(await api.get<{ campaigns: CampaignView[] }>('/v1/campaigns'));
      const today = isoDay(deps.clock());
      const rows = await Promise.all(
        campaigns.map(async (campaign) => {
          const report = await api.get<{ rows: ReportRowView[] }>(
            `/v1/reports?campaign=${encodeURIComponent(campaign.id)}&from=${today}&to=${today}`,
          );
          return {
            campaign,
            todaySpendMicros: report.ok ? report.data.rows.reduce((sum, r) => sum + r.spendMicros, 0) : undefined,
          };
        }),
      );
      return render(c, campaignsPage({ session, rows, notice: notice(c) }));
    }),
  );

  app.get(
    '/console/campaigns/new',
    as('advertiser', async (c, session) =>
      render(c, campaignFormPage({ session, values: blankCampaign(deps.clock()), errors: {} })),
    ),
  );

  app.post(
    '/console/campaigns/new',
    as('advertiser', async (c, session, api, form) => {
      const values = postedCampaign(form);
      const { body, errors } = campaignBody(values);
      // A campaign needs no name (PRODUCT.md's has none): an empty box is not sent, and the API names it.
      if (!values.name.trim()) delete body.name;
      if (!hasErrors(errors)) {
        const created = await api.call<CampaignView>('POST', '/v1/campaigns', body);
        if (created.ok) return c.redirect(`/console/campaigns/${encodeURIComponent(created.data.id)}?done=campaign-created`, 303);
        if (created.status !== 400) need(created);
        Object.assign(errors, fieldErrors(created.problem, CAMPAIGN_ERROR_FIELDS));
      }
      return render(c, campaignFormPage({ session, values, errors }));
    }),
  );

  const campaignPath = (c: Context) => `/v1/campaigns/${encodeURIComponent(c.req.param('id') ?? '')}`;

  async function campaignPage(c: Context, session: Session, api: ConsoleApi, upload: UploadValues, errors: FieldErrors) {
    const [campaign, creatives, me] = await Promise.all([
      api.get<CampaignView>(campaignPath(c)),
      api.get<{ creatives: CreativeView[] }>(`${campaignPath(c)}/creatives`),
      api.get<AdvertiserView>('/v1/me'),
    ]);
    return render(
      c,
      campaignPageView({
        session,
        campaign: need(campaign),
        creatives: need(creatives).creatives,
        profile: need(me),
        upload,
        errors,
        notice: notice(c),
      }),
    );
  }

  app.get(
    '/console/campaigns/:id',
    as('advertiser', async (c, session, api) =>
      campaignPage(c, session, api, { headline: '', ctaType: 'website', ctaTarget: '' }, {}),
    ),
  );

  app.get(
    '/console/campaigns/:id/edit',
    as('advertiser', async (c, session, api) => {
      const campaign = need(await api.get<CampaignView>(campaignPath(c)));
      return render(c, campaignFormPage({ session, campaign, values: campaignValues(campaign), errors: {} }));
    }),
  );

  app.post(
    '/console/campaigns/:id/edit',
    as('advertiser', async (c, session, api, form) => {
      const campaign = need(await api.get<CampaignView>(campaignPath(c)));
      const values = postedCampaign(form);
      const { body, errors } = campaignBody(values);
      if (!hasErrors(errors)) {
        const patch = keepOtherCaps(changedFields(body, campaignBody(campaignValues(campaign)).body), campaign);
        if (Object.keys(patch).length === 0)
          return c.redirect(`/console/campaigns/${encodeURIComponent(campaign.id)}?done=campaign-saved`, 303);
        const saved = await api.call<CampaignView>('PATCH', campaignPath(c), patch);
        if (saved.ok) return c.redirect(`/console/campaigns/${encodeURIComponent(campaign.id)}?done=campaign-saved`, 303);
        if (saved.status !== 400) need(saved);
        Object.assign(errors, fieldErrors(saved.problem, CAMPAIGN_ERROR_FIELDS));
      }
      return render(c, campaignFormPage({ session, campaign, values, errors }));
    }),
  );

  app.post(
    '/console/campaigns/:id/status',
    as('advertiser', async (c, _session, api, form) => {
      const status = text(form, 'status');
      need(await api.call<CampaignView>('PATCH', campaignPath(c), { status }));
      return c.redirect(`/console/campaigns?done=${status === 'paused' ? 'paused' : 'resumed'}`, 303);
    }),
  );

  app.post(
    '/console/campaigns/:id/creatives',
    as('advertiser', async (c, session, api, form) => {
      const upload: UploadValues = {
        headline: text(form, 'headline'),
        ctaType: text(form, 'ctaType'),
        ctaTarget: text(form, 'ctaTarget'),
      };
      const body = new FormData();
      const file = Array.isArray(form.file) ? form.file[0] : form.file;
      // A form posted with no file chosen carries an empty part: leave it out, and the API says what is missing.
      if (file instanceof File && file.size > 0) body.append('file', file, file.name);
      for (const [name, value] of Object.entries(upload)) body.append(name, value);
      const created = await api.call<CreativeView>('POST', `${campaignPath(c)}/creatives`, body);
      if (created.ok)
        return c.redirect(`/console/campaigns/${encodeURIComponent(c.req.param('id') ?? '')}?done=uploaded#creatives`, 303);
      if (![400, 413, 415, 422].includes(created.status)) need(created);
      return campaignPage(
        c,
        session,
        api,
        upload,
        fieldErrors(created.ok ? ({} as ProblemView) : created.problem, UPLOAD_FIELDS),
      );
    }),
  );

  /** The report for the query's campaign, breakdown and range (default: by day, the last 7 days, UTC). */
  async function report(c: Context, api: ConsoleApi) {
    const { campaigns } = need(await api.get<{ campaigns: CampaignView[] }>('/v1/campaigns'));
    const { from, to, by } = reportRange(c);
    const campaignId = c.req.query('campaign') || campaigns[0]?.id;
    let rows: ReportRowView[] | undefined;
    let creatives: CreativeView[] | undefined;
    let errors: FieldErrors = {};
    if (campaignId) {
      const query = new URLSearchParams({ campaign: campaignId, from, to, by });
      const result = await api.get<{ rows: ReportRowView[] }>(`/v1/reports?${query}`);
      if (result.ok) rows = result.data.rows;
      else if (result.status === 400 || result.status === 404) errors = fieldErrors(result.problem, REPORT_FIELDS);
      else need(result);
      if (rows && by === 'creative') {
        const list = await api.get<{ creatives: CreativeView[] }>(`/v1/campaigns/${encodeURIComponent(campaignId)}/creatives`);
        if (list.ok) creatives = list.data.creatives;
      }
    }
    const days = rows && DAY.test(from) && DAY.test(to) ? daysBetween(from, to) : [];
    // An unknown breakdown is the API's 400 (shown next to the field); the page itself falls back to days.
    const shownBy = isBreakdown(by) ? by : 'day';
    return { campaigns, campaignId, by: shownBy, from, to, rows, creatives, errors, days };
  }

  /** The query's range and breakdown, with the defaults the page shows. */
  function reportRange(c: Context) {
    const to = c.req.query('to') || isoDay(deps.clock());
    const from = c.req.query('from') || (DAY.test(to) ? addDays(to, -6) : to);
    return { from, to, by: c.req.query('by') || 'day' };
  }

  app.get(
    '/console/reports',
    as('advertiser', async (c, session, api) => {
      const r = await report(c, api);
      return render(c, reportsPage({ session, ...r }));
    }),
  );

  app.get(
    '/console/reports.csv',
    as('advertiser', async (c, session, api) => {
      const campaign = c.req.query('campaign') ?? '';
      const { from, to, by } = reportRange(c);
      // The API writes the CSV (format=csv); the console only names the download.
      const csv = await api.get<string>(`/v1/reports?${new URLSearchParams({ campaign, from, to, by, format: 'csv' })}`);
      if (csv.ok && typeof csv.data === 'string') {
        const name = `report-${campaign.replace(/[^A-Za-z0-9_-]/g, '')}-${by.replace(/[^a-z]/g, '')}-${from}-${to}.csv`;
        return c.body(csv.data, 200, {
          'Content-Type': 'text/csv; charset=utf-8',
          'Content-Disposition': `attachment; filename="${name}"`,
        });
      }
      const r = await report(c, api);
      return render(c, reportsPage({ session, ...r }));
    }),
  );

  // A draft's forecast: a GET form (nothing changes), run once the form has been sent.
  app.get(
    '/console/forecast',
    as('advertiser', async (c, session, api) => {
      const query = c.req.queries();
      if (!('bidAmount' in query)) {
        return render(c, forecastPage({ session, values: blankCampaign(deps.clock()), errors: {} }));
      }
      const values = postedCampaign(query);
      const { body, errors } = campaignBody(values);
      if (!hasErrors(errors)) {
        const { name: _name, status: _status, ...draft } = body;
        const forecast = await api.call<ForecastView>('POST', '/v1/forecast', draft);
        if (forecast.ok) return render(c, forecastPage({ session, values, errors, forecast: forecast.data }));
        if (forecast.status !== 400) need(forecast);
        Object.assign(errors, fieldErrors(forecast.problem, CAMPAIGN_ERROR_FIELDS));
      }
      return render(c, forecastPage({ session, values, errors }));
    }),
  );

  // ---------- operator ----------

  async function reviewPage(c: Context, session: Session, api: ConsoleApi, error?: ReviewError) {
    const { creatives } = need(await api.get<{ creatives: PendingCreative[] }>('/v1/review'));
    return render(c, reviewPageView({ session, creatives, notice: notice(c), error }));
  }

  app.get(
    '/console/review',
    as('admin', async (c, session, api) => reviewPage(c, session, api)),
  );

  app.post(
    '/console/review/:id',
    as('admin', async (c, session, api, form) => {
      const decision = text(form, 'decision');
      const typed = text(form, 'reason');
      const reason = typed.trim();
      const body = { decision, ...(decision === 'reject' && reason ? { reason } : {}) };
      const result = await api.call<CreativeView>(
        'POST',
        `/v1/creatives/${encodeURIComponent(c.req.param('id') ?? '')}/review`,
        body,
      );
      if (result.ok) return c.redirect(`/console/review?done=${decision === 'approve' ? 'approved' : 'rejected'}`, 303);
      if (result.status !== 400) need(result);
      return reviewPage(c, session, api, {
        creativeId: c.req.param('id') ?? '',
        reason: typed,
        errors: fieldErrors(result.ok ? ({} as ProblemView) : result.problem, { reason: 'reason' }),
      });
    }),
  );

  // A new key is shown by the page the form redirects to (post/redirect/get), once: reloading it creates nothing.
  async function showNewKey(c: Context, session: Session, newKey: NewKey) {
    await sealer.write(c, { ...session, newKey });
    return c.redirect(`/console/${newKey.page}`, 303);
  }

  async function takeNewKey(c: Context, session: Session, page: NewKey['page']) {
    const { newKey, ...rest } = session;
    if (newKey?.page !== page) return undefined;
    await sealer.write(c, rest);
    return newKey;
  }

  async function advertisersPage(
    c: Context,
    session: Session,
    api: ConsoleApi,
    extra: { values?: ProfileValues; errors?: FieldErrors },
  ) {
    const { advertisers } = need(await api.get<{ advertisers: AdvertiserView[] }>('/v1/advertisers'));
    return render(
      c,
      advertisersPageView({
        session,
        advertisers,
        values: extra.values ?? {},
        errors: extra.errors ?? {},
        newKey: await takeNewKey(c, session, 'advertisers'),
      }),
    );
  }

  app.get(
    '/console/advertisers',
    as('admin', async (c, session, api) => advertisersPage(c, session, api, {})),
  );

  app.post(
    '/console/advertisers',
    as('admin', async (c, session, api, form) => {
      const values = profileValues(Object.fromEntries(PROFILE_FIELDS.map((f) => [f, text(form, f)])));
      const body = Object.fromEntries(Object.entries(profileBody(values)).filter(([, v]) => v !== null && v.trim() !== ''));
      const created = await api.call<{ advertiser: AdvertiserView; apiKey: string }>('POST', '/v1/advertisers', body);
      if (created.ok) {
        const label = `API key for ${created.data.advertiser.name}`;
        return showNewKey(c, session, { page: 'advertisers', label, apiKey: created.data.apiKey });
      }
      if (created.status !== 400) need(created);
      return advertisersPage(c, session, api, {
        values,
        errors: fieldErrors(created.problem, Object.fromEntries(PROFILE_FIELDS.map((f) => [f, f]))),
      });
    }),
  );

  app.get(
    '/console/clients',
    as('admin', async (c, session) =>
      render(c, clientsPage({ session, name: '', errors: {}, newKey: await takeNewKey(c, session, 'clients') })),
    ),
  );

  app.post(
    '/console/clients',
    as('admin', async (c, session, api, form) => {
      const name = text(form, 'name');
      const created = await api.call<{ client: ClientView; apiKey: string }>('POST', '/v1/clients', { name });
      if (created.ok) {
        const label = `API key for feed client ${created.data.client.name}`;
        return showNewKey(c, session, { page: 'clients', label, apiKey: created.data.apiKey });
      }
      if (created.status !== 400) need(created);
      return render(c, clientsPage({ session, name, errors: fieldErrors(created.problem, { name: 'name' }) }));
    }),
  );

  // Last: any other page under /console is a page-shaped 404, not the API's problem+json.
  app.get('/console/*', async (c) => {
    const session = await sealer.read(c, Date.now());
    return errorPage(c, session, {
      type: 'about:blank',
      title: 'Page not found',
      status: 404,
      detail: `There is no console page at ${c.req.path}.`,
    });
  });
}
