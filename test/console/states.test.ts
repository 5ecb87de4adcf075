/**
 * The console's error and edge states in Chromium against the real Node server, as an outside suite drives
 * them by label, role and visible text: a form sent back with its errors logs nothing in the browser's
 * console and marks each error at its field; a new key survives no reload; wide tables scroll by keyboard;
 * long unbroken names wrap at 375 px; a file over every limit gets a console page with the way back.
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { png } from '../helpers/media.js';
import { ADMIN, http, type RealServer, removeDir, startServer, stopServer } from '../helpers/server.js';
import { type ConsoleBrowser, launchBrowser, offlineContext, signIn, signOut, textOf } from './browser.js';

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

async function newAdvertiser(name: string) {
  const adv = await http(server, 'POST', '/v1/advertisers', ADMIN, { name });
  const key = adv.body.apiKey as string;
  const campaign = await http(server, 'POST', '/v1/campaigns', key, { name, bid: { type: 'cpm', amountMicros: 1_000_000 } });
  return { key, campaignId: campaign.body.id as string };
}

async function upload(key: string, campaignId: string, headline: string) {
  const form = new FormData();
  form.set('file', new File([png(90, 160, headline.length) as Uint8Array<ArrayBuffer>], 'ad.png', { type: 'image/png' }));
  form.set('headline', headline);
  form.set('ctaType', 'website');
  form.set('ctaTarget', 'https://example.com');
  const res = await fetch(`${server.url}/v1/campaigns/${campaignId}/creatives`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}` },
    body: form,
  });
  return ((await res.json()) as { id: string }).id;
}

/** The error texts a field is described by, and whether it is marked invalid. */
async function fieldError(page: Page, field: ReturnType<Page['getByLabel']>) {
  const ids = ((await field.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
  const described = await Promise.all(ids.map((id) => textOf(page.locator(`[id="${id}"]`))));
  return { invalid: await field.getAttribute('aria-invalid'), described };
}

describe('console error and edge states, in Chromium on Node', () => {
  it('sends a form back with its errors as a page that loaded: nothing in the console, each error at its field', async () => {
    const { key, campaignId } = await newAdvertiser('States Co');
    await upload(key, campaignId, 'First of two');
    await upload(key, campaignId, 'Second of two');
    const { context, page } = await offlineContext(chromium.browser, server.url);
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
    });

    // A wrong key: the error is announced and tied to the key field.
    await page.goto(`${server.url}/console`);
    await page.getByLabel('API key').fill('sk_adv_this_key_does_not_exist');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'This API key is not valid.' }).waitFor();
    expect(await fieldError(page, page.getByLabel('API key'))).toEqual({
      invalid: 'true',
      described: ['This API key is not valid.'],
    });

    // An operator form with one bad field keeps every other field.
    await signIn(page, server.url, ADMIN, 'Review queue');
    await page.getByRole('link', { name: 'Advertisers' }).click();
    await page.getByLabel('Business name').fill('Kept Name');
    await page.getByLabel('Description').fill('Kept description');
    await page.getByLabel('Email').fill('not-an-email');
    await page.getByRole('button', { name: 'Create advertiser' }).click();
    await page.getByRole('alert').filter({ hasText: 'There is a problem' }).waitFor();
    expect((await fieldError(page, page.getByLabel('Email'))).invalid).toBe('true');
    expect(await page.getByLabel('Business name').inputValue()).toBe('Kept Name');
    expect(await page.getByLabel('Description').inputValue()).toBe('Kept description');

    // A blank reason (spaces pass the browser's `required`): the error sits at that creative's reason field.
    await page.getByRole('link', { name: 'Review queue' }).click();
    const second = page.getByRole('article', { name: 'Second of two' });
    await second.getByLabel('Reason for rejection').fill('   ');
    await second.getByRole('button', { name: 'Reject' }).click();
    await page.getByRole('alert').filter({ hasText: 'Reason for rejection of “Second of two”' }).waitFor();
    const reason = page.getByRole('article', { name: 'Second of two' }).getByLabel('Reason for rejection');
    expect(await fieldError(page, reason)).toEqual({ invalid: 'true', described: ['a rejection needs a reason'] });
    expect(
      await page.getByRole('article', { name: 'First of two' }).getByLabel('Reason for rejection').getAttribute('aria-invalid'),
    ).toBeNull();
    await reason.fill('Blurry photo');
    await page.getByRole('article', { name: 'Second of two' }).getByRole('button', { name: 'Reject' }).click();
    await page.getByRole('status').filter({ hasText: 'Creative rejected.' }).waitFor();
    await signOut(page);

    // The advertiser's forms: a campaign and a report range.
    await signIn(page, server.url, key, 'Campaigns');
    await page.getByRole('link', { name: 'New campaign' }).click();
    await page.getByLabel('Campaign name').fill('Kept campaign');
    await page.getByLabel('Bid amount').fill('abc');
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.getByRole('alert').filter({ hasText: 'There is a problem' }).waitFor();
    expect((await fieldError(page, page.getByLabel('Bid amount'))).invalid).toBe('true');
    expect(await page.getByLabel('Campaign name').inputValue()).toBe('Kept campaign');
    await page.goto(`${server.url}/console/reports?campaign=${campaignId}&from=2027-02-01&to=2027-01-01`);
    expect((await fieldError(page, page.getByLabel('From'))).invalid).toBe('true');

    expect(consoleErrors).toEqual([]);
    await context.close();
  });

  it('shows a new key once: reloading the page after creating an advertiser or a feed client creates nothing', async () => {
    const { context, page } = await offlineContext(chromium.browser, server.url);
    page.on('dialog', (d) => void d.accept());
    await signIn(page, server.url, ADMIN, 'Review queue');
    await page.getByRole('link', { name: 'Advertisers' }).click();
    await page.getByLabel('Business name').fill('Reload Bakery');
    await page.getByRole('button', { name: 'Create advertiser' }).click();
    const keyBox = page.getByRole('status').filter({ hasText: 'API key for Reload Bakery' });
    expect(await textOf(keyBox.locator('code'))).toMatch(/^sk_adv_/);
    const count = async () =>
      ((await http(server, 'GET', '/v1/advertisers', ADMIN)).body.advertisers as { name: string }[]).filter(
        (a) => a.name === 'Reload Bakery',
      ).length;
    expect(await count()).toBe(1);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Advertisers' }).waitFor();
    expect(await page.getByText('shown only once').count()).toBe(0);
    expect(await count()).toBe(1);

    await page.getByRole('link', { name: 'Feed clients' }).click();
    await page.getByLabel('Client name').fill('Reload Messenger');
    await page.getByRole('button', { name: 'Create feed client' }).click();
    const clientKey = await textOf(page.getByRole('status').filter({ hasText: 'Reload Messenger' }).locator('code'));
    expect(clientKey).toMatch(/^sk_cli_/);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Feed clients' }).waitFor();
    expect(await page.getByText('shown only once').count()).toBe(0);
    await context.close();
  });

  it('lets the keyboard scroll a table wider than the screen (axe wcag2a/aa clean), and wraps long names at 375 px', async () => {
    const long = 'Donaudampfschifffahrtsgesellschaftskapitän'.repeat(4);
    const { key, campaignId } = await newAdvertiser(long);
    await upload(key, campaignId, 'H'.repeat(90));
    const { context, page } = await offlineContext(chromium.browser, server.url, { width: 375, height: 800 });
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    const wcag = async () =>
      (await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()).violations.map(
        (v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
      );

    await signIn(page, server.url, ADMIN, 'Review queue');
    expect(await overflow()).toBe(0);
    expect(await wcag()).toEqual([]);
    await signOut(page);

    await signIn(page, server.url, key, 'Campaigns');
    expect(await overflow()).toBe(0);
    expect(await wcag()).toEqual([]);
    await page.goto(`${server.url}/console/campaigns/${campaignId}`);
    expect(await overflow()).toBe(0);
    expect(await wcag()).toEqual([]);

    await page.getByRole('link', { name: 'Reports', exact: true }).first().click();
    await page.getByRole('table', { name: /Daily figures/ }).waitFor();
    expect(await overflow()).toBe(0);
    expect(await wcag()).toEqual([]);
    // Tab to the table's box, then the arrow keys scroll it.
    const box = page.locator('.table-wrap', { has: page.getByRole('table', { name: /Daily figures/ }) });
    expect(await box.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
    for (let i = 0; i < 40 && !(await box.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
    expect(await box.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => box.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
    await context.close();
  });

  it('answers a file over every upload limit with a console page that says so and leads back', async () => {
    const { key, campaignId } = await newAdvertiser('Big File Co');
    const { context, page } = await offlineContext(chromium.browser, server.url);
    await signIn(page, server.url, key, 'Campaigns');
    await page.goto(`${server.url}/console/campaigns/${campaignId}`);
    const big = Buffer.alloc(18 * 1024 * 1024);
    png(1, 1).copy(big);
    await page.getByLabel('Image or video file').setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: big });
    await page.getByLabel('Headline').fill('Too big');
    await page.getByLabel('Call-to-action target').fill('https://example.com');
    await page.getByRole('button', { name: 'Upload creative' }).click();
    await page.getByRole('heading', { level: 1, name: 'Too large' }).waitFor();
    expect(await textOf(page.getByRole('alert'))).toBe('This file is too large: images up to 5 MB, videos up to 16 MB.');
    await page.getByRole('link', { name: 'Back to the campaign' }).click();
    await page.getByRole('heading', { level: 1, name: 'Big File Co' }).waitFor();
    await context.close();
  });
});
