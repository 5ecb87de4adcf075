/**
 * `POST /v1/slots` latency (wrk's p50 / p99 / max) of two or more trees' servers, or of one tree under different
 * settings, in the HTTP bench's shape: each server `node --import tsx src/runtime/node.ts` on its own copy of one
 * seeded database, wrk -t2 at `--connections` with load.lua and the workload's bodies, a warm-up first. Two ways:
 *
 * - alternated (default): one server at a time, as `npm run bench` measures p99 (a second server loaded beside it
 *   would take its cores); the trees take turns, order reversed every round (ABBA), so a drift in the machine's load
 *   falls on all of them;
 * - `--at-once`: every tree's server loaded at the same time by its own wrk, so each window's contention is the same
 *   for all (p99 then says how they compare on a busy machine, not what one would show alone); per window the
 *   second tree's p99 ÷ the first's.
 *
 * Prints every window (p50, p99, max, req/s, server CPU per request, load average) and each tree's median p99.
 *
 *   npx tsx bench/http-p99.ts --tree=/work/wt/lead --tree=. [--rounds=4] [--windows=3] [--at-once]
 *   npx tsx bench/http-p99.ts --tree=. --tree=. --tree-env=2:SOME_SETTING=1 --tree-node-arg=2:--max-semi-space-size=32
 */
import type { ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { installCleanup, tempDir } from './cleanup.js';
import { cpuSeconds, newClientKey, stop } from './http.js';
import { perTreeOptions, prepareSlotWorkload, slotLoad, startTreeServer, WORKLOAD_HELP, WORKLOAD_OPTIONS } from './slot-load.js';
import { median, numberOf, progress } from './stats.js';

const HELP = `Usage: npx tsx bench/http-p99.ts --tree=DIR [--tree=DIR ...] [options]

POST /v1/slots latency of each tree's server (wrk -t2, the HTTP bench's bodies),
alternated one server at a time (ABBA), or all loaded at once with --at-once.

Options:
  --tree=DIR             a tree with its node_modules (repeat; the first seeds)  [.]
  --rounds=N             rounds (each tree's server started afresh in each)    [4]
  --windows=N            measured wrk runs per server                          [3]
  --seconds=S            seconds per window                                    [5]
  --warmup=S             seconds of load before measuring                      [3]
  --at-once              load every tree's server at the same time
  --tree-env=N:K=V       a server variable for the N-th tree only (repeat)
  --tree-node-arg=N:FLAG a node flag for the N-th tree's server only (repeat)
${WORKLOAD_HELP}
  -h, --help             this text`;

const { values: o } = parseArgs({
  strict: true,
  options: {
    tree: { type: 'string', multiple: true, default: ['.'] },
    rounds: { type: 'string', default: '4' },
    windows: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '3' },
    'at-once': { type: 'boolean', default: false },
    'tree-env': { type: 'string', multiple: true, default: [] },
    'tree-node-arg': { type: 'string', multiple: true, default: [] },
    ...WORKLOAD_OPTIONS,
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (o.help) {
  console.log(HELP);
  process.exit(0);
}
const num = (
  k: 'rounds' | 'windows' | 'seconds' | 'warmup' | 'campaigns' | 'seeded' | 'users' | 'user-cache' | 'connections' | 'seed',
) => numberOf(k, o[k]);
const trees = o.tree.map((t) => resolve(t));
const { env: treeEnv, args: treeArgs, label } = perTreeOptions(trees, o['tree-env'], o['tree-node-arg']);

installCleanup();
const dir = tempDir('p99');
progress(`p99: seeding ${num('campaigns')} campaigns and ${num('seeded')} served slots`);
const { template, bodies } = prepareSlotWorkload(dir, trees[0], {
  seed: num('seed'),
  campaigns: num('campaigns'),
  slots: num('seeded'),
  users: num('users'),
});

interface Server {
  child: ChildProcess;
  url: string;
  key: string;
}
let started = 0;
async function startServer(t: number): Promise<Server> {
  const env = { USER_CACHE_SIZE: String(num('user-cache')), ...treeEnv[t] };
  const { child, url } = await startTreeServer(dir, template, trees[t], ++started, { profile: false, env, args: treeArgs[t] });
  return { child, url, key: await newClientKey(url) };
}

const load = (s: Server, seconds: number, offset: number) =>
  slotLoad(s, { bodies, connections: num('connections'), seconds, offset });

/** One measured window on `servers` (loaded together): each one's line, and its p99 in ms. */
async function window(servers: Server[], offset: number): Promise<{ lines: string[]; p99: number[]; requests: number }> {
  const before = servers.map((s) => cpuSeconds(s.child.pid));
  const runs = await Promise.all(servers.map((s) => load(s, num('seconds'), offset)));
  const after = servers.map((s) => cpuSeconds(s.child.pid));
  const lines = runs.map((r, i) => {
    const [b, a] = [before[i], after[i]];
    const cpu = b && a ? `${(((a.user + a.system - b.user - b.system) * 1e6) / r.requests).toFixed(0)} µs CPU/req` : '';
    const failed = r.s5xx + r.errors > 0 ? `, ${r.s5xx + r.errors} 5xx/errors` : '';
    return `p50 ${(r.p50 / 1000).toFixed(2)} p99 ${(r.p99 / 1000).toFixed(2)} max ${(r.max / 1000).toFixed(1)} ms, ${(r.requests / num('seconds')).toFixed(0)} req/s, ${cpu}${failed}`;
  });
  return { lines, p99: runs.map((r) => r.p99 / 1000), requests: Math.max(...runs.map((r) => r.requests)) };
}

const p99s = trees.map(() => [] as number[]);
const ratios: number[] = [];
for (let round = 1; round <= num('rounds'); round++) {
  const order = trees.map((_, t) => t);
  if (round % 2 === 0) order.reverse();
  // At once: every tree's server in one group; alternated: one group per tree, in this round's order.
  for (const group of o['at-once'] ? [order] : order.map((t) => [t])) {
    const servers: Server[] = [];
    try {
      for (const t of group) servers.push(await startServer(t));
      await Promise.all(servers.map((s) => load(s, num('warmup'), 0)));
      let offset = 50_000;
      for (let w = 1; w <= num('windows'); w++) {
        const { lines, p99, requests } = await window(servers, offset);
        offset += requests + num('connections');
        group.forEach((t, i) => {
          p99s[t].push(p99[i]);
          console.log(`round ${round} window ${w} tree ${t + 1}: ${lines[i]}, load ${loadavg()[0].toFixed(2)}`);
        });
        if (o['at-once'] && trees.length === 2) ratios.push(p99[group.indexOf(1)] / p99[group.indexOf(0)]);
      }
    } finally {
      for (const s of servers) await stop(s.child);
    }
  }
}
trees.forEach((_, t) =>
  console.log(`${label(t)}: median p99 ${median(p99s[t]).toFixed(2)} ms (${p99s[t].map((x) => x.toFixed(1)).join(', ')})`),
);
if (ratios.length > 0)
  console.log(
    `p99 tree 2 ÷ tree 1, loaded at once: median of windows ${median(ratios).toFixed(3)} (${ratios.map((x) => x.toFixed(2)).join(', ')})`,
  );
