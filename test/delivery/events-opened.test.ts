/**
 * Where the engine runs on another thread (Node), event tokens are opened by the HTTP side with its own
 * signer and the engine only records (`Delivery.recordOpened`): an event's CPU is spread over both threads.
 * In process here, with the real engine and SQLite store; the engine's own `events` refuses to be called.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSettings } from '../../src/config.js';
import { FsMediaStorage } from '../../src/media/fs.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { createEngine, createRemoteService, type DeliveryApi } from '../../src/wiring.js';
import { ADMIN_KEY, apiHelpers } from '../helpers/api.js';

const SECRET = 'test-secret';

describe('events with the engine elsewhere: tokens opened on the HTTP side', () => {
  const dir = mkdtempSync(join(tmpdir(), 'events-opened-'));
  const clock = { now: Date.UTC(2026, 10, 25, 12) };
  const settings = readSettings({ RATE_LIMIT_ADVERTISER: '0' });
  const store = createSqliteStore({ path: join(dir, 'ads.db'), userCacheSize: 100 });
  const opened: number[] = [];
  let api: ReturnType<typeof apiHelpers>;

  beforeAll(async () => {
    const engine = await createEngine({ settings, store, secret: SECRET, clock: () => clock.now });
    const delivery: DeliveryApi = {
      slots: (input) => engine.delivery.slots(input),
      events: () => Promise.reject(new Error('the engine was asked to open event tokens')),
      recordOpened: (batch) => {
        opened.push(batch.items.length);
        return engine.delivery.recordOpened(batch);
      },
      block: (...a) => engine.delivery.block(...a),
      unblock: (...a) => engine.delivery.unblock(...a),
      mute: (...a) => engine.delivery.mute(...a),
      unmute: (...a) => engine.delivery.unmute(...a),
      blocks: (...a) => engine.delivery.blocks(...a),
      erase: (...a) => engine.delivery.erase(...a),
      why: (...a) => engine.delivery.why(...a),
      prune: (...a) => engine.delivery.prune(...a),
      historyMs: () => engine.delivery.historyMs(),
    };
    const { app } = createRemoteService(
      {
        settings,
        store,
        media: new FsMediaStorage(join(dir, 'media')),
        adminKey: ADMIN_KEY,
        secret: SECRET,
        clock: () => clock.now,
      },
      {
        delivery,
        forecasts: engine.forecasts,
        indexLoaded: () => engine.index.loaded,
        refreshIndex: () => engine.index.refresh(),
      },
    );
    api = apiHelpers(
      (path, init) => Promise.resolve(app.request(path, init)),
      () => clock.now,
    );
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts, deduplicates and refuses item by item as before, the engine recording what this side opened', async () => {
    const { campaignId, advertiser } = await api.seedCampaign({ campaign: { pacing: 'asap' } });
    const client = await api.newClient();
    const other = await api.newClient('Other messenger');
    const slot = async (key: string, user: string) => {
      const res = await api.call('POST', '/v1/slots', key, { user, statuses: 10 });
      expect(res.status).toBe(200);
      expect(res.body.slots[0].ad.campaignId).toBe(campaignId);
      return res.body.slots[0].token as string;
    };
    const token = await slot(client.key, 'u1');
    const late = await slot(client.key, 'u2');
    const foreign = await slot(other.key, 'u3');
    const forged = `${token.slice(0, -2)}${token.endsWith('A') ? 'BA' : 'AA'}`;
    const post = (events: { token: string; type: string }[]) => api.call('POST', '/v1/events', client.key, { events });

    const first = await post([
      { token, type: 'impression' },
      { token, type: 'impression' },
      { token: forged, type: 'click' },
      { token: foreign, type: 'impression' },
      { token, type: 'click' },
    ]);
    expect(first.status).toBe(200);
    expect(first.body.results).toEqual([
      { status: 'accepted' },
      { status: 'duplicate' },
      { status: 'rejected', reason: 'invalid_token' },
      { status: 'rejected', reason: 'invalid_token' },
      { status: 'accepted' },
    ]);
    clock.now += 15 * 60_000 + 1;
    const expired = await post([{ token: late, type: 'impression' }]);
    expect(expired.body.results).toEqual([{ status: 'rejected', reason: 'expired_token' }]);
    expect(opened).toEqual([5, 1]);
    const report = await api.call('GET', `/v1/reports?campaign=${campaignId}&from=2026-11-25&to=2026-11-25`, advertiser.key);
    expect(report.body.rows).toMatchObject([{ impressions: 1, clicks: 1 }]);
  });
});
