#!/usr/bin/env node
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
/**
 * `npm start` (and `node dist/src/runtime/node.js` after `npm run build`): the
 * service on Node with the embedded SQLite store and media on disk. SIGTERM/SIGINT
 * stop accepting, let in-flight requests finish within DRAIN_MS, drop idle and
 * half-open connections at once, close the database and exit 0.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import { checkSettingNames, readSettings, SettingsError } from '../config.js';
import { FsMediaStorage } from '../media/fs.js';
import { errorFields } from '../ops/log.js';
import { checkFolder, checkHost, checkWritableFile, listenError } from '../ops/node-checks.js';
import { createNodeLog } from '../ops/node-log.js';
import { createPrometheusMetrics } from '../ops/prometheus.js';
import { tokenSecretsFrom } from '../privacy/token.js';
import type { Store } from '../store/interface.js';
import { walFileBytes } from '../store/sqlite/db.js';
import { createRemoteService, createService, type ServiceOptions } from '../wiring.js';
import { type EngineThread, startEngineThread } from './engine-thread.js';
import { openEngineStore } from './node-engine.js';
import { createNodeServer, httpServerOptions } from './node-http.js';
import { createSlotsLane } from './node-slots.js';
import { loadSecrets } from './secrets.js';

const PRUNE_EVERY_MS = 60_000;
/** Requests a connection has in flight (pipelined requests count each). */
const IN_FLIGHT = Symbol('requests in flight');
type Counted = Socket & { [IN_FLIGHT]?: number };
/** In-flight requests get this long after SIGTERM; below the 10 s most supervisors wait before SIGKILL. */
const DRAIN_MS = 8_000;

/** ENGINE_THREAD: on (default) or off. */
function engineThreadSetting(raw: string | undefined): boolean {
  if (raw === undefined || raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new SettingsError(`ENGINE_THREAD must be on or off, got "${raw}"`);
}

async function main() {
  // A stop asked for while starting (migrations, the engine thread, holds read back) is kept, not a kill by the
  // signal's default (exit 143): the server stops cleanly, exit 0, as soon as it is up.
  let stopAskedWhileStarting: NodeJS.Signals | undefined;
  const keepStop = (signal: NodeJS.Signals) => (stopAskedWhileStarting ??= signal);
  process.on('SIGTERM', keepStop);
  process.on('SIGINT', keepStop);
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

  const tokenSecrets = tokenSecretsFrom(env, secret);

  // ENGINE_THREAD [on]: delivery and the SQLite store on a worker thread (engine-thread.ts); off: all on this one.
  const threaded = engineThreadSetting(env.ENGINE_THREAD);
  let engine: EngineThread | undefined;
  let outOfBudget = () => 0;
  let userCacheSize = () => 0;
  const metrics = createPrometheusMetrics({
    userCacheSize: () => userCacheSize(),
    campaignsOutOfBudget: () => outOfBudget(),
    walBytes: () => walFileBytes(database),
    ...(threaded && { engine: () => engine?.gauges }),
  });
  /** Once the server exists: stop accepting (set below). */
  let stopServing: (() => void) | undefined;
  // The engine thread died or threw: calls in flight were rejected, so their requests are being answered (500)
  // now; then out, non-zero, for a supervisor to restart the service. Whatever is still open closes with the process.
  const failed = (err: Error) => {
    log.error(errorFields(err), 'the engine thread stopped; exiting');
    stopServing?.();
    setTimeout(
      () => {
        log.flush();
        process.exit(1);
      },
      stopServing ? 100 : 0,
    );
  };
  let store: Store;
  let local: ReturnType<typeof openEngineStore> | undefined;
  if (threaded) {
    engine = await startEngineThread({ database, secret, tokenSecrets, metrics, onFailure: failed });
    store = engine.store;
    userCacheSize = engine.gauges.userCacheEntries;
    outOfBudget = engine.gauges.campaignsOutOfBudget;
  } else {
    local = openEngineStore(settings, database, metrics);
    const sqlite = local.store;
    store = sqlite;
    userCacheSize = () => sqlite.userCacheSize();
  }
  const options: ServiceOptions = {
    settings,
    store,
    media: new FsMediaStorage(mediaDir),
    adminKey,
    secret,
    tokenSecrets,
    clientAddress: (c) => getConnInfo(c).remote.address,
    log,
    metrics,
    scrapeMetrics: async () => {
      // What the engine thread counted up to this scrape.
      await engine?.flushMetrics();
      return await metrics.scrape();
    },
    metricsToken: settings.metricsToken || undefined,
    // A forecast's CPU holds the thread that decides slots and commits events: one at a time.
    forecastsOneAtATime: true,
  };
  let service: ReturnType<typeof createRemoteService>;
  // Before the server listens (openEngineStore's loadHolds); the engine thread did it before it said it was ready.
  let holds: number;
  let holdsMs: number;
  if (local) {
    const sqlite = local;
    const { index, ...rest } = await createService(options);
    service = rest;
    outOfBudget = () => sqlite.outOfBudget(index);
    ({ holds, holdsMs } = sqlite.loadHolds());
  } else {
    service = createRemoteService(options, engine!.engine);
    ({ holds, holdsMs } = engine!);
  }
  const { app, edge, delivery } = service;

  const prune = setInterval(() => {
    delivery.prune(Date.now()).catch((err) => log.error(errorFields(err), 'retention prune failed'));
  }, PRUNE_EVERY_MS);
  prune.unref();

  // A 204 without Content-Type, a lingering close after an answer sent before the body, and POST /v1/slots
  // answered at the node:http request when the lane can (node-slots.ts).
  const server = createNodeServer(app.fetch, createSlotsLane({ edge, delivery, settings }), httpServerOptions(settings.http));
  // Which connections have a request in flight (a count on the socket, and one shared listener per
  // response: nothing allocated per request): at shutdown every other one (idle keep-alive, or a
  // half-open one that sent nothing or half a request line) is closed at once.
  const sockets = new Set<Socket>();
  let stopping = false;
  stopServing = () => {
    stopping = true;
    server.close();
  };
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
  log.info(
    { host, port, database, engineThread: threaded, holds, holdsMs },
    `serving on http://${host.includes(':') ? `[${host}]` : host}:${port}`,
  );
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
  process.off('SIGTERM', keepStop);
  process.off('SIGINT', keepStop);
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (stopAskedWhileStarting) shutdown(stopAskedWhileStarting);
}

main().catch((err) => {
  // A configuration problem is one line for the operator; anything else keeps its stack.
  console.error(err instanceof SettingsError ? `[start] ${err.message}` : err);
  process.exit(1);
});
