import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { png } from '../helpers/media.js';
import { makeService, type TestService } from '../helpers/service.js';

describe('GET /media/{sha256}', () => {
  let s: TestService;
  const video = fixture('vertical-90x160-2s.mp4');
  const size = video.length;
  const etag = `"${createHash('sha256').update(video).digest('hex')}"`;
  let url: string;
  let imageUrl: string;

  beforeAll(async () => {
    s = await makeService();
    const advertiser = await s.newAdvertiser();
    const campaign = await s.call('POST', '/v1/campaigns', advertiser.key, {
      name: 'C',
      bid: { type: 'cpm', amountMicros: 1_000_000 },
    });
    const uploaded = await s.upload(advertiser.key, campaign.body.id, video, {}, 'clip.mp4', 'video/mp4');
    url = uploaded.body.media.url;
    expect(`"${uploaded.body.media.sha256}"`).toBe(etag);
    const image = await s.upload(advertiser.key, campaign.body.id, png(9, 16, 3), {}, 'photo.jpg', 'image/jpeg');
    imageUrl = image.body.media.url;
  });
  afterAll(() => s.close());

  const get = (headers: Record<string, string> = {}, method = 'GET', path = url) => s.app.request(path, { method, headers });
  const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());

  it('serves the whole file with its sniffed type and immutable caching', async () => {
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('video/mp4');
    expect(res.headers.get('Content-Length')).toBe(String(size));
    expect(res.headers.get('Accept-Ranges')).toBe('bytes');
    expect(res.headers.get('ETag')).toBe(etag);
    expect(res.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(await bytesOf(res)).toEqual(video);
  });

  it('serves an image as its sniffed type, whatever it was called', async () => {
    const res = await get({}, 'GET', imageUrl);
    expect(res.headers.get('Content-Type')).toBe('image/png');
    expect(await bytesOf(res)).toEqual(new Uint8Array(png(9, 16, 3)));
  });

  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=100-', 100, size - 1],
    ['bytes=-500', size - 500, size - 1],
    [`bytes=-${size + 1000}`, 0, size - 1], // a suffix longer than the file is the whole file
    [`bytes=1000-${size + 5000}`, 1000, size - 1], // an end past the file is clamped
    [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
  ])('Range %s → 206 with the right bytes', async (range, first, last) => {
    const res = await get({ Range: range });
    expect(res.status).toBe(206);
    expect(res.headers.get('Content-Range')).toBe(`bytes ${first}-${last}/${size}`);
    expect(res.headers.get('Content-Length')).toBe(String(last - first + 1));
    expect(res.headers.get('Accept-Ranges')).toBe('bytes');
    expect(res.headers.get('Content-Type')).toBe('video/mp4');
    expect(await bytesOf(res)).toEqual(video.subarray(first, last + 1));
  });

  it('a player can seek: consecutive ranges reassemble the file', async () => {
    const parts: Uint8Array[] = [];
    for (let at = 0; at < size; at += 1000) parts.push(await bytesOf(await get({ Range: `bytes=${at}-${at + 999}` })));
    expect(Buffer.concat(parts)).toEqual(Buffer.from(video));
  });

  it.each([`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0'])(
    'unsatisfiable %s → 416 with Content-Range */size',
    async (range) => {
      const res = await get({ Range: range });
      expect(res.status).toBe(416);
      expect(res.headers.get('Content-Range')).toBe(`bytes */${size}`);
      // An error like any other: a problem, not an empty answer labelled video/mp4.
      expect(res.headers.get('Content-Type')).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toMatchObject({
        type: '/problems/range-not-satisfiable',
        status: 416,
        detail: expect.any(String),
      });
    },
  );

  it.each(['bytes=0-1,5-6', 'items=0-5', 'bytes=5-2x', 'bytes=-'])(
    'a range it will not honour (%s) gets the whole file',
    async (range) => {
      const res = await get({ Range: range });
      expect(res.status).toBe(200);
      expect((await bytesOf(res)).length).toBe(size);
    },
  );

  it('If-Range with our ETag honours the range; with another, sends the whole file', async () => {
    expect((await get({ Range: 'bytes=0-9', 'If-Range': etag })).status).toBe(206);
    const stale = await get({ Range: 'bytes=0-9', 'If-Range': '"something-else"' });
    expect(stale.status).toBe(200);
    expect((await bytesOf(stale)).length).toBe(size);
  });

  it.each([etag, `W/${etag}`, `"other", ${etag}`, '*'])('If-None-Match %s → 304 without a body', async (tag) => {
    const res = await get({ 'If-None-Match': tag });
    expect(res.status).toBe(304);
    expect(res.headers.get('ETag')).toBe(etag);
    expect(res.headers.get('Cache-Control')).toContain('immutable');
    expect((await bytesOf(res)).length).toBe(0);
  });

  it('If-None-Match with another tag serves the file', async () => {
    expect((await get({ 'If-None-Match': '"other"' })).status).toBe(200);
  });

  it('HEAD answers the GET headers without a body', async () => {
    const res = await get({}, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('video/mp4');
    expect(res.headers.get('Content-Length')).toBe(String(size));
    expect(res.headers.get('ETag')).toBe(etag);
    expect(res.headers.get('Accept-Ranges')).toBe('bytes');
    expect(res.body).toBeNull();
  });

  it('HEAD with a range answers 206 headers without a body', async () => {
    const res = await get({ Range: 'bytes=10-19' }, 'HEAD');
    expect(res.status).toBe(206);
    expect(res.headers.get('Content-Range')).toBe(`bytes 10-19/${size}`);
    expect(res.headers.get('Content-Length')).toBe('10');
    expect(res.body).toBeNull();
  });

  it('unknown media → 404 problem; a malformed address → 400', async () => {
    const missing = await get({}, 'GET', `/media/${'0'.repeat(64)}`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('Content-Type')).toMatch(/^application\/problem\+json/);
    expect((await get({}, 'GET', '/media/not-a-hash')).status).toBe(400);
    expect((await get({}, 'GET', `/media/${'A'.repeat(64)}`)).status).toBe(400);
  });

  it('needs no key', async () => {
    expect((await get({ Authorization: 'Bearer nonsense' })).status).toBe(200);
  });
});
