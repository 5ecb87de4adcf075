#!/usr/bin/env node
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
/**
 * `npm start` (and `node dist/src/runtime/node.js` after `npm run build`): the
 * service on Node with the embedded SQLite store and media on disk. SIGTERM/SIGINT
 * stop accepting, let in-flight requests finish within DRAIN_MS, drop idle and
 * half-open connections at once, close the database and exit 0.
 */
import { createAdaptorServer } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { checkSettingNames, readSettings, SettingsError } from '../config.js';
import { remainingBudgetMicros } from '../engine/eligibility.js';
import { FsMediaStorage } from '../media/fs.js';
import { errorFields } from '../ops/log.js';
import { checkFolder, checkHost, checkWritableFile, listenError } from '../ops/node-checks.js';
import { createNodeLog } from '../ops/node-log.js';
import { createPrometheusMetrics } from '../ops/prometheus.js';
import { tokenSecretsFrom } from '../privacy/token.js';
import { createSqliteStore } from '../store/sqlite/index.js';
import { createService } from '../wiring.js';
import { createHttpServer } from './node-http.js';
import { loadSecrets } from './secrets.js';

const PRUNE_EVERY_MS = 60_000;
/** Requests a connection has in flight (pipelined requests count each). */
const IN_FLIGHT = Symbol('requests in flight');
type Counted = Socket & { [IN_FLIGHT]?: number };
/** In-flight requests get this long after SIGTERM; below the 10 s most supervisors wait before SIGKILL. */
const DRAIN_MS = 8_000;

async function main() {
  const env = process.env;
  checkSettingNames(env);
  const settings = readSettings(env);
  const log = createNodeLog(settings.logLevel);
  const host = checkHost(env.HOST ?? '0.0.0.0');
  const database = resolve(env.DATABASE ?? './data/ads.db');
  const mediaDir = resolve(env.MEDIA_DIR ?? './data/media');
  checkFolder('DATABASE', dirname(database), env.DATABASE === undefined);
  checkWritableFile('DATABASE', database);
  checkFolder('MEDIA_DIR', mediaDir, true);
  const { adminKey, secret } = loadSecrets(env, dirname(database), (message) => log.warn({}, message));

  let outOfBudget = () => 0;
  const metrics = createPrometheusMetrics({
    userCacheSize: () => store.userCacheSize(),
    campaignsOutOfBudget: () => outOfBudget(),
  });
  const store = createSqliteStore({ path: database, userCacheSize: settings.userCacheSize, metrics });
  const { app, delivery, index } = await createService({
    settings,
    store,
    media: new FsMediaStorage(mediaDir),
    adminKey,
    secret,
    tokenSecrets: tokenSecretsFrom(env, secret),
    clientAddress: (c) => getConnInfo(c).remote.address,
    log,
    metrics,
    scrapeMetrics: () => metrics.scrape(),
    metricsToken: settings.metricsToken || undefined,
  });
  outOfBudget = () => {
    const now = Date.now();
    let count = 0;
    for (const campaign of index.candidates({}, true)) {
      if (campaign.status === 'active' && remainingBudgetMicros(campaign, store.budgets.view(campaign.id, now)) <= 0) count++;
    }
    return count;
  };

  // Before the server listens: the first slot requests find every campaign's live holds in memory (a restart with
  // hundreds of thousands of them reads them for seconds, which would otherwise stall those requests).
  const reading = performance.now();
  const holds = store.loadHolds(Date.now());
  const holdsMs = Math.round(performance.now() - reading);

  const prune = setInterval(() => {
    delivery.prune(Date.now()).catch((err) => log.error(errorFields(err), 'retention prune failed'));
  }, PRUNE_EVERY_MS);
  prune.unref();

  // createHttpServer: a 204 without Content-Type, and a lingering close after an answer sent before the body.
  const server = createAdaptorServer({ fetch: app.fetch, createServer: createHttpServer }) as Server;
  // Which connections have a request in flight (a count on the socket, and one shared listener per
  // response: nothing allocated per request): at shutdown every other one (idle keep-alive, or a
  // half-open one that sent nothing or half a request line) is closed at once.
  const sockets = new Set<Socket>();
  let stopping = false;
  const inFlight = (socket: Socket) => (socket as Counted)[IN_FLIGHT] ?? 0;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (stopping) socket.destroy();
  });
  function responseClosed(this: ServerResponse) {
    const socket = this.req.socket as Counted;
    const left = (socket[IN_FLIGHT] ?? 1) - 1;
    socket[IN_FLIGHT] = left;
    if (left === 0 && stopping) socket.end();
  }
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket as Counted;
    socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 0) + 1;
    res.on('close', responseClosed);
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', (err) => fail(listenError(err, host, settings.port)));
    server.listen(settings.port, host, () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  log.info({ host, port, database, holds, holdsMs }, `serving on http://${host.includes(':') ? `[${host}]` : host}:${port}`);
  // Written now rather than with the next buffer: supervisors and scripts wait for this line.
  log.flush();

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(prune);
    server.close(async () => {
      try {
        await store.close();
        log.info({}, 'stopped cleanly');
        process.exit(0);
      } catch (err) {
        log.error(errorFields(err), 'closing the database failed');
        process.exit(1);
      }
    });
    let busy = 0;
    for (const socket of sockets) {
      if (inFlight(socket) > 0) busy++;
      else socket.destroy();
    }
    // Logged once the listener is closed: whoever reads this line finds new connections refused.
    log.info({ signal, inFlight: busy }, 'stopping: draining in-flight requests');
    const deadline = setTimeout(() => {
      log.warn({ connections: sockets.size }, `drain deadline (${DRAIN_MS} ms): closing the remaining connections`);
      for (const socket of sockets) socket.destroy();
    }, DRAIN_MS);
    deadline.unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  // A configuration problem is one line for the operator; anything else keeps its stack.
  console.error(err instanceof SettingsError ? `[start] ${err.message}` : err);
  process.exit(1);
});
