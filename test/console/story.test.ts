/**
 * The console's whole story in Chromium against the real Node server (`npm
 * start`'s entry on 127.0.0.1 and a free port), offline: operator creates an
 * advertiser and a feed client, the advertiser fills the profile, creates a
 * campaign, uploads a PNG and an MP4 and sees both in the phone preview, the
 * operator approves them, a feed request serves the ad, and the report chart
 * shows the impression. Assertions are on what the page shows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { png } from '../helpers/media.js';
import { ADMIN, http, type RealServer, removeDir, startServer, stopServer } from '../helpers/server.js';
import {
  axeViolations,
  type ConsoleBrowser,
  eventually,
  launchBrowser,
  mediaLoaded,
  offlineContext,
  signIn,
  signOut,
  textOf,
} from './browser.js';

const MP4 = readFileSync(join(import.meta.dirname, '../fixtures/vertical-90x160-2s.mp4'));

let server: RealServer;
let chromium: ConsoleBrowser;

beforeAll(async () => {
  [server, chromium] = await Promise.all([startServer({ env: { RATE_LIMIT_ADVERTISER: '0' } }), launchBrowser()]);
});

afterAll(async () => {
  await chromium?.close();
  await stopServer(server, 'SIGTERM');
  removeDir(server?.dir);
});

describe('console on Node, in Chromium', () => {
  it('runs the whole story offline: advertiser, campaign, PNG and MP4 creatives, review, a served ad, the report', async () => {
    const origin = server.url;
    const { context, page, offOrigin, requested, notFound } = await offlineContext(chromium.browser, origin);
    const critical: string[] = [];
    const axe = async (where: string) => {
      const found = await axeViolations(page);
      // The bar is no critical violation; none of serious impact either, today.
      critical.push(...[...found.critical, ...found.serious].map((v) => `${where}: ${v}`));
    };

    // ---- operator: sign in, create an advertiser and a feed client ----
    await page.goto(`${origin}/console`);
    await axe('sign-in');
    await signIn(page, origin, ADMIN, 'Review queue');
    expect(await textOf(page.getByRole('main'))).toContain('Nothing is waiting for review.');
    await page.getByRole('link', { name: 'Advertisers' }).click();
    await page.getByLabel('Business name').fill('Bäckerei <Sonne>');
    await page.getByRole('button', { name: 'Create advertiser' }).click();
    const advertiserKeyBox = page.getByRole('status').filter({ hasText: 'API key for Bäckerei <Sonne>' });
    await advertiserKeyBox.waitFor();
    const advertiserKey = await textOf(advertiserKeyBox.locator('code'));
    expect(advertiserKey).toMatch(/^sk_adv_/);
    await advertiserKeyBox.getByRole('button', { name: 'Copy key' }).waitFor();
    expect(await textOf(page.getByRole('table', { name: 'Advertisers' }))).toContain('Bäckerei <Sonne>');
    await axe('advertisers');

    await page.getByRole('link', { name: 'Feed clients' }).click();
    await page.getByLabel('Client name').fill('Messenger');
    await page.getByRole('button', { name: 'Create feed client' }).click();
    const clientKeyBox = page.getByRole('status').filter({ hasText: 'API key for feed client Messenger' });
    const clientKey = await textOf(clientKeyBox.locator('code'));
    expect(clientKey).toMatch(/^sk_cli_/);
    await signOut(page);

    // ---- advertiser: profile ----
    await signIn(page, origin, advertiserKey, 'Campaigns');
    expect(await textOf(page.getByRole('banner'))).toContain('Signed in as Bäckerei <Sonne> (advertiser)');
    await page.getByRole('link', { name: 'Business profile' }).click();
    await page.getByLabel('Description').fill('Sourdough since 1921');
    await page.getByLabel('Address').fill('Hauptstraße 1, Berlin');
    await page.getByLabel('Email').fill('not an email');
    await page.getByRole('button', { name: 'Save profile' }).click();
    // The API's field error, next to the field it is about.
    await page.locator('#email-error').waitFor();
    expect(await page.getByLabel('Email').getAttribute('aria-invalid')).toBe('true');
    expect(await textOf(page.locator('#email-error'))).toMatch(/email/i);
    await page.getByLabel('Email').fill('hello@sonne.example');
    await page.getByLabel('Website').fill('https://sonne.example');
    await page.getByLabel('Category').selectOption({ label: 'Food & Drink' });
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('Profile saved.').waitFor();
    expect(await page.getByLabel('Address').inputValue()).toBe('Hauptstraße 1, Berlin');

    // ---- a campaign, with the API's errors shown next to the right fields first ----
    await page.getByRole('link', { name: 'Campaigns' }).click();
    await page.getByRole('link', { name: 'New campaign' }).click();
    await page.getByLabel('Bid amount').fill('0');
    await page.getByLabel('Countries').fill('Germany');
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByLabel('Bid amount').getAttribute('aria-invalid')).toBe('true');
    expect(await textOf(page.locator('#bidAmount-error'))).toBe('must be at least 1 micro (more than 0)');
    expect(await page.getByLabel('Countries').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Campaign name').getAttribute('aria-invalid')).toBeNull();
    expect(await page.getByLabel('Daily budget').getAttribute('aria-invalid')).toBeNull();
    await axe('campaign form with errors');
    await page.getByLabel('Campaign name').fill('Sunday bread');
    await page.getByLabel('Bid amount').fill('2.00');
    await page.getByLabel('Countries').fill('');
    await page.getByLabel('Daily budget').fill('10');
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sunday bread' }).waitFor();
    await page.getByText('Campaign created.').waitFor();

    // ---- creatives: a PNG through the file picker, an MP4 by drag and drop; live preview before upload ----
    const live = page.getByRole('figure', { name: 'Live preview' });
    expect(await textOf(live)).toContain('Your image or video appears here');
    expect(await textOf(live)).toContain('Bäckerei <Sonne>');
    await page
      .getByLabel('Image or video file')
      .setInputFiles({ name: 'bread.png', mimeType: 'image/png', buffer: png(90, 160, 7) });
    await page.getByLabel('Headline').fill('Fresh bread every morning');
    await page.getByLabel('Call-to-action target').fill('https://sonne.example/order');
    const livePng = live.getByRole('img', { name: 'Image: Fresh bread every morning' });
    await livePng.waitFor();
    expect(await livePng.getAttribute('src')).toMatch(/^blob:/);
    expect(await mediaLoaded(livePng)).toBe(true);
    expect(await textOf(live)).toContain('Fresh bread every morning');
    expect(await textOf(live)).toContain('Visit website');
    await page.getByRole('button', { name: 'Upload creative' }).click();
    await page.getByText('Creative uploaded. It is pending review.').waitFor();

    const dropped = await page.evaluateHandle((base64) => {
      const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'croissant.mp4', { type: 'video/mp4' }));
      return transfer;
    }, MP4.toString('base64'));
    await page.locator('[data-dropzone]').dispatchEvent('drop', { dataTransfer: dropped });
    await page.getByLabel('Headline').fill('Warm croissants');
    await page.getByLabel('Call to action').selectOption({ label: 'Call' });
    await page.getByLabel('Call-to-action target').fill('+493012345678');
    const liveVideo = live.locator('video');
    await liveVideo.waitFor();
    expect(await liveVideo.getAttribute('src')).toMatch(/^blob:/);
    expect(await textOf(live)).toContain('Call');
    expect(await mediaLoaded(liveVideo)).toBe(true);
    await page.getByRole('button', { name: 'Upload creative' }).click();
    await page.getByText('Creative uploaded. It is pending review.').waitFor();

    const pngCard = page.getByRole('article', { name: 'Fresh bread every morning' });
    const mp4Card = page.getByRole('article', { name: 'Warm croissants' });
    const pngImage = pngCard.getByRole('img', { name: 'Image: Fresh bread every morning' });
    expect(await pngImage.getAttribute('src')).toMatch(/^\/media\/[0-9a-f]{64}$/);
    expect(await mediaLoaded(pngImage)).toBe(true);
    expect(await mp4Card.locator('video').getAttribute('src')).toMatch(/^\/media\/[0-9a-f]{64}$/);
    expect(await mediaLoaded(mp4Card.locator('video'))).toBe(true);
    for (const card of [pngCard, mp4Card]) {
      const text = await textOf(card);
      expect(text).toContain('Review: Pending review');
      expect(text).toMatch(/sponsored/i);
      expect(text).toContain('Bäckerei <Sonne>');
      expect(text).toContain('Sourdough since 1921');
      expect(text).toContain('Food & Drink');
    }
    expect(await textOf(mp4Card)).toContain('video/mp4, 90×160, 2.0 s');
    await axe('campaign with previews');
    await signOut(page);

    // ---- operator approves both, seeing the media ----
    await signIn(page, origin, ADMIN, 'Review queue');
    const pendingPng = page.getByRole('article', { name: 'Fresh bread every morning' });
    const pendingMp4 = page.getByRole('article', { name: 'Warm croissants' });
    expect(await mediaLoaded(pendingPng.getByRole('img'))).toBe(true);
    const reviewVideo = pendingMp4.locator('video');
    expect(await reviewVideo.getAttribute('controls')).not.toBeNull();
    expect(await mediaLoaded(reviewVideo)).toBe(true);
    expect(await textOf(pendingMp4)).toContain('Bäckerei <Sonne>');
    await axe('review queue');
    await pendingPng.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Creative approved. It can serve now.').waitFor();
    await page.getByRole('article', { name: 'Warm croissants' }).getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Nothing is waiting for review.').waitFor();
    await signOut(page);

    // ---- a feed request serves the ad; the user sees it ----
    const feed = async (path: string, body: unknown) => {
      const res = await fetch(`${origin}${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${clientKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const slots = await feed('/v1/slots', {
      user: 'console-story-user',
      statuses: 10,
      context: { country: 'DE', platform: 'android' },
    });
    expect(slots.status).toBe(200);
    expect(slots.body.slots).toHaveLength(1);
    expect(['Fresh bread every morning', 'Warm croissants']).toContain(slots.body.slots[0].ad.headline);
    const events = await feed('/v1/events', { events: [{ token: slots.body.slots[0].token, type: 'impression' }] });
    expect(events.body.results[0].status).toBe('accepted');

    // ---- the advertiser's report shows it: chart, table, CSV ----
    await signIn(page, origin, advertiserKey, 'Campaigns');
    const campaigns = page.getByRole('table', { name: /Your campaigns/ });
    const row = campaigns.getByRole('row', { name: /Sunday bread/ });
    // The only bidder pays the floor (second price): 0.10 per thousand, 0.0001 for one impression.
    expect(await textOf(row)).toMatch(/Active .*0\.0001 of 10\.00/);
    await page.getByRole('link', { name: 'Reports' }).click();
    const today = new Date().toISOString().slice(0, 10);
    // The range by its labels: each names its field only (the chart's range and totals describe it, not name it).
    await page.getByLabel('From').fill(today);
    await page.getByLabel('To').fill(today);
    await page.getByRole('button', { name: 'Show report' }).click();
    const chart = page.getByRole('img', { name: 'Daily impressions, reach, clicks and spend' });
    await chart.waitFor();
    const chartText = await chart.textContent();
    expect(chartText).toContain('Impressions: 1 in total');
    expect(chartText).toContain('Reach: 1 in total');
    expect(chartText).toContain('Spend: 0.0001 in total');
    expect(await chart.locator('rect title', { hasText: `${today}: 1 impressions` }).count()).toBe(1);
    const todayRow = page.getByRole('table', { name: /Daily figures/ }).getByRole('row', { name: new RegExp(today) });
    expect(await textOf(todayRow)).toBe(`${today} 1 1 0 0 0 0 0.0001`);
    await axe('report');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download CSV' }).click(),
    ]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split(/\r?\n/)[0]).toMatch(/^date,impressions,reach,clicks/);
    expect(csv).toContain(`${today},1,1,0`);

    // ---- the same report broken down by creative, country, platform and hour ----
    const served = slots.body.slots[0].ad.headline;
    const breakdown = async (by: string, caption: string, rowName: RegExp | string) => {
      await page.getByLabel('Break down by').selectOption({ label: by });
      await page.getByRole('button', { name: 'Show report' }).click();
      const table = page.getByRole('table', { name: `${caption}, ${today} to ${today} (UTC)` });
      await table.waitFor();
      return textOf(table.getByRole('row', { name: rowName }));
    };
    expect(await breakdown('Creative', 'Figures by creative', served)).toMatch(/ 1 1 0 0 0 0 0\.0001$/);
    expect(await breakdown('Country', 'Figures by country', /^DE /)).toBe('DE 1 1 0 0 0 0 0.0001');
    expect(await breakdown('Platform', 'Figures by platform', /^Android /)).toBe('Android 1 1 0 0 0 0 0.0001');
    expect(await breakdown('Hour', 'Figures by hour', new RegExp(`^${today} \\d\\d:00`))).toMatch(/ 1 1 0 0 0 0 0\.0001$/);
    await axe('report by hour');
    const [byHour] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
    expect(readFileSync((await byHour.path())!, 'utf8').split(/\r?\n/)[0]).toMatch(/^hour,impressions,reach,clicks/);

    // ---- a forecast for a draft ----
    await page.getByRole('link', { name: 'Forecast' }).click();
    await page.getByLabel('Bid amount').fill('2');
    await page.getByLabel('Countries').fill('de');
    await page.getByRole('checkbox', { name: 'Android' }).check();
    await page.getByRole('button', { name: 'Run forecast' }).click();
    const forecast = page.getByRole('table', { name: /^Expected delivery on \d{4}-\d{2}-\d{2}/ });
    await forecast.waitFor();
    expect(await textOf(forecast.getByRole('row', { name: /Matching requests/ }))).toMatch(/^Matching requests \d+ \d+ \d+$/);
    expect(await textOf(page.getByRole('main'))).toMatch(/Based on today’s traffic so far \(\d+ requests?\)/);
    await axe('forecast');

    // ---- pause from the list ----
    await page.getByRole('link', { name: 'Campaigns' }).click();
    await page.getByRole('button', { name: 'Pause Sunday bread' }).click();
    await page.getByText('Campaign paused.').waitFor();
    expect(
      await textOf(page.getByRole('table', { name: /Your campaigns/ }).getByRole('row', { name: /Sunday bread/ })),
    ).toContain('Paused');
    await page.getByRole('button', { name: 'Resume Sunday bread' }).waitFor();

    expect(critical).toEqual([]);
    expect(offOrigin).toEqual([]);
    expect(notFound).toEqual([]);
    // No key ever travels in a URL or reaches the server's log.
    for (const key of [ADMIN, advertiserKey, clientKey]) {
      expect(requested.filter((url) => url.includes(key))).toEqual([]);
      expect(server.logs()).not.toContain(key);
    }
    expect(requested.length).toBeGreaterThan(20);
    expect(server.logs()).toContain('"route":"/console/sign-in"');
    await context.close();
  }, 120_000);

  it('works at 360 px and by keyboard alone', async () => {
    const origin = server.url;
    const { context, page, offOrigin } = await offlineContext(chromium.browser, origin, { width: 360, height: 740 });
    await page.goto(`${origin}/console`);
    // Keyboard only: Tab to the key field, type, Enter.
    await eventually('the API key field to take focus', async () => {
      await page.keyboard.press('Tab');
      return page.evaluate(() => document.activeElement?.id === 'apiKey');
    });
    await page.keyboard.type(ADMIN);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Review queue' }).waitFor();
    const noSidewaysScroll = async (paths: string[]) => {
      for (const path of paths) {
        await page.goto(`${origin}${path}`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `${path} scrolls sideways at 360 px`).toBeLessThanOrEqual(0);
      }
    };
    await noSidewaysScroll(['/console/review', '/console/advertisers', '/console/clients']);
    // An advertiser with a campaign and a creative, made over the API, for the advertiser pages.
    const adv = await http(server, 'POST', '/v1/advertisers', ADMIN, {
      name: 'Narrow Screen Bakery With A Rather Long Name',
      website: 'https://narrow.example',
    });
    const campaign = await http(server, 'POST', '/v1/campaigns', adv.body.apiKey, {
      name: 'Narrow',
      bid: { type: 'cpm', amountMicros: 1_000_000 },
    });
    const form = new FormData();
    form.set('file', new File([png(90, 160, 5) as Uint8Array<ArrayBuffer>], 'n.png', { type: 'image/png' }));
    form.set('headline', 'Fits a small phone');
    form.set('ctaType', 'website');
    form.set('ctaTarget', 'https://narrow.example');
    await fetch(`${origin}/v1/campaigns/${campaign.body.id}/creatives`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adv.body.apiKey}` },
      body: form,
    });
    await signOut(page);
    await signIn(page, origin, adv.body.apiKey, 'Campaigns');
    await noSidewaysScroll([
      '/console/campaigns',
      `/console/campaigns/${campaign.body.id}`,
      '/console/campaigns/new',
      '/console/profile',
      '/console/reports',
      '/console/forecast',
    ]);
    expect(offOrigin).toEqual([]);
    await context.close();
  });

  it('serves /docs offline: Swagger UI from the app itself renders the API', async () => {
    const { context, page, offOrigin } = await offlineContext(chromium.browser, server.url);
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${server.url}/docs`);
    await page.getByRole('heading', { name: /Status-feed ad serving engine/ }).waitFor();
    await page.getByText('/v1/slots').first().waitFor();
    expect(offOrigin).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('declares a tab icon on /docs and the console, so the browser asks for no /favicon.ico (a 404 in its console)', async () => {
    // A context without request routing: with routing on, Chromium asks for no icon at all.
    const context = await chromium.browser.newContext();
    const page = await context.newPage();
    const unmatched = () => server.logs().match(/"route":"unmatched"/g)?.length ?? 0;
    const before = unmatched();
    for (const path of ['/docs', '/console']) {
      await page.goto(`${server.url}${path}`);
      await page.waitForLoadState('load');
      await page.waitForTimeout(1_000); // the icon is asked for after the load
    }
    expect(unmatched()).toBe(before);
    await context.close();
  });
});
