/**
 * The `-wal` file's size under steady `POST /v1/slots` load, per tree: each tree's real server
 * (`node --import tsx src/runtime/node.ts`, its own copy of one seeded database, `bench/slot-load.ts`) under wrk -t2 at
 * `--connections` for `--seconds` (one wrk run, or back-to-back runs of `--window` s, so one slow window shows: wrk
 * takes ~2 s to start each, without load, in which the WAL catches up), the `-wal` file's size sampled every second. The servers run one at a time, the trees taking turns (order reversed every
 * round). The default 75 s covers the server's first retention run (60 s after its start), whose truncating checkpoint
 * shows in its window's max latency.
 *
 * Prints every window (p50, p99, max, req/s) and per server the WAL's size: largest sample, median, 90th percentile,
 * and the size at each second when `--trace`; and, from the server's GET /metrics after its load (trees that have
 * them), the commits' holds for the checkpointer: how many, their share of the measured time, mean and largest bucket.
 *
 *   npx tsx bench/wal-size.ts --tree=/work/wt/lead --tree=. [--rounds=1] [--seconds=75]
 *   npx tsx bench/wal-size.ts --tree=. --tree=. --tree-env=2:ENGINE_THREAD=off
 *
 * `--stalls`: each server also runs with `bench/stalls.mjs` (this tree's) and the gaps of its main thread's event loop
 * are printed (count over 3 and 10 ms, the largest, checkpoints run on that thread's connection); with
 * `--tree-env=N:ENGINE_THREAD=off` the store runs on that thread, so its checkpoints' and commits' stalls show there.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { installCleanup, tempDir } from './cleanup.js';
import { ADMIN_KEY, cpuSeconds, newClientKey, stop } from './http.js';
import { perTreeOptions, prepareSlotWorkload, slotLoad, startTreeServer, WORKLOAD_HELP, WORKLOAD_OPTIONS } from './slot-load.js';
import { median, numberOf, progress } from './stats.js';

const HELP = `Usage: npx tsx bench/wal-size.ts --tree=DIR [--tree=DIR ...] [options]

The -wal file's size, sampled each second, under steady POST /v1/slots load
(wrk -t2, the HTTP bench's bodies), each tree's server in turn.

Options:
  --tree=DIR             a tree with its node_modules (repeat; the first seeds)  [.]
  --rounds=N             rounds (each tree's server started afresh in each)    [1]
  --seconds=S            seconds of measured load per server                   [75]
  --window=S             seconds per wrk run within them (wrk takes ~2 s to
                         start each: no load then, so the WAL catches up)      [= --seconds]
  --warmup=S             seconds of load before measuring                      [3]
  --tree-env=N:K=V       a server variable for the N-th tree only (repeat)
${WORKLOAD_HELP}
  --trace                also print every second's size
  --stalls               also the server's main-thread event-loop gaps (bench/stalls.mjs)
  -h, --help             this text`;

const { values: o } = parseArgs({
  strict: true,
  options: {
    tree: { type: 'string', multiple: true, default: ['.'] },
    rounds: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '75' },
    window: { type: 'string' },
    warmup: { type: 'string', default: '3' },
    'tree-env': { type: 'string', multiple: true, default: [] },
    ...WORKLOAD_OPTIONS,
    trace: { type: 'boolean', default: false },
    stalls: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (o.help) {
  console.log(HELP);
  process.exit(0);
}
type Numeric =
  | 'rounds'
  | 'seconds'
  | 'window'
  | 'warmup'
  | 'campaigns'
  | 'seeded'
  | 'users'
  | 'user-cache'
  | 'connections'
  | 'seed';
const num = (k: Numeric) => numberOf(k, o[k] ?? o.seconds);
const trees = o.tree.map((t) => resolve(t));
const { env: treeEnv, label } = perTreeOptions(trees, o['tree-env']);

installCleanup();
const dir = tempDir('wal-size');
progress(`wal-size: seeding ${num('campaigns')} campaigns and ${num('seeded')} served slots`);
const { template, bodies } = prepareSlotWorkload(dir, trees[0], {
  seed: num('seed'),
  campaigns: num('campaigns'),
  slots: num('seeded'),
  users: num('users'),
});

const MB = 1024 * 1024;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const results: string[] = [];
let started = 0;
for (let round = 1; round <= num('rounds'); round++) {
  const order = trees.map((_, t) => t);
  if (round % 2 === 0) order.reverse();
  for (const t of order) {
    const k = ++started;
    const stallsDir = join(dir, `stalls-${k}`);
    const stalls: Record<string, string> = o.stalls
      ? { STALLS_DIR: stallsDir, NODE_OPTIONS: `--import ${resolve(import.meta.dirname, 'stalls.mjs')}` }
      : {};
    if (o.stalls) mkdirSync(stallsDir, { recursive: true });
    const env = { USER_CACHE_SIZE: String(num('user-cache')), ...stalls, ...treeEnv[t] };
    const { child, url } = await startTreeServer(dir, template, trees[t], k, { profile: false, env });
    const wal = join(dir, `server-${k}`, 'ads.db-wal');
    const sizes: number[] = [];
    const sample = setInterval(() => {
      try {
        sizes.push(statSync(wal).size);
      } catch {
        sizes.push(0);
      }
    }, 1000);
    try {
      const server = { url, key: await newClientKey(url) };
      progress(`round ${round}: ${label(t)}`);
      await slotLoad(server, { bodies, connections: num('connections'), seconds: num('warmup'), offset: 0 });
      sizes.length = 0;
      let offset = 50_000;
      const p99s: number[] = [];
      let requests = 0;
      let worst = 0;
      for (let w = 1; w * num('window') <= num('seconds'); w++) {
        const before = cpuSeconds(child.pid);
        const r = await slotLoad(server, { bodies, connections: num('connections'), seconds: num('window'), offset });
        const after = cpuSeconds(child.pid);
        offset += r.requests + num('connections');
        requests += r.requests;
        p99s.push(r.p99 / 1000);
        worst = Math.max(worst, r.max / 1000);
        const cpu =
          before && after
            ? `, ${(((after.user + after.system - before.user - before.system) * 1e6) / r.requests).toFixed(0)} µs CPU/req`
            : '';
        const failed = r.s5xx + r.errors > 0 ? `, ${r.s5xx + r.errors} 5xx/errors` : '';
        const last = sizes.length > 0 ? (sizes[sizes.length - 1] / MB).toFixed(1) : '-';
        console.log(
          `round ${round} tree ${t + 1} window ${w}: p50 ${(r.p50 / 1000).toFixed(2)} p99 ${(r.p99 / 1000).toFixed(2)} max ${(r.max / 1000).toFixed(1)} ms, ${(r.requests / num('window')).toFixed(0)} req/s${cpu}${failed}, WAL now ${last} MB, load ${loadavg()[0].toFixed(2)}`,
        );
      }
      const holds = await holdsLine(url, p99s.length * num('window'));
      const line = `${label(t)}, round ${round}: ${holds}WAL largest ${(Math.max(...sizes) / MB).toFixed(1)} MB, median ${(median(sizes) / MB).toFixed(1)}, p90 ${(quantile(sizes, 0.9) / MB).toFixed(1)} over ${sizes.length} s; ${(requests / (p99s.length * num('window'))).toFixed(0)} req/s, median window p99 ${median(p99s).toFixed(2)} ms, worst max ${worst.toFixed(1)} ms`;
      console.log(line);
      if (o.trace) console.log(`  MB each second: ${sizes.map((s) => (s / MB).toFixed(0)).join(' ')}`);
      results.push(line);
    } finally {
      clearInterval(sample);
      await stop(child);
    }
    if (o.stalls) for (const file of readdirSync(stallsDir)) results.push(`  ${stallsLine(join(stallsDir, file))}`);
  }
}
for (const line of results) console.log(line);

/**
 * The holds of the group commits for the WAL's checkpointer since the server started (warm-up included), from its
 * `ads_store_wal_hold_seconds` histogram: count, share of `seconds`, mean and the bucket of the longest, by reason.
 */
async function holdsLine(url: string, seconds: number): Promise<string> {
  const text = await (await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } })).text();
  const parts: string[] = [];
  for (const reason of ['restart', 'truncate']) {
    const value = (suffix: string) =>
      Number(new RegExp(`^ads_store_wal_hold_seconds_${suffix}\\{reason="${reason}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    const count = value('count');
    if (!(count > 0)) continue;
    const sum = value('sum');
    const buckets = [
      ...text.matchAll(new RegExp(`^ads_store_wal_hold_seconds_bucket\\{le="([^"]+)",reason="${reason}"\\} (\\S+)$`, 'gm')),
    ];
    const longest = buckets.find(([, , n]) => Number(n) === count)?.[1];
    parts.push(
      `${count} ${reason} holds, ${((100 * sum) / seconds).toFixed(2)} % of the time, mean ${((1000 * sum) / count).toFixed(1)} ms, longest ≤ ${longest === '+Inf' ? '∞' : `${Number(longest) * 1000} ms`}`,
    );
  }
  if (!text.includes('ads_store_wal_hold_seconds')) return 'no hold metrics; ';
  return parts.length > 0 ? `${parts.join('; ')}; ` : 'no holds; ';
}

/** One server's main-thread event-loop gaps from `bench/stalls.mjs`'s file (times in µs). */
function stallsLine(file: string): string {
  const { gaps, ops } = JSON.parse(readFileSync(file, 'utf8')) as { gaps: [number, number][]; ops: [number, number, string][] };
  const checkpoints = ops.filter(([, , what]) => /checkpoint/.test(what));
  const largest = gaps
    .map(([, us]) => us / 1000)
    .sort((a, b) => b - a)
    .slice(0, 8);
  const over = (ms: number) => gaps.filter(([, us]) => us > ms * 1000).length;
  const ckpt = checkpoints.length > 0 ? `, largest ${(Math.max(...checkpoints.map(([, us]) => us)) / 1000).toFixed(1)} ms` : '';
  return `main thread's event loop: ${over(3)} gaps over 3 ms, ${over(10)} over 10 ms, largest ${largest.map((x) => x.toFixed(1)).join(', ')} ms; ${checkpoints.length} checkpoints on its connection${ckpt}`;
}
