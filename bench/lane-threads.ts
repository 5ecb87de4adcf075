/**
 * Where a slot load's CPU goes, second by second: one tree's server (`src/runtime/node.ts` as `npm start`
 * runs it, on a seeded database) loaded by wrk on POST /v1/slots, and each second the CPU of the server's
 * main thread, its engine thread, its other threads, of wrk, and of the whole machine (and how much of
 * the two cores stayed idle) from /proc. Answers "is either server thread saturated, or is the time lost
 * in hand-offs?" on the machine as it is.
 *
 *   npx tsx bench/lane-threads.ts [--tree=.] [--seconds=10] [--connections=32] [--env=NAME=VALUE ...]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/helpers/server.js';
import { installCleanup, tempDir, track } from './cleanup.js';
import { ADMIN_KEY, newClientKey, start, stop, threadCpuSeconds } from './http.js';
import { seedServedSlots, serverEnv, writeSlotBodies } from './slot-load.js';
import { progress } from './stats.js';
import { generateCatalog } from './workload.js';

const { values: o } = parseArgs({
  strict: true,
  options: {
    tree: { type: 'string', default: '.' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '8' },
    connections: { type: 'string', default: '32' },
    threads: { type: 'string', default: '2' },
    campaigns: { type: 'string', default: '1000' },
    seeded: { type: 'string', default: '200000' },
    users: { type: 'string', default: '1000000' },
    env: { type: 'string', multiple: true, default: [] },
    prof: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (o.help) {
  console.log(
    'Usage: npx tsx bench/lane-threads.ts [--tree=DIR] [--seconds=S] [--warmup=S] [--connections=N] [--threads=N] [--env=NAME=VALUE ...]',
  );
  process.exit(0);
}
const num = (k: keyof typeof o) => Number(o[k]);
installCleanup();
const dir = tempDir('lane-threads');
const catalog = generateCatalog(42, num('campaigns'));
progress('lane-threads: seeding');
const data = join(dir, 'data');
mkdirSync(data);
await seedServedSlots(join(data, 'ads.db'), catalog, { slots: num('seeded'), users: num('users'), seed: 42 });
const bodies = writeSlotBodies(join(dir, 'bodies.jsonl'), { seed: 42, users: num('users'), count: 200_000 });

const extra = Object.fromEntries(o.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const port = await freePort();
const server = await start(
  'src/runtime/node.ts',
  serverEnv(data, extra),
  port,
  o.prof ? ['--cpu-prof', `--cpu-prof-dir=${resolve(o.prof)}`] : [],
  resolve(o.tree),
);
const url = `http://127.0.0.1:${port}`;
const key = await newClientKey(url);

/** Machine-wide busy and idle jiffies (all cores). */
function machine(): { busy: number; idle: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  return { busy: f.reduce((a, b) => a + b, 0) - idle, idle };
}
/** Voluntary context switches (sleeps: each one a wakeup later) of each thread, by thread id. */
function sleeps(pid: number | undefined): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
      out.set(Number(tid), Number(m?.[1] ?? 0));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
/** Per thread: ns on a CPU, ns runnable but waiting for one (/proc/<pid>/task/<tid>/schedstat). */
function schedstat(pid: number | undefined): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      out.set(Number(tid), [run, wait]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
/** All threads' CPU of a process and its children-by-pid, summed (seconds). */
function procCpu(pid: number | undefined): number {
  const t = threadCpuSeconds(pid);
  return t ? [...t.values()].reduce((a, b) => a + b, 0) : 0;
}

function runWrk(seconds: number, offset: number): { child: ChildProcess; done: Promise<string> } {
  const child = track(
    spawn(
      'wrk',
      [
        `-t${o.threads}`,
        `-c${o.connections}`,
        `-d${seconds}s`,
        '--timeout',
        '10s',
        '-s',
        resolve('bench/load.lua'),
        `${url}/v1/slots`,
        '--',
        bodies,
        '-',
        String(offset),
        key,
        String(o.threads),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, done: new Promise((r) => child.once('exit', () => r(out))) };
}

try {
  progress(`lane-threads: warm-up ${num('warmup')} s`);
  await runWrk(num('warmup'), 0).done;
  await new Promise((r) => setTimeout(r, 1000));
  progress(
    `lane-threads: measuring ${num('seconds')} s, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  const w = runWrk(num('seconds'), 60_000);
  const rows: number[][] = [];
  const sleeps0 = sleeps(server.pid);
  const sched0 = schedstat(server.pid);
  const t0 = performance.now();
  let prev = { srv: threadCpuSeconds(server.pid)!, wrk: procCpu(w.child.pid), m: machine(), t: performance.now() };
  const cores = cpus().length;
  for (let s = 0; s < num('seconds') - 1; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = { srv: threadCpuSeconds(server.pid)!, wrk: procCpu(w.child.pid), m: machine(), t: performance.now() };
    const dt = (now.t - prev.t) / 1000;
    const d = (tid: number) => ((now.srv.get(tid) ?? 0) - (prev.srv.get(tid) ?? 0)) / dt;
    const others = [...now.srv.keys()]
      .filter((t) => t !== server.pid)
      .map(d)
      .sort((a, b) => b - a);
    const busy = now.m.busy - prev.m.busy;
    const idle = now.m.idle - prev.m.idle;
    rows.push([
      d(server.pid!),
      others[0] ?? 0,
      others.slice(1).reduce((a, b) => a + b, 0),
      (now.wrk - prev.wrk) / dt,
      (busy / (busy + idle)) * cores,
      (idle / (busy + idle)) * cores,
    ]);
    prev = now;
  }
  const sleeps1 = sleeps(server.pid);
  const sched1 = schedstat(server.pid);
  const wallNs = (performance.now() - t0) * 1e6;
  const out = await w.done;
  const json = JSON.parse(
    out
      .split('\n')
      .find((l) => l.startsWith('WRK_JSON '))!
      .slice(9),
  );
  const rate = json.requests / (json.durationUs / 1e6);
  console.log(`req/s ${rate.toFixed(0)}, p99 ${(json.p99 / 1000).toFixed(1)} ms, 5xx ${json.s5xx}, errors ${json.errors}`);
  console.log('cores per second: main engine rest(server) wrk machine-busy machine-idle');
  for (const r of rows) console.log(r.map((x) => x.toFixed(2)).join('  '));
  const mean = (i: number) => rows.reduce((a, r) => a + r[i], 0) / rows.length;
  const us = (i: number) => ((mean(i) * 1e6) / rate).toFixed(0);
  console.log(
    `mean cores: main ${mean(0).toFixed(2)}, engine ${mean(1).toFixed(2)}, rest ${mean(2).toFixed(2)}, wrk ${mean(3).toFixed(2)}, machine busy ${mean(4).toFixed(2)} idle ${mean(5).toFixed(2)}`,
  );
  console.log(`µs CPU per request: main ${us(0)}, engine ${us(1)}, rest ${us(2)}, wrk ${us(3)}`);
  const slept = [...sleeps1].map(([tid, n]) => [tid, n - (sleeps0.get(tid) ?? 0)]).sort((a, b) => b[1] - a[1]);
  const measured = rows.length * rate;
  console.log(
    `sleeps per request (voluntary context switches): main ${((slept.find(([t]) => t === server.pid)?.[1] ?? 0) / measured).toFixed(2)}, others ${slept
      .filter(([t]) => t !== server.pid)
      .slice(0, 4)
      .map(([, n]) => (n / measured).toFixed(2))
      .join(' ')}`,
  );
  const share = [...sched1]
    .map(([tid, [run, wait]]) => {
      const [run0, wait0] = sched0.get(tid) ?? [0, 0];
      return { tid, run: (run - run0) / wallNs, wait: (wait - wait0) / wallNs };
    })
    .sort((x, y) => y.run - x.run)
    .slice(0, 3);
  for (const t of share)
    console.log(
      `thread ${t.tid === server.pid ? 'main' : t.tid}: on a CPU ${(t.run * 100).toFixed(0)} %, runnable waiting for a CPU ${(t.wait * 100).toFixed(0)} %, asleep ${((1 - t.run - t.wait) * 100).toFixed(0)} %`,
    );
  console.log(
    `load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  // Each thread's heap after the load (main's from prom-client, the engine's gauge).
  const scrape = await (await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } })).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(scrape)?.[1] ?? Number.NaN) / 2 ** 20;
  console.log(
    `heap used after the load: main ${gauge('nodejs_heap_size_used_bytes').toFixed(0)} MiB, engine ${gauge('ads_engine_heap_used_bytes').toFixed(0)} MiB`,
  );
} finally {
  await stop(server);
}
