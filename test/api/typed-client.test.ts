import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes } from '../../src/api/app-type.js';
import { createClient, problemOf } from '../../src/client.js';
import { fixture } from '../helpers/fixtures.js';
import { ADMIN_KEY, makeService, type TestService } from '../helpers/service.js';

describe('typed client (hc over AppType) against the in-process app', () => {
  let s: TestService;
  /** The client's fetch goes straight into the app: no sockets. */
  const client = (apiKey?: string) =>
    createClient('http://ads.test', {
      apiKey,
      fetch: ((input: RequestInfo | URL, init?: RequestInit) => s.app.request(input, init)) as typeof fetch,
    });

  beforeAll(async () => {
    s = await makeService();
  });
  afterAll(() => s.close());

  it('covers every route of the OpenAPI document', async () => {
    const doc: any = await (await s.app.request('/openapi.json')).json();
    const documented = Object.entries<any>(doc.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => m !== 'head')
        .map((m) => `${m} ${path}`),
    );
    expect(apiRoutes.map((r) => `${r.method} ${r.path}`).sort()).toEqual(documented.sort());
  });

  it('walks an advertiser from sign-up to a daily report', async () => {
    const admin = client(ADMIN_KEY);
    const created = await admin.v1.advertisers.$post({ json: { name: 'Corner Bakery', website: 'https://bakery.example' } });
    expect(created.status).toBe(201);
    if (created.status !== 201) return;
    const { advertiser, apiKey } = await created.json();
    const feedKey = await admin.v1.clients.$post({ json: { name: 'Messenger' } });
    if (feedKey.status !== 201) throw new Error('client key');
    const feed = client((await feedKey.json()).apiKey);
    const me = client(apiKey);

    const campaign = await me.v1.campaigns.$post({
      json: {
        name: 'Morning rush',
        bid: { type: 'cpm', amountMicros: 2_000_000 },
        schedule: { start: new Date(s.clock.now - 1000).toISOString() },
      },
    });
    if (campaign.status !== 201) throw new Error('campaign');
    const { id: campaignId } = await campaign.json();

    const video = fixture('vertical-90x160-2s.mp4');
    const upload = await me.v1.campaigns[':id'].creatives.$post({
      param: { id: campaignId },
      form: {
        file: new File([video as Uint8Array<ArrayBuffer>], 'rush.mp4'),
        headline: 'Croissants at 7',
        ctaType: 'website',
        ctaTarget: 'https://bakery.example',
      },
    });
    expect(upload.status).toBe(201);
    if (upload.status !== 201) return;
    const creative = await upload.json();
    expect(creative.media).toMatchObject({ mime: 'video/mp4', width: 90, height: 160, durationMs: 2000 });

    const queue = await admin.v1.review.$get();
    if (queue.status !== 200) throw new Error('queue');
    expect((await queue.json()).creatives.map((c) => c.advertiser.name)).toEqual(['Corner Bakery']);
    const approved = await admin.v1.creatives[':id'].review.$post({ param: { id: creative.id }, json: { decision: 'approve' } });
    expect(approved.status).toBe(200);

    const slots = await feed.v1.slots.$post({ json: { user: 'opaque-user-1', statuses: 8 } });
    if (slots.status !== 200) throw new Error('slots');
    const [slot] = (await slots.json()).slots;
    expect(slot.ad).toMatchObject({ creativeId: creative.id, advertiser: { id: advertiser.id, name: 'Corner Bakery' } });
    expect(slot.ad.media.durationMs).toBe(2000);

    const events = await feed.v1.events.$post({
      json: {
        events: [
          { token: slot.token, type: 'impression' },
          { token: slot.token, type: 'click' },
        ],
      },
    });
    if (events.status !== 200) throw new Error('events');
    expect((await events.json()).results.map((r) => r.status)).toEqual(['accepted', 'accepted']);

    const why = await feed.v1.why.$post({ json: { token: slot.token } });
    if (why.status !== 200) throw new Error('why');
    expect((await why.json()).advertiser.name).toBe('Corner Bakery');

    const day = new Date(s.clock.now).toISOString().slice(0, 10);
    // Alone in the auction, the impression clears at the floor: 0.10 per thousand = 100 micros.
    const report = await me.v1.reports.$get({ query: { campaign: campaignId, from: day, to: day } });
    if (report.status !== 200) throw new Error('report');
    expect(((await report.json()) as { rows: unknown[] }).rows).toEqual([
      {
        date: day,
        impressions: 1,
        reach: 1,
        clicks: 1,
        hides: 0,
        reports: 0,
        blocks: 0,
        spendMicros: 100,
        videoStarts: 0,
        videoFirstQuartiles: 0,
        videoMidpoints: 0,
        videoThirdQuartiles: 0,
        videoCompletes: 0,
      },
    ]);

    // A player seeking in the video, through the same client.
    const sha256 = creative.media.sha256;
    const part = await client().media[':sha256'].$get({ param: { sha256 }, header: { range: 'bytes=0-99' } });
    expect(part.status).toBe(206);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(video.subarray(0, 100));
  });

  it('surfaces errors as problem details', async () => {
    const denied = await client('wrong-key').v1.me.$get();
    expect(denied.status).toBe(401);
    expect(await problemOf(denied)).toMatchObject({ status: 401, title: expect.any(String) });

    const advertiser = await s.newAdvertiser('Florist');
    const me = client(advertiser.key);
    const campaign = await me.v1.campaigns.$post({ json: { name: 'Roses', bid: { type: 'cpm', amountMicros: 1_000_000 } } });
    if (campaign.status !== 201) throw new Error('campaign');
    const { id } = await campaign.json();
    const text = await me.v1.campaigns[':id'].creatives.$post({
      param: { id },
      form: { file: new File(['hello'], 'ad.png', { type: 'image/png' }), headline: 'x', ctaType: 'call', ctaTarget: '+123' },
    });
    expect(text.status).toBe(415);
    expect((await problemOf(text)).errors).toEqual([expect.objectContaining({ path: 'file' })]);
  });
});
