/**
 * Two trees' servers measured at once, for before/after comparisons on a machine
 * other work is loading. `npm run bench` runs one server at a time: on a shared
 * machine its CPU per request moves by ±30 % between consecutive runs, and a fresh
 * server's first seconds (JIT, user cache, SQLite pages) cost several times the
 * steady state. Here both servers (`node --import tsx src/runtime/node.ts` of each
 * tree, each on its own copy of one seeded database) are started together, warmed
 * together, then loaded together — each by its own wrk with the same slot bodies —
 * for several windows; CPU per request comes from /proc for each server in each
 * window, and the after/before ratio of each window (both servers under the same
 * load in it). The whole run is made twice, the second time with the servers
 * started in the other order (the one started second measured 5–9 % cheaper in an
 * A/A run); each run reports the median of its windows' ratios, and the two runs'
 * geometric mean is the answer.
 *
 *   npx tsx bench/ab.ts --before=/path/to/old/tree [--after=.] [--windows=4] ...
 *
 * The old tree needs its own node_modules (a worktree with `cp -a node_modules`).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { installCleanup, tempDir } from './cleanup.js';
import { cpuSeconds, newClientKey, stop } from './http.js';
import { prepareSlotWorkload, slotLoad, startTreeServer, WORKLOAD_HELP, WORKLOAD_OPTIONS } from './slot-load.js';
import { median, numberOf, progress } from './stats.js';

const HELP = `Usage: npx tsx bench/ab.ts --before=DIR [options]

Both trees' servers at once on copies of one seeded database, each loaded by its
own wrk on POST /v1/slots; server CPU per request per window, twice (the second
time started in the other order). Prints the after/before ratios.

Options:
  --before=DIR           the old tree (with its node_modules)                  [required]
  --after=DIR            the new tree                                          [this tree]
  --windows=N            measured windows per run                              [4]
  --seconds=S            seconds per window                                    [5]
  --warmup=S             seconds of load on both before measuring              [10]
${WORKLOAD_HELP}
  --open-console=W       GET /console once after the start on W: before, after
                         or both (a console that runs an AsyncLocalStorage,
                         hono/jsx since 4.12.27, turns Node 20's promise hooks
                         on for that server from then on)
  -h, --help             this text`;

const { values: o } = parseArgs({
  strict: true,
  options: {
    before: { type: 'string' },
    after: { type: 'string', default: '.' },
    windows: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '10' },
    ...WORKLOAD_OPTIONS,
    'open-console': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (o.help) {
  console.log(HELP);
  process.exit(0);
}
const num = (k: keyof typeof o) => numberOf(k, o[k]);
if (!o.before) throw new Error('--before=DIR is required (see --help)');
if (o['open-console'] !== undefined && !['before', 'after', 'both'].includes(o['open-console']))
  throw new Error(`--open-console must be before, after or both, not ${o['open-console']}`);
const trees = { before: resolve(o.before), after: resolve(o.after) };
for (const tree of Object.values(trees))
  if (!existsSync(join(tree, 'src/runtime/node.ts')) || !existsSync(join(tree, 'node_modules')))
    throw new Error(`${tree} is not a checkout of this project with its node_modules`);

installCleanup();
const dir = tempDir('ab');
progress(`ab: seeding ${num('campaigns')} campaigns and ${num('seeded')} served slots with the before tree's code`);
const { template, bodies } = prepareSlotWorkload(dir, trees.before, {
  seed: num('seed'),
  campaigns: num('campaigns'),
  slots: num('seeded'),
  users: num('users'),
});

interface Server {
  name: 'before' | 'after';
  child: ChildProcess;
  url: string;
  key: string;
}

let started = 0;
async function startServer(name: 'before' | 'after'): Promise<Server> {
  const env = { USER_CACHE_SIZE: String(num('user-cache')) };
  const { child, url } = await startTreeServer(dir, template, trees[name], ++started, { profile: false, env });
  if (o['open-console'] === name || o['open-console'] === 'both') {
    const page = await fetch(`${url}/console`);
    if (page.status !== 200 || !(await page.text()).includes('<form')) throw new Error(`GET /console: ${page.status}`);
  }
  return { name, child, url, key: await newClientKey(url) };
}

const load = (s: Server, seconds: number, offset: number) =>
  slotLoad(s, { bodies, connections: num('connections'), seconds, offset });

const ratios: number[] = [];
for (const [run, order] of [
  [1, ['before', 'after']],
  [2, ['after', 'before']],
] as const) {
  progress(`ab: run ${run}: starting ${order[0]}, then ${order[1]}`);
  const servers: Server[] = [];
  for (const name of order) servers.push(await startServer(name));
  try {
    progress(`ab: run ${run}: warm-up, ${num('warmup')} s`);
    await Promise.all(servers.map((s) => load(s, num('warmup'), 0)));
    const us: Record<string, number[]> = { before: [], after: [] };
    const rates: Record<string, number[]> = { before: [], after: [] };
    let offset = 50_000;
    for (let w = 1; w <= num('windows'); w++) {
      const before = servers.map((s) => cpuSeconds(s.child.pid));
      const runs = await Promise.all(servers.map((s) => load(s, num('seconds'), offset)));
      const after = servers.map((s) => cpuSeconds(s.child.pid));
      offset += Math.max(...runs.map((r) => r.requests)) + num('connections');
      servers.forEach((s, k) => {
        const [b, a] = [before[k], after[k]];
        if (!a || !b || runs[k].requests === 0) throw new Error(`no CPU figures for ${s.name} (not Linux?)`);
        us[s.name].push(((a.user + a.system - b.user - b.system) * 1e6) / runs[k].requests);
        rates[s.name].push(runs[k].requests / num('seconds'));
      });
      const [b, a] = [us.before.at(-1)!, us.after.at(-1)!];
      const errors = runs.reduce((n, r) => n + r.s5xx + r.errors, 0);
      progress(
        `ab: run ${run} window ${w}: before ${b.toFixed(0)}, after ${a.toFixed(0)} µs CPU/req (after/before ${(a / b).toFixed(3)}); before ${rates.before.at(-1)!.toFixed(0)}, after ${rates.after.at(-1)!.toFixed(0)} req/s${errors ? `, ${errors} 5xx/errors` : ''}`,
      );
    }
    // Window by window (both servers under the same load in a window), then the median of those ratios.
    const ratio = median(us.after.map((a, i) => a / us.before[i]));
    ratios.push(ratio);
    console.log(
      `run ${run} (${order.join(' started first, ')} second): before median ${median(us.before).toFixed(0)} µs, after median ${median(us.after).toFixed(0)} µs CPU per slot request; after/before, median of the windows, ${ratio.toFixed(3)}; req/s (both loaded at once) before median ${median(rates.before).toFixed(0)}, after median ${median(rates.after).toFixed(0)}`,
    );
  } finally {
    for (const s of servers) await stop(s.child);
  }
}
const both = Math.sqrt(ratios[0] * ratios[1]);
console.log(
  `after/before, both orders (geometric mean): ${both.toFixed(3)} (${((both - 1) * 100).toFixed(1)} % CPU per slot request)`,
);
