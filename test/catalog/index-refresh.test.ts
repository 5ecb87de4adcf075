/**
 * A refresh asked while another runs is not lost: where catalog reads are really asynchronous (D1), the running
 * one may have read the version before the asker's change committed and found nothing new. Real SQLite store;
 * only the catalog's `version()` is held back, to put its answer before the change.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CatalogIndex } from '../../src/catalog/index.js';
import type { CatalogStore } from '../../src/store/interface.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { advertiser, campaign, creative, media, T } from '../helpers/store-records.js';

const dirs: string[] = [];
const stores: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A real SQLite store with one active campaign and an approved creative. */
async function seededStore() {
  const dir = mkdtempSync(join(tmpdir(), 'index-refresh-'));
  dirs.push(dir);
  const store = createSqliteStore({ path: join(dir, 'ads.db'), userCacheSize: 10 });
  stores.push(store);
  const a = advertiser();
  await store.catalog.createAdvertiser(a, `hash-${a.id}`);
  const c = campaign(a.id);
  await store.catalog.createCampaign(c);
  const m = media();
  await store.catalog.putMedia(m);
  await store.catalog.createCreative(creative(c, m.sha256, { review: 'approved' }));
  return store;
}

describe('CatalogIndex.refresh', () => {
  it('runs again after the refresh in flight when asked meanwhile: a change committed in between is seen', async () => {
    const store = await seededStore();
    const c = { id: (await store.catalog.servable(() => '')).map((x) => x.id)[0] };

    let release = () => {};
    let hold = false;
    const catalog: CatalogStore = Object.create(store.catalog, {
      version: {
        value: async () => {
          const held = hold;
          const version = await store.catalog.version();
          if (held) await new Promise<void>((resolve) => (release = resolve));
          return version;
        },
      },
    });
    const index = new CatalogIndex(catalog, (sha) => `/media/${sha}`);
    await index.refresh(true);
    expect(index.campaign(c.id)?.status).toBe('active');

    hold = true;
    const running = index.refresh(); // reads the version now (unchanged), answers later
    hold = false;
    await store.catalog.updateCampaign(c.id, { status: 'paused' }, T + 1);
    const mine = index.refresh(); // after the change: must not be answered by the one in flight
    release();
    await Promise.all([running, mine]);
    expect(index.campaign(c.id)?.status).toBe('paused');
  });

  it('gives up on a refresh that never settles (a cancelled Workers request): the next one runs, and the old one cannot put back its catalog', async () => {
    const store = await seededStore();
    const c = (await store.catalog.servable(() => '')).map((x) => x.id);
    let release = () => {};
    let hold = false;
    const catalog: CatalogStore = Object.create(store.catalog, {
      servable: {
        value: async (url: (sha: string) => string) => {
          const held = hold;
          hold = false;
          const campaigns = await store.catalog.servable(url);
          if (held) await new Promise<void>((resolve) => (release = resolve));
          return campaigns;
        },
      },
    });
    const index = new CatalogIndex(catalog, (sha) => `/media/${sha}`, 50);
    await index.refresh(true);
    hold = true;
    const stuck = index.refresh(true); // reads the campaigns as active, then never answers until released
    while (hold) await new Promise((resolve) => setTimeout(resolve, 1));
    await store.catalog.updateCampaign(c[0], { status: 'paused' }, T + 1);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await index.refresh(); // not queued behind the stuck one
    expect(index.campaign(c[0])?.status).toBe('paused');
    release();
    await stuck;
    expect(index.campaign(c[0])?.status).toBe('paused');
  });
});
