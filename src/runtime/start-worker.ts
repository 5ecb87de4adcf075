/**
 * `npm run start:worker`: the Worker inside workerd through Miniflare 3, with
 * D1, Durable Objects and R2 persisted under DATA_DIR [./data/worker] and the
 * same settings as `npm start`. workerd listens on loopback only; PORT is
 * served by a local stand-in for Cloudflare's edge (./local-edge.ts), which
 * sets CF-Connecting-IP from the socket. SIGTERM/SIGINT: the edge answers the
 * requests in flight and closes (as `npm start` drains), then workerd stops; exit 0.
 * One server per DATA_DIR (a lock, as `npm start` holds one per DATABASE); workerd
 * ends with this process, and this process ends (exit 1) if workerd does.
 */

import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { checkSettingNames, readSettings, SettingsError } from '../config.js';
import { checkFolder, checkHost, listenError } from '../ops/node-checks.js';
import { LOCAL_USER_SHARDS, parseBudgetMinShards, parseUserShards } from '../store/durable-object/placement.js';
import { holdServerLock } from '../store/sqlite/db.js';
import { type LocalEdge, startLocalEdge } from './local-edge.js';
import { bundleWorker, SETTING_NAMES, startLocalWorker, stopBundler } from './miniflare.js';
import { loadSecrets } from './secrets.js';

/** Referenced for the process's life: a collected lock connection would be closed, and the lock dropped. */
let releaseDataDir: (() => void) | undefined;

async function main() {
  const env = process.env;
  checkSettingNames(env);
  const settings = readSettings(env);
  // The Workers-only settings too: the Worker reads them at its first request, too late for one clear line.
  parseUserShards(env.USER_SHARDS);
  parseBudgetMinShards(env.BUDGET_MIN_SHARDS);
  const host = checkHost(env.HOST ?? '0.0.0.0');
  const dataDir = resolve(env.DATA_DIR ?? './data/worker');
  checkFolder('DATA_DIR', dataDir, true);
  releaseDataDir = lockDataDir(dataDir);
  const { adminKey, secret } = loadSecrets(env, dataDir);
  const scriptPath = join(dataDir, 'worker.js');
  await bundleWorker(scriptPath);
  // esbuild's service process is not needed again: gone now rather than at exit.
  await stopBundler();

  const bindings: Record<string, string> = { ADMIN_KEY: adminKey, SECRET: secret };
  for (const name of SETTING_NAMES) if (env[name] !== undefined) bindings[name] = env[name] as string;
  // Locally all objects share one workerd's memory (LOCAL_USER_SHARDS). A DATA_DIR made with another count keeps its
  // users only with that count set (USER_SHARDS=1024 for one made before this default).
  bindings.USER_SHARDS ??= String(LOCAL_USER_SHARDS);
  // Registered before Miniflare's own exit hook, which stops workerd right after.
  let mf: Awaited<ReturnType<typeof startLocalWorker>> | undefined;
  let edge: LocalEdge | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[stop] ${signal}: stopping workerd`);
    // In-flight requests are answered (workerd still runs), then their connections close; then workerd stops.
    await edge?.stop();
    await mf?.dispose();
    releaseDataDir?.();
    console.log('[stop] closed cleanly');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  // workerd ending on its own (a crash, an OOM kill, kill -9) would leave the edge answering 502 for good: stop, exit 1,
  // so that a supervisor starts it again.
  const onWorkerd = (workerd: ChildProcess) =>
    workerd.once('exit', (code, signal) => {
      if (stopping) return;
      stopping = true;
      console.error(`[stop] workerd ended unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}): stopping`);
      void (edge?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
    });
  mf = await startLocalWorker({ scriptPath, bindings, dataDir, port: 0, host: '127.0.0.1', onWorkerd });
  // Miniflare's exit hook answers SIGTERM/SIGINT with exit code 143/130 before dispose() finishes;
  // its 'exit' hook (which kills workerd) stays as a safety net, the signals are ours: exit 0.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void shutdown(signal));
  }
  edge = await startLocalEdge({ upstream: await mf.ready, port: settings.port, host, http: settings.http }).catch((err) => {
    // Port in use, a HOST not of this machine: one line, as `npm start` says it (workerd stops at the exit).
    throw listenError(err, host, settings.port);
  });
  const address = edge.address();
  // Reachable locally even when bound to every interface.
  const shown =
    typeof address === 'object' && address ? (['0.0.0.0', '::'].includes(address.address) ? '127.0.0.1' : address.address) : '';
  const where =
    typeof address === 'object' && address
      ? `http://${shown.includes(':') ? `[${shown}]` : shown}:${address.port}`
      : String(address);
  console.log(`[start] serving the Worker in workerd on ${where} (D1, Durable Objects and R2 under ${dataDir})`);
}

/**
 * One server per DATA_DIR: two workerds on the same Durable Object files would run two instances of one user's or
 * campaign's object, breaking the single writer that caps, budgets and idempotency rest on. The lock is the one
 * `npm start` holds on `$DATABASE-lock` (the kernel drops it when this process ends, even by kill -9).
 */
function lockDataDir(dataDir: string): () => void {
  return holdServerLock(join(dataDir, 'server.lock'), {
    what: `DATA_DIR ${dataDir}`,
    holder: 'start:worker process',
    scope: 'data folder',
    refused: (message) => new SettingsError(message),
  });
}

main().catch((err) => {
  console.error(err instanceof SettingsError ? `[start] ${err.message}` : err);
  process.exit(1);
});
