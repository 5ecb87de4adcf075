/**
 * Token forgery and replay, click and impression fraud, content smuggling and
 * injection: each attack from SECURITY.md that is not covered by isolation,
 * fuzzing or limits has its proof here.
 */

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenSigner } from '../../src/privacy/token.js';
import { makeWorld, snapshot, type World } from '../helpers/isolation.js';
import { SECRET } from '../helpers/service.js';
import { servedClaims } from '../helpers/tokens.js';

describe('slot tokens: forgery and replay', () => {
  let w: World;
  let token: string;
  let served: { campaignId: string };
  beforeAll(async () => {
    w = await makeWorld();
    const slot = (await w.s.call('POST', '/v1/slots', w.client.key, { user: 'fraud-victim', statuses: 20 })).body.slots[0];
    token = slot.token;
    served = slot.ad;
  });
  afterAll(() => w.s.close());

  const post = (events: { token: string; type: string }[]) => w.s.call('POST', '/v1/events', w.client.key, { events });
  const spend = () => {
    const db = new Database(join(w.s.dir, 'ads.db'), { readonly: true });
    try {
      return (db.prepare('SELECT coalesce(sum(spend_micros), 0) AS s FROM campaign_spend').get() as { s: number }).s;
    } finally {
      db.close();
    }
  };

  it('rejects tampered, truncated, re-signed and foreign tokens item by item, changing nothing', async () => {
    const [kid, sent] = token.split('.');
    const claims = await servedClaims(SECRET, token, w.client.id, w.s.clock.now);
    const other = served.campaignId === w.a.campaignId ? w.b : w.a;
    // Without the key nobody can seal a token: a foreign key's, under our key id, for another reservation, another
    // campaign and a longer life; as a handle (what Node serves) and as sealed claims.
    const foreignKey = new TokenSigner('some-other-deployment');
    const bodyOf = async (t: string | Promise<string>) => (await t).split('.')[1];
    const nextReservation = await bodyOf(foreignKey.slotToken({ ...claims, reservationNumber: claims.reservationNumber! + 1 }));
    const otherCampaign = await bodyOf(
      foreignKey.sign({ ...claims, campaignId: other.campaignId, creativeId: other.creativeId }),
    );
    const longerLife = await bodyOf(foreignKey.slotToken({ ...claims, expiresAt: claims.expiresAt + 86_400_000 }));
    const longerClaims = await bodyOf(foreignKey.sign({ ...claims, expiresAt: claims.expiresAt + 86_400_000 }));
    const foreign = await foreignKey.slotToken(claims);
    const sealed = Buffer.from(sent, 'base64url');
    const flipped = Buffer.from(sealed);
    flipped[sealed.length - 3] ^= 0x40;
    const forged = [
      `${kid}.${nextReservation}`,
      `${kid}.${otherCampaign}`,
      `${kid}.${longerLife}`,
      `${kid}.${longerClaims}`,
      `${kid}.${flipped.toString('base64url')}`,
      `${kid}.${sent.slice(0, -2)}`,
      `${kid}.`,
      `${sent}`,
      `${kid}.${sent}.x`,
      foreign,
      `${kid}.${Buffer.from('[1,2,3]').toString('base64url')}`,
      '.',
    ];
    const before = snapshot(w.s.dir);
    const res = await post(forged.map((t) => ({ token: t, type: 'impression' })));
    expect(res.status).toBe(200);
    res.body.results.forEach((r: unknown, i: number) =>
      expect(r, `forged token #${i}`).toEqual({ status: 'rejected', reason: 'invalid_token' }),
    );
    expect(snapshot(w.s.dir)).toBe(before);
    // "Why this ad" cannot be probed with a forged token either.
    expect((await w.s.call('POST', '/v1/why', w.client.key, { token: forged[0] })).status).toBe(400);
  });

  it('counts and charges a replayed impression once, however often and however batched', async () => {
    const first = await post([
      { token, type: 'impression' },
      { token, type: 'impression' },
    ]);
    expect(first.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'duplicate']);
    const charged = spend();
    expect(charged).toBeGreaterThan(0);
    const replays = await Promise.all(Array.from({ length: 20 }, () => post(Array(50).fill({ token, type: 'impression' }))));
    for (const r of replays) expect(r.body.results.every((x: { status: string }) => x.status === 'duplicate')).toBe(true);
    expect(spend()).toBe(charged);
  });

  it('rejects expired tokens (TOKEN_TTL) and never charges them', async () => {
    const late = (await w.s.call('POST', '/v1/slots', w.client.key, { user: 'late-user', statuses: 20 })).body.slots[0].token;
    const charged = spend();
    w.s.clock.advance(15 * 60_000 + 1);
    const res = await post([{ token: late, type: 'impression' }]);
    expect(res.body.results[0]).toEqual({ status: 'rejected', reason: 'expired_token' });
    expect(spend()).toBe(charged);
  });

  it('bounds what one user can be shown, and so what fake impressions for one user can cost (user cap)', async () => {
    let served = 0;
    for (let i = 0; i < 20; i++)
      served += (await w.s.call('POST', '/v1/slots', w.client.key, { user: 'bot-user', statuses: 20 })).body.slots.length;
    expect(served).toBeLessThanOrEqual(w.s.settings.userCap.impressions);
  });

  it('only feed-client keys can post events: an advertiser cannot inflate a rival’s spend', async () => {
    const res = await w.s.call('POST', '/v1/events', w.a.key, { events: [{ token, type: 'impression' }] });
    expect(res.status).toBe(403);
  });
});

describe('content smuggling and injection', () => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld();
  });
  afterAll(() => w.s.close());

  it.each(['text', 'body', 'caption', 'message', 'content', 'media'])(
    'the feed API rejects a "%s" field as message content',
    async (field) => {
      for (const [path, body] of [
        ['/v1/slots', { user: 'u', statuses: 5, [field]: 'hello from my chat' }],
        ['/v1/users/block', { user: 'u', advertiser: w.a.id, [field]: 'x' }],
        ['/v1/events', { events: [{ token: 't', type: 'impression', [field]: 'x' }] }],
      ] as const) {
        const before = snapshot(w.s.dir);
        const res = await w.s.call('POST', path, w.client.key, body);
        expect(res.status, path).toBe(400);
        expect(res.body.type).toBe('/problems/content-rejected');
        expect(res.body.detail).toMatch(/no message content/);
        expect(snapshot(w.s.dir)).toBe(before);
      }
    },
  );

  it('context carries only country, language and platform', async () => {
    const res = await w.s.call('POST', '/v1/slots', w.client.key, {
      user: 'u',
      statuses: 5,
      context: { country: 'DE', contacts: ['bob'] },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('context.contacts');
  });

  it('SQL and script payloads are stored and returned verbatim as data, never executed', async () => {
    const payloads = [
      "Robert'); DROP TABLE campaigns;--",
      '" OR 1=1 --',
      '<script>alert(1)</script>',
      '${7*7}{{7*7}}',
      '\u202enul',
    ];
    for (const name of payloads) {
      const created = await w.s.call('POST', '/v1/campaigns', w.a.key, { name, bid: { type: 'cpm', amountMicros: 1000 } });
      expect(created.status).toBe(201);
      expect(created.body.name).toBe(name.trim());
      expect(created.headers.get('content-type')).toMatch(/^application\/json/);
    }
    const list = await w.s.call('GET', '/v1/campaigns', w.a.key);
    expect(list.body.campaigns.length).toBeGreaterThanOrEqual(payloads.length + 1);
    expect((await w.s.call('GET', `/v1/campaigns/${w.b.campaignId}`, w.b.key)).status).toBe(200);
    // A report query with SQL in it is a validation error, not a query.
    const report = await w.s.call(
      'GET',
      `/v1/reports?campaign=${encodeURIComponent("x' OR '1'='1")}&from=2026-01-01&to=2026-12-31`,
      w.a.key,
    );
    expect(report.status).toBe(404);
  });
});
