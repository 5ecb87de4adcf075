/**
 * Smoke run of the console on the Worker (workerd through the repo's Miniflare
 * helpers, as `npm run start:worker` runs it) in Chromium, offline: sign in,
 * create an advertiser, a campaign and a creative shown in the phone preview
 * (media from R2), approve it, serve it, see the impression in the report; and
 * /docs from the Worker bundle.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorker, startLocalWorker } from '../../src/runtime/miniflare.js';
import { png } from '../helpers/media.js';
import { freePort, removeDir } from '../helpers/server.js';
import { type ConsoleBrowser, launchBrowser, mediaLoaded, offlineContext, signIn, signOut, textOf } from './browser.js';

const ADMIN = 'sk_admin_worker_console_0123456789abcdef';
let dir: string;
let mf: Miniflare;
let origin: string;
let chromium: ConsoleBrowser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'console-worker-'));
  const scriptPath = join(dir, 'worker.js');
  const [, browser] = await Promise.all([bundleWorker(scriptPath), launchBrowser()]);
  chromium = browser;
  mf = await startLocalWorker({
    scriptPath,
    bindings: { ADMIN_KEY: ADMIN, SECRET: 'console-worker-secret', RATE_LIMIT_ADVERTISER: '0', CATALOG_REFRESH_MS: '0' },
    host: '127.0.0.1',
    port: await freePort(),
  });
  origin = (await mf.ready).origin;
});

afterAll(async () => {
  await chromium?.close();
  await mf?.dispose();
  removeDir(dir);
});

describe('console on the Worker (workerd), in Chromium', () => {
  it('signs in, creates, uploads, previews, approves, serves and reports', async () => {
    const { context, page, offOrigin } = await offlineContext(chromium.browser, origin);
    await signIn(page, origin, ADMIN, 'Review queue');
    await page.getByRole('link', { name: 'Advertisers' }).click();
    await page.getByLabel('Business name').fill('Edge Bakery');
    await page.getByRole('button', { name: 'Create advertiser' }).click();
    const advertiserKey = await textOf(page.getByRole('status').filter({ hasText: 'API key for Edge Bakery' }).locator('code'));
    // The key rode the sealed session cookie through the redirect, once: a reload shows it no more.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Advertisers' }).waitFor();
    expect(await page.getByText('shown only once').count()).toBe(0);
    await page.getByRole('link', { name: 'Feed clients' }).click();
    await page.getByLabel('Client name').fill('Edge messenger');
    await page.getByRole('button', { name: 'Create feed client' }).click();
    const clientKey = await textOf(page.getByRole('status').filter({ hasText: 'API key for feed client' }).locator('code'));
    await signOut(page);

    await signIn(page, origin, advertiserKey, 'Campaigns');
    await page.getByRole('link', { name: 'New campaign' }).click();
    await page.getByLabel('Campaign name').fill('Edge campaign');
    await page.getByLabel('Bid amount').fill('1.50');
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.getByRole('heading', { level: 1, name: 'Edge campaign' }).waitFor();
    await page
      .getByLabel('Image or video file')
      .setInputFiles({ name: 'edge.png', mimeType: 'image/png', buffer: png(90, 160, 3) });
    await page.getByLabel('Headline').fill('Baked at the edge');
    await page.getByLabel('Call-to-action target').fill('https://edge.example');
    await page.getByRole('figure', { name: 'Live preview' }).getByRole('img', { name: 'Image: Baked at the edge' }).waitFor();
    await page.getByRole('button', { name: 'Upload creative' }).click();
    const card = page.getByRole('article', { name: 'Baked at the edge' });
    expect(await mediaLoaded(card.getByRole('img', { name: 'Image: Baked at the edge' }))).toBe(true);
    expect(await textOf(card)).toContain('Review: Pending review');
    await signOut(page);

    await signIn(page, origin, ADMIN, 'Review queue');
    await page.getByRole('article', { name: 'Baked at the edge' }).getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Nothing is waiting for review.').waitFor();
    await signOut(page);

    const post = async (path: string, body: unknown) =>
      (await (
        await fetch(`${origin}${path}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${clientKey}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as any;
    const slots = await post('/v1/slots', { user: 'edge-user', statuses: 10, context: { country: 'FR', platform: 'ios' } });
    expect(slots.slots.map((s: any) => s.ad.headline)).toEqual(['Baked at the edge']);
    expect((await post('/v1/events', { events: [{ token: slots.slots[0].token, type: 'impression' }] })).results[0].status).toBe(
      'accepted',
    );

    await signIn(page, origin, advertiserKey, 'Campaigns');
    await page.getByRole('link', { name: 'Reports' }).click();
    const chart = page.getByRole('img', { name: 'Daily impressions, reach, clicks and spend' });
    expect(await chart.textContent()).toContain('Impressions: 1 in total');
    await page.getByLabel('Break down by').selectOption({ label: 'Country' });
    await page.getByRole('button', { name: 'Show report' }).click();
    const byCountry = page.getByRole('table', { name: /^Figures by country/ });
    expect(await textOf(byCountry.getByRole('row', { name: /^FR / }))).toMatch(/^FR 1 1 0 0 0 0 /);
    await page.getByRole('link', { name: 'Forecast' }).click();
    await page.getByLabel('Bid amount').fill('1.50');
    await page.getByRole('button', { name: 'Run forecast' }).click();
    const forecast = page.getByRole('table', { name: /^Expected delivery on / });
    expect(await textOf(forecast.getByRole('row', { name: /Matching requests/ }))).toMatch(/^Matching requests \d+ \d+ \d+$/);

    await page.goto(`${origin}/docs`);
    await page.getByRole('heading', { name: /Status-feed ad serving engine/ }).waitFor();
    expect(offOrigin).toEqual([]);
    await context.close();
  }, 120_000);
});
