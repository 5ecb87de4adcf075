/** Public routes: media by content address, health, the OpenAPI document; and unknown routes. */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { png } from '../helpers/media.js';
import { expectProblem } from '../helpers/route-checks.js';
import { makeService, type TestService } from '../helpers/service.js';

let s: TestService;
beforeEach(async () => {
  s = await makeService();
});
afterEach(() => s.close());

async function uploaded() {
  const advertiser = await s.newAdvertiser();
  const campaign = await s.call('POST', '/v1/campaigns', advertiser.key, {
    name: 'c',
    bid: { type: 'cpm', amountMicros: 2_000_000 },
  });
  const bytes = png(90, 160, 5);
  const creative = await s.upload(advertiser.key, campaign.body.id, bytes);
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), url: creative.body.media.url as string };
}

describe('GET /media/{sha256}', () => {
  it('serves the bytes with the right type, an ETag and immutable caching, without a key', async () => {
    const { bytes, sha256, url } = await uploaded();
    expect(url).toBe(`/media/${sha256}`);
    const res = await s.app.request(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('etag')).toBe(`"${sha256}"`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('answers HEAD with the headers only', async () => {
    const { bytes, url } = await uploaded();
    const res = await s.app.request(url, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it('answers If-None-Match with 304', async () => {
    const { sha256, url } = await uploaded();
    const res = await s.app.request(url, { headers: { 'If-None-Match': `"${sha256}"` } });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe(`"${sha256}"`);
    const other = await s.app.request(url, { headers: { 'If-None-Match': '"something-else"' } });
    expect(other.status).toBe(200);
  });

  it('serves byte ranges', async () => {
    const { bytes, url } = await uploaded();
    const head = await s.app.request(url, { headers: { Range: 'bytes=0-9' } });
    expect(head.status).toBe(206);
    expect(head.headers.get('content-range')).toBe(`bytes 0-9/${bytes.length}`);
    expect(Buffer.from(await head.arrayBuffer()).equals(bytes.subarray(0, 10))).toBe(true);
    const tail = await s.app.request(url, { headers: { Range: 'bytes=-5' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 5))).toBe(true);
    const open = await s.app.request(url, { headers: { Range: `bytes=${bytes.length - 3}-` } });
    expect(Buffer.from(await open.arrayBuffer()).equals(bytes.subarray(bytes.length - 3))).toBe(true);
    const beyond = await s.app.request(url, { headers: { Range: `bytes=${bytes.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
  });

  it('is 400 for a malformed address and 404 for an unknown one', async () => {
    expectProblem(await s.call('GET', '/media/not-a-hash', undefined), 400, { path: 'sha256' });
    expectProblem(await s.call('GET', `/media/${'A'.repeat(64)}`, undefined), 400, { path: 'sha256' });
    expectProblem(await s.call('GET', '/media/..%2F..%2Fetc%2Fpasswd', undefined), 400);
    expectProblem(await s.call('GET', `/media/${'0'.repeat(64)}`, undefined), 404);
  });
});

describe('GET /healthz', () => {
  it('is ok without a key', async () => {
    const res = await s.call('GET', '/healthz', undefined);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok' });
  });
});

describe('GET /openapi.json', () => {
  it('documents every route of the API', async () => {
    const res = await s.call('GET', '/openapi.json', undefined);
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    const paths = res.body.paths;
    const expected: [string, string][] = [
      ['/v1/advertisers', 'post'],
      ['/v1/advertisers', 'get'],
      ['/v1/clients', 'post'],
      ['/v1/review', 'get'],
      ['/v1/creatives/{id}/review', 'post'],
      ['/v1/me', 'get'],
      ['/v1/me', 'patch'],
      ['/v1/campaigns', 'post'],
      ['/v1/campaigns', 'get'],
      ['/v1/campaigns/{id}', 'get'],
      ['/v1/campaigns/{id}', 'patch'],
      ['/v1/campaigns/{id}/creatives', 'post'],
      ['/v1/creatives/{id}', 'get'],
      ['/v1/reports', 'get'],
      ['/v1/slots', 'post'],
      ['/v1/events', 'post'],
      ['/v1/users/block', 'post'],
      ['/v1/users/unblock', 'post'],
      ['/v1/users/blocks', 'post'],
      ['/v1/users/erase', 'post'],
      ['/v1/why', 'post'],
      ['/media/{sha256}', 'get'],
      ['/healthz', 'get'],
    ];
    for (const [path, method] of expected) expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });
});

describe('unknown routes', () => {
  it('are a 404 problem', async () => {
    expectProblem(await s.call('GET', '/v2/anything', undefined), 404);
    expectProblem(await s.call('GET', '/nope', undefined), 404);
  });
});
