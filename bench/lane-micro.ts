/**
 * The main thread's pieces of a `POST /v1/slots` answered by the Node lane, each timed alone in process
 * (ns per call, best of several rounds): the answer's headers through node:http's writeHead, the request
 * record (log line and metrics observation), the key cache, the body rule, the answer's JSON. TREE picks
 * the checkout whose modules are timed (default: this one), so two trees can be compared.
 *
 *   npx tsx bench/lane-micro.ts [--rounds=7]
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({ strict: true, options: { rounds: { type: 'string', default: '7' } } });
const tree = resolve(process.env.TREE ?? '.');
const load = (path: string) => import(pathToFileURL(resolve(tree, path)).href);
const { makeService } = await load('test/helpers/service.ts');
const { createPrometheusMetrics } = await load('src/ops/prometheus.ts');
const { lineLog } = await load('src/ops/log.ts');
const requestLog = await load('src/api/middleware/request-log.ts');
const feed = await load('src/api/routes/feed.ts');
// The answer's JSON: made by delivery (on the engine thread) since session 9, by the route before.
const { slotsJson } = await load('src/delivery/slots-json.ts').catch(() => feed);
const { createNodeServer } = await load('src/runtime/node-http.ts');

let written = 0;
const log = lineLog('info', (line: string) => {
  written += line.length;
});
const metrics = createPrometheusMetrics({});
const s = await makeService({}, Date.now(), { log, metrics });
const client = await s.newClient();
for (let i = 0; i < 2; i++) await s.seedCampaign({ seed: i + 1 });
const result = await s.delivery.slots({ user: 'bench-user', statuses: 12, clientId: client.id });
const principal = await s.edge.authenticate(`Bearer ${client.key}`, ['client']);
const body = '{"user":"user-87","runs":[1,3,1],"context":{"country":"PL","language":"pl","platform":"android"}}';
const json = slotsJson(result);

// A response object as the server makes one (our response class), on a socket that writes nowhere.
const server = createNodeServer(s.app.fetch);
const ResponseClass = (server as unknown as { [k: symbol]: unknown })[
  Object.getOwnPropertySymbols(server).find((k) => k.description === 'ServerResponse')!
] as typeof ServerResponse;
const socket = new Socket();
const req = new IncomingMessage(socket);
req.complete = true;
req.method = 'POST';

function time(name: string, n: number, f: (i: number) => void) {
  let best = Infinity;
  for (let r = 0; r < Number(o.rounds); r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f(i);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / n);
  }
  console.log(`${name.padEnd(44)} ${best.toFixed(0).padStart(6)} ns`);
}

// As the lane builds them: the envelope's headers, then the length.
const headersOf = (reqId: string) => {
  const headers = requestLog.envelopeHeaders(reqId, requestLog.JSON_ANSWER);
  headers['content-length'] = String(Buffer.byteLength(json));
  return headers;
};
time('answer headers + writeHead (no socket)', 50_000, (i) => {
  const res = new ResponseClass(req);
  res.writeHead(200, headersOf(`req-${i & 1023}`));
});
// As the lane builds them since session 9 (where the tree has it): node:http's flat list.
const listOf = (reqId: string) => {
  const list = requestLog.jsonAnswerHeaderList(reqId);
  list.push('content-length', String(Buffer.byteLength(json)));
  return list;
};
if (requestLog.jsonAnswerHeaderList)
  time('answer header list + writeHead (no socket)', 50_000, (i) => {
    const res = new ResponseClass(req);
    res.writeHead(200, listOf(`req-${i & 1023}`));
  });
time('plain ServerResponse + writeHead', 50_000, (i) => {
  const res = new ServerResponse(req);
  res.writeHead(200, headersOf(`req-${i & 1023}`));
});
time('headers object only', 50_000, (i) => headersOf(`req-${i & 1023}`));
time('new response only', 50_000, () => new ResponseClass(req));
time('request record (log line + metrics)', 200_000, (i) =>
  s.edge.record({
    reqId: `req-${i & 1023}`,
    method: 'POST',
    route: '/v1/slots',
    status: 200,
    ms: 1.234,
    principal,
    error: undefined,
  }),
);
time('request id (none sent: random UUID)', 200_000, () => requestLog.requestIdOf(undefined));
time('authenticate (cached client key)', 200_000, () => s.edge.authenticate(`Bearer ${client.key}`, ['client']));
time('slotsInputFrom', 200_000, () => feed.slotsInputFrom(body));
time(`slotsJson (${result.slots.length} slots)`, 200_000, () => slotsJson(result));
time('Buffer.byteLength(answer)', 200_000, () => Buffer.byteLength(json));
if (written === 0) throw new Error('no log line written');
await s.close();
