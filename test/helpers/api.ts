/**
 * The API helpers every suite uses, over any `request(path, init)`: the Node
 * app in-process (./service.ts) or the Worker in workerd (./worker.ts).
 */
import { creativeForm, png } from './media.js';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export type RequestFn = (path: string, init?: RequestInit) => Promise<Response>;

/** A response body as JSON when it parses, else as text. */
export async function readBody(res: Response): Promise<{ json: any; text: string }> {
  const text = await res.text();
  try {
    return { json: text ? JSON.parse(text) : undefined, text };
  } catch {
    return { json: text, text };
  }
}

export function apiHelpers(request: RequestFn, now: () => number) {
  /** JSON request with a bearer key; returns status, headers and parsed body. */
  async function call(
    method: string,
    path: string,
    key: string | undefined,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ) {
    const headers: Record<string, string> = { ...extraHeaders };
    if (key) headers.Authorization = `Bearer ${key}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const { json } = await readBody(res);
    return { status: res.status, headers: res.headers, body: json };
  }

  async function upload(
    key: string,
    campaignId: string,
    file: Uint8Array,
    fields: Record<string, string> = {},
    filename = 'ad.png',
    type = 'image/png',
  ) {
    const form = creativeForm(file, fields, filename, type);
    const res = await request(`/v1/campaigns/${campaignId}/creatives`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}` },
      body: form,
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  async function newAdvertiser(name = 'Bakery') {
    const res = await call('POST', '/v1/advertisers', ADMIN_KEY, { name });
    if (res.status !== 201) throw new Error(`advertiser: ${JSON.stringify(res.body)}`);
    return { id: res.body.advertiser.id as string, key: res.body.apiKey as string };
  }

  async function newClient(name = 'Messenger') {
    const res = await call('POST', '/v1/clients', ADMIN_KEY, { name });
    if (res.status !== 201) throw new Error(`client: ${JSON.stringify(res.body)}`);
    return { id: res.body.client.id as string, key: res.body.apiKey as string };
  }

  /** An advertiser with one active campaign and one approved creative. */
  async function seedCampaign(
    options: { advertiser?: { id: string; key: string }; campaign?: Record<string, unknown>; seed?: number } = {},
  ) {
    const advertiser = options.advertiser ?? (await newAdvertiser());
    const campaign = await call('POST', '/v1/campaigns', advertiser.key, {
      name: 'Campaign',
      bid: { type: 'cpm', amountMicros: 2_000_000 },
      schedule: { start: new Date(now() - 60_000).toISOString() },
      ...options.campaign,
    });
    if (campaign.status !== 201) throw new Error(`campaign: ${JSON.stringify(campaign.body)}`);
    const creative = await upload(
      advertiser.key,
      campaign.body.id,
      png(90, 160, options.seed ?? Math.floor(Math.random() * 1e6)),
    );
    if (creative.status !== 201) throw new Error(`creative: ${JSON.stringify(creative.body)}`);
    const review = await call('POST', `/v1/creatives/${creative.body.id}/review`, ADMIN_KEY, { decision: 'approve' });
    if (review.status !== 200) throw new Error(`review: ${JSON.stringify(review.body)}`);
    return {
      advertiser,
      campaignId: campaign.body.id as string,
      creativeId: creative.body.id as string,
      media: creative.body.media,
    };
  }

  return { call, upload, newAdvertiser, newClient, seedCampaign };
}
