/** What the slot-load tools share: a database seeded with a catalog and served slots, and the workload's slot bodies. */

import { type ChildProcess, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readSettings } from '../src/config.js';
import { freePort } from '../test/helpers/server.js';
import { seedEventLoad } from './event-load.js';
import { ADMIN_KEY, SECRET, start, wrk } from './http.js';
import { seedDatabase } from './serve.js';
import { type Catalog, sessions, slotsBody, Zipf } from './workload.js';

/** The catalog, and `slots` served slots (with their events) of `users` users, as a running server would have stored them. */
export async function seedServedSlots(
  path: string,
  catalog: Catalog,
  o: { slots: number; users: number; seed: number },
): Promise<void> {
  seedDatabase(path, catalog, Date.now());
  await seedEventLoad(path, catalog, {
    slots: o.slots,
    users: o.users,
    batch: 100,
    seed: o.seed,
    secret: SECRET,
    now: Date.now(),
    ttlMs: readSettings({}).tokenTtlMs,
  });
}

/**
 * `seedServedSlots` by `tree`'s own code, in a child process (that tree's tsx and schema), into `dir`/ads.db. Seed
 * with the oldest tree compared: a tree with later migrations applies them when its server opens its copy, while
 * the other way round an older tree would run on a layout it does not know.
 */
export function seedServedSlotsWith(
  tree: string,
  dir: string,
  o: { seed: number; campaigns: number; slots: number; users: number },
): void {
  const root = resolve(tree);
  const from = (file: string) => JSON.stringify(join(root, file));
  const script = `import { seedServedSlots } from ${from('bench/slot-load.ts')};
import { generateCatalog } from ${from('bench/workload.ts')};
await seedServedSlots(${JSON.stringify(join(dir, 'ads.db'))}, generateCatalog(${o.seed}, ${o.campaigns}), { slots: ${o.slots}, users: ${o.users}, seed: ${o.seed} });
`;
  execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** The workload options the tree-comparing tools (ab, http-p99, wal-size) share: `parseArgs` entries and help lines. */
export const WORKLOAD_OPTIONS = {
  campaigns: { type: 'string', default: '1000' },
  seeded: { type: 'string', default: '550000' },
  users: { type: 'string', default: '1000000' },
  'user-cache': { type: 'string', default: '20000' },
  connections: { type: 'string', default: '32' },
  seed: { type: 'string', default: '42' },
} as const;
export const WORKLOAD_HELP = `  --campaigns=N          campaigns in the catalog                              [1000]
  --seeded=N             other users' served slots stored first                [550000]
  --users=N              user population, Zipf activity                        [1000000]
  --user-cache=N         the servers' USER_CACHE_SIZE                          [20000]
  --connections=N        wrk connections per server                            [32]
  --seed=N               workload seed                                         [42]`;

/**
 * What the tree-comparing tools load: a database seeded by `tree`'s code (`seedServedSlotsWith`) in `dir`/template,
 * and 200,000 slot request bodies of the workload in `dir`/bodies.jsonl.
 */
export function prepareSlotWorkload(
  dir: string,
  tree: string,
  o: { seed: number; campaigns: number; slots: number; users: number },
): { template: string; bodies: string } {
  const template = join(dir, 'template');
  mkdirSync(template, { recursive: true });
  seedServedSlotsWith(tree, template, o);
  const bodies = writeSlotBodies(join(dir, 'bodies.jsonl'), { seed: o.seed, users: o.users, count: 200_000 });
  return { template, bodies };
}

/** `count` slot request bodies of the workload (Zipf activity over `users`), one JSON per line, for wrk. */
export function writeSlotBodies(file: string, o: { seed: number; users: number; count: number }): string {
  const lines: string[] = [];
  for (const s of sessions(o.seed, o.users, o.count, new Zipf(o.users))) lines.push(slotsBody(s));
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** A copy of the seeded database in `template` (with its WAL) for one server's own data folder `data`. */
export function copySeeded(template: string, data: string): void {
  mkdirSync(data, { recursive: true });
  for (const f of readdirSync(template)) if (f.startsWith('ads.db')) copyFileSync(join(template, f), join(data, f));
}

/** The environment of a server under slot load on `data`: the bench's keys, no rate limits, then `extra`. */
export function serverEnv(data: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE: join(data, 'ads.db'),
    MEDIA_DIR: join(data, 'media'),
    ADMIN_KEY,
    SECRET,
    RATE_LIMIT_ADVERTISER: '0',
    RATE_LIMIT_CLIENT: '0',
    ...extra,
  };
}

/**
 * A tree's real server (`src/runtime/node.ts` with the tree's own code) on its own copy of the seeded database in
 * `template`, in `dir/server-<k>`; under `--cpu-prof` into its `profile` folder when `profile`; `args` are more node
 * flags for the server.
 */
export async function startTreeServer(
  dir: string,
  template: string,
  tree: string,
  k: number,
  o: { profile: boolean; env?: Record<string, string>; args?: string[] },
): Promise<{ child: ChildProcess; url: string; profDir: string }> {
  const data = join(dir, `server-${k}`);
  const profDir = join(data, 'profile');
  mkdirSync(profDir, { recursive: true });
  copySeeded(template, data);
  const port = await freePort();
  const args = [...(o.profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), ...(o.args ?? [])];
  const child = await start('src/runtime/node.ts', serverEnv(data, o.env), port, args, resolve(tree));
  return { child, url: `http://127.0.0.1:${port}`, profDir };
}

/** wrk's slot load on one server: the workload's `bodies` from line `offset`, two wrk threads, the server's client key. */
export function slotLoad(
  server: { url: string; key: string },
  o: { bodies: string; connections: number; seconds: number; offset: number },
): ReturnType<typeof wrk> {
  return wrk(`${server.url}/v1/slots`, { threads: 2, tokens: '-', key: server.key, ...o });
}

/**
 * The per-tree options `--tree-env=N:K=V` (a server variable) and `--tree-node-arg=N:ARG` (a node flag) by tree (N
 * counts from 1), and each tree's label with them (http-p99.ts, wal-size.ts, engine-cpu.ts, event-cpu.ts).
 */
export function perTreeOptions(trees: string[], env: string[], nodeArgs: string[] = []) {
  const perTree = (items: string[], name: string) => {
    const out = trees.map(() => [] as string[]);
    for (const item of items) {
      const n = Number(item.slice(0, item.indexOf(':')));
      if (!Number.isInteger(n) || n < 1 || n > trees.length) throw new Error(`--${name}=${item}: N must name one of the trees`);
      out[n - 1].push(item.slice(item.indexOf(':') + 1));
    }
    return out;
  };
  const envs = perTree(env, 'tree-env').map(
    (kvs): Record<string, string> =>
      Object.fromEntries(kvs.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  );
  const args = perTree(nodeArgs, 'tree-node-arg');
  const label = (t: number) =>
    [`tree ${t + 1} ${trees[t]}`, ...Object.entries(envs[t]).map(([k, v]) => `${k}=${v}`), ...args[t]].join(' ');
  return { env: envs, args, label };
}
