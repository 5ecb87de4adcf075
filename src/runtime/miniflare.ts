/**
 * Runs the Worker locally inside workerd through Miniflare 3, from Node: bundles
 * src/runtime/worker.ts with esbuild, declares the same bindings as
 * wrangler.toml, and applies the D1 migrations the way `wrangler d1 migrations
 * apply` does. Used by `npm run start:worker` and the runtime tests.
 */

import childProcess, { type ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, stop } from 'esbuild';
import { Miniflare } from 'miniflare';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const migrationsDir = join(root, 'schema/migrations');

/** Kept in step with wrangler.toml. */
export const COMPATIBILITY_DATE = '2025-07-01';

/** The settings `npm start` reads (src/config.ts), passed through to the Worker as plain-text vars. */
export { SETTING_NAMES } from '../config.js';

/** Bundles the Worker (or another entry that re-exports its objects) into one ES module at `outfile`. */
export async function bundleWorker(outfile: string, entry = join(root, 'src/runtime/worker.ts')): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    external: ['cloudflare:*'],
    loader: { '.sql': 'text' },
    logLevel: 'warning',
    legalComments: 'none',
  });
}

/** Ends esbuild's service process (`bundleWorker` starts it, and it would stay until this process exits). */
export const stopBundler = (): Promise<void> => stop();

/** Minimal surface of a D1 database, as Miniflare hands it to Node. */
interface D1Like {
  prepare(query: string): { run(): Promise<unknown>; all<T>(): Promise<{ results: T[] }> };
  batch(statements: unknown[]): Promise<unknown>;
}

/** Applies pending schema/migrations/*.sql in order, tracked in wrangler's `d1_migrations` table. */
export async function applyD1Migrations(db: D1Like, dir = migrationsDir): Promise<string[]> {
  await db
    .prepare(
      'CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)',
    )
    .run();
  const done = new Set((await db.prepare('SELECT name FROM d1_migrations').all<{ name: string }>()).results.map((r) => r.name));
  const applied: string[] = [];
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    if (done.has(name)) continue;
    const statements = readFileSync(join(dir, name), 'utf8')
      .split('--> statement-breakpoint')
      .map((s) => s.trim())
      .filter(Boolean);
    await db.batch([
      ...statements.map((s) => db.prepare(s)),
      db.prepare(`INSERT INTO d1_migrations (name) VALUES ('${name.replace(/'/g, "''")}')`),
    ]);
    applied.push(name);
  }
  return applied;
}

export interface LocalWorkerOptions {
  scriptPath: string;
  /** Plain-text vars and secrets. */
  bindings: Record<string, string>;
  /** Persist D1, Durable Objects and R2 under this folder; absent: in memory. */
  dataDir?: string;
  port?: number;
  host?: string;
  /** Opens workerd's V8 inspector on this port (bench/workers/profile.ts). */
  inspectorPort?: number;
  /** Called with each workerd process Miniflare starts (`npm run start:worker` stops when it ends). */
  onWorkerd?: (workerd: ChildProcess) => void;
}

/** util-linux's `setpriv` on PATH (Linux) if it takes `--pdeathsig` (2.33 and later), or undefined. */
function findSetpriv(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir || '.', 'setpriv');
    try {
      accessSync(path, constants.X_OK);
    } catch {
      continue;
    }
    return childProcess.spawnSync(path, ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' }).status === 0
      ? path
      : undefined;
  }
  return undefined;
}

/** Who hears of the next workerd spawned (`onWorkerd`: `npm run start:worker` runs one local worker per process). */
let workerdListener: ((workerd: ChildProcess) => void) | undefined;
let spawnWrapped = false;

/**
 * Routes Miniflare's spawn of workerd through `setpriv --pdeathsig KILL` where it exists (Linux): the kernel then
 * kills workerd when this process ends, however it ends. Miniflare stops workerd on a normal exit and on SIGTERM,
 * but a `kill -9` (or an OOM kill) of this process left workerd running for good, its Durable Object alarms still
 * writing the files under DATA_DIR. Installed once per process (concurrent starts in tests share it); other spawns
 * pass through unchanged.
 */
function wrapWorkerdSpawn(): void {
  if (spawnWrapped) return;
  spawnWrapped = true;
  const spawn = childProcess.spawn;
  const setpriv = findSetpriv();
  // Miniflare calls `child_process.spawn(workerd, ['serve', …, '--control-fd=3', '-'], …)` on the module object.
  const isWorkerd = (args: unknown) => Array.isArray(args) && args[0] === 'serve' && args.includes('--control-fd=3');
  childProcess.spawn = ((command: string, args: readonly string[], options: object) => {
    if (!isWorkerd(args)) return spawn(command, args, options);
    const child = setpriv
      ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', command, ...args], options)
      : spawn(command, args, options);
    workerdListener?.(child);
    return child;
  }) as typeof spawn;
}

/**
 * Miniflare 3's synchronous Node-side proxy (D1's `prepare()` goes through it while the
 * migrations are applied) can lose a reply on a loaded machine and fail an internal
 * assertion (`message?.id === id`). That is start-up plumbing: dispose and start again.
 * Migrations are tracked and each is one atomic batch, so applying them again is safe.
 */
const START_ATTEMPTS = 3;

export async function startLocalWorker(options: LocalWorkerOptions): Promise<Miniflare> {
  for (let attempt = 1; ; attempt++) {
    try {
      wrapWorkerdSpawn();
      workerdListener = options.onWorkerd;
      return await startOnce(options);
    } catch (err) {
      if (attempt >= START_ATTEMPTS || !String((err as Error).message).includes('message?.id === id')) throw err;
      console.error(`[worker] Miniflare lost a reply while starting (attempt ${attempt} of ${START_ATTEMPTS}), starting again`);
    }
  }
}

async function startOnce(options: LocalWorkerOptions): Promise<Miniflare> {
  const persist = options.dataDir;
  const mf = new Miniflare({
    modules: true,
    scriptPath: options.scriptPath,
    modulesRoot: dirname(options.scriptPath),
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: options.bindings,
    d1Databases: { DB: 'status-ads' },
    r2Buckets: { MEDIA: 'status-ads-media' },
    durableObjects: {
      USERS: { className: 'UserObject', useSQLite: true },
      CAMPAIGNS: { className: 'CampaignObject', useSQLite: true },
      TRAFFIC: { className: 'TrafficObject', useSQLite: true },
    },
    ...(persist
      ? { d1Persist: join(persist, 'd1'), durableObjectsPersist: join(persist, 'do'), r2Persist: join(persist, 'r2') }
      : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.inspectorPort !== undefined ? { inspectorPort: options.inspectorPort } : {}),
  });
  try {
    await mf.ready;
    await applyD1Migrations((await mf.getD1Database('DB')) as unknown as D1Like);
    return mf;
  } catch (err) {
    await mf.dispose().catch(() => undefined);
    throw err;
  }
}
