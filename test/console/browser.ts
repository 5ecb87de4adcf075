/**
 * Debian's Chromium driven by playwright-core for the console suites: one
 * browser per file, offline (every request that leaves the app's origin is
 * recorded and aborted), and small helpers that find things by label, role
 * and visible text.
 */

import { existsSync } from 'node:fs';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface ConsoleBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** One headless Chromium; playwright gives every launch a fresh temporary profile (user-data-dir) and removes it on close. */
export async function launchBrowser(): Promise<ConsoleBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-gpu',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

export interface OfflineContext {
  context: BrowserContext;
  page: Page;
  /** URLs the page tried to fetch from any other origin (all aborted). */
  offOrigin: string[];
  /** Every URL the page requested, in order. */
  requested: string[];
  /** Same-origin URLs answered 404 (each is an error in the browser's console, e.g. a missing /favicon.ico). */
  notFound: string[];
}

/** A browser context that may only talk to `origin`: anything else is recorded and aborted. */
export async function offlineContext(
  browser: Browser,
  origin: string,
  options: { width?: number; height?: number } = {},
): Promise<OfflineContext> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1200, height: options.height ?? 900 },
    acceptDownloads: true,
    serviceWorkers: 'block',
  });
  const offOrigin: string[] = [];
  await context.route(
    (url) => url.origin !== origin && url.protocol !== 'blob:' && url.protocol !== 'data:',
    async (route) => {
      offOrigin.push(route.request().url());
      await route.abort('blockedbyclient');
    },
  );
  const requested: string[] = [];
  context.on('request', (request) => {
    requested.push(request.url());
    const url = new URL(request.url());
    if (url.origin !== origin && url.protocol !== 'blob:' && url.protocol !== 'data:') offOrigin.push(request.url());
  });
  const notFound: string[] = [];
  context.on('response', (response) => {
    if (response.status() === 404 && new URL(response.url()).origin === origin) notFound.push(response.url());
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return { context, page, offOrigin, requested, notFound };
}

/** Signs in through the form, by its label and button; waits for the page it lands on. */
export async function signIn(page: Page, origin: string, key: string, landing: string): Promise<void> {
  await page.goto(`${origin}/console`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: landing }).waitFor();
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').waitFor();
}

/** The visible text of a locator, whitespace collapsed. */
export async function textOf(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: the visible text (innerText), not the DOM's text content
  return (await locator.innerText()).replace(/\s+/g, ' ').trim();
}

/** Waits until `probe` returns true (re-evaluated every 50 ms), or fails with `what`. */
export async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** axe-core violations of critical impact on the current page (serious ones are returned too, for the message). */
export async function axeViolations(page: Page): Promise<{ critical: string[]; serious: string[] }> {
  const result = await new AxeBuilder({ page }).analyze();
  const describe = (v: (typeof result.violations)[number]) =>
    `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`;
  return {
    critical: result.violations.filter((v) => v.impact === 'critical').map(describe),
    serious: result.violations.filter((v) => v.impact === 'serious').map(describe),
  };
}

/** Whether an <img> or <video> actually decoded its media (not just that the element is there). */
export async function mediaLoaded(locator: Locator): Promise<boolean> {
  return locator.evaluate(async (el) => {
    if (el instanceof HTMLImageElement) {
      if (!el.complete) await new Promise((r) => el.addEventListener('load', r, { once: true }));
      return el.naturalWidth > 0;
    }
    if (el instanceof HTMLVideoElement) {
      if (el.readyState < 1) {
        await new Promise((r) => {
          el.addEventListener('loadedmetadata', r, { once: true });
          el.addEventListener('error', r, { once: true });
        });
      }
      return el.readyState >= 1 && el.videoWidth > 0;
    }
    return false;
  });
}
