/**
 * The engine thread's CPU per `POST /v1/slots` (Node, `ENGINE_THREAD` on), trees side by side: each
 * tree's real server (`node --import tsx src/runtime/node.ts`) on its own copy of one seeded
 * database (as `ab.ts` seeds it: 1,000 campaigns, 550,000 served slots of other users), all loaded at
 * once, each by its own wrk with the workload's slot bodies (200,000 bodies over 1,000,000 users, so
 * most requests miss the user cache). CPU per request per thread from /proc per window: the main
 * thread, the engine thread (the busiest other one) and the rest (GC helpers, libuv's pool).
 * With `--profile`, each server also runs under `--cpu-prof` and the engine thread's profile (one
 * file per thread) is split into parts and functions over the measured windows.
 *
 *   npx tsx bench/engine-cpu.ts --tree=/work/wt/lead --tree=. [--windows=4] [--seconds=5] [--profile]
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { installCleanup, tempDir } from './cleanup.js';
import { ADMIN_KEY, newClientKey, stop, threadCpuSeconds } from './http.js';
import { summarizeProfile, threadProfiles, topFunctions } from './profile.js';
import { perTreeOptions, seedServedSlotsWith, slotLoad, startTreeServer, writeSlotBodies } from './slot-load.js';
import { median, numberOf, progress } from './stats.js';

const HELP = `Usage: npx tsx bench/engine-cpu.ts [--tree=DIR ...] [options]

Each tree's server on a copy of one seeded database, all loaded at once on
POST /v1/slots; CPU per request by thread (main, engine, rest) per window.

Options:
  --tree=DIR        a tree with its node_modules (repeat)       [.]
  --windows=N       measured windows                           [4]
  --seconds=S       seconds per window                         [5]
  --warmup=S        seconds of load before measuring           [10]
  --connections=N   wrk connections per server                 [32]
  --seeded=N        other users' served slots stored first     [550000]
  --user-cache=N    the servers' USER_CACHE_SIZE               [20000]
  --profile         run the servers under --cpu-prof and split the engine
                    thread's samples in the windows into parts and functions
  --top=N           functions listed per profile (self time)   [25]
  --db=DIR          keep the seeded database in DIR and reuse it when it is
                    there (served slots expire 15 min after seeding)
  --tree-env=N:K=V  a server variable for the N-th tree only (repeat)
  --tree-node-arg=N:FLAG
                    a node flag for the N-th tree's server only (repeat)
  -h, --help        this text`;

const { values: o } = parseArgs({
  strict: true,
  options: {
    tree: { type: 'string', multiple: true, default: ['.'] },
    windows: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    seeded: { type: 'string', default: '550000' },
    'user-cache': { type: 'string', default: '20000' },
    profile: { type: 'boolean', default: false },
    top: { type: 'string', default: '25' },
    db: { type: 'string' },
    'tree-env': { type: 'string', multiple: true, default: [] },
    'tree-node-arg': { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (o.help) {
  console.log(HELP);
  process.exit(0);
}
const num = (k: keyof typeof o) => numberOf(k, o[k]);

installCleanup();
const dir = tempDir('engine-cpu');
const template = o.db ? resolve(o.db) : join(dir, 'template');
if (!existsSync(join(template, 'ads.db'))) {
  mkdirSync(template, { recursive: true });
  progress(`engine-cpu: seeding 1000 campaigns and ${num('seeded')} served slots (with ${o.tree[0]}'s code)`);
  seedServedSlotsWith(o.tree[0], template, { seed: 42, campaigns: 1000, slots: num('seeded'), users: 1_000_000 });
}
const bodies = writeSlotBodies(join(dir, 'bodies.jsonl'), { seed: 42, users: 1_000_000, count: 200_000 });

interface Server {
  name: string;
  child: ChildProcess;
  url: string;
  key: string;
  profDir: string;
}

const perTree = perTreeOptions(o.tree, o['tree-env'], o['tree-node-arg']);

async function startServer(tree: string, k: number): Promise<Server> {
  const env = { USER_CACHE_SIZE: String(num('user-cache')), ...perTree.env[k] };
  const { child, url, profDir } = await startTreeServer(dir, template, tree, k, {
    profile: o.profile,
    env,
    args: perTree.args[k],
  });
  return { name: perTree.label(k), child, url, key: await newClientKey(url), profDir };
}

const servers: Server[] = [];
for (const [k, tree] of o.tree.entries()) servers.push(await startServer(tree, k));
const loadAll = (seconds: number, offset: number) =>
  Promise.all(servers.map((s) => slotLoad(s, { bodies, connections: num('connections'), seconds, offset })));
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

type Split = { main: number; engine: number; rest: number; all: number; rate: number; p99: number };
/** A thread's name (`comm`): V8's GC helpers, libuv's pool, the checkpointer's worker. */
const comm = (pid: number | undefined, tid: number) => {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
};
const restByName: Map<string, number>[] = [];
const splits: Split[][] = servers.map(() => []);
const windows: { fromUs: number; toUs: number; requests: number[] }[] = [];
try {
  progress(`engine-cpu: warm-up ${num('warmup')} s`);
  await loadAll(num('warmup'), 0);
  let offset = 50_000;
  for (let w = 1; w <= num('windows'); w++) {
    const before = servers.map((s) => threadCpuSeconds(s.child.pid)!);
    const fromUs = nowUs();
    const runs = await loadAll(num('seconds'), offset);
    const toUs = nowUs();
    const after = servers.map((s) => threadCpuSeconds(s.child.pid)!);
    offset += Math.max(...runs.map((r) => r.requests)) + num('connections');
    windows.push({ fromUs, toUs, requests: runs.map((r) => r.requests) });
    servers.forEach((s, k) => {
      const n = runs[k].requests;
      if (runs[k].s2xx !== n) throw new Error(`${s.name}: ${n - runs[k].s2xx} non-2xx answers`);
      const used = [...after[k]].map(([tid, t]) => [tid, t - (before[k].get(tid) ?? 0)] as const);
      const names = (restByName[k] ??= new Map());
      const engineTid = used.filter(([tid]) => tid !== s.child.pid).sort((a, b) => b[1] - a[1])[0]?.[0];
      for (const [tid, t] of used)
        if (tid !== s.child.pid && tid !== engineTid) {
          const name = comm(s.child.pid, tid).replace(/\d+$/, '');
          names.set(name, (names.get(name) ?? 0) + (t * 1e6) / n / num('windows'));
        }
      const main = used.find(([tid]) => tid === s.child.pid)?.[1] ?? 0;
      const others = used
        .filter(([tid]) => tid !== s.child.pid)
        .map(([, t]) => t)
        .sort((a, b) => b - a);
      const us = (t: number) => (t * 1e6) / n;
      const engine = others[0] ?? 0;
      const rest = others.slice(1).reduce((a, b) => a + b, 0);
      splits[k].push({
        main: us(main),
        engine: us(engine),
        rest: us(rest),
        all: us(main + engine + rest),
        rate: n / num('seconds'),
        p99: runs[k].p99 / 1000,
      });
    });
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    progress(
      `engine-cpu: window ${w} (load ${load}): ${servers
        .map((s, k) => {
          const x = splits[k].at(-1)!;
          return `${s.name} main ${x.main.toFixed(0)} engine ${x.engine.toFixed(0)} rest ${x.rest.toFixed(0)} µs, ${x.rate.toFixed(0)} req/s`;
        })
        .join('; ')}`,
    );
  }
  // What the engine's store saw: callers per group commit, time per commit, user-cache misses and slots served per slot request (Prometheus text).
  for (const s of servers) {
    const text = await (await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } })).text();
    // A series by its labels (none: `name value`).
    const v = (name: string, label: string) =>
      Number(new RegExp(`^${name}${label ? `\\{${label}\\}` : ''} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN);
    const q = 'kind="reservations"';
    const groups = v('ads_store_commit_group_size_count', q);
    const misses = v('ads_user_cache_lookups_total', 'result="miss"');
    // Per slot request, not per lookup: trees before session 13 also counted the reserve's second look as a hit.
    const requests = v('ads_slot_requests_total', '');
    const served = [...text.matchAll(/^ads_slots_served_total\{[^}]*\} (\S+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    console.log(
      `${s.name}: reservation commits ${groups}, ${(v('ads_store_commit_group_size_sum', q) / groups).toFixed(2)} callers and ${((v('ads_store_commit_seconds_sum', q) / groups) * 1e6).toFixed(0)} µs each; per slot request: ${(misses / requests).toFixed(3)} user-cache misses, ${(served / requests).toFixed(2)} slots served`,
    );
  }
} finally {
  for (const s of servers) await stop(s.child);
}
for (const [k, s] of servers.entries()) {
  const m = (f: keyof Split) => median(splits[k].map((x) => x[f]));
  const vsFirst = (f: keyof Split) => median(splits[k].map((x, i) => x[f] / splits[0][i][f]));
  console.log(
    `${s.name}: µs CPU per slot request, medians: main ${m('main').toFixed(1)}, engine ${m('engine').toFixed(1)}, rest ${m('rest').toFixed(1)}, all ${m('all').toFixed(1)}; ${m('rate').toFixed(0)} req/s, p99 ${m('p99').toFixed(1)} ms` +
      (k > 0 ? `; ÷ first: engine ${vsFirst('engine').toFixed(3)}, all ${vsFirst('all').toFixed(3)}` : ''),
  );
  console.log(
    `  rest by thread name (mean µs/request): ${[...(restByName[k] ?? [])]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => `${name} ${us.toFixed(1)}`)
      .join(', ')}`,
  );
}
if (o.profile) {
  for (const [k, s] of servers.entries()) {
    const { engine: path, files } = threadProfiles(s.profDir);
    if (!path) {
      console.log(`${s.name}: no engine-thread profile among ${files.join(', ')}`);
      continue;
    }
    const requests = windows.reduce((n, w) => n + w.requests[k], 0);
    const ranges = windows.map((w) => ({ fromUs: w.fromUs, toUs: w.toUs }));
    const parts = summarizeProfile(
      path,
      ranges.map((r, i) => ({ name: `window ${i + 1}`, ...r, units: windows[i].requests[k] })),
    );
    const byPart = new Map<string, number>();
    for (const p of parts)
      for (const x of p.parts) byPart.set(x.part, (byPart.get(x.part) ?? 0) + (x.usPerUnit * p.units) / requests);
    const busy = parts.reduce((n, p) => n + p.busyUsPerUnit * p.units, 0) / requests;
    console.log(`\n${s.name}: engine thread, profiled: busy ${busy.toFixed(1)} µs per slot request; by part (µs/request):`);
    for (const [part, us] of [...byPart].sort((a, b) => b[1] - a[1])) console.log(`  ${us.toFixed(1).padStart(6)}  ${part}`);
    console.log(`  top functions by self time (µs/request):`);
    for (const f of topFunctions(path, ranges, requests, num('top')))
      console.log(`  ${f.usPerUnit.toFixed(2).padStart(6)}  ${f.name}`);
    const keep = join(tmpdir(), `engine-cpu-${k}.cpuprofile`);
    copyFileSync(path, keep);
    console.log(`  (profile kept as ${keep})`);
  }
}
