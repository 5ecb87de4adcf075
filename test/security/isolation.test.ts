/**
 * Tenant isolation (OWASP API1 broken object-level authorisation, API5 broken
 * function-level authorisation, API3 broken object-property-level authorisation):
 * every route × every key kind gets exactly the status PRODUCT.md promises.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRow, ISOLATION_TABLE, makeWorld, snapshot, type World } from '../helpers/isolation.js';
import { png } from '../helpers/media.js';

describe('tenant isolation: every route × every key kind', () => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld();
  });
  afterAll(() => w.s.close());

  it.each(ISOLATION_TABLE)('$route.name ($route.method) with $kind key → $status', (row) => checkRow(w, row));

  it('another tenant’s id answers exactly like an id that does not exist', async () => {
    const theirs = await w.s.call('GET', `/v1/campaigns/${w.a.campaignId}`, w.b.key);
    const missing = await w.s.call('GET', `/v1/campaigns/cmp_doesnotexist`, w.b.key);
    expect(theirs.status).toBe(404);
    expect({ ...theirs.body, detail: '' }).toEqual({ ...missing.body, detail: '' });
  });

  it('listings show only the caller’s own campaigns', async () => {
    const listA = await w.s.call('GET', '/v1/campaigns', w.a.key);
    const listB = await w.s.call('GET', '/v1/campaigns', w.b.key);
    expect(listA.body.campaigns.every((c: any) => c.advertiserId === w.a.id)).toBe(true);
    expect(listB.body.campaigns.every((c: any) => c.advertiserId === w.b.id)).toBe(true);
    expect(listB.body.campaigns.map((c: any) => c.id)).not.toContain(w.a.campaignId);
  });

  it('a slot token bound to advertiser A never lets advertiser B read its reports', async () => {
    const res = await w.s.call('GET', `/v1/reports?campaign=${w.a.campaignId}&from=2026-01-01&to=2026-12-31`, w.b.key);
    expect(res.status).toBe(404);
  });
});

describe('writable fields are allow-listed', () => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld();
  });
  afterAll(() => w.s.close());

  const campaign = { name: 'C', bid: { type: 'cpm', amountMicros: 1_000_000 } };
  const forbidden: [string, Record<string, unknown>][] = [
    ['id', { id: 'cmp_mine' }],
    ['advertiserId', { advertiserId: 'ADV_B' }],
    ['spendMicros', { spendMicros: 0 }],
    ['spend', { spend: 0 }],
    ['review', { review: 'approved' }],
    ['createdAt', { createdAt: '2020-01-01T00:00:00Z' }],
    ['budget.spentMicros', { budget: { dailyMicros: 1, spentMicros: 0 } }],
    ['bid.chargedMicros', { bid: { type: 'cpm', amountMicros: 1, chargedMicros: 0 } }],
  ];
  const sub = (v: Record<string, unknown>, b: string) => JSON.parse(JSON.stringify(v).replaceAll('ADV_B', b));

  it.each(forbidden)('POST /v1/campaigns rejects %s with 400 naming it', async (field, extra) => {
    const before = snapshot(w.s.dir);
    const res = await w.s.call('POST', '/v1/campaigns', w.a.key, { ...campaign, ...sub(extra, w.b.id) });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: any) => e.path)).toContain(field);
    expect(snapshot(w.s.dir)).toBe(before);
  });

  it.each(forbidden)('PATCH /v1/campaigns/{id} rejects %s with 400 naming it', async (field, extra) => {
    const before = snapshot(w.s.dir);
    const res = await w.s.call('PATCH', `/v1/campaigns/${w.a.campaignId}`, w.a.key, sub(extra, w.b.id));
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: any) => e.path)).toContain(field);
    expect(snapshot(w.s.dir)).toBe(before);
    const after = await w.s.call('GET', `/v1/campaigns/${w.a.campaignId}`, w.a.key);
    expect(after.body.advertiserId).toBe(w.a.id);
  });

  it.each(['id', 'createdAt', 'updatedAt', 'apiKey'])('PATCH /v1/me rejects %s', async (field) => {
    const res = await w.s.call('PATCH', '/v1/me', w.a.key, { [field]: 'x' });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: any) => e.path)).toContain(field);
  });

  it.each(['id', 'apiKey', 'keyHash'])('POST /v1/advertisers rejects %s', async (field) => {
    const res = await w.s.call('POST', '/v1/advertisers', w.keys.admin, { name: 'X', [field]: 'x' });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: any) => e.path)).toContain(field);
  });

  it.each([
    ['review', 'approved'],
    ['advertiserId', 'ADV_B'],
    ['campaignId', 'cmp_x'],
    ['id', 'crv_x'],
  ])('uploads reject the form field %s', async (field, value) => {
    const before = snapshot(w.s.dir);
    const res = await w.s.upload(w.a.key, w.a.campaignId, png(90, 160, 77), { [field]: value.replace('ADV_B', w.b.id) });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: any) => e.path)).toContain(field);
    expect(snapshot(w.s.dir)).toBe(before);
  });

  it('an upload is always pending review and owned by the campaign’s advertiser', async () => {
    const res = await w.s.upload(w.a.key, w.a.campaignId, png(90, 160, 78));
    expect(res.status).toBe(201);
    expect(res.body.review).toBe('pending');
    expect(res.body.advertiserId).toBe(w.a.id);
  });

  it('a feed client cannot pass a pseudonym or campaign with an event', async () => {
    const res = await w.s.call('POST', '/v1/events', w.client.key, {
      events: [{ token: w.token, type: 'click', uid: 'x', campaignId: w.b.campaignId }],
    });
    expect(res.status).toBe(400);
  });
});
