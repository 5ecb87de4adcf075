/**
 * The Node slot lane (src/runtime/node-slots.ts) is indistinguishable from the app's own route: the same
 * matrix of good and bad requests, sent as raw bytes to two real Node servers built alike — one with the
 * lane, one without — gets the same status, headers (but Date and a generated X-Request-Id), body (but
 * slot tokens and each service's own ids), log lines and metrics. Slow, aborted and early-answered bodies
 * included; a counter shows the lane answered most of the matrix itself.
 */
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { API_SECURITY_HEADERS } from '../../src/api/middleware/request-log.js';
import type { Log } from '../../src/ops/log.js';
import { type Metrics, noopMetrics } from '../../src/ops/metrics.js';
import { createNodeServer } from '../../src/runtime/node-http.js';
import { createSlotsLane, type NodeLane } from '../../src/runtime/node-slots.js';
import { ADMIN_KEY, makeService, type TestService } from '../helpers/service.js';

const RATE = 2; // client requests per second, bursts of 4

interface Side {
  s: TestService;
  server: Server;
  port: number;
  client: { id: string; key: string };
  advertiser: { id: string; key: string };
  ids: string[];
  /** Log lines and metric calls since the last `take`. */
  seen: string[];
  /** Requests the lane answered itself. */
  laneAnswered: number;
}

async function side(withLane: boolean): Promise<Side> {
  const seen: string[] = [];
  const line = (level: string) => (fields: object, message?: string) => {
    const { reqId: _reqId, ms: _ms, err, ...rest } = fields as Record<string, unknown>;
    seen.push(`${level} ${message} ${JSON.stringify(rest)}${err ? ` err=${(err as { message: string }).message}` : ''}`);
  };
  const log: Log = { info: line('info'), warn: line('warn'), error: line('error') };
  const metrics: Metrics = {
    ...noopMetrics,
    request: (route, method, status) => seen.push(`request ${method} ${route} ${status}`),
    slotRequest: () => seen.push('slotRequest'),
    slotServed: (bid, price) => seen.push(`slotServed ${bid} ${price}`),
    unfilled: (reason, count) => seen.push(`unfilled ${reason} ${count}`),
  };
  // Advertiser keys limited too (20 per s, bursts of 40), for a 429 before an upload's body.
  const s = await makeService({ RATE_LIMIT_CLIENT: String(RATE), RATE_LIMIT_ADVERTISER: '20' }, undefined, { log, metrics });
  const client = await s.newClient();
  const { advertiser, campaignId, creativeId } = await s.seedCampaign({ seed: 7 });
  const result: Side = {
    s,
    server: undefined as unknown as Server,
    port: 0,
    client,
    advertiser,
    ids: [client.id, advertiser.id, campaignId, creativeId],
    seen,
    laneAnswered: 0,
  };
  let lane: NodeLane | undefined;
  if (withLane) {
    const real = createSlotsLane({ edge: s.edge, delivery: s.delivery, settings: s.settings })!;
    lane = (req, res) => {
      const answered = real(req, res);
      if (answered) result.laneAnswered++;
      return answered;
    };
  }
  result.server = createNodeServer(s.app.fetch, lane);
  await new Promise<void>((ok) => result.server.listen(0, '127.0.0.1', ok));
  result.port = (result.server.address() as { port: number }).port;
  seen.length = 0;
  return result;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  /** The header lines as written, in wire order. */
  lines: string[];
  body: string;
}

/** One exchange on a fresh connection: `parts` written in order (a number waits that many ms), then the answer read. */
async function exchange(port: number, parts: (string | Buffer | number)[], options: { abort?: boolean } = {}) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
  let received = Buffer.alloc(0);
  socket.on('data', (chunk) => (received = Buffer.concat([received, chunk])));
  socket.on('error', () => {});
  const answered = (): Answer | undefined => {
    const end = received.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = received.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const at = line.indexOf(':');
      const name = line.slice(0, at).toLowerCase();
      headers[name] = headers[name] === undefined ? line.slice(at + 1).trim() : `${headers[name]}, ${line.slice(at + 1).trim()}`;
    }
    const length = Number(headers['content-length'] ?? 0);
    if (received.length < end + 4 + length) return undefined;
    const body = received.subarray(end + 4, end + 4 + length).toString();
    return { status: Number(statusLine.split(' ')[1]), headers, lines, body };
  };
  // Parts not separated by a wait go out in one write (one segment, as most clients send a small request).
  let pending: Buffer[] = [];
  const flush = () => {
    if (pending.length > 0 && !socket.destroyed) socket.write(Buffer.concat(pending));
    pending = [];
  };
  for (const part of parts) {
    if (typeof part !== 'number') pending.push(Buffer.from(part));
    else {
      flush();
      await new Promise((r) => setTimeout(r, part));
    }
  }
  flush();
  if (options.abort) {
    socket.destroy();
    return undefined;
  }
  const deadline = Date.now() + 5000;
  let answer: Answer | undefined;
  while (!(answer = answered())) {
    if (Date.now() > deadline) throw new Error(`no answer: ${received.toString()}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  socket.destroy();
  return answer;
}

/** A request's head: `headers` written as given (repeats and all), Host added. */
function head(port: number, headers: [string, string][], target = '/v1/slots', method = 'POST') {
  return `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

interface Row {
  name: string;
  /** The request, for one side's keys and port. */
  parts: (x: Side) => (string | Buffer | number)[];
  abort?: boolean;
  /** Whether the lane is meant to answer it itself. */
  lane: boolean;
  /** The status both must answer, where the row pins it. */
  status?: number;
}

const json = (key: string, body: string | Buffer, extra: [string, string][] = [], type = 'application/json') =>
  [['Authorization', `Bearer ${key}`], ['Content-Type', type], ['Content-Length', String(Buffer.byteLength(body))], ...extra] as [
    string,
    string,
  ][];
const post =
  (body: string | Buffer, extra: [string, string][] = [], type?: string) =>
  (x: Side) => [head(x.port, json(x.client.key, body, extra, type)), body];

const ROWS: Row[] = [
  { name: 'a good request', parts: post('{"user":"alice","statuses":12}'), lane: true },
  {
    name: 'runs, context and explain, with a caller request id',
    parts: post('{"user":"bob","runs":[3,1,8],"context":{"country":"DE","language":"de","platform":"ios"},"explain":true}', [
      ['X-Request-Id', 'trace-42_x='],
    ]),
    lane: true,
  },
  { name: 'charset=utf-8', parts: post('{"user":"carol","statuses":5}', [], 'application/json; charset=UTF-8'), lane: true },
  { name: 'an invalid request id', parts: post('{"user":"dan","statuses":5}', [['X-Request-Id', 'has space']]), lane: true },
  {
    name: 'a body in pieces, slowly',
    parts: (x) => [head(x.port, json(x.client.key, '{"user":"erin","statuses":7}')), '{"user":"er', 60, 'in","statuses":7}'],
    lane: true,
  },
  { name: 'a byte-order mark', parts: post(Buffer.from('\ufeff{"user":"fay","statuses":3}')), lane: true },
  {
    name: 'invalid UTF-8 in the user id',
    parts: post(Buffer.from([...Buffer.from('{"user":"g'), 0xff, ...Buffer.from('","statuses":3}')])),
    lane: true,
    // Not read as U+FFFD: "g\xff" and "g\xfe" would be one user.
    status: 400,
  },
  { name: 'malformed JSON', parts: post('{"user":'), lane: true },
  { name: 'an empty body', parts: post(''), lane: true },
  { name: 'JSON null', parts: post('null'), lane: true },
  { name: 'a JSON array', parts: post('[1]'), lane: true },
  { name: 'an unknown field', parts: post('{"user":"h","statuses":3,"city":"Berlin"}'), lane: true },
  { name: 'a content field', parts: post('{"user":"h","statuses":3,"text":"hi there"}'), lane: true },
  {
    name: 'a content field inside an unknown one',
    parts: post('{"user":"h","statuses":3,"meta":{"text":"hi there"}}'),
    lane: true,
    status: 400,
  },
  { name: 'statuses and runs', parts: post('{"user":"h","statuses":3,"runs":[1]}'), lane: true },
  { name: 'out of bounds', parts: post('{"user":"","statuses":1001,"context":{"country":"de"}}'), lane: true },
  { name: 'a lone surrogate in the user id', parts: post('{"user":"x\\ud800","statuses":3}'), lane: true },
  { name: 'text/plain', parts: post('{"user":"i","statuses":3}', [], 'text/plain'), lane: false },
  { name: 'an unreadable JSON type', parts: post('{"user":"i","statuses":3}', [], 'application/json;foo'), lane: false },
  { name: 'a JSON suffix type', parts: post('{"user":"i","statuses":3}', [], 'application/vnd.x+json'), lane: false },
  {
    name: 'no Content-Type',
    parts: (x) => [
      head(x.port, [
        ['Authorization', `Bearer ${x.client.key}`],
        ['Content-Length', '2'],
      ]),
      '{}',
    ],
    lane: false,
  },
  {
    name: 'no key',
    parts: (x) => [
      head(x.port, [
        ['Content-Type', 'application/json'],
        ['Content-Length', '2'],
      ]),
      '{}',
    ],
    lane: false,
  },
  {
    name: 'a wrong key',
    parts: (x) => [head(x.port, json('sk_client_nope', '{"user":"j","statuses":1}')), '{"user":"j","statuses":1}'],
    lane: false,
  },
  {
    name: 'not a bearer key',
    parts: (x) => [
      head(
        x.port,
        json(x.client.key, '{}').map(([k, v]) => [k, k === 'Authorization' ? `Basic ${x.client.key}` : v]),
      ),
      '{}',
    ],
    lane: false,
  },
  {
    name: 'an advertiser key',
    parts: (x) => [head(x.port, json(x.advertiser.key, '{"user":"j","statuses":1}')), '{"user":"j","statuses":1}'],
    lane: false,
  },
  {
    name: 'the operator key',
    parts: (x) => [head(x.port, json(ADMIN_KEY, '{"user":"j","statuses":1}')), '{"user":"j","statuses":1}'],
    lane: false,
  },
  {
    name: 'a lower-case bearer',
    parts: (x) => [
      head(
        x.port,
        json(x.client.key, '{"user":"k","statuses":1}').map(([k, v]) => [k, v.replace('Bearer', 'bearer')]),
      ),
      '{"user":"k","statuses":1}',
    ],
    lane: true,
  },
  {
    name: 'two Authorization headers',
    parts: (x) => [
      head(x.port, [...json(x.client.key, '{"user":"k","statuses":1}'), ['Authorization', `Bearer ${x.client.key}`]]),
      '{"user":"k","statuses":1}',
    ],
    lane: false,
  },
  {
    name: 'two Content-Types',
    parts: (x) => [
      head(x.port, [...json(x.client.key, '{"user":"k","statuses":1}'), ['Content-Type', 'text/plain']]),
      '{"user":"k","statuses":1}',
    ],
    lane: false,
  },
  {
    name: 'a body over 1 MiB',
    parts: post(`{"user":"${'x'.repeat(1024 * 1024)}","statuses":1}`),
    lane: false,
  },
  {
    name: 'a chunked body',
    parts: (x) => [
      head(x.port, [
        ['Authorization', `Bearer ${x.client.key}`],
        ['Content-Type', 'application/json'],
        ['Transfer-Encoding', 'chunked'],
      ]),
      `${(28).toString(16)}\r\n{"user":"lee","statuses":12}\r\n0\r\n\r\n`,
    ],
    lane: false,
  },
  { name: 'GET', parts: (x) => [head(x.port, [['Authorization', `Bearer ${x.client.key}`]], '/v1/slots', 'GET')], lane: false },
  {
    name: 'a query string',
    parts: (x) => [head(x.port, json(x.client.key, '{"user":"m","statuses":2}'), '/v1/slots?a=1'), '{"user":"m","statuses":2}'],
    lane: false,
  },
  {
    name: 'a wrong key, body never sent (answered early)',
    parts: (x) => [head(x.port, json('sk_client_nope', '{"user":"j","statuses":1}'))],
    lane: false,
  },
  ...['127.0.0.1:61234', 'ads.example:80', 'ads.example:65535', 'ads.example:8', 'localhost:0080'].map((host) => ({
    name: `Host ${host} (the adapter checks it by a URL)`,
    parts: (x: Side) => [post('{"user":"p","statuses":2}')(x).join('').replace(`Host: 127.0.0.1:${x.port}`, `Host: ${host}`)],
    lane: true,
  })),
  ...['1.2.3:61234', 'ads.example:65536', '0x7f.1:61000', 'ads..example:70000'].map((host) => ({
    name: `Host ${host} (not as the URL reads it: the app's)`,
    parts: (x: Side) => [post('{"user":"p","statuses":2}')(x).join('').replace(`Host: 127.0.0.1:${x.port}`, `Host: ${host}`)],
    lane: false,
  })),
  {
    name: 'a body aborted half-way',
    parts: (x) => [head(x.port, json(x.client.key, '{"user":"n","statuses":12}')), '{"user":"n"', 30],
    abort: true,
    lane: true,
  },
];

let lane: Side;
let app: Side;

beforeAll(async () => {
  [lane, app] = [await side(true), await side(false)];
  // The client key's first use is the app's (it looks the key up); from then on it is cached.
  for (const x of [lane, app]) {
    expect((await exchange(x.port, post('{"user":"warm","statuses":1}')(x)))?.status).toBe(200);
    await take(x);
  }
});
afterAll(async () => {
  for (const x of [lane, app]) {
    await new Promise((ok) => x.server.close(ok));
    await x.s.close();
  }
});

/** An answer with what differs between two services by design masked: ids, tokens, Date, a generated request id. */
function masked(x: Side, answer: Answer | undefined) {
  if (!answer) return undefined;
  let body = answer.body;
  x.ids.forEach((id, i) => (body = body.replaceAll(id, `<id${i}>`)));
  body = body.replace(/"token":"[^"]+"/g, '"token":"<token>"');
  const { date, ...headers } = answer.headers;
  const uuid = /^[0-9a-f-]{36}$/.test(headers['x-request-id'] ?? '');
  if (uuid) headers['x-request-id'] = '<uuid>';
  expect(date).toBeDefined();
  // A 200's header lines in the order written, Date and a generated id masked. Content-Length is left out of the
  // order (its value is in `headers`): node places the app's after its own Keep-Alive, the lane writes it in its
  // list. A problem's order differs by design (the app's goes through a sorted WHATWG Headers), so only its set.
  const lines =
    answer.status !== 200
      ? undefined
      : answer.lines
          .filter((line) => !/^content-length:/i.test(line))
          .map((line) =>
            /^date:/i.test(line) ? 'Date: <date>' : uuid && /^x-request-id:/i.test(line) ? 'x-request-id: <uuid>' : line,
          );
  return { status: answer.status, headers, lines, body };
}

/** Log lines and metric calls since the last call, with each service's ids masked. */
async function take(x: Side) {
  // The last log line and metric call of an aborted request come when the server sees the close.
  await new Promise((r) => setTimeout(r, 50));
  const seen = x.seen.splice(0).map((entry) => x.ids.reduce((text, id, i) => text.replaceAll(id, `<id${i}>`), entry));
  return seen;
}

describe('the Node slot lane against the app, request by request', () => {
  beforeEach(() => {
    // A full bucket for each row (both services on the same clock).
    for (const x of [lane, app]) x.s.clock.advance(10_000);
  });

  it.each(ROWS)('$name', async (row) => {
    const before = lane.laneAnswered;
    const viaLane = masked(lane, await exchange(lane.port, row.parts(lane), { abort: row.abort }));
    const viaApp = masked(app, await exchange(app.port, row.parts(app), { abort: row.abort }));
    expect(viaLane).toEqual(viaApp);
    if (row.status !== undefined) expect(viaLane?.status).toBe(row.status);
    expect(await take(lane)).toEqual(await take(app));
    expect(lane.laneAnswered - before, 'answered by the lane').toBe(row.lane ? 1 : 0);
    expect(app.laneAnswered).toBe(0);
  });

  it("the answers carry the API's security headers", async () => {
    const answer = (await exchange(lane.port, post('{"user":"o","statuses":2}')(lane)))!;
    expect(answer.status).toBe(200);
    for (const [name, value] of API_SECURITY_HEADERS) expect(answer.headers[name], name).toBe(value);
    await take(lane);
  });
});

describe('the lane and the app share the key cache and the rate buckets', () => {
  it('a burst over the limit is a 429 with Retry-After on both, at the same request', async () => {
    const statuses = async (x: Side) => {
      const out: Answer[] = [];
      for (let i = 0; i < 6; i++) out.push((await exchange(x.port, post(`{"user":"p${i}","statuses":2}`)(x)))!);
      return out;
    };
    for (const x of [lane, app]) x.s.clock.advance(10_000);
    const [viaLane, viaApp] = [await statuses(lane), await statuses(app)];
    expect(viaLane.map((a) => a.status)).toEqual([200, 200, 200, 200, 429, 429]);
    expect(viaLane.map((a) => masked(lane, a))).toEqual(viaApp.map((a) => masked(app, a)));
    expect(viaLane[4].headers['retry-after']).toBe('1');
    expect(await take(lane)).toEqual(await take(app));
  });

  /** A connection to `x` and what it received, answer by answer. */
  async function connection(x: Side) {
    const socket: Socket = connect(x.port, '127.0.0.1');
    await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
    let received = Buffer.alloc(0);
    let closed = false;
    socket.on('data', (chunk) => (received = Buffer.concat([received, chunk])));
    const ended = new Promise<void>((ok) => socket.on('end', () => ((closed = true), ok())));
    socket.on('error', () => {});
    const answer = async () => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const end = received.indexOf('\r\n\r\n');
        const length = end < 0 ? -1 : Number(/content-length: (\d+)/i.exec(received.subarray(0, end).toString())?.[1] ?? 0);
        if (end >= 0 && received.length >= end + 4 + length) {
          const text = received.subarray(0, end + 4 + length).toString();
          received = received.subarray(end + 4 + length);
          return text;
        }
        if (Date.now() > deadline) throw new Error(`no answer: ${received.toString()}`);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    return { socket, answer, ended, closed: () => closed };
  }

  // The app's path has a clean-up of unread bodies that closes the socket 500 ms after the answer: a body that
  // comes after 1 s must still leave the connection the 429 kept open.
  it.each([0, 1000])(
    'a 429 before the body arrives keeps the connection, as the app does: the body (%i ms later) is dropped, the next request served',
    async (pause) => {
      for (const x of [lane, app]) x.s.clock.advance(10_000);
      const early = async (x: Side) => {
        for (let i = 0; i < 4; i++) await exchange(x.port, post(`{"user":"q${i}","statuses":2}`)(x));
        const before = x.laneAnswered;
        const body = '{"user":"q","statuses":2}';
        const c = await connection(x);
        // The head alone: answered 429 at once, without Connection: close.
        c.socket.write(head(x.port, json(x.client.key, body)));
        const limited = await c.answer();
        // The body the answer did not wait for, then the next request once the bucket has refilled.
        await new Promise((r) => setTimeout(r, pause));
        c.socket.write(body);
        x.s.clock.advance(10_000);
        c.socket.write(head(x.port, json(x.client.key, body)) + body);
        const next = await c.answer();
        const closed = c.closed();
        c.socket.destroy();
        return { limited, next, closed, byLane: x.laneAnswered - before };
      };
      const [viaLane, viaApp] = [await early(lane), await early(app)];
      for (const x of [viaLane, viaApp]) {
        expect(x.limited).toMatch(/^HTTP\/1\.1 429 /);
        expect(x.limited).not.toMatch(/connection: close/i);
        expect(x.next).toMatch(/^HTTP\/1\.1 200 /);
        expect(x.closed).toBe(false);
      }
      expect(viaLane.byLane).toBe(2);
      expect(await take(lane)).toEqual(await take(app));
    },
  );

  /** Spends `x`'s advertiser bucket (bursts of 40) with cheap GETs until one is a 429. */
  async function overRate(x: Side) {
    for (let i = 0; i < 100; i++) {
      const answer = await exchange(x.port, [
        head(x.port, [['Authorization', `Bearer ${x.advertiser.key}`]], '/v1/campaigns', 'GET'),
      ]);
      if (answer?.status === 429) return;
    }
    throw new Error('never rate limited');
  }

  // Only an upload can be rate limited before a body over 1 MiB (the JSON routes' body limit comes first).
  it('a 429 before an upload declared over 1 MiB says Connection: close and closes, lingering', async () => {
    for (const x of [lane, app]) x.s.clock.advance(10_000);
    const early = async (x: Side) => {
      await overRate(x);
      const c = await connection(x);
      const target = `/v1/campaigns/${x.ids[2]}/creatives`;
      const headers: [string, string][] = [
        ['Authorization', `Bearer ${x.advertiser.key}`],
        ['Content-Type', 'image/png'],
        ['Content-Length', String(2 * 1024 * 1024)],
      ];
      c.socket.write(head(x.port, headers, target));
      const limited = await c.answer();
      // The server ends its side after the answer and reads what still comes (no reset under it).
      c.socket.write(Buffer.alloc(64 * 1024));
      await c.ended;
      c.socket.destroy();
      return limited;
    };
    for (const limited of [await early(lane), await early(app)]) {
      expect(limited).toMatch(/^HTTP\/1\.1 429 /);
      expect(limited).toMatch(/connection: close/i);
    }
    await take(lane);
    await take(app);
  });

  // A chunked body declares no length: it is read (up to the limit) before the rate limit, so its 429 comes after
  // the whole body, and the connection carries the next request.
  it('a chunked body over the rate is read first: a 429 after it, the connection kept', async () => {
    for (const x of [lane, app]) x.s.clock.advance(10_000);
    const late = async (x: Side) => {
      for (let i = 0; i < 4; i++) await exchange(x.port, post(`{"user":"r${i}","statuses":2}`)(x));
      const c = await connection(x);
      const headers = json(x.client.key, '').filter(([k]) => k !== 'Content-Length');
      const body = '{"user":"r","statuses":2}';
      c.socket.write(
        `${head(x.port, [...headers, ['Transfer-Encoding', 'chunked']])}${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      );
      const limited = await c.answer();
      x.s.clock.advance(10_000);
      c.socket.write(head(x.port, json(x.client.key, body)) + body);
      const next = await c.answer();
      const closed = c.closed();
      c.socket.destroy();
      return { limited, next, closed };
    };
    for (const x of [await late(lane), await late(app)]) {
      expect(x.limited).toMatch(/^HTTP\/1\.1 429 /);
      expect(x.limited).not.toMatch(/connection: close/i);
      expect(x.next).toMatch(/^HTTP\/1\.1 200 /);
      expect(x.closed).toBe(false);
    }
    expect(await take(lane)).toEqual(await take(app));
  });

  it('a key the lane has not seen is looked up by the app first, then served by the lane', async () => {
    for (const x of [lane, app]) x.s.clock.advance(10_000);
    const fresh = async (x: Side) => {
      const client = await x.s.newClient('Another');
      x.ids.push(client.id);
      await take(x);
      const before = x.laneAnswered;
      const answers = [];
      for (const user of ['r1', 'r2']) {
        const body = `{"user":"${user}","statuses":2}`;
        answers.push(masked(x, await exchange(x.port, [head(x.port, json(client.key, body)), body])));
      }
      return { answers, byLane: x.laneAnswered - before };
    };
    const [viaLane, viaApp] = [await fresh(lane), await fresh(app)];
    expect(viaLane.answers.map((a) => a?.status)).toEqual([200, 200]);
    expect(viaLane.byLane).toBe(1);
    expect(viaLane.answers).toEqual(viaApp.answers);
    expect(await take(lane)).toEqual(await take(app));
  });
});

describe('one keep-alive connection, several keys', () => {
  /** Requests sent one after another on one connection, each answer read before the next request. */
  async function conversation(port: number, requests: string[]) {
    const socket: Socket = connect(port, '127.0.0.1');
    await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
    let received = Buffer.alloc(0);
    socket.on('data', (chunk) => (received = Buffer.concat([received, chunk])));
    const statuses: number[] = [];
    for (const request of requests) {
      socket.write(request);
      const deadline = Date.now() + 5000;
      for (;;) {
        const end = received.indexOf('\r\n\r\n');
        const length = end < 0 ? -1 : Number(/content-length: (\d+)/i.exec(received.subarray(0, end).toString())?.[1] ?? 0);
        if (end >= 0 && received.length >= end + 4 + length) {
          statuses.push(Number(received.subarray(9, 12).toString()));
          received = received.subarray(end + 4 + length);
          break;
        }
        if (Date.now() > deadline) throw new Error(`no answer after ${statuses.join(',')}: ${received.toString()}`);
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    socket.destroy();
    return statuses;
  }

  it('each request is admitted with its own key, whatever the connection admitted before', async () => {
    const run = async (x: Side) => {
      x.s.clock.advance(10_000);
      const other = await x.s.newClient('Other');
      x.ids.push(other.id);
      // Both keys known to the key cache, so the lane answers each.
      for (const key of [x.client.key, other.key])
        await exchange(x.port, [head(x.port, json(key, '{"user":"k","statuses":2}')), '{"user":"k","statuses":2}']);
      x.s.clock.advance(10_000);
      await take(x);
      const body = '{"user":"k1","statuses":2}';
      const request = (key: string) => head(x.port, json(key, body)) + body;
      const before = x.laneAnswered;
      // A 401 or 403 is the app's, answered before the body is read: the connection closes after it, so it comes last.
      const statuses = await conversation(x.port, [
        request(x.client.key),
        request(other.key),
        request(x.client.key),
        request(ADMIN_KEY),
      ]);
      return { statuses, byLane: x.laneAnswered - before, seen: await take(x) };
    };
    const [viaLane, viaApp] = [await run(lane), await run(app)];
    expect(viaLane.statuses).toEqual([200, 200, 200, 403]);
    expect(viaLane.byLane).toBe(3);
    expect(viaLane.seen).toEqual(viaApp.seen);
    // The log names each request's own client (and the admin key it refused for its kind).
    const keys = viaLane.seen
      .filter((l) => l.startsWith('info request'))
      .map((l) => /"id":"([^"]*)"/.exec(l)?.[1] ?? /"kind":"(\w+)"/.exec(l)?.[1]);
    expect(keys).toEqual(['<id0>', `<id${lane.ids.length - 1}>`, '<id0>', 'admin']);
  });
});
