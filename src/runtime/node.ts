/**
 * `npm start`: the service on Node with the embedded SQLite store and media on
 * disk. SIGTERM/SIGINT drain in-flight requests, close the database, exit 0.
 */
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { dirname, resolve } from 'node:path';
import { readSettings, SettingsError } from '../config.js';
import { FsMediaStorage } from '../media/fs.js';
import { createSqliteStore } from '../store/sqlite/index.js';
import { tokenSecretsFrom } from '../privacy/token.js';
import { createService } from '../wiring.js';
import { createHttpServer } from './node-http.js';
import { loadSecrets } from './secrets.js';

const PRUNE_EVERY_MS = 60_000;
const SHUTDOWN_GRACE_MS = 10_000;

async function main() {
  const env = process.env;
  const settings = readSettings(env);
  const database = resolve(env.DATABASE ?? './data/ads.db');
  const mediaDir = resolve(env.MEDIA_DIR ?? './data/media');
  const { adminKey, secret } = loadSecrets(env, dirname(database));

  const store = createSqliteStore({ path: database, userCacheSize: settings.userCacheSize });
  const { app, delivery } = await createService({ settings, store, media: new FsMediaStorage(mediaDir), adminKey, secret, tokenSecrets: tokenSecretsFrom(env, secret),
    clientAddress: (c) => getConnInfo(c).remote.address,
  });

  const prune = setInterval(() => {
    delivery.prune(Date.now()).catch((err) => console.error(`[retention] prune failed: ${err.message}`));
  }, PRUNE_EVERY_MS);
  prune.unref();

  const server = serve({ fetch: app.fetch, port: settings.port, hostname: env.HOST ?? '0.0.0.0', createServer: createHttpServer }, (info) => {
    console.log(`[start] serving on http://${info.address}:${info.port} (database ${database})`);
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[stop] ${signal}: draining in-flight requests`);
    clearInterval(prune);
    const force = setTimeout(() => {
      console.error('[stop] drain took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(async () => {
      await store.close();
      console.log('[stop] closed cleanly');
      process.exit(0);
    });
    // Keep-alive connections with no request in flight would hold close() open, including
    // those that go idle when their in-flight request finishes: close them as they do.
    if ('closeIdleConnections' in server) {
      server.closeIdleConnections();
      setInterval(() => server.closeIdleConnections(), 50).unref();
    }
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof SettingsError ? `[start] ${err.message}` : err);
  process.exit(1);
});
