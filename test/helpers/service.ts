/**
 * Builds the real service in-process for tests: a real SQLite file in a temp
 * folder, real media on disk, a controllable clock. Drive it with `app.request`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings, type Env } from '../../src/config.js';
import { FsMediaStorage } from '../../src/media/fs.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { createService } from '../../src/wiring.js';
import { png } from './media.js';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';
export const SECRET = 'test-secret';

export interface TestClock {
  now: number;
  advance(ms: number): void;
}

export async function makeService(env: Env = {}, start = Date.UTC(2026, 10, 25, 12, 0, 0)) {
  const dir = mkdtempSync(join(tmpdir(), 'status-ads-'));
  const clock: TestClock = {
    now: start,
    advance(ms) {
      this.now += ms;
    },
  };
  const settings = readSettings({ RATE_LIMIT_ADVERTISER: '0', ...env });
  let historyMs = () => settings.tokenTtlMs;
  const store = createSqliteStore({ path: join(dir, 'ads.db'), userCacheSize: settings.userCacheSize, historyMs: () => historyMs() });
  const service = await createService({
    settings,
    store,
    media: new FsMediaStorage(join(dir, 'media')),
    adminKey: ADMIN_KEY,
    secret: SECRET,
    clock: () => clock.now,
  });
  historyMs = () => service.delivery.historyMs();
  const { app } = service;

  /** JSON request with a bearer key; returns status, headers and parsed body. */
  async function call(method: string, path: string, key: string | undefined, body?: unknown) {
    const headers: Record<string, string> = {};
    if (key) headers.Authorization = `Bearer ${key}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await app.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, headers: res.headers, body: json };
  }

  async function upload(key: string, campaignId: string, file: Uint8Array, fields: Record<string, string> = {}, filename = 'ad.png', type = 'image/png') {
    const form = new FormData();
    form.set('file', new File([file as Uint8Array<ArrayBuffer>], filename, { type }));
    form.set('headline', fields.headline ?? 'Fresh bread daily');
    form.set('ctaType', fields.ctaType ?? 'website');
    form.set('ctaTarget', fields.ctaTarget ?? 'https://bakery.example');
    for (const [k, v] of Object.entries(fields)) if (!['headline', 'ctaType', 'ctaTarget'].includes(k)) form.set(k, v);
    const res = await app.request(`/v1/campaigns/${campaignId}/creatives`, { method: 'POST', headers: { Authorization: `Bearer ${key}` }, body: form });
    return { status: res.status, body: (await res.json()) as any };
  }

  async function newAdvertiser(name = 'Bakery') {
    const res = await call('POST', '/v1/advertisers', ADMIN_KEY, { name });
    return { id: res.body.advertiser.id as string, key: res.body.apiKey as string };
  }

  async function newClient(name = 'Messenger') {
    const res = await call('POST', '/v1/clients', ADMIN_KEY, { name });
    return { id: res.body.client.id as string, key: res.body.apiKey as string };
  }

  /** An advertiser with one active campaign and one approved creative. */
  async function seedCampaign(options: { advertiser?: { id: string; key: string }; campaign?: Record<string, unknown>; seed?: number } = {}) {
    const advertiser = options.advertiser ?? (await newAdvertiser());
    const campaign = await call('POST', '/v1/campaigns', advertiser.key, {
      name: 'Campaign',
      bid: { type: 'cpm', amountMicros: 2_000_000 },
      schedule: { start: new Date(clock.now - 1000).toISOString() },
      ...options.campaign,
    });
    if (campaign.status !== 201) throw new Error(`campaign: ${JSON.stringify(campaign.body)}`);
    const creative = await upload(advertiser.key, campaign.body.id, png(90, 160, options.seed ?? Math.floor(Math.random() * 1e6)));
    if (creative.status !== 201) throw new Error(`creative: ${JSON.stringify(creative.body)}`);
    await call('POST', `/v1/creatives/${creative.body.id}/review`, ADMIN_KEY, { decision: 'approve' });
    return { advertiser, campaignId: campaign.body.id as string, creativeId: creative.body.id as string };
  }

  async function close() {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }

  return { ...service, app, store, settings, clock, dir, call, upload, newAdvertiser, newClient, seedCampaign, close };
}

export type TestService = Awaited<ReturnType<typeof makeService>>;
