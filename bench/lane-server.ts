/**
 * One tree's Node slot lane with the engine taken out, for `bench/lane-cpu.ts`: the real server of
 * `npm start` (createNodeServer, createSlotsLane, the edge's key cache and rate buckets, the Node log
 * and Prometheus metrics) in front of a service whose `delivery.slots` answers a recorded result (one
 * real decision, made at start). What it costs per request is the main thread's part of `POST
 * /v1/slots` once the engine runs elsewhere: node:http, the edge, validation, the answer, the log
 * line and the metrics. TREE is the checkout whose modules it loads (default: this one).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const tree = resolve(process.env.TREE ?? '.');
const load = (path: string) => import(pathToFileURL(resolve(tree, path)).href);
const { makeService } = await load('test/helpers/service.ts');
const { createNodeLog } = await load('src/ops/node-log.ts');
const { createPrometheusMetrics } = await load('src/ops/prometheus.ts');
const { createNodeServer } = await load('src/runtime/node-http.ts');
const { createSlotsLane } = await load('src/runtime/node-slots.ts');

const log = createNodeLog('info', { pretty: false });
const metrics = createPrometheusMetrics({});
const s = await makeService({}, Date.now(), { log, metrics });
const client = await s.newClient();
for (let i = 0; i < Number(process.env.ADVERTISERS ?? 2); i++) await s.seedCampaign({ seed: i + 1 });
const result = await s.delivery.slots({ user: 'bench-user', statuses: 12, clientId: client.id });
s.delivery.slots = async () => result;
// Where the tree's delivery answers the slot request's JSON (made on the engine thread, crossing as one string).
const json = JSON.stringify(result);
if (typeof s.delivery.slotsJson === 'function') s.delivery.slotsJson = async () => json;
const server = createNodeServer(s.app.fetch, createSlotsLane({ edge: s.edge, delivery: s.delivery, settings: s.settings }));
server.listen(Number(process.env.PORT), '127.0.0.1', () => {
  process.stderr.write(`READY ${client.key} ${result.slots.length}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  s.close().finally(() => process.exit(0));
});
