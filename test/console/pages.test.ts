/**
 * Console pages over HTTP, in-process (no browser): what each form does
 * through the API, and what the page then shows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { png } from '../helpers/media.js';
import { ADMIN_KEY, makeService, type TestService } from '../helpers/service.js';

let s: TestService;
beforeAll(async () => {
  s = await makeService();
});
afterAll(async () => {
  await s.close();
});

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1];

/** The campaign form as a person fills it in: a name and a bid of 2, every other box empty. */
const draft = {
  name: 'Draft',
  status: 'active',
  start: '',
  end: '',
  bidType: 'cpm',
  bidAmount: '2',
  dailyBudget: '',
  totalBudget: '',
  pacing: 'even',
  countries: '',
  languages: '',
  capImpressions: '',
  capHours: '',
};

/** The edit form as a person sends it back: the page's own start, bid and cap, the rest empty, then `changes`. */
function editedForm(form: string, changes: Record<string, string>): Record<string, string> {
  const field = (name: string) => new RegExp(`id="${name}"[^>]*value="([^"]*)"`).exec(form)?.[1] ?? '';
  const { name: _name, ...empty } = draft;
  return {
    ...empty,
    start: field('start'),
    bidAmount: field('bidAmount'),
    capImpressions: field('capImpressions'),
    capHours: field('capHours'),
    ...changes,
  };
}

/** A signed-in console session: GET and form POST with its cookie and CSRF token. */
async function session(key: string, service: TestService = s) {
  const start = await service.app.request('/console');
  const signInCookie = start.headers.getSetCookie()[0].split(';')[0];
  const res = await service.app.request('/console/sign-in', {
    method: 'POST',
    headers: { Cookie: signInCookie, Origin: 'http://localhost' },
    body: new URLSearchParams({ csrf: csrfOf(await start.text()), apiKey: key }),
  });
  const cookie = res.headers
    .getSetCookie()
    .find((l) => l.startsWith('console_session='))!
    .split(';')[0];
  const landing = await service.app.request(res.headers.get('Location')!, { headers: { Cookie: cookie } });
  const csrf = csrfOf(await landing.text());
  return {
    get: (path: string) => service.app.request(path, { headers: { Cookie: cookie } }),
    post: (path: string, fields: Record<string, string | File>) => {
      const hasFile = Object.values(fields).some((v) => v instanceof File);
      const body = hasFile ? new FormData() : new URLSearchParams();
      for (const [k, v] of Object.entries({ csrf, ...fields })) (body as FormData).append(k, v as string);
      return service.app.request(path, { method: 'POST', headers: { Cookie: cookie, Origin: 'http://localhost' }, body });
    },
  };
}

describe('review in the console', () => {
  it('rejects with a reason, which the advertiser then sees; a rejection without one shows the API error', async () => {
    const adv = await s.newAdvertiser('Review Co');
    const campaign = await s.call('POST', '/v1/campaigns', adv.key, {
      name: 'To review',
      bid: { type: 'cpm', amountMicros: 1_000_000 },
    });
    const creative = (await s.upload(adv.key, campaign.body.id, png(90, 160, 11), { headline: 'Too loud' })).body;
    const operator = await session(ADMIN_KEY);

    const noReason = await operator.post(`/console/review/${creative.id}`, { decision: 'reject', reason: '' });
    expect(noReason.status).toBe(200);
    expect(await noReason.text()).toContain('a rejection needs a reason');
    expect((await s.call('GET', `/v1/creatives/${creative.id}`, adv.key)).body.review).toBe('pending');

    const rejected = await operator.post(`/console/review/${creative.id}`, {
      decision: 'reject',
      reason: 'Text covers the product',
    });
    expect(rejected.status).toBe(303);
    expect(rejected.headers.get('Location')).toBe('/console/review?done=rejected');

    const advertiser = await session(adv.key);
    const page = await (await advertiser.get(`/console/campaigns/${campaign.body.id}`)).text();
    expect(page).toContain('Review: <strong>Rejected</strong>');
    expect(page).toContain('Reason: Text covers the product');
  });
});

describe('the business profile in the console', () => {
  it('empties the fields a person empties: website, email, category, description, address', async () => {
    const adv = await s.newAdvertiser('Profile Co');
    const page = await session(adv.key);
    const filled = {
      name: 'Profile Co',
      description: 'Shoes',
      address: '2 Mill Street',
      email: 'hi@profile.example',
      website: 'https://profile.example',
      category: 'shopping',
    };
    expect((await page.post('/console/profile', filled)).status).toBe(303);
    expect((await s.call('GET', '/v1/me', adv.key)).body).toMatchObject(filled);
    expect(await (await page.get('/console/profile')).text()).toContain('value="shopping" selected');
    const emptied = await page.post('/console/profile', {
      name: 'Profile Co',
      description: '',
      address: '',
      email: '',
      website: '',
      category: '',
    });
    expect(emptied.status).toBe(303);
    expect((await s.call('GET', '/v1/me', adv.key)).body).toMatchObject({
      name: 'Profile Co',
      description: null,
      address: null,
      email: null,
      website: null,
      category: null,
    });
    const shown = await (await page.get('/console/profile')).text();
    expect(shown).not.toContain('profile.example');
    expect(shown).not.toContain('value="shopping" selected');
  });
});

describe('campaigns in the console', () => {
  it('edits only what the form changed, keeping a start time the form cannot show', async () => {
    const adv = await s.newAdvertiser('Edit Co');
    const start = '2026-11-25T10:30:00.000Z';
    const created = await s.call('POST', '/v1/campaigns', adv.key, {
      name: 'Before',
      bid: { type: 'cpm', amountMicros: 1_250_000 },
      schedule: { start },
      caps: [{ impressions: 2, windowSeconds: 90 }],
    });
    const advertiser = await session(adv.key);
    const form = await (await advertiser.get(`/console/campaigns/${created.body.id}/edit`)).text();
    expect(form).toMatch(/id="bidAmount"[^>]*value="1.25"/);
    const res = await advertiser.post(`/console/campaigns/${created.body.id}/edit`, editedForm(form, { name: 'After' }));
    expect(res.status).toBe(303);
    const after = (await s.call('GET', `/v1/campaigns/${created.body.id}`, adv.key)).body;
    expect(after.name).toBe('After');
    expect(after.schedule.start).toBe(start);
    expect(after.caps).toEqual([{ impressions: 2, windowSeconds: 90 }]);
    expect(after.bid).toEqual({ type: 'cpm', amountMicros: 1_250_000 });
  });

  it('an emptied field is removed: no total budget, any country, no end date', async () => {
    const adv = await s.newAdvertiser('Clear Co');
    const created = await s.call('POST', '/v1/campaigns', adv.key, {
      bid: { type: 'cpm', amountMicros: 1_000_000 },
      budget: { dailyMicros: 2_000_000, totalMicros: 9_000_000 },
      targeting: { countries: ['DE'], languages: ['de'] },
      schedule: { start: '2030-01-01', end: '2030-02-01' },
    });
    const advertiser = await session(adv.key);
    const form = await (await advertiser.get(`/console/campaigns/${created.body.id}/edit`)).text();
    const res = await advertiser.post(
      `/console/campaigns/${created.body.id}/edit`,
      editedForm(form, { name: 'Cleared', dailyBudget: '2', languages: 'de' }),
    );
    expect(res.status).toBe(303);
    const after = (await s.call('GET', `/v1/campaigns/${created.body.id}`, adv.key)).body;
    expect(after.budget).toEqual({ dailyMicros: 2_000_000 });
    expect(after.targeting).toEqual({ languages: ['de'] });
    expect(after.schedule).toEqual({ start: '2030-01-01T00:00:00.000Z' });
  });

  it('takes country and language codes in either case, as people type them', async () => {
    const adv = await s.newAdvertiser('Case Co');
    const advertiser = await session(adv.key);
    const res = await advertiser.post('/console/campaigns/new', {
      ...draft,
      name: 'Mixed case',
      countries: 'de, Fr',
      languages: 'DE en',
    });
    expect(res.status).toBe(303);
    const [campaign] = (await s.call('GET', '/v1/campaigns', adv.key)).body.campaigns;
    expect(campaign.targeting).toEqual({ countries: ['DE', 'FR'], languages: ['de', 'en'] });
  });

  it('pauses and resumes through the API', async () => {
    const adv = await s.newAdvertiser('Pause Co');
    const created = await s.call('POST', '/v1/campaigns', adv.key, {
      name: 'Toggle',
      bid: { type: 'cpm', amountMicros: 1_000_000 },
    });
    const advertiser = await session(adv.key);
    expect(
      (await advertiser.post(`/console/campaigns/${created.body.id}/status`, { status: 'paused' })).headers.get('Location'),
    ).toBe('/console/campaigns?done=paused');
    expect((await s.call('GET', `/v1/campaigns/${created.body.id}`, adv.key)).body.status).toBe('paused');
    const list = await (await advertiser.get('/console/campaigns?done=paused')).text();
    expect(list).toContain('Campaign paused.');
    expect(list).toContain('Resume<span class="visually-hidden"> Toggle</span>');
    await advertiser.post(`/console/campaigns/${created.body.id}/status`, { status: 'active' });
    expect((await s.call('GET', `/v1/campaigns/${created.body.id}`, adv.key)).body.status).toBe('active');
  });

  it("shows the API's media error next to the file field, keeping what was typed", async () => {
    const adv = await s.newAdvertiser('Upload Co');
    const created = await s.call('POST', '/v1/campaigns', adv.key, {
      name: 'Uploads',
      bid: { type: 'cpm', amountMicros: 1_000_000 },
    });
    const advertiser = await session(adv.key);
    const res = await advertiser.post(`/console/campaigns/${created.body.id}/creatives`, {
      file: new File(['just some text, not an image'], 'notes.png', { type: 'image/png' }),
      headline: 'Kept headline',
      ctaType: 'website',
      ctaTarget: 'https://upload.example',
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/id="file"[^>]*aria-invalid="true"/);
    expect(html).toMatch(/id="file-error"/);
    expect(html).toMatch(/id="headline"[^>]*value="Kept headline"/);
    expect((await s.call('GET', `/v1/campaigns/${created.body.id}/creatives`, adv.key)).body.creatives).toEqual([]);
  });

  it('downloads the report as CSV with a header row', async () => {
    const { advertiser: adv, campaignId } = await s.seedCampaign();
    const advertiser = await session(adv.key);
    const res = await advertiser.get(`/console/reports.csv?campaign=${campaignId}&from=2026-11-20&to=2026-11-26`);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/csv/);
    expect(res.headers.get('Content-Disposition')).toMatch(/^attachment; filename="report-/);
    expect((await res.text()).split('\r\n')[0]).toMatch(/^date,impressions,reach,clicks/);
  });
});

describe('campaign form errors and dates', () => {
  const errorOf = (html: string, field: string) => new RegExp(`id="${field}-error">([^<]*)<`).exec(html)?.[1];

  it('says what is wrong in plain words and in the form’s own units, next to each field', async () => {
    const adv = await s.newAdvertiser('Words Co');
    const advertiser = await session(adv.key);
    const res = await advertiser.post('/console/campaigns/new', {
      ...draft,
      name: 'x'.repeat(201),
      bidAmount: '0',
      capImpressions: '2',
      capHours: '0',
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(errorOf(html, 'name')).toBe('must be at most 200 characters');
    expect(errorOf(html, 'bidAmount')).toBe('must be at least 1 micro (more than 0)');
    expect(errorOf(html, 'capHours')).toBe('must be at least 1 second');
    const tooLong = await (
      await advertiser.post('/console/campaigns/new', { ...draft, capImpressions: '1', capHours: '9999' })
    ).text();
    expect(errorOf(tooLong, 'capHours')).toBe('must be at most 30 days (2592000 seconds)');

    const operator = await session(ADMIN_KEY);
    const noName = await (await operator.post('/console/advertisers', { name: '', email: 'nope' })).text();
    expect(errorOf(noName, 'name')).toBe('is required');
    expect(errorOf(noName, 'email')).toBe('must be an email address, e.g. name@example.com');
  });

  it('creates a campaign without a name as the API does (its default name); an edit cannot empty the name', async () => {
    const adv = await s.newAdvertiser('Nameless Co');
    const advertiser = await session(adv.key);
    const form = await (await advertiser.get('/console/campaigns/new')).text();
    expect(form).toContain('Optional: “Untitled campaign” when left empty');
    const res = await advertiser.post('/console/campaigns/new', { ...draft, name: '  ' });
    expect(res.status).toBe(303);
    const [campaign] = (await s.call('GET', '/v1/campaigns', adv.key)).body.campaigns;
    expect(campaign.name).toBe('Untitled campaign');
    const edit = await advertiser.post(`/console/campaigns/${campaign.id}/edit`, { ...draft, name: '' });
    expect(edit.status).toBe(200);
    expect(errorOf(await edit.text(), 'name')).toBe('must not be empty (at least 1 character)');
  });

  it('takes the end date as the last day the campaign runs, so a one-day campaign has the same start and end', async () => {
    const adv = await s.newAdvertiser('One Day Co');
    const advertiser = await session(adv.key);
    const res = await advertiser.post('/console/campaigns/new', { ...draft, start: '2026-12-10', end: '2026-12-10' });
    expect(res.status).toBe(303);
    const [campaign] = (await s.call('GET', '/v1/campaigns', adv.key)).body.campaigns;
    // The API's end is the instant it stops: midnight after the last day.
    expect(campaign.schedule).toEqual({ start: '2026-12-10T00:00:00.000Z', end: '2026-12-11T00:00:00.000Z' });
    expect(await (await advertiser.get(`/console/campaigns/${campaign.id}`)).text()).toContain('2026-12-10 to 2026-12-10');
    const form = await (await advertiser.get(`/console/campaigns/${campaign.id}/edit`)).text();
    expect(form).toMatch(/id="end"[^>]*value="2026-12-10"/);

    const before = await advertiser.post('/console/campaigns/new', { ...draft, start: '2026-12-10', end: '2026-12-09' });
    expect(before.status).toBe(200);
    expect(errorOf(await before.text(), 'end')).toBe('must be after the start');
  });
});

describe('frequency caps in the console', () => {
  it('shows every cap on the campaign page, and an edit of the first keeps the others', async () => {
    const adv = await s.newAdvertiser('Caps Co');
    const created = await s.call('POST', '/v1/campaigns', adv.key, {
      name: 'Capped',
      bid: { type: 'cpm', amountMicros: 1_000_000 },
      caps: [
        { impressions: 2, windowSeconds: 3_600 },
        { impressions: 5, windowSeconds: 7 * 86_400 },
      ],
    });
    const id = created.body.id;
    const advertiser = await session(adv.key);
    const shown = await (await advertiser.get(`/console/campaigns/${id}`)).text();
    expect(shown).toContain(
      '<dt>Frequency caps</dt><dd>2 impressions per person per hour; 5 impressions per person per 7 days</dd>',
    );
    const form = await (await advertiser.get(`/console/campaigns/${id}/edit`)).text();
    expect(form).toContain('<label for="capImpressions">Frequency cap: impressions per person</label>');
    expect(form).toContain('<label for="capHours">Frequency cap: window in hours</label>');
    expect(form).toContain('Also capped at 5 impressions per person per 7 days');
    const res = await advertiser.post(
      `/console/campaigns/${id}/edit`,
      editedForm(form, { name: 'Capped', capImpressions: '3', capHours: '2' }),
    );
    expect(res.status).toBe(303);
    expect((await s.call('GET', `/v1/campaigns/${id}`, adv.key)).body.caps).toEqual([
      { impressions: 3, windowSeconds: 7_200 },
      { impressions: 5, windowSeconds: 7 * 86_400 },
    ]);
  });
});

describe('reports by breakdown and forecasts in the console', () => {
  it('breaks a report down by hour, creative, country and platform, on the page and in the CSV', async () => {
    const { advertiser: adv, campaignId } = await s.seedCampaign();
    const client = await s.newClient('Breakdown client');
    const slots = await s.call('POST', '/v1/slots', client.key, {
      user: 'breakdown-user',
      statuses: 10,
      context: { country: 'DE', platform: 'android' },
    });
    // Other tests' campaigns compete in this service: the slot of this campaign.
    const slot = slots.body.slots.find((x: { ad: { campaignId: string } }) => x.ad.campaignId === campaignId);
    const events = await s.call('POST', '/v1/events', client.key, { events: [{ token: slot.token, type: 'impression' }] });
    expect(events.body.results[0].status).toBe('accepted');
    const headline = slot.ad.headline;
    const advertiser = await session(adv.key);
    const report = (by: string) =>
      advertiser.get(`/console/reports?campaign=${campaignId}&by=${by}&from=2026-11-25&to=2026-11-25`);

    const byCountry = await (await report('country')).text();
    expect(byCountry).toContain('<option value="country" selected="">Country</option>');
    expect(byCountry).toContain('<caption>Figures by country, 2026-11-25 to 2026-11-25 (UTC)</caption>');
    expect(byCountry).toMatch(/<th scope="row">DE<\/th><td>1<\/td>/);
    expect(await (await report('platform')).text()).toMatch(/<th scope="row">Android<\/th><td>1<\/td>/);
    expect(await (await report('hour')).text()).toMatch(/<th scope="row">2026-11-25 12:00<\/th><td>1<\/td>/);
    expect(await (await report('creative')).text()).toContain(`<th scope="row">${headline} <code>`);
    // By day every day of the range is a row, with every counter the API reports.
    const byDay = await (await report('day')).text();
    expect(byDay).toContain('<th scope="col">Reports</th><th scope="col">Blocks</th>');

    const csv = await advertiser.get(`/console/reports.csv?campaign=${campaignId}&by=country&from=2026-11-25&to=2026-11-25`);
    expect(csv.headers.get('Content-Disposition')).toContain('-country-');
    const lines = (await csv.text()).split('\r\n');
    expect(lines[0]).toMatch(/^country,impressions,reach,clicks/);
    expect(lines[1]).toMatch(/^DE,1,1,0/);

    const unknown = await report('week');
    expect(unknown.status).toBe(200);
    expect(await unknown.text()).toMatch(/id="by-error"/);
  });

  it('runs a forecast for a draft and shows the API’s field errors on the same form', async () => {
    const adv = await s.newAdvertiser('Forecast Co');
    const advertiser = await session(adv.key);
    const empty = await (await advertiser.get('/console/forecast')).text();
    expect(empty).toContain('<h1>Forecast</h1>');
    expect(empty).toContain('aria-current="page">Forecast</a>');
    expect(empty).not.toContain('Forecast for');

    const query = new URLSearchParams({
      bidType: 'cpm',
      bidAmount: '2.50',
      pacing: 'even',
      countries: 'de',
      capImpressions: '2',
      capHours: '24',
    });
    query.append('platforms', 'android');
    const res = await advertiser.get(`/console/forecast?${query}`);
    const html = await res.text();
    expect(res.status, html).toBe(200);
    expect(html).toContain('Forecast for 2026-11-26 (UTC)');
    expect(html).toMatch(/<th scope="row">Impressions<\/th><td>\d/);
    expect(html).toContain('Average price per 1,000 impressions');
    expect(html).toMatch(/id="countries"[^>]*value="de"/);
    expect(html).toMatch(/value="android" checked/);

    const noBid = await advertiser.get('/console/forecast?bidType=cpm&bidAmount=&pacing=even&countries=Germany');
    expect(noBid.status).toBe(200);
    const errors = await noBid.text();
    expect(errors).toMatch(/id="bidAmount-error">is required</);
    expect(errors).toMatch(/id="countries-error">/);
  });
});

describe('the API rate limit in the console', () => {
  it('counts a page view as one request of the key, however many API calls the page makes', async () => {
    const limited = await makeService({ RATE_LIMIT_ADVERTISER: '1' }); // 1 a second, bursts of 2
    try {
      const adv = await limited.newAdvertiser('Busy Co');
      for (let i = 0; i < 5; i++) {
        limited.clock.advance(2_000);
        const created = await limited.call('POST', '/v1/campaigns', adv.key, {
          name: `Busy ${i}`,
          bid: { type: 'cpm', amountMicros: 1_000_000 },
          budget: { dailyMicros: 5_000_000 },
        });
        expect(created.status).toBe(201);
      }
      limited.clock.advance(10_000);
      const page = await session(adv.key, limited); // one token: its /v1/me
      limited.clock.advance(10_000); // the bucket full again: 2 tokens
      // The list reads the campaigns and each one's report for today (6 API calls): one token.
      const first = await page.get('/console/campaigns');
      expect(first.status).toBe(200);
      const html = await first.text();
      expect(html).not.toContain('unavailable');
      expect(html.match(/0\.00 of 5\.00/g)).toHaveLength(5);
      expect((await page.get('/console/campaigns')).status).toBe(200);
      // The third view in the same instant finds the bucket empty: the page's own 429.
      expect((await page.get('/console/campaigns')).status).toBe(429);
    } finally {
      await limited.close();
    }
  });
});

describe('the tab icon', () => {
  it('is linked from every page and served, so the browser does not ask for a missing /favicon.ico', async () => {
    const html = await (await s.app.request('/console')).text();
    const icon = /<link rel="icon" href="([^"]+)"/.exec(html)?.[1];
    expect(icon).toMatch(/^\/console\/assets\/icon-[a-z0-9]+\.svg$/);
    const res = await s.app.request(icon!);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('image/svg+xml');
  });
});

describe('unknown console pages', () => {
  it('answer with a page-shaped 404 under the console CSP', async () => {
    const res = await s.app.request('/console/no-such-page');
    expect(res.status).toBe(404);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(res.headers.get('Content-Security-Policy')).toContain("script-src 'self'");
    expect(await res.text()).toContain('There is no console page at /console/no-such-page.');
  });
});
