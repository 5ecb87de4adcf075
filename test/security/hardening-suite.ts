/**
 * Attacks from the hardening pass (issue 11) that every runtime must refuse the
 * same way: run unchanged on Node (in-process) and on the Worker in workerd.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readBody } from '../helpers/api.js';
import { fixture } from '../helpers/fixtures.js';
import type { ServiceLike, World } from '../helpers/isolation.js';
import { chunk, png } from '../helpers/media.js';

export interface HardeningService extends ServiceLike {
  upload(
    key: string,
    campaignId: string,
    file: Uint8Array,
    fields?: Record<string, string>,
  ): Promise<{ status: number; body: any }>;
}

const DOCS = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');

export const BAD_CTA: [string, string][] = [
  ['website', 'javascript:alert(1)'],
  ['website', 'JavaScript:alert(document.cookie)'],
  ['website', 'data:text/html,<script>alert(1)</script>'],
  ['website', 'file:///etc/passwd'],
  ['website', 'ftp://bakery.example/menu'],
  ['website', 'https:bakery.example'],
  ['website', '//bakery.example/menu'],
  ['website', 'bakery.example'],
  ['website', 'https://user:pass@bakery.example/'],
  ['website', 'https://bakery.example/a b'],
  ['website', 'https://bakery.example/\u0000'],
  ['call', 'not a phone'],
  ['call', '+0123456'],
  ['call', '4930123456'],
  ['call', 'tel:+4930123456'],
  ['call', '+49 30 123456'],
  ['call', '+1234567890123456'],
  ['message', 'javascript:alert(1)'],
  ['message', 'https://evil.example/chat'],
  ['message', 'https://wa.me/4930123456?text=hello'],
  ['message', 'http://wa.me/4930123456'],
  ['message', 'not a phone'],
];

export const GOOD_CTA: [string, string][] = [
  ['website', 'https://bakery.example/menu?day=mon#top'],
  ['website', 'http://bakery.example'],
  ['call', '+4930123456'],
  ['message', '+4930123456'],
  ['message', 'https://wa.me/4930123456'],
];

/** A lone high surrogate, a lone low surrogate, and NUL: each makes a string ill-formed. */
export const ILL_FORMED = ['surr-\ud800x', 'surr-\udc00x', 'nul-\u0000x', '\udfff', 'pair-reversed-\udc00\ud800'];

/** A PNG that is only a header: IHDR declaring width × height, one tiny IDAT, IEND. */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01, 0x00])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The MP4 with its movie header's duration rewritten (version-0 mvhd), as an attacker would. */
export function withMvhdSeconds(mp4: Uint8Array, seconds: number): Uint8Array {
  const bytes = Buffer.from(mp4);
  const at = bytes.indexOf('mvhd');
  if (at < 0 || bytes[at + 4] !== 0) throw new Error('expected a version-0 mvhd');
  bytes.writeUInt32BE(seconds * bytes.readUInt32BE(at + 16), at + 20);
  return bytes;
}

const fieldNamed = (body: any, path: string) => (body?.errors ?? []).some((e: { path: string }) => e.path === path);

export function hardeningSuite(name: string, world: () => World<HardeningService>) {
  describe(`${name}: call-to-action targets are checked per type`, () => {
    it.each(BAD_CTA)(
      'ctaType=%s refuses ctaTarget %j with a 400 naming ctaTarget, storing nothing',
      async (ctaType, ctaTarget) => {
        const w = world();
        const before = (await w.s.call('GET', '/v1/review', w.keys.admin)).body.creatives.length;
        const res = await w.s.upload(w.a.key, w.a.campaignId, png(9, 16, 7), { ctaType, ctaTarget });
        expect(res.status, JSON.stringify(res.body)).toBe(400);
        expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('ctaTarget');
        expect((await w.s.call('GET', '/v1/review', w.keys.admin)).body.creatives.length).toBe(before);
      },
    );

    it.each(GOOD_CTA)('ctaType=%s accepts %j', async (ctaType, ctaTarget) => {
      const w = world();
      const res = await w.s.upload(w.a.key, w.a.campaignId, png(9, 16, 8), { ctaType, ctaTarget });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.cta).toEqual({ type: ctaType, target: ctaTarget });
    });
  });

  describe(`${name}: ill-formed text is refused with a 400 naming the field`, () => {
    it.each(ILL_FORMED)('user id %j on every feed route', async (user) => {
      const w = world();
      const routes: [string, Record<string, unknown>][] = [
        ['/v1/slots', { user, statuses: 10 }],
        ['/v1/users/block', { user, advertiser: w.a.id }],
        ['/v1/users/unblock', { user, advertiser: w.a.id }],
        ['/v1/users/blocks', { user }],
        ['/v1/users/erase', { user }],
      ];
      for (const [path, body] of routes) {
        const res = await w.s.call('POST', path, w.client.key, body);
        expect(res.status, `${path} ${JSON.stringify(res.body)}`).toBe(400);
        expect(fieldNamed(res.body, 'user'), path).toBe(true);
      }
    });

    it('different user ids never share caps: ill-formed ids cannot reach the pseudonymiser', async () => {
      const w = world();
      // Before the fix these three served from one pseudonym's caps.
      for (const user of ['surr-\ud800x', 'surr-\udc00x'])
        expect((await w.s.call('POST', '/v1/slots', w.client.key, { user, statuses: 10 })).status).toBe(400);
      expect((await w.s.call('POST', '/v1/slots', w.client.key, { user: 'surr-\ufffdx', statuses: 10 })).status).toBe(200);
    });

    it.each(ILL_FORMED)('names, profile fields, campaign names, review reasons: %j', async (bad) => {
      const w = world();
      const cases: [string, string, string | undefined, unknown, string][] = [
        ['POST', '/v1/advertisers', w.keys.admin, { name: bad }, 'name'],
        ['POST', '/v1/advertisers', w.keys.admin, { name: 'ok', description: bad }, 'description'],
        ['POST', '/v1/clients', w.keys.admin, { name: bad }, 'name'],
        ['PATCH', '/v1/me', w.a.key, { address: bad }, 'address'],
        ['PATCH', '/v1/me', w.a.key, { category: bad }, 'category'],
        ['PATCH', '/v1/me', w.a.key, { name: bad }, 'name'],
        ['POST', '/v1/campaigns', w.a.key, { name: bad, bid: { type: 'cpm', amountMicros: 1000000 } }, 'name'],
        ['PATCH', `/v1/campaigns/${w.a.campaignId}`, w.a.key, { name: bad }, 'name'],
        ['POST', `/v1/creatives/${w.a.creativeId}/review`, w.keys.admin, { decision: 'reject', reason: bad }, 'reason'],
        ['POST', '/v1/why', w.client.key, { token: bad }, 'token'],
      ];
      for (const [method, path, key, body, field] of cases) {
        const res = await w.s.call(method, path, key, body);
        expect(res.status, `${method} ${path} ${field}`).toBe(400);
        expect(fieldNamed(res.body, field), `${method} ${path} ${JSON.stringify(res.body)}`).toBe(true);
      }
      const me = await w.s.call('GET', '/v1/me', w.a.key);
      expect(JSON.stringify(me.body)).not.toMatch(/surr-|nul-/);
    });

    it('headlines and CTA targets in uploads (NUL survives multipart)', async () => {
      const w = world();
      const headline = await w.s.upload(w.a.key, w.a.campaignId, png(9, 16, 9), { headline: 'Fresh\u0000bread' });
      expect(headline.status).toBe(400);
      expect(fieldNamed(headline.body, 'headline')).toBe(true);
      const target = await w.s.upload(w.a.key, w.a.campaignId, png(9, 16, 9), { ctaTarget: 'https://bakery.example/\u0000' });
      expect(target.status).toBe(400);
      expect(fieldNamed(target.body, 'ctaTarget')).toBe(true);
    });

    it('well-formed text outside the BMP is accepted as sent', async () => {
      const w = world();
      const res = await w.s.call('POST', '/v1/advertisers', w.keys.admin, { name: 'Bäckerei 🥐 𝔅' });
      expect(res.status).toBe(201);
      expect(res.body.advertiser.name).toBe('Bäckerei 🥐 𝔅');
    });
  });

  describe(`${name}: media limits cannot be bypassed`, () => {
    const refused = async (file: Uint8Array, status: number, detail: RegExp) => {
      const w = world();
      const res = await w.s.upload(w.a.key, w.a.campaignId, file);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.detail).toMatch(detail);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('file');
    };
    it('a 69-byte PNG declaring 2147483647x2147483647 is refused', async () => {
      const file = pngHeaderOnly(2147483647, 2147483647);
      expect(file.length).toBe(69);
      await refused(file, 422, /8192 pixels on a side/);
    });
    it('a 60000x60000 PNG is refused; so is 8192x8192 (over 7680x4320 pixels); 8192x100 passes', async () => {
      await refused(pngHeaderOnly(60000, 60000), 422, /8192 pixels on a side/);
      await refused(pngHeaderOnly(8192, 8192), 422, /7680x4320/);
      const w = world();
      expect((await w.s.upload(w.a.key, w.a.campaignId, pngHeaderOnly(8192, 100))).status).toBe(201);
    });
    it('bytes after a PNG IEND are refused', async () => {
      await refused(Buffer.concat([png(9, 16, 11), Buffer.from('<script>alert(1)</script>')]), 422, /follow its IEND/);
    });
    it('an MP4 whose mvhd was edited to 10 s is refused, whether its tracks run 30 s or 31 s', async () => {
      await refused(withMvhdSeconds(fixture('long-32x32-31s.mp4'), 10), 422, /header says 10\.0 s but its tracks run 31\.0 s/);
      await refused(withMvhdSeconds(fixture('limit-32x32-30s.mp4'), 10), 422, /header says 10\.0 s/);
      // Untouched, the 30 s file passes and reports its header's duration.
      const w = world();
      const ok = await w.s.upload(w.a.key, w.a.campaignId, fixture('limit-32x32-30s.mp4'));
      expect(ok.status).toBe(201);
      expect(ok.body.media.durationMs).toBe(30000);
    });
  });

  describe(`${name}: slot tokens are opaque`, () => {
    it('a token reveals no id, and two tokens of one user share no bytes', async () => {
      const w = world();
      const res = await w.s.call('POST', '/v1/slots', w.client.key, { user: 'linkable-user-42', statuses: 20 });
      const tokens: string[] = res.body.slots.map((slot: { token: string }) => slot.token);
      expect(tokens.length).toBe(2);
      const bodies = tokens.map((t) => Buffer.from(t.split('.')[1], 'base64url'));
      for (const [i, token] of tokens.entries()) {
        const visible = `${token} ${bodies[i].toString('latin1')}`;
        for (const id of ['linkable-user-42', w.a.campaignId, w.b.campaignId, w.a.creativeId, w.b.creativeId, w.client.id])
          expect(visible).not.toContain(id);
      }
      let common = 0;
      for (let i = 0; i < bodies[0].length; i++)
        for (let j = 0; j < bodies[1].length; j++) {
          let k = 0;
          while (bodies[0][i + k] !== undefined && bodies[0][i + k] === bodies[1][j + k]) k++;
          common = Math.max(common, k);
        }
      expect(common).toBeLessThan(4);
      // Still verified item by item.
      const events = await w.s.call('POST', '/v1/events', w.client.key, {
        events: tokens.map((token) => ({ token, type: 'impression' })),
      });
      expect(events.body.results).toEqual([{ status: 'accepted' }, { status: 'accepted' }]);
    });
  });

  describe(`${name}: forged tokens of any length`, () => {
    it('are rejected item by item, the batch’s other events recorded', async () => {
      const w = world();
      const [good] = (await w.s.call('POST', '/v1/slots', w.client.key, { user: 'long-token-user', statuses: 10 })).body.slots;
      const kid = good.token.split('.')[0];
      const forged = ['x'.repeat(5000), `${kid}.${'A'.repeat(1100)}`, `${kid}.${'A'.repeat(600_000)}`];
      const res = await w.s.call('POST', '/v1/events', w.client.key, {
        events: [{ token: good.token, type: 'impression' }, ...forged.map((token) => ({ token, type: 'click' }))],
      });
      expect(res.status).toBe(200);
      expect(res.body.results).toEqual([
        { status: 'accepted' },
        ...forged.map(() => ({ status: 'rejected', reason: 'invalid_token' })),
      ]);
      // Not one of them a click on the good slot.
      const again = await w.s.call('POST', '/v1/events', w.client.key, { events: [{ token: good.token, type: 'click' }] });
      expect(again.body.results).toEqual([{ status: 'accepted' }]);
      // The body limit still bounds the request, and /v1/why refuses such a token as any invalid one.
      const tooLarge = await w.s.call('POST', '/v1/events', w.client.key, {
        events: [{ token: 'x'.repeat(1 << 20), type: 'click' }],
      });
      expect(tooLarge.status).toBe(413);
      const why = await w.s.call('POST', '/v1/why', w.client.key, { token: 'x'.repeat(5000) });
      expect(why.status).toBe(400);
      expect(why.body.errors[0].path).toBe('token');
    });
  });

  describe(`${name}: a UTF-8 byte order mark before a JSON body`, () => {
    it('is ignored on every JSON route (RFC 8259 §8.1); a second one is malformed JSON', async () => {
      const w = world();
      const send = (method: string, path: string, key: string, body: unknown, boms: number) =>
        w.s.app.request(path, {
          method,
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
          body: new Uint8Array([...Array(boms).fill([0xef, 0xbb, 0xbf]).flat(), ...Buffer.from(JSON.stringify(body))]),
        });
      const routes: [string, string, string, unknown, number][] = [
        ['POST', '/v1/slots', w.client.key, { user: 'bom-user', statuses: 10 }, 200],
        ['POST', '/v1/events', w.client.key, { events: [{ token: 'a.b', type: 'click' }] }, 200],
        ['POST', '/v1/users/blocks', w.client.key, { user: 'bom-user' }, 200],
        ['PATCH', `/v1/campaigns/${w.a.campaignId}`, w.a.key, { name: 'Renamed with a BOM' }, 200],
      ];
      for (const [method, path, key, body, status] of routes) {
        const once = await send(method, path, key, body, 1);
        expect(once.status, `${path}: ${await once.clone().text()}`).toBe(status);
        await once.arrayBuffer();
        const twice = await send(method, path, key, body, 2);
        expect(twice.status, path).toBe(400);
        expect((await twice.json()).detail, path).toMatch(/Malformed JSON/);
      }
    });

    it('bytes that are not UTF-8 are malformed JSON, never read as U+FFFD (two users would share a pseudonym)', async () => {
      const w = world();
      const send = (path: string, key: string, before: string, bytes: number[], after: string) =>
        w.s.app.request(path, {
          method: 'POST',
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
          body: new Uint8Array([...Buffer.from(before), ...bytes, ...Buffer.from(after)]),
        });
      for (const bytes of [[0xff], [0xfe, 0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
        for (const [path, before, after] of [
          ['/v1/slots', '{"user":"utf8-', '","statuses":10}'],
          ['/v1/users/block', '{"user":"utf8-', `","advertiser":"${w.a.id}"}`],
          ['/v1/users/blocks', '{"user":"utf8-', '"}'],
          ['/v1/users/erase', '{"user":"utf8-', '"}'],
          ['/v1/events', '{"events":[{"token":"a.b', '","type":"click"}]}'],
        ]) {
          const res = await send(path, w.client.key, before, bytes, after);
          const body = await res.json();
          expect(res.status, `${path} ${bytes}`).toBe(400);
          expect(body.detail, path).toMatch(/Malformed JSON/);
        }
      }
      // U+FFFD sent as UTF-8 is text like any other.
      const fffd = await send('/v1/users/blocks', w.client.key, '{"user":"utf8-', [0xef, 0xbf, 0xbd], '"}');
      expect(fffd.status).toBe(200);
      await fffd.arrayBuffer();
    });

    it('a content-like field is refused as message content however deep it is sent', async () => {
      const w = world();
      const cases: [string, unknown, string][] = [
        ['/v1/slots', { user: 'u', statuses: 5, meta: { text: 'hello from my chat' } }, 'meta.text'],
        ['/v1/slots', { user: 'u', statuses: 5, context: { country: 'DE', extra: { message: 'hi' } } }, 'context.extra.message'],
        ['/v1/slots', { user: { caption: 'x' }, statuses: 5 }, 'user.caption'],
        ['/v1/slots', { user: 'u', runs: [2, { body: 'x' }] }, 'runs.1.body'],
        ['/v1/slots', { user: 'u', statuses: 5, list: [{ deep: [{ content: 'x' }] }] }, 'list.0.deep.0.content'],
        ['/v1/events', { events: [{ token: 't', type: 'click', meta: { media: 'x' } }] }, 'events.0.meta.media'],
        ['/v1/users/block', { user: 'u', advertiser: w.a.id, note: { text: 'x' } }, 'note.text'],
        ['/v1/users/erase', { user: 'u', why: [{ message: 'x' }] }, 'why.0.message'],
      ];
      for (const [path, body, field] of cases) {
        const res = await w.s.call('POST', path, w.client.key, body);
        expect(res.status, `${path} ${field}`).toBe(400);
        expect(res.body.type, `${path} ${field}`).toBe('/problems/content-rejected');
        expect(res.body.detail, path).toContain(`"${field}"`);
        expect(JSON.stringify(res.body)).not.toContain('hello from my chat');
      }
      // Other unknown fields are still named as such, and no content is claimed where there is none.
      const plain = await w.s.call('POST', '/v1/slots', w.client.key, { user: 'u', statuses: 5, meta: { note: 'x' } });
      expect(plain.status).toBe(400);
      expect(plain.body.type).toBe('/problems/validation');
      expect(plain.body.errors).toEqual([{ path: 'meta', message: 'unknown field "meta"' }]);
    });
  });

  describe(`${name}: HTTP semantics`, () => {
    it('a known path with a method it does not take is a 405 with Allow, with or without a key', async () => {
      const w = world();
      const doc = (await w.s.call('GET', '/openapi.json', undefined)).body;
      const known = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
      let checked = 0;
      for (const [template, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
        const path = template
          .replace('{sha256}', w.a.sha256)
          .replace('{type}', 'not-found')
          .replace(/\{[^}]+\}/g, 'x_1');
        const methods = Object.keys(ops).map((m) => m.toUpperCase());
        for (const method of known.filter((m) => !methods.includes(m))) {
          for (const key of [undefined, w.keys.admin, w.a.key, w.client.key]) {
            const res = await w.s.app.request(path, { method, headers: key ? { Authorization: `Bearer ${key}` } : {} });
            await res.arrayBuffer();
            expect(res.status, `${method} ${path}`).toBe(405);
            const allow = (res.headers.get('allow') ?? '').split(/,\s*/);
            for (const m of methods) expect(allow, `${method} ${path}`).toContain(m);
            expect(allow).not.toContain(method);
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThan(50);
      expect((await w.s.app.request('/v1/nowhere', { method: 'DELETE' })).status).toBe(404);
    });

    it('every problem type URI resolves to a page about it', async () => {
      const w = world();
      const types = new Set<string>();
      const answers = [
        await w.s.call('POST', '/v1/advertisers', w.keys.admin, { name: '' }),
        await w.s.call('GET', '/v1/me', 'sk_adv_wrong'),
        await w.s.call('GET', '/v1/me', w.client.key),
        await w.s.call('GET', '/v1/campaigns/cmp_missing', w.a.key),
        await w.s.call('DELETE', '/v1/me', w.a.key),
        await w.s.call('POST', '/v1/slots', w.client.key, { user: 'u', statuses: 1, text: 'hello' }),
      ];
      for (const a of answers) {
        expect(a.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        types.add(a.body.type);
      }
      expect(types.size).toBe(answers.length);
      for (const slug of [
        'bad-request',
        'payload-too-large',
        'request-timeout',
        'header-too-large',
        'unsupported-media-type',
        'unprocessable',
        'rate-limited',
        'internal',
      ])
        types.add(`/problems/${slug}`);
      for (const type of types) {
        const res = await w.s.app.request(new URL(type, 'http://x').pathname);
        const { text } = await readBody(res);
        expect(res.status, type).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/html/);
        expect(text).toContain(type.split('/').pop());
      }
      expect((await w.s.app.request('/problems/nonsense')).status).toBe(404);
    });

    it('Range: bytes=5-2 is 416 with Content-Range */size, as docs/api.md says (RFC 9110 §14.2)', async () => {
      const w = world();
      const res = await w.s.app.request(`/media/${w.a.sha256}`, { headers: { Range: 'bytes=5-2' } });
      await res.arrayBuffer();
      expect(res.status).toBe(416);
      const size = Number((await w.s.app.request(`/media/${w.a.sha256}`, { method: 'HEAD' })).headers.get('content-length'));
      expect(res.headers.get('content-range')).toBe(`bytes */${size}`);
      expect(DOCS).toMatch(/`bytes=5-2`[^.]*`416`/);
    });
  });
}
