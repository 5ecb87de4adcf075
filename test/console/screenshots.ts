/**
 * `npm run screenshots`: the README's two console screenshots (the phone
 * preview and the report chart), taken in Chromium from a real Node server
 * seeded over the API, saved as small PNGs under docs/.
 */
import { join } from 'node:path';
import { png } from '../helpers/media.js';
import { ADMIN, http, removeDir, startServer, stopServer } from '../helpers/server.js';
import { launchBrowser, offlineContext, signIn } from './browser.js';

const DOCS = join(import.meta.dirname, '../../docs');

/** A warm sunrise poster, 9:16, so the preview shows what an ad looks like. */
const poster = png(360, 640, 0, (x, y) => {
  const sun = Math.hypot(x - 180, y - 300) < 70;
  if (sun) return [255, 214, 102];
  const t = y / 640;
  return [Math.round(250 - 120 * t), Math.round(150 - 90 * t), Math.round(90 + 80 * t)];
});

async function main() {
  const server = await startServer({ env: { RATE_LIMIT_ADVERTISER: '0' } });
  const chromium = await launchBrowser();
  try {
    const adv = await http(server, 'POST', '/v1/advertisers', ADMIN, {
      name: 'Bäckerei Sonne',
      description: 'Sourdough and pastries since 1921',
      address: 'Hauptstraße 1, Berlin',
      website: 'https://sonne.example',
      email: 'hello@sonne.example',
    });
    const key = adv.body.apiKey as string;
    const campaign = await http(server, 'POST', '/v1/campaigns', key, {
      name: 'Sunday bread',
      bid: { type: 'cpm', amountMicros: 2_000_000 },
      budget: { dailyMicros: 10_000_000 },
    });
    const form = new FormData();
    form.set('file', new File([poster as Uint8Array<ArrayBuffer>], 'sunrise.png', { type: 'image/png' }));
    form.set('headline', 'Fresh bread every morning');
    form.set('ctaType', 'website');
    form.set('ctaTarget', 'https://sonne.example/order');
    const upload = await fetch(`${server.url}/v1/campaigns/${campaign.body.id}/creatives`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}` },
      body: form,
    });
    const creative = (await upload.json()) as { id: string };
    await http(server, 'POST', `/v1/creatives/${creative.id}/review`, ADMIN, { decision: 'approve' });
    const client = await http(server, 'POST', '/v1/clients', ADMIN, { name: 'Messenger' });
    // Some people see the ad today; a few tap it.
    for (let i = 0; i < 24; i++) {
      const slots = await http(server, 'POST', '/v1/slots', client.body.apiKey, { user: `screenshot-user-${i}`, statuses: 8 });
      const token = slots.body.slots[0]?.token;
      if (!token) continue;
      const events = [{ token, type: 'impression' }, ...(i % 5 === 0 ? [{ token, type: 'click' }] : [])];
      await http(server, 'POST', '/v1/events', client.body.apiKey, { events });
    }

    const { page } = await offlineContext(chromium.browser, server.url, { width: 900, height: 1000 });
    await signIn(page, server.url, key, 'Campaigns');
    await page.goto(`${server.url}/console/campaigns/${campaign.body.id}`);
    const preview = page.getByRole('article', { name: 'Fresh bread every morning' }).getByRole('figure');
    await preview.getByRole('img').evaluate((img: HTMLImageElement) => img.decode());
    await preview.screenshot({ path: join(DOCS, 'console-preview.png') });
    await page.goto(`${server.url}/console/reports`);
    await page
      .getByRole('img', { name: 'Daily impressions, reach, clicks and spend' })
      .screenshot({ path: join(DOCS, 'console-report.png') });
    console.log('saved docs/console-preview.png and docs/console-report.png');
  } finally {
    await chromium.close();
    await stopServer(server, 'SIGTERM');
    removeDir(server.dir);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
