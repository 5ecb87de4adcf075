/**
 * Fuzzing every route with fast-check (OWASP API4 unrestricted resource
 * consumption, API8 security misconfiguration): random JSON, wrong types,
 * boundary and huge numbers, odd unicode, deep nesting, prototype keys, invalid
 * JSON, wrong content types, huge bodies, odd ids and traversal paths. Every
 * answer is a 4xx problem+json (or a success), never a 5xx; the server stays
 * healthy; and a rejected request leaves every table exactly as it was.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProblem, makeWorld, ROUTES, type RouteCase, send, snapshot, type World } from '../helpers/isolation.js';
import { png } from '../helpers/media.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

const ownerKey = (w: World, route: RouteCase) =>
  route.group === 'admin'
    ? w.keys.admin
    : route.group === 'advertiser'
      ? w.keys.advertiser
      : route.group === 'client'
        ? w.keys.client
        : undefined;

const oddString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\uD800',
    '\uFEFF',
    '‮',
    '𝕏'.repeat(300),
    'a'.repeat(5000),
    "'; DROP TABLE campaigns; --",
    '../../etc/passwd',
    '<script>alert(1)</script>',
    '%00',
    '${jndi:ldap://x}',
  ),
);
const oddNumber = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1,
    0.5,
    1e308,
    -1e308,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 53),
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    1000,
    1001,
    256,
    257,
    500,
    501,
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
const deep = (depth: number, leaf: unknown): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  oddString,
  oddNumber,
  fc.constantFrom(null, true, false, [], {}, [1000], Array(1001).fill(1), Array(600).fill({ token: 'x', type: 'impression' })),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 10, max: 2000 }).map((d) => deep(d, 'x')),
);
const PROTO_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'text',
  'body',
  'caption',
  'message',
  'content',
  'media',
  'id',
  'advertiserId',
  'spendMicros',
  'review',
];

/** A raw body and its content type. */
interface Raw {
  body: string;
  contentType?: string;
}

function bodies(valid: unknown): fc.Arbitrary<Raw> {
  const json = (v: unknown): Raw => ({ body: JSON.stringify(v), contentType: 'application/json' });
  const validObject = (typeof valid === 'object' && valid !== null ? valid : {}) as Record<string, unknown>;
  const keys = [...Object.keys(validObject), ...PROTO_KEYS];
  return fc.oneof(
    // Random JSON of any shape.
    fc.jsonValue().map(json),
    // The valid body with one field replaced, added or removed.
    fc.tuple(fc.constantFrom(...keys), oddValue, fc.boolean()).map(([key, value, drop]) => {
      const copy: Record<string, unknown> = { ...validObject };
      if (drop) delete copy[key];
      else Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
      return json(copy);
    }),
    // Nested fields of the valid body replaced.
    fc
      .tuple(oddValue, oddValue)
      .map(([x, y]) =>
        json(JSON.parse(JSON.stringify(validObject), (_k, v) => (typeof v === 'string' ? x : typeof v === 'number' ? y : v))),
      ),
    // Prototype pollution attempts spelled out in raw JSON.
    fc.constantFrom('__proto__', 'constructor', 'prototype').map((k) => ({
      body: `{"${k}": {"isAdmin": true, "polluted": 1}, ${JSON.stringify(validObject).slice(1)}`.replace(', }', '}'),
      contentType: 'application/json',
    })),
    // Deep nesting, as arrays and as objects.
    fc
      .integer({ min: 1000, max: 200_000 })
      .map((n) => ({ body: '['.repeat(n) + ']'.repeat(n), contentType: 'application/json' })),
    fc
      .integer({ min: 1000, max: 50_000 })
      .map((n) => ({ body: `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`, contentType: 'application/json' })),
    // Invalid JSON and odd text.
    fc
      .oneof(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.constantFrom('', '{', '{"user":', 'null', '[]', '"x"', '{"a":1,}', '\u0000', 'NaN', '{"statuses": 1e999}'),
      )
      .map((body) => ({
        body,
        contentType: 'application/json',
      })),
    // A valid body under the wrong content type (or none).
    fc
      .constantFrom(
        undefined,
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/jsonp',
        'json',
        'application/json; charset=utf-7',
        '*/*',
      )
      .map((contentType) => ({ body: JSON.stringify(validObject), contentType })),
  );
}

/** Multipart bodies for the upload route: missing, repeated and wrongly typed fields, odd files. */
const uploadForms = fc
  .record(
    {
      file: fc.oneof(
        fc.uint8Array({ maxLength: 2000 }).map((b) => new File([b], 'x.png', { type: 'image/png' })),
        fc.constant(new File([new Uint8Array(png(9, 16, 3).subarray(0, 40))], 'cut.png', { type: 'image/png' })),
        fc.constant(
          new File(
            [new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')],
            'a.svg',
            { type: 'image/svg+xml' },
          ),
        ),
        fc.constant(new File([new TextEncoder().encode('GIF89a\x01\x00\x01\x00')], 'a.gif', { type: 'image/gif' })),
        fc.constant(new File([new Uint8Array(png(9, 16, 4))], '../../../etc/passwd', { type: 'video/mp4' })),
        oddString,
      ),
      headline: oddString,
      ctaType: fc.oneof(fc.constantFrom('message', 'website', 'call'), oddString),
      ctaTarget: oddString,
      extra: fc.tuple(fc.constantFrom(...PROTO_KEYS), oddString),
    },
    { requiredKeys: [] },
  )
  .map((fields) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) {
      if (k === 'extra') form.append((v as [string, string])[0], (v as [string, string])[1]);
      else if (v instanceof File) form.append(k, v);
      else form.append(k, String(v));
    }
    return form;
  });

describe('fuzzing every route', () => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld();
  });
  afterAll(() => w.s.close());

  /** Sends, then checks: no 5xx; errors are problem+json and leave the store untouched. */
  async function check(route: RouteCase, init: { body?: BodyInit; contentType?: string }, key = ownerKey(w, route)) {
    const before = snapshot(w.s.dir);
    const res = await send(w, route, key, init);
    expect(res.status, `${route.method} ${route.path(w)} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
    if (res.status >= 400) {
      if (route.method !== 'HEAD') expect(isProblem(res), res.text.slice(0, 300)).toBe(true);
      expect(snapshot(w.s.dir)).toBe(before);
    }
    return res;
  }

  async function healthy() {
    const health = await w.s.call('GET', '/healthz', undefined);
    expect(health.status).toBe(200);
  }

  for (const route of ROUTES.filter((r) => r.body)) {
    it(`${route.method} ${route.name}: random and malformed JSON bodies`, async () => {
      const valid = route.body!(w);
      await fc.assert(
        fc.asyncProperty(bodies(valid), async (raw) => {
          await check(route, { body: raw.body, contentType: raw.contentType ?? '' });
        }),
        { numRuns: RUNS },
      );
      await healthy();
      // The route still works for its rightful caller afterwards.
      const res = await send(w, route, ownerKey(w, route));
      expect(res.status, res.text).toBe(route.ok);
    });
  }

  it('POST upload creative: random multipart forms', async () => {
    const route = ROUTES.find((r) => r.multipart)!;
    await fc.assert(
      fc.asyncProperty(uploadForms, async (form) => {
        const res = await check(route, { body: form });
        // Media is sniffed by content: a real PNG named ../../etc/passwd and declared video/mp4 is still just a PNG.
        if (res.status === 201) expect(res.body.media.mime).toMatch(/^image\/(png|jpeg|webp)$/);
      }),
      { numRuns: RUNS },
    );
    await check(route, { body: '{"file":"x"}', contentType: 'application/json' });
    await check(route, { body: '--x\r\nbroken', contentType: 'multipart/form-data; boundary=x' });
    await check(route, { body: 'garbage', contentType: 'multipart/form-data' });
    await healthy();
  });

  it('GET routes ignore or reject bodies and query junk', async () => {
    const queries = fc.oneof(
      fc.dictionary(
        fc.constantFrom('campaign', 'from', 'to', '__proto__', 'x'),
        fc.oneof(oddString, fc.constantFrom('2026-02-30', '2026-13-01', '0000-01-01', '9999-12-31', '2026-1-1')),
      ),
      fc.constant({ campaign: 'a', from: '2026-11-30', to: '2026-11-01' }),
    );
    const reports = ROUTES.find((r) => r.name === 'reports')!;
    await fc.assert(
      fc.asyncProperty(queries, async (q) => {
        const search = new URLSearchParams(q as Record<string, string>).toString();
        await check({ ...reports, path: () => `/v1/reports?${search}` }, {});
      }),
      { numRuns: RUNS },
    );
    await check(
      {
        ...reports,
        path: (x) => `/v1/reports?campaign=${x.a.campaignId}&campaign=${x.b.campaignId}&from=2026-11-01&to=2026-11-30`,
      },
      {},
    );
    await healthy();
  });

  const TRAVERSAL = [
    '..',
    '.',
    '%2e%2e',
    '..%2f',
    '..%2f..%2fetc%2fpasswd',
    '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '..%5c..%5cwindows',
    '%00',
    'a%00b',
    '%E0%A4%A',
    '%',
    '%ZZ',
    '%c0%ae%c0%ae%2f',
    '....//....//',
    encodeURIComponent('../../etc/passwd'),
    'x'.repeat(10_000),
    '%F0%9F%92%A9',
    '%u2215',
    'CON',
    'a;b',
    'a?b=c',
  ];
  const idPaths: [string, (id: string) => string, string][] = [
    ['GET', (id) => `/v1/campaigns/${id}`, 'advertiser'],
    ['PATCH', (id) => `/v1/campaigns/${id}`, 'advertiser'],
    ['POST', (id) => `/v1/campaigns/${id}/creatives`, 'advertiser'],
    ['GET', (id) => `/v1/creatives/${id}`, 'advertiser'],
    ['POST', (id) => `/v1/creatives/${id}/review`, 'admin'],
    ['GET', (id) => `/media/${id}`, 'public'],
    ['HEAD', (id) => `/media/${id}`, 'public'],
    ['GET', (id) => `/v1/${id}`, 'client'],
    ['POST', (id) => `/v1/users/${id}`, 'client'],
    ['GET', (id) => `/${id}`, 'public'],
  ];

  it('odd ids and path traversal in every path parameter', async () => {
    const ids = fc.oneof(
      fc.constantFrom(...TRAVERSAL),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }).map(encodeURIComponent),
      fc.stringMatching(/^[0-9a-fA-F]{0,70}$/),
    );
    await fc.assert(
      fc.asyncProperty(ids, fc.constantFrom(...idPaths), async (id, [method, path, group]) => {
        const route: RouteCase = { name: 'odd path', group: group as RouteCase['group'], method, path: () => path(id), ok: 200 };
        const body =
          method === 'PATCH' || method === 'POST'
            ? { body: '{"name":"x","decision":"approve"}', contentType: 'application/json' }
            : {};
        const res = await check(route, body);
        if (route.group === 'public' && res.status < 400) expect(res.headers.get('content-type')).not.toMatch(/html/);
      }),
      { numRuns: RUNS * 3 },
    );
    // Traversal never escapes the media folder, however it is spelled.
    for (const id of TRAVERSAL) {
      const res = await w.s.app.request(`/media/${id}`);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    await healthy();
  });

  it('media: any Range and If-None-Match header', async () => {
    const media = ROUTES.find((r) => r.name === 'media')!;
    const header = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((s) => s.replace(/[\r\n\0]/g, '')),
      fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `bytes=${a}-${b}`),
      fc.constantFrom(
        'bytes=-0',
        'bytes=0-',
        'bytes=-999999999999999999999',
        'bytes=99999999999999999999-',
        'bytes=5-1',
        'bytes=0-0,2-3',
        'bytes=',
        'items=0-1',
      ),
    );
    await fc.assert(
      fc.asyncProperty(header, header, async (range, inm) => {
        const res = await w.s.app.request(media.path(w), { headers: { Range: range, 'If-None-Match': inm } });
        expect(res.status).toBeLessThan(500);
        expect([200, 206, 304, 416]).toContain(res.status);
        await res.arrayBuffer();
      }),
      { numRuns: RUNS },
    );
  });

  it('any Authorization header is a 401 problem, never a 5xx', async () => {
    const slots = ROUTES.find((r) => r.name === 'slots')!;
    const header = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 300 }).map((s) => s.replace(/[\r\n\0]/g, '').trim()),
      fc.string({ maxLength: 300 }).map((s) => `Bearer ${s.replace(/[\r\n\0\s]/g, '') || 'x'}`),
      fc.constantFrom(
        'Bearer',
        'Bearer ',
        'Basic YWRtaW46YWRtaW4=',
        `Bearer ${'k'.repeat(257)}`,
        'bearer  sk_cli_x',
        'Bearer sk_cli_x extra',
      ),
    );
    await fc.assert(
      fc.asyncProperty(header, async (auth) => {
        const res = await w.s.app.request('/v1/slots', {
          method: 'POST',
          headers: { Authorization: auth, 'Content-Type': 'application/json' },
          body: JSON.stringify(slots.body!(w)),
        });
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        await res.arrayBuffer();
      }),
      { numRuns: RUNS },
    );
  });

  it('bodies over 1 MiB are a 413 problem on every JSON route, and change nothing', async () => {
    const huge = JSON.stringify({ user: 'x'.repeat(1024 * 1024 + 10) });
    for (const route of ROUTES.filter((r) => r.body)) {
      const res = await check(route, { body: huge, contentType: 'application/json' });
      expect(res.status, route.name).toBe(413);
    }
    // A body that claims to be small but is not.
    const lying = await w.s.app.request('/v1/slots', {
      method: 'POST',
      headers: { Authorization: `Bearer ${w.keys.client}`, 'Content-Type': 'application/json', 'Content-Length': '10' },
      body: huge,
    });
    expect([400, 413]).toContain(lying.status);
    // Uploads have their own, larger limit.
    const form = new FormData();
    form.set('file', new File([new Uint8Array(18 * 1024 * 1024)], 'big.png', { type: 'image/png' }));
    const upload = await check(ROUTES.find((r) => r.multipart)!, { body: form });
    expect(upload.status).toBe(413);
    await healthy();
  });

  it('unknown methods and routes are problem+json', async () => {
    for (const [method, path] of [
      ['DELETE', '/v1/campaigns'],
      ['PUT', '/v1/me'],
      ['GET', '/v1/slots'],
      ['GET', '/v2/anything'],
      ['POST', '/healthz'],
      ['OPTIONS', '/v2/anything'],
    ] as const) {
      const res = await w.s.app.request(path, { method, headers: { Authorization: `Bearer ${w.keys.client}` } });
      expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    const options = await w.s.app.request('/v1/slots', { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('POST, OPTIONS');
  });
});
