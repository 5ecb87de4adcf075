import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { chunk, creativeForm, png, withExifOrientation } from '../helpers/media.js';
import { makeService, type TestService } from '../helpers/service.js';

const MB = 1024 * 1024;
const text = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
};
// A 1x1 GIF: a real image, but not a supported one.
const GIF = Uint8Array.from(atob('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=='), (ch) => ch.charCodeAt(0));
const ZIP = concat(Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 0, 0]), new Uint8Array(40));

describe('creative upload', () => {
  let s: TestService;
  let key: string;
  let campaignId: string;

  beforeAll(async () => {
    s = await makeService();
    const advertiser = await s.newAdvertiser('Bakery');
    key = advertiser.key;
    const campaign = await s.call('POST', '/v1/campaigns', key, {
      name: 'Launch',
      bid: { type: 'cpm', amountMicros: 1_000_000 },
    });
    campaignId = campaign.body.id;
  });
  afterAll(() => s.close());

  /** Uploads and returns status, content type and body. */
  async function upload(file: Uint8Array, filename = 'ad.bin', type = 'application/octet-stream') {
    const form = creativeForm(file, {}, filename, type);
    const res = await s.app.request(`/v1/campaigns/${campaignId}/creatives`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}` },
      body: form,
    });
    return { status: res.status, type: res.headers.get('Content-Type'), body: (await res.json()) as any };
  }

  it('takes the multipart type however a client writes it (RFC 9110: parameters in any order, spaces, quotes)', async () => {
    const encoded = new Response(creativeForm(png(4, 4)));
    const boundary = /boundary=(.+)$/.exec(encoded.headers.get('Content-Type')!)![1];
    const body = new Uint8Array(await encoded.arrayBuffer());
    for (const type of [
      `multipart/form-data; boundary=${boundary}; charset=UTF-8`,
      `multipart/form-data; charset=utf-8; boundary=${boundary}`,
      `multipart/form-data ;  boundary="${boundary}"`,
      `Multipart/Form-Data;boundary=${boundary}`,
    ]) {
      const res = await s.app.request(`/v1/campaigns/${campaignId}/creatives`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': type },
        body,
      });
      expect(res.status, `${type}: ${await res.clone().text()}`).toBe(201);
      expect(((await res.json()) as any).media).toMatchObject({ mime: 'image/png', width: 4, height: 4 });
    }
  });

  describe('accepts supported media with exact dimensions and duration', () => {
    it.each([
      ['vertical-90x160-2s.mp4', 'video/mp4', 90, 160, 2000],
      ['landscape-64x36-1500ms.mp4', 'video/mp4', 64, 36, 1500],
      ['limit-32x32-30s.mp4', 'video/mp4', 32, 32, 30_000],
      ['fragmented-36x64-2s.mp4', 'video/mp4', 36, 64, 2000],
      ['rotated-160x90-as-90x160-1s.mp4', 'video/mp4', 90, 160, 1000],
      ['image-90x160.jpg', 'image/jpeg', 90, 160, undefined],
      ['image-90x160.webp', 'image/webp', 90, 160, undefined],
    ] as const)('%s', async (name, mime, width, height, durationMs) => {
      const bytes = fixture(name);
      const res = await upload(bytes, name, mime);
      expect(res.status).toBe(201);
      expect(res.body.review).toBe('pending');
      expect(res.body.media).toMatchObject({ mime, width, height, bytes: bytes.length, url: `/media/${res.body.media.sha256}` });
      expect(res.body.media.durationMs).toBe(durationMs);
      expect(res.body.media.sha256).toMatch(/^[0-9a-f]{64}$/);
      const again = await s.call('GET', `/v1/creatives/${res.body.id}`, key);
      expect(again.body.media).toEqual(res.body.media);
    });

    it('a phone’s JPEG at the size it is shown: an EXIF quarter turn swaps width and height', async () => {
      const stored = fixture('image-90x160.jpg');
      for (const [orientation, width, height] of [
        [6, 160, 90],
        [8, 160, 90],
        [3, 90, 160],
        [1, 90, 160],
      ] as const) {
        const res = await upload(withExifOrientation(stored, orientation), 'phone.jpg', 'image/jpeg');
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        expect(res.body.media, `orientation ${orientation}`).toMatchObject({ mime: 'image/jpeg', width, height });
      }
    });

    it('a generated PNG', async () => {
      const res = await upload(png(90, 160, 7), 'ad.png', 'image/png');
      expect(res.status).toBe(201);
      expect(res.body.media).toMatchObject({ mime: 'image/png', width: 90, height: 160 });
      expect(res.body.media.durationMs).toBeUndefined();
    });
  });

  it('recommends 9:16 in a warning, without refusing other ratios', async () => {
    const vertical = await upload(fixture('vertical-90x160-2s.mp4'));
    expect(vertical.body.warnings).toBeUndefined();
    const landscape = await upload(fixture('landscape-64x36-1500ms.mp4'));
    expect(landscape.status).toBe(201);
    expect(landscape.body.warnings).toEqual([expect.stringContaining('9:16')]);
  });

  describe('judges by content, not by name or declared type', () => {
    it('a PNG named and typed as a video is a PNG', async () => {
      const res = await upload(png(20, 20, 1), 'clip.mp4', 'video/mp4');
      expect(res.status).toBe(201);
      expect(res.body.media.mime).toBe('image/png');
    });
    it('an MP4 named and typed as a JPEG is a video', async () => {
      const res = await upload(fixture('vertical-90x160-2s.mp4'), 'photo.jpg', 'image/jpeg');
      expect(res.status).toBe(201);
      expect(res.body.media).toMatchObject({ mime: 'video/mp4', durationMs: 2000 });
    });
    it.each([
      ['text named .png', text('just some words, honestly'), 'ad.png', 'image/png'],
      ['HTML named .jpg', text('<!doctype html><script>alert(1)</script>'), 'ad.jpg', 'image/jpeg'],
      ['SVG', text('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="16"></svg>'), 'ad.svg', 'image/svg+xml'],
      ['PDF named .mp4', text('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF'), 'ad.mp4', 'video/mp4'],
      ['ZIP named .webp', ZIP, 'ad.webp', 'image/webp'],
      ['GIF', GIF, 'ad.gif', 'image/gif'],
      ['QuickTime .mov', fixture('clip.mov'), 'clip.mp4', 'video/mp4'],
      ['MP4 without video', fixture('audio-only.mp4'), 'song.mp4', 'video/mp4'],
      ['empty file', new Uint8Array(0), 'ad.png', 'image/png'],
    ])('%s → 415', async (_what, bytes, filename, type) => {
      const res = await upload(bytes, filename, type);
      expect(res.status).toBe(415);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 415, errors: [{ path: 'file' }] });
    });
  });

  describe('truncated or corrupt files are a 4xx, never a 500', () => {
    const mp4 = fixture('vertical-90x160-2s.mp4');
    const jpeg = fixture('image-90x160.jpg');
    it.each([
      ['MP4 cut in half', mp4.subarray(0, mp4.length >> 1)],
      ['MP4 cut by one byte', mp4.subarray(0, mp4.length - 1)],
      ['moov-last MP4 cut before its moov', fixture('landscape-64x36-1500ms.mp4').subarray(0, 1200)],
      ['JPEG cut in half', jpeg.subarray(0, jpeg.length >> 1)],
      ['JPEG without its end marker', jpeg.subarray(0, jpeg.length - 2)],
      ['WebP cut short', fixture('image-90x160.webp').subarray(0, 600)],
      ['PNG cut short', png(40, 40).subarray(0, 60)],
      ['PNG header then garbage', concat(png(4, 4).subarray(0, 33), text('garbage garbage garbage garbage'))],
      ['ftyp then garbage', concat(mp4.subarray(0, 32), text('x'.repeat(200)))],
    ])('%s → 422', async (_what, bytes) => {
      const res = await upload(bytes);
      expect(res.status).toBe(422);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body.detail).toMatch(/truncated or corrupt/);
    });

    it('random damage never makes a 500', async () => {
      let seed = 42;
      const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
      for (const base of [mp4, jpeg, fixture('image-90x160.webp'), png(16, 16)]) {
        for (let round = 0; round < 8; round++) {
          const damaged = base.slice();
          for (let k = 0; k < 6; k++) damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256);
          const res = await upload(damaged);
          expect([201, 413, 415, 422]).toContain(res.status);
        }
      }
    });
  });

  describe('limits are 413 or 422 problems naming the limit', () => {
    it('video over 30 s → 422 naming 30 s', async () => {
      const res = await upload(fixture('long-32x32-31s.mp4'));
      expect(res.status).toBe(422);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body.detail).toMatch(/at most 30 s.*31\.0 s/);
    });
    it('image over 5 MB → 413 naming 5 MB', async () => {
      const res = await upload(concat(png(8, 8), new Uint8Array(5 * MB)));
      expect(res.status).toBe(413);
      expect(res.body.detail).toMatch(/5 MB/);
    });
    it('image of exactly 5 MB passes the size rule', async () => {
      // Padded with a private ancillary chunk before IEND (bytes after IEND are refused); the size rule is ≤, not <.
      const small = png(8, 8);
      const pad = chunk('prVt', Buffer.alloc(5 * MB - small.length - 12));
      const bytes = concat(small.subarray(0, small.length - 12), pad, small.subarray(small.length - 12));
      expect(bytes.length).toBe(5 * MB);
      const res = await upload(bytes);
      expect(res.status).toBe(201);
    });
    it('video over 16 MB → 413 naming 16 MB', async () => {
      const res = await upload(concat(fixture('vertical-90x160-2s.mp4'), new Uint8Array(16 * MB)));
      expect(res.status).toBe(413);
      expect(res.body.detail).toMatch(/16 MB/);
    });
    it('a body over the upload limit → 413 naming the limits', async () => {
      const res = await upload(new Uint8Array(18 * MB));
      expect(res.status).toBe(413);
      expect(res.body.detail).toMatch(/16 MB/);
    });
  });

  it('a form without a file, or a broken multipart body, is a 400', async () => {
    for (const file of [undefined, 'just text']) {
      const form = new FormData();
      if (file) form.set('file', file);
      form.set('headline', 'h');
      form.set('ctaType', 'website');
      form.set('ctaTarget', 'https://x.example');
      const res = await s.app.request(`/v1/campaigns/${campaignId}/creatives`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}` },
        body: form,
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).errors).toEqual([
        { path: 'file', message: expect.stringContaining('file part named "file"') },
      ]);
    }
    const broken = await s.app.request(`/v1/campaigns/${campaignId}/creatives`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
    });
    expect(broken.status).toBe(400);
  });

  it('another advertiser cannot upload to the campaign (404)', async () => {
    const other = await s.newAdvertiser('Other');
    const form = new FormData();
    form.set('file', new File([png(9, 16) as Uint8Array<ArrayBuffer>], 'a.png'));
    form.set('headline', 'x');
    form.set('ctaType', 'website');
    form.set('ctaTarget', 'https://x.example');
    const res = await s.app.request(`/v1/campaigns/${campaignId}/creatives`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${other.key}` },
      body: form,
    });
    expect(res.status).toBe(404);
  });
});
