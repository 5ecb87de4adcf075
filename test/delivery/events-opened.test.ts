/**
 * Where the engine runs on another thread (Node), event tokens are opened by the HTTP side with a signer over the
 * engine's own key list and the engine only records (`Delivery.recordOpened`): an event's CPU is spread over both
 * threads. In process here, with the real engine (a `Delivery` instance, as it is on the engine thread) and
 * SQLite store; the engine's own `events` must not be called, and the app never sees `recordOpened`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppDeps } from '../../src/api/context.js';
import { readSettings } from '../../src/config.js';
import { FsMediaStorage } from '../../src/media/fs.js';
import { TokenSigner } from '../../src/privacy/token.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { createEngine, createRemoteService } from '../../src/wiring.js';
import { ADMIN_KEY, apiHelpers } from '../helpers/api.js';
import { servedClaims } from '../helpers/tokens.js';

const SECRET = 'test-secret';

/** The remote service over an in-process engine built with `tokenSecrets` (main's options carry only SECRET). */
function remoteOver(tokenSecrets?: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'events-opened-'));
  const clock = { now: Date.UTC(2026, 10, 25, 12) };
  const settings = readSettings({ RATE_LIMIT_ADVERTISER: '0' });
  const store = createSqliteStore({ path: join(dir, 'ads.db'), userCacheSize: 100 });
  const opened: number[] = [];
  const ctx = {
    clock,
    opened,
    api: undefined as unknown as ReturnType<typeof apiHelpers>,
    service: undefined as unknown as ReturnType<typeof createRemoteService>,
    async start() {
      const engine = await createEngine({ settings, store, secret: SECRET, tokenSecrets, clock: () => clock.now });
      vi.spyOn(engine.delivery, 'events').mockRejectedValue(new Error('the engine was asked to open event tokens'));
      const record = engine.delivery.recordOpened.bind(engine.delivery);
      vi.spyOn(engine.delivery, 'recordOpened').mockImplementation((batch) => {
        opened.push(batch.items.length);
        return record(batch);
      });
      ctx.service = createRemoteService(
        {
          settings,
          store,
          media: new FsMediaStorage(join(dir, 'media')),
          adminKey: ADMIN_KEY,
          secret: SECRET,
          clock: () => clock.now,
        },
        {
          delivery: engine.delivery,
          forecasts: engine.forecasts,
          indexLoaded: () => engine.index.loaded,
          refreshIndex: () => engine.index.refresh(),
          tokenSecrets: engine.tokenSecrets,
        },
      );
      const { app } = ctx.service;
      ctx.api = apiHelpers(
        (path, init) => Promise.resolve(app.request(path, init)),
        () => clock.now,
      );
    },
    async stop() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return ctx;
}

describe('events with the engine elsewhere: tokens opened on the HTTP side', () => {
  const remote = remoteOver();
  beforeAll(() => remote.start());
  afterAll(() => remote.stop());

  it('accepts, deduplicates and refuses item by item as before, the engine recording what this side opened', async () => {
    const { api, clock, opened } = remote;
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
    // One character of the sealed part changed (a nonce byte): always a different token, whatever it ends with.
    const at = token.indexOf('.') + 5;
    const forged = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    const post = (events: { token: string; type: string }[]) => api.call('POST', '/v1/events', client.key, { events });

    const first = await post([
      { token, type: 'impression' },
      { token, type: 'impression' },
      { token: forged, type: 'click' },
      { token: foreign, type: 'impression' },
      { token: token.slice(0, -8), type: 'click' },
      { token, type: 'click' },
    ]);
    expect(first.status).toBe(200);
    expect(first.body.results).toEqual([
      { status: 'accepted' },
      { status: 'duplicate' },
      { status: 'rejected', reason: 'invalid_token' },
      { status: 'rejected', reason: 'invalid_token' },
      { status: 'rejected', reason: 'invalid_token' },
      { status: 'accepted' },
    ]);
    clock.now += 15 * 60_000 + 1;
    const expired = await post([{ token: late, type: 'impression' }]);
    expect(expired.body.results).toEqual([{ status: 'rejected', reason: 'expired_token' }]);
    expect(opened).toEqual([6, 1]);
    const report = await api.call('GET', `/v1/reports?campaign=${campaignId}&from=2026-11-25&to=2026-11-25`, advertiser.key);
    expect(report.body.rows).toMatchObject([{ impressions: 1, clicks: 1 }]);
  });

  it('hands the routes a delivery without `recordOpened`, which records claims as already verified', () => {
    expect('recordOpened' in remote.service.delivery).toBe(false);
    // Type level: no route can reach it either.
    const reach = (deps: AppDeps) =>
      // @ts-expect-error recordOpened is not part of what the routes get
      deps.delivery.recordOpened;
    expect(reach).toBeTypeOf('function');
  });
});

describe('events with the engine elsewhere: key rotation (TOKEN_SECRET, TOKEN_SECRET_PREVIOUS)', () => {
  const remote = remoteOver(['new', 'old']);
  beforeAll(() => remote.start());
  afterAll(() => remote.stop());

  it('opens tokens with the engine’s keys: the current and the previous one, never another', async () => {
    const { api, opened } = remote;
    const { campaignId } = await api.seedCampaign({ campaign: { pacing: 'asap' } });
    const client = await api.newClient();
    const slot = async (user: string) => {
      const res = await api.call('POST', '/v1/slots', client.key, { user, statuses: 10 });
      expect(res.status).toBe(200);
      expect(res.body.slots[0].ad.campaignId).toBe(campaignId);
      return res.body.slots[0].token as string;
    };
    // Sealed by the engine with the current key.
    const current = await slot('u1');
    // A real reservation sealed again under the previous key (in flight across a rotation), and under a stranger's.
    const claims = await servedClaims(['new'], await slot('u2'), client.id, remote.clock.now);
    const previous = await new TokenSigner(['old']).slotToken(claims);
    const stranger = await new TokenSigner(['other']).slotToken(claims);

    const res = await api.call('POST', '/v1/events', client.key, {
      events: [
        { token: stranger, type: 'impression' },
        { token: previous, type: 'impression' },
        { token: current, type: 'impression' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { status: 'rejected', reason: 'invalid_token' },
      { status: 'accepted' },
      { status: 'accepted' },
    ]);
    expect(opened).toEqual([3]);
  });
});
