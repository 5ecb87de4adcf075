/**
 * CPU per event of `POST /v1/events` by thread (main, engine, rest), trees side by side: each tree's
 * real server (`node --import tsx src/runtime/node.ts`) on its own copy of one database seeded with
 * the HTTP bench's catalog and served slots (`event-load.ts`: a paused `ev_` copy of the catalog,
 * time-ordered reservation ids, tokens sealed under the server's secret, each slot's events a random
 * delay after it was served), all loaded at once by autocannon with the same batches of 100 in the
 * same order, each acknowledged once durable. The database is seeded by the first tree's code (so an
 * older tree opens a schema it knows; a newer one migrates its copy on start). With `--profile` the
 * servers run under `--cpu-prof` and the engine thread's samples in the windows are split by function.
 *
 *   npx tsx bench/event-cpu.ts --tree=/work/wt/lead --tree=. [--windows=4] [--seconds=4] [--profile]
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { installCleanup, tempDir } from './cleanup.js';
import { resealBatches, type TokenKind, tokenKind } from './event-load.js';
import { SECRET, stop, threadCpuSeconds } from './http.js';
import { threadProfiles, topFunctions } from './profile.js';
import { perTreeOptions, startTreeServer } from './slot-load.js';
import { median, numberOf, progress } from './stats.js';

const HELP = `Usage: npx tsx bench/event-cpu.ts [--tree=DIR ...] [options]

Each tree's server on a copy of one seeded database, all loaded at once on
POST /v1/events (batches of 100); CPU per event by thread per window.

Options:
  --tree=DIR        a tree with its node_modules (repeat; the first seeds)  [.]
  --windows=N       measured windows                                       [4]
  --seconds=S       seconds per window                                     [4]
  --warmup=S        seconds of load before measuring                       [4]
  --connections=N   autocannon connections per server                      [32]
  --rate=N          events/s per server the seeded slots are sized for     [30000]
  --profile         run the servers under --cpu-prof; the engine thread's
                    top functions by self time in the windows
  --top=N           functions listed per profile                           [30]
  --tree-env=N:K=V  a server variable for the N-th tree only (repeat)
  --tree-node-arg=N:FLAG
                    a node flag for the N-th tree's server only (repeat)
  -h, --help        this text`;

const { values: o } = parseArgs({
  strict: true,
  options: {
    tree: { type: 'string', multiple: true, default: ['.'] },
    windows: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '4' },
    connections: { type: 'string', default: '32' },
    rate: { type: 'string', default: '30000' },
    profile: { type: 'boolean', default: false },
    top: { type: 'string', default: '30' },
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
const dir = tempDir('event-cpu');
const template = join(dir, 'template');
mkdirSync(template, { recursive: true });
const seconds = num('warmup') + num('windows') * num('seconds');
const slots = Math.ceil((num('rate') * seconds) / 0.9);
const seeder = resolve(o.tree[0]);
progress(`event-cpu: seeding 1000 campaigns and ${slots} served slots with ${seeder}'s code`);
const batchesFile = join(dir, 'batches.json');
// The first tree's own seeding code, in its own process (its tsx, its schema).
execFileSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--input-type=module',
    '-e',
    `
    import { writeFileSync } from 'node:fs';
    const { seedDatabase } = await import(${JSON.stringify(join(seeder, 'bench/serve.ts'))});
    const { seedEventLoad } = await import(${JSON.stringify(join(seeder, 'bench/event-load.ts'))});
    const { generateCatalog } = await import(${JSON.stringify(join(seeder, 'bench/workload.ts'))});
    const { SECRET } = await import(${JSON.stringify(join(seeder, 'bench/http.ts'))});
    const { readSettings } = await import(${JSON.stringify(join(seeder, 'src/config.ts'))});
    const path = ${JSON.stringify(join(template, 'ads.db'))};
    const catalog = generateCatalog(42, 1000);
    seedDatabase(path, catalog, Date.now());
    const load = await seedEventLoad(path, catalog, { slots: ${slots}, users: 1000000, batch: 100, seed: 42, secret: SECRET,
      now: Date.now(), ttlMs: readSettings({}).tokenTtlMs });
    writeFileSync(${JSON.stringify(batchesFile)}, JSON.stringify(load));
    `,
  ],
  { cwd: seeder, stdio: ['ignore', 'inherit', 'inherit'] },
);
const load = JSON.parse(readFileSync(batchesFile, 'utf8')) as { clientKey: string; batches: string[] };
progress(`event-cpu: ${load.batches.length} batches of 100`);
// The same events for every tree, each token as that tree seals it: a handle, sealed claims with the reservation's
// number (migration 0009; the seeded rowids are the numbers) or without (older trees refuse a seventh claim).
const batchesBy = new Map<TokenKind, string[]>([[tokenKind(seeder), load.batches]]);
for (const tree of o.tree) {
  const kind = tokenKind(resolve(tree));
  if (batchesBy.has(kind)) continue;
  progress(`event-cpu: sealing the tokens again as ${kind} tokens for ${tree}`);
  batchesBy.set(kind, await resealBatches(load.batches, SECRET, kind, join(template, 'ads.db')));
}

interface Server {
  name: string;
  child: ChildProcess;
  url: string;
  profDir: string;
  /** The next batch this server posts: each posts the same batches in the same order. */
  next: number;
  /** The batches, tokens sealed as this tree seals them. */
  batches: string[];
}

const perTree = perTreeOptions(o.tree, o['tree-env'], o['tree-node-arg']);

async function startServer(tree: string, k: number): Promise<Server> {
  const batches = batchesBy.get(tokenKind(resolve(tree))) as string[];
  const started = await startTreeServer(dir, template, tree, k, {
    profile: o.profile,
    env: perTree.env[k],
    args: perTree.args[k],
  });
  return { name: perTree.label(k), ...started, next: 0, batches };
}

/** Posts the server's next batches for `seconds`; accepted events and non-200 answers. */
async function post(s: Server, secs: number): Promise<{ accepted: number; other: number; failed: number }> {
  const out = { accepted: 0, other: 0, failed: 0 };
  await (autocannon({
    url: s.url,
    connections: num('connections'),
    duration: secs,
    requests: [
      {
        method: 'POST',
        path: '/v1/events',
        headers: { Authorization: `Bearer ${load.clientKey}`, 'Content-Type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: s.batches[s.next++ % s.batches.length] }),
        onResponse: (status, body) => {
          if (status !== 200) {
            out.failed++;
            return;
          }
          for (const r of (JSON.parse(body) as { results: { status: string }[] }).results) {
            if (r.status === 'accepted') out.accepted++;
            else out.other++;
          }
        },
      },
    ],
  }) as unknown as Promise<autocannon.Result>);
  return out;
}

const servers: Server[] = [];
for (const [k, tree] of o.tree.entries()) servers.push(await startServer(tree, k));
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
type Split = { main: number; engine: number; rest: number; all: number; rate: number };
const splits: Split[][] = servers.map(() => []);
const windows: { fromUs: number; toUs: number; accepted: number[] }[] = [];
try {
  progress(`event-cpu: warm-up ${num('warmup')} s`);
  await Promise.all(servers.map((s) => post(s, num('warmup'))));
  for (let w = 1; w <= num('windows'); w++) {
    const before = servers.map((s) => threadCpuSeconds(s.child.pid)!);
    const fromUs = nowUs();
    const runs = await Promise.all(servers.map((s) => post(s, num('seconds'))));
    const toUs = nowUs();
    const after = servers.map((s) => threadCpuSeconds(s.child.pid)!);
    // A server that posted every seeded batch posts them again: duplicates, which would read as a slow window.
    const spent = servers.filter((s) => s.next > s.batches.length).map((s) => s.name);
    if (spent.length > 0) {
      progress(`event-cpu: ${spent.join(', ')} posted every seeded batch: window ${w} and later not measured (raise --rate)`);
      break;
    }
    windows.push({ fromUs, toUs, accepted: runs.map((r) => r.accepted) });
    servers.forEach((s, k) => {
      const n = runs[k].accepted;
      if (runs[k].failed > 0) throw new Error(`${s.name}: ${runs[k].failed} non-200 answers`);
      const used = [...after[k]].map(([tid, t]) => [tid, t - (before[k].get(tid) ?? 0)] as const);
      const main = used.find(([tid]) => tid === s.child.pid)?.[1] ?? 0;
      const others = used
        .filter(([tid]) => tid !== s.child.pid)
        .map(([, t]) => t)
        .sort((a, b) => b - a);
      const us = (t: number) => (t * 1e6) / Math.max(1, n);
      const engine = others[0] ?? 0;
      const rest = others.slice(1).reduce((a, b) => a + b, 0);
      splits[k].push({
        main: us(main),
        engine: us(engine),
        rest: us(rest),
        all: us(main + engine + rest),
        rate: n / num('seconds'),
      });
    });
    const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    progress(
      `event-cpu: window ${w} (load ${loadavg}): ${servers
        .map((s, k) => {
          const x = splits[k].at(-1)!;
          return `${s.name} main ${x.main.toFixed(1)} engine ${x.engine.toFixed(1)} rest ${x.rest.toFixed(1)} µs, ${x.rate.toFixed(0)} events/s`;
        })
        .join('; ')}`,
    );
  }
} finally {
  for (const s of servers) await stop(s.child);
}
if (windows.length === 0) throw new Error('event-cpu: no window measured (every seeded batch was posted): raise --rate');
for (const [k, s] of servers.entries()) {
  const m = (f: keyof Split) => median(splits[k].map((x) => x[f]));
  const vsFirst = (f: keyof Split) => median(splits[k].map((x, i) => x[f] / splits[0][i][f]));
  console.log(
    `${s.name}: µs CPU per accepted event, medians: main ${m('main').toFixed(1)}, engine ${m('engine').toFixed(1)}, rest ${m('rest').toFixed(1)}, all ${m('all').toFixed(1)}; ${m('rate').toFixed(0)} events/s` +
      (k > 0
        ? `; ÷ first: engine ${vsFirst('engine').toFixed(3)}, all ${vsFirst('all').toFixed(3)}, events/s ${vsFirst('rate').toFixed(3)}`
        : ''),
  );
}
if (o.profile) {
  for (const [k, s] of servers.entries()) {
    const { engine, main, files } = threadProfiles(s.profDir);
    const events = windows.reduce((n, w) => n + w.accepted[k], 0);
    const ranges = windows.map((w) => ({ fromUs: w.fromUs, toUs: w.toUs }));
    for (const [thread, file] of [
      ['engine', engine],
      ['main', main],
    ] as const) {
      if (!file) {
        console.log(`${s.name}: no ${thread}-thread profile among ${files.join(', ')}`);
        continue;
      }
      console.log(`\n${s.name}: ${thread} thread, top functions by self time (µs per event):`);
      for (const f of topFunctions(file, ranges, events, num('top')))
        console.log(`  ${f.usPerUnit.toFixed(2).padStart(6)}  ${f.name}`);
      const keep = join(tmpdir(), `event-cpu-${k}-${thread}.cpuprofile`);
      copyFileSync(file, keep);
      console.log(`  (profile kept as ${keep})`);
    }
  }
}
writeFileSync(join(dir, 'done'), '');
