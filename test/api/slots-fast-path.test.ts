/**
 * The slot route's hot path: a hand-written check admits only bodies the zod schema
 * accepts, as it parses them (everything else goes through zod, which names what is wrong), and
 * its answer carries exactly the headers of every other answer (the request envelope).
 */
import fc from 'fast-check';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_SECURITY_HEADERS,
  envelopeHeaders,
  JSON_ANSWER,
  jsonAnswerHeaderList,
  SECURITY_HEADERS,
} from '../../src/api/middleware/request-log.js';
import { EventsInput, isPlainEventsInput, plainSlotsInput, SlotsInput, SlotsResponse } from '../../src/api/schemas.js';
import { slotsJson } from '../../src/delivery/slots-json.js';
import { EVENT_TYPES } from '../../src/engine/types.js';
import { makeService, type TestService } from '../helpers/service.js';

const anyJson = fc.jsonValue({ maxDepth: 3 });
const count = fc.oneof(fc.integer({ min: -5, max: 1005 }), fc.double(), fc.constantFrom(0, 1000, 1001, 2.5, -0));
/** Mostly well-formed slot bodies: each field is usually valid and sometimes anything at all. */
const sometimes = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: anyJson, weight: 1 });
const nearSlots = fc.record(
  {
    user: sometimes(
      fc.oneof(
        fc.string({ minLength: 0, maxLength: 260 }),
        fc.constantFrom('', 'a\u0000b', 'x\ud800', 'é'.repeat(256), 'é'.repeat(257)),
      ),
    ),
    statuses: sometimes(count),
    runs: sometimes(fc.oneof(fc.array(count, { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 6 }))),
    context: sometimes(
      fc.record(
        {
          country: sometimes(fc.constantFrom('DE', 'de', 'dE', 'DEU', 'US', 'D', 'D1')),
          language: sometimes(
            fc.constantFrom(
              'de',
              'deu',
              'DE',
              'd',
              'abcd',
              'de-AT',
              'zh-Hant-TW',
              'de_AT',
              'de-',
              'x-mine',
              'en-US-u-ca-gregory',
            ),
          ),
          platform: sometimes(fc.constantFrom('android', 'ios', 'web', 'Web', 'tv')),
        },
        { requiredKeys: [] },
      ),
    ),
    explain: sometimes(fc.boolean()),
  },
  { requiredKeys: ['user'] },
);
/** Now and then a field that is not in the schema, at the top or in the context. */
const withExtra = fc
  .tuple(nearSlots, fc.nat(9), fc.constantFrom('text', 'body', 'city', '__proto__'))
  .map(([body, roll, key]) => {
    const copy: Record<string, unknown> = JSON.parse(JSON.stringify(body));
    if (roll === 0) copy[key] = 'x';
    if (roll === 1 && copy.context && typeof copy.context === 'object') (copy.context as Record<string, unknown>)[key] = 'x';
    return copy;
  });

describe('the hand-written slot body check', () => {
  it('admits only what SlotsInput accepts, as SlotsInput parses it', () => {
    let admitted = 0;
    fc.assert(
      fc.property(fc.oneof({ arbitrary: withExtra, weight: 9 }, { arbitrary: anyJson, weight: 1 }), (input) => {
        // Through JSON, as a request body arrives.
        const text = JSON.stringify(input) ?? 'null';
        const plain = plainSlotsInput(JSON.parse(text));
        if (!plain) return;
        admitted++;
        const parsed = SlotsInput.safeParse(JSON.parse(text));
        expect(parsed.success).toBe(true);
        expect(plain).toEqual(parsed.data);
      }),
      { numRuns: 20_000 },
    );
    // The generator reaches the admitted side too, or the property says nothing.
    expect(admitted).toBeGreaterThan(100);
  });

  it('admits the bodies feed clients send', () => {
    for (const body of [
      { user: 'u-1', statuses: 12 },
      { user: 'u-1', statuses: 0 },
      { user: 'u-1', runs: [3, 1, 20] },
      { user: 'u-1', runs: [] },
      { user: 'ü'.repeat(256), statuses: 1000, context: { country: 'DE', language: 'de', platform: 'android' } },
      { user: 'u-1', runs: [1000], context: {}, explain: true },
    ]) {
      expect(plainSlotsInput(structuredClone(body)), JSON.stringify(body)).toEqual(body);
      expect(SlotsInput.safeParse(body).data).toEqual(body);
    }
  });

  it('takes a device locale and codes in either case, as the targeting compares them', () => {
    for (const [context, as] of [
      [
        { country: 'de', language: 'de-AT' },
        { country: 'DE', language: 'de' },
      ],
      [{ language: 'DE' }, { language: 'de' }],
      [{ language: 'zh-Hant-TW' }, { language: 'zh' }],
      [
        { country: 'At', language: 'sgn-ase', platform: 'ios' },
        { country: 'AT', language: 'sgn', platform: 'ios' },
      ],
    ]) {
      const body = { user: 'u', statuses: 5, context };
      expect(plainSlotsInput(structuredClone(body))?.context, JSON.stringify(context)).toEqual(as);
      expect(SlotsInput.parse(body).context, JSON.stringify(context)).toEqual(as);
    }
  });

  it('leaves everything SlotsInput refuses to SlotsInput', () => {
    for (const body of [
      { user: 'u', statuses: 1, runs: [1] },
      { user: 'u' },
      { user: '', statuses: 1 },
      { user: 'x'.repeat(257), statuses: 1 },
      { user: 'a\u0000', statuses: 1 },
      { user: 'u', statuses: 1.5 },
      { user: 'u', statuses: 1001 },
      { user: 'u', runs: [600, 401] },
      { user: 'u', runs: [0] },
      { user: 'u', statuses: 1, context: { country: 'deu' } },
      { user: 'u', statuses: 1, context: { language: 'de_AT' } },
      { user: 'u', statuses: 1, context: { language: 'de-AT-' } },
      { user: 'u', statuses: 1, context: { city: 'Berlin' } },
      { user: 'u', statuses: 1, text: 'hello' },
      { user: 'u', statuses: 1, explain: 'yes' },
      JSON.parse('{"user":"u","statuses":1,"__proto__":{"x":1}}'),
      [],
      null,
    ]) {
      expect(plainSlotsInput(body), JSON.stringify(body)).toBeUndefined();
      expect(SlotsInput.safeParse(body).success, JSON.stringify(body)).toBe(false);
    }
  });
});

const nearEvent = fc
  .record(
    {
      token: sometimes(
        fc.oneof(
          fc.string({ minLength: 0, maxLength: 40 }),
          fc.constantFrom('', 'a\u0000b', 'x\ud800', 't'.repeat(1024), 't'.repeat(1025)),
        ),
      ),
      type: sometimes(fc.oneof(fc.constantFrom(...EVENT_TYPES), fc.constantFrom('Impression', 'view', ''))),
    },
    { requiredKeys: [] },
  )
  .chain((event) =>
    fc
      .nat(19)
      .map((roll) =>
        roll === 0 ? { ...event, text: 'x' } : roll === 1 ? JSON.parse(`{"__proto__":1,"type":"click","token":"t"}`) : event,
      ),
  );
const nearEvents = fc.oneof(
  { arbitrary: fc.record({ events: fc.array(nearEvent, { maxLength: 6 }) }), weight: 8 },
  { arbitrary: fc.record({ events: fc.array(nearEvent, { maxLength: 6 }), extra: anyJson }), weight: 1 },
  {
    arbitrary: fc.record({
      events: fc
        .constantFrom(499, 500, 501)
        .chain((n) => fc.constant(Array.from({ length: n }, () => ({ token: 't', type: 'click' })))),
    }),
    weight: 1,
  },
);

describe('the hand-written events body check', () => {
  it('admits only what EventsInput accepts, and EventsInput leaves it unchanged', () => {
    let admitted = 0;
    fc.assert(
      fc.property(fc.oneof({ arbitrary: nearEvents, weight: 9 }, { arbitrary: anyJson, weight: 1 }), (input) => {
        const body = JSON.parse(JSON.stringify(input) ?? 'null');
        if (!isPlainEventsInput(body)) return;
        admitted++;
        const parsed = EventsInput.safeParse(body);
        expect(parsed.success).toBe(true);
        expect(parsed.data).toEqual(body);
      }),
      { numRuns: 20_000 },
    );
    expect(admitted).toBeGreaterThan(100);
  });

  it('admits the bodies feed clients send, and leaves everything else to EventsInput', () => {
    for (const body of [
      { events: [{ token: 't', type: 'impression' }] },
      { events: [{ token: '', type: 'impression' }] },
      { events: EVENT_TYPES.map((type) => ({ type, token: 'x'.repeat(1024) })) },
      // Any length: a token that is none of ours is a rejected item, not a bad request.
      { events: [{ type: 'click', token: 'x'.repeat(5000) }] },
    ]) {
      expect(isPlainEventsInput(body), JSON.stringify(body)).toBe(true);
      expect(EventsInput.safeParse(body).success).toBe(true);
    }
    for (const body of [
      { events: [] },
      { events: [{ token: 't', type: 'click', text: 'hi' }] },
      { events: [{ token: 't' }] },
      { events: [{ token: 'a\u0000', type: 'click' }] },
      { events: [{ token: 't', type: 'click' }], user: 'u' },
      { events: Array.from({ length: 501 }, () => ({ token: 't', type: 'click' })) },
      JSON.parse('{"events":[{"token":"t","type":"click"}],"__proto__":{"x":1}}'),
      [],
      null,
    ]) {
      expect(isPlainEventsInput(body), JSON.stringify(body)).toBe(false);
      expect(EventsInput.safeParse(body).success, JSON.stringify(body)).toBe(false);
    }
  });
});

function entries(headers: Headers): [string, string][] {
  const out: [string, string][] = [];
  headers.forEach((value, name) => out.push([name, value]));
  return out;
}

describe('the request envelope', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await makeService();
  });
  afterAll(() => s.close());

  it('sets the headers hono/secure-headers sets with the same options', async () => {
    const reference = new Hono();
    reference.use(
      secureHeaders({
        crossOriginResourcePolicy: 'cross-origin',
        contentSecurityPolicy: {
          defaultSrc: ["'none'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'none'"],
        },
        overwrite: false,
      }),
    );
    reference.get('/', (c) => c.body(null, 204));
    const expected = entries((await reference.request('/')).headers).sort();
    expect([...SECURITY_HEADERS].map(([k, v]) => [k, v]).sort()).toEqual(expected);
  });

  it('answers a slot request on the hot path with the same headers as any other answer', async () => {
    const client = await s.newClient();
    await s.seedCampaign();
    const names = (headers: Headers) =>
      entries(headers)
        .map(([k]) => k)
        .filter((k) => k !== 'content-length')
        .sort();
    const slots = await s.call('POST', '/v1/slots', client.key, { user: 'u-1', statuses: 10 }, { 'X-Request-Id': 'slot-1' });
    expect(slots.status).toBe(200);
    expect(slots.body.slots.length).toBeGreaterThan(0);
    expect(slots.headers.get('x-request-id')).toBe('slot-1');
    expect(slots.headers.get('content-type')).toBe('application/json');
    // The zod route (a body the hand check leaves to it) answers with the same set of headers.
    const blocks = await s.call('POST', '/v1/users/blocks', client.key, { user: 'u-1' });
    expect(blocks.status).toBe(200);
    expect(names(slots.headers)).toEqual(names(blocks.headers));
    // A JSON answer: the API's security headers (OWASP REST), not the ones for documents.
    for (const [name, value] of API_SECURITY_HEADERS) expect(slots.headers.get(name)).toBe(value);
    expect(slots.headers.get('referrer-policy')).toBeNull();
  });
  it('serialises slot answers exactly as JSON.stringify does, with or without explain', async () => {
    const client = await s.newClient();
    await s.seedCampaign();
    for (const explain of [false, true]) {
      const result = await s.delivery.slots({ user: `u-json-${explain}`, statuses: 12, explain, clientId: client.id });
      expect(result.slots.length).toBeGreaterThan(0);
      // slotsJson writes a token between quotes as it is: characters JSON leaves unchanged.
      for (const slot of result.slots) expect(slot.token).toMatch(/^[\w.-]+$/);
      // Twice: the second time each ad's JSON comes from the cache.
      expect(slotsJson(result)).toBe(JSON.stringify(result));
      expect(slotsJson(result)).toBe(JSON.stringify(result));
    }
    expect(slotsJson({ slots: [] })).toBe(JSON.stringify({ slots: [] }));
  });
  it("the Node lane's 200 header list is the envelope's headers, in their order", () => {
    expect(jsonAnswerHeaderList('r-1')).toEqual(Object.entries(envelopeHeaders('r-1', JSON_ANSWER)).flat());
  });
});

describe("a slot answer's bytes", () => {
  // Twin services: the same clock and the same seeded campaign, so the same request gets the same answer but
  // for tokens and each service's own ids.
  const twin = async () => {
    const s = await makeService();
    const client = await s.newClient();
    const { advertiser, campaignId, creativeId } = await s.seedCampaign({ seed: 7 });
    return { s, client, ids: [client.id, advertiser.id, campaignId, creativeId] };
  };
  let a: Awaited<ReturnType<typeof twin>>;
  let b: Awaited<ReturnType<typeof twin>>;
  beforeAll(async () => {
    [a, b] = [await twin(), await twin()];
  });
  afterAll(async () => {
    await a.s.close();
    await b.s.close();
  });
  const masked = (x: typeof a, json: string) =>
    x.ids.reduce((text, id, i) => text.replaceAll(id, `<id${i}>`), json).replace(/"token":"[^"]+"/g, '"token":"<token>"');

  it('delivery answers a slot request as JSON.stringify of its answer object (what crosses from the engine thread as one string), in the route’s 200 schema', async () => {
    for (const explain of [false, true]) {
      const request = { user: `u-bytes-${explain}`, statuses: 12, explain };
      const json = await a.s.delivery.slotsJson({ ...request, clientId: a.client.id });
      const result = await b.s.delivery.slots({ ...request, clientId: b.client.id });
      expect(result.slots.length).toBeGreaterThan(0);
      expect(result.explain !== undefined).toBe(explain);
      expect(masked(a, json)).toBe(masked(b, JSON.stringify(result)));
      // Valid against the 200 schema, with nothing it does not name (parsing strips unknown keys) and in its
      // key order: what /openapi.json promises, byte for byte.
      expect(JSON.stringify(SlotsResponse.parse(JSON.parse(json)))).toBe(json);
    }
  });
});
