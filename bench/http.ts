/**
 * HTTP benchmark: the real server (`node --import tsx src/runtime/node.ts`, as
 * `npm start` runs it) on a temporary data folder, and a
 * plain Hono JSON server (`baseline-server.ts`) loaded the same way in the same
 * run. The catalog is written into the database before the server starts. /v1/slots and the baseline are loaded by wrk (C, two threads) with
 * pre-generated bodies, in alternating rounds; /v1/events by autocannon with
 * every token served, in batches. Then the server is restarted on the same data
 * under `--cpu-prof` for a shorter pass whose profile is split into the parts of
 * a slot request and of an event. Afterwards the database is audited.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { readSettings } from '../src/config.js';
import { freePort, startFlags } from '../test/helpers/server.js';
import { auditDatabase } from './audit.js';
import { removeTempDir, tempDir, track } from './cleanup.js';
import { SEEDED_PREFIX, seedEventLoad } from './event-load.js';
import { type ProfileBreakdown, summarizeProfile } from './profile.js';
import { seedDatabase } from './serve.js';
import { type Counters, progress } from './stats.js';
import { generateCatalog, sessions, slotsBody, Zipf } from './workload.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const LOAD_SCRIPT = join(ROOT, 'bench', 'load.lua');
export const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
export const SECRET = 'bench-secret-0123456789abcdef';
/** Events/s each events run is given slots for: above the 50,000 target, so the load never runs dry before the server does. */
const EVENT_RATE_SIZING = 55_000;

export interface HttpOptions {
  campaigns: number;
  users: number;
  /** USER_CACHE_SIZE of the server: smaller than `users`, so many requests read SQLite. */
  userCacheSize: number;
  connections: number;
  /** wrk threads. */
  threads: number;
  durationSeconds: number;
  /** Baseline/slots round pairs. */
  rounds: number;
  eventBatch: number;
  eventConnections: number[];
  seed: number;
  /** Run the profiled pass and report the CPU breakdown. */
  breakdown: boolean;
  /** Also keep the server's CPU profile in this folder. */
  profileDir?: string;
}

export interface HttpLoad {
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  requests: number;
  non2xx: number;
  errors: number;
  status5xx: number;
  /** Server CPU time per request (user + system): less sensitive to other load on a shared machine than req/s. */
  serverCpuUsPerRequest?: number;
  /** Share of that CPU time spent in the kernel (socket writes, fsync, page cache). */
  serverSystemShare?: number;
  /**
   * The same per thread, µs per request: the main thread (HTTP), the busiest other one (on Node with
   * ENGINE_THREAD on: the engine thread) and all the rest (GC helpers, libuv's pool: fsync, checkpoints).
   */
  serverThreadsUsPerRequest?: { main: number; busiestOther: number; rest: number };
}

export interface HttpResult {
  seededCampaigns: number;
  seedSeconds: number;
  /** User population the requests are drawn from (Zipf activity). */
  users: number;
  userCacheSize: number;
  connections: number;
  threads: number;
  rows: { round: number; baseline: HttpLoad; slots: HttpLoad; ratio: number; cpuRatio?: number; slotsPerRequest: number }[];
  /** Median over rounds. */
  ratio: number;
  slotsP99Ms: number;
  eventBatch: number;
  events: {
    connections: number;
    load: HttpLoad;
    eventsPerSecond: number;
    accepted: number;
    duplicate: number;
    rejected: number;
    cpuUsPerEvent?: number;
  }[];
  breakdown?: { slots: ProfileBreakdown; events: ProfileBreakdown; slotsCpuUsPerRequest?: number; eventsCpuUsPerEvent?: number };
  serverRssMB?: number;
  counters: Counters;
  audit: { reservations: number; users: number };
}

/** CPU seconds (user, system) used so far by a process; null off Linux. */
export function cpuSeconds(pid: number | undefined): { user: number; system: number } | null {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 }; // utime, stime in USER_HZ (100 on Linux)
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) used so far by each thread of a process, by thread id; null off Linux. */
export function threadCpuSeconds(pid: number | undefined): Map<number, number> | null {
  if (pid === undefined) return null;
  try {
    const threads = new Map<number, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        threads.set(Number(tid), (Number(fields[11]) + Number(fields[12])) / 100);
      } catch {
        // the thread ended meanwhile
      }
    }
    return threads;
  } catch {
    return null;
  }
}

function rssMB(pid: number | undefined): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

async function withCpu<T extends { requests: number }>(
  pid: number | undefined,
  run: () => Promise<T>,
): Promise<
  T & {
    serverCpuUsPerRequest?: number;
    serverSystemShare?: number;
    serverThreadsUsPerRequest?: HttpLoad['serverThreadsUsPerRequest'];
  }
> {
  const before = cpuSeconds(pid);
  const threadsBefore = threadCpuSeconds(pid);
  const result = await run();
  const after = cpuSeconds(pid);
  const threadsAfter = threadCpuSeconds(pid);
  if (before === null || after === null || result.requests === 0) return result;
  const user = after.user - before.user;
  const system = after.system - before.system;
  let threads: HttpLoad['serverThreadsUsPerRequest'];
  if (threadsBefore && threadsAfter) {
    const us = (seconds: number) => Math.round((seconds * 1e6) / result.requests);
    const others = [...threadsAfter]
      .filter(([tid]) => tid !== pid)
      .map(([tid, s]) => s - (threadsBefore.get(tid) ?? 0))
      .sort((a, b) => b - a);
    const main = (threadsAfter.get(pid as number) ?? 0) - (threadsBefore.get(pid as number) ?? 0);
    threads = { main: us(main), busiestOther: us(others[0] ?? 0), rest: us(others.slice(1).reduce((a, b) => a + b, 0)) };
  }
  return {
    ...result,
    ...(threads ? { serverThreadsUsPerRequest: threads } : {}),
    serverCpuUsPerRequest: Math.round(((user + system) * 1e6) / result.requests),
    serverSystemShare: user + system > 0 ? Math.round((system / (user + system)) * 100) / 100 : undefined,
  };
}

/** Waits (up to 60 s) until a process uses less than 10% of a core: requests left over from a warm-up are done. */
async function settled(pid: number | undefined): Promise<void> {
  let last = cpuSeconds(pid);
  for (const deadline = Date.now() + 60_000; last && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 500));
    const now = cpuSeconds(pid);
    if (!now || now.user + now.system - last.user - last.system < 0.05) return;
    last = now;
  }
}

/** Starts `node [nodeArgs] --import tsx script` in `cwd` (one process, as `npm start` does) and waits for /healthz. */
export async function start(
  script: string,
  env: Record<string, string>,
  port: number,
  nodeArgs: string[] = [],
  cwd = ROOT,
): Promise<ChildProcess> {
  const child = track(
    spawn(process.execPath, [...startFlags(cwd), ...nodeArgs, '--import', 'tsx', script], {
      cwd,
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  // Keep only the tail of what it prints (request logs would otherwise pile up here).
  let log = '';
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-16_384));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${script} exited: ${log}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${script} did not start: ${log}`);
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export async function newClientKey(base: string): Promise<string> {
  const res = await fetch(`${base}/v1/clients`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Bench messenger' }),
  });
  const json = (await res.json()) as { apiKey?: string };
  if (res.status !== 201 || !json.apiKey) throw new Error(`POST /v1/clients: ${res.status} ${JSON.stringify(json)}`);
  return json.apiKey;
}

interface WrkRun {
  requests: number;
  durationUs: number;
  errors: number;
  s2xx: number;
  s4xx: number;
  s5xx: number;
  other: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** wrk with `load.lua`: POSTs the bodies from `offset`, writes served tokens under `tokens` ('-': none). */
export async function wrk(
  url: string,
  o: { threads: number; connections: number; seconds: number; bodies: string; tokens: string; offset: number; key: string },
): Promise<WrkRun> {
  const args = [
    `-t${o.threads}`,
    `-c${o.connections}`,
    `-d${o.seconds}s`,
    '--timeout',
    '10s',
    '-s',
    LOAD_SCRIPT,
    url,
    '--',
    o.bodies,
    o.tokens,
    String(o.offset),
    o.key,
    String(o.threads),
  ];
  const child = track(spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('exit', resolve);
    child.once('error', (err) =>
      reject(new Error(`wrk could not run (${err.message}); the HTTP benchmark needs wrk on PATH (apt-get install wrk)`)),
    );
  });
  const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (code !== 0 || !line) throw new Error(`wrk failed (${code}): ${out}`);
  return JSON.parse(line.slice(9)) as WrkRun;
}

function fromWrk(r: WrkRun): HttpLoad {
  const seconds = r.durationUs / 1e6;
  const ms = (us: number) => Math.round(us / 10) / 100;
  return {
    seconds,
    requestsPerSecond: Math.round(r.requests / seconds),
    latencyMs: { p50: ms(r.p50), p90: ms(r.p90), p99: ms(r.p99), p999: ms(r.p999), max: ms(r.max), mean: ms(r.mean) },
    requests: r.requests,
    non2xx: r.s4xx + r.s5xx + r.other,
    errors: r.errors,
    status5xx: r.s5xx,
  };
}

function fromAutocannon(r: autocannon.Result): HttpLoad {
  const seconds = (r.finish.getTime() - r.start.getTime()) / 1000;
  const total = r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'];
  return {
    seconds,
    requestsPerSecond: Math.round(total / seconds),
    latencyMs: {
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      p999: r.latency.p99_9,
      max: r.latency.max,
      mean: r.latency.average,
    },
    requests: total,
    non2xx: r.non2xx,
    errors: r.errors,
    status5xx: r['5xx'],
  };
}

/** Tokens written by wrk threads under `prefix`, in file order. */
function readTokens(dir: string, prefix: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${prefix}-`))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
}

/**
 * Posts event batches for `seconds` (or until none are left) over `connections`,
 * each batch once, in order; counts the outcomes the server reports.
 */
async function postEvents(url: string, key: string, connections: number, batches: string[], seconds: number) {
  let next = 0;
  const outcome = { accepted: 0, duplicate: 0, rejected: 0 };
  const result = await (autocannon({
    url,
    connections: Math.min(connections, batches.length),
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/v1/events',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        // Past the last batch (a server faster than the load was sized for) batches repeat: duplicates, not accepted.
        setupRequest: (req) => ({ ...req, body: batches[next++ % batches.length] }),
        onResponse: (status, body) => {
          if (status !== 200) return;
          for (const r of (JSON.parse(body) as { results: { status: keyof typeof outcome }[] }).results) outcome[r.status]++;
        },
      },
    ],
  }) as unknown as Promise<autocannon.Result>);
  return { load: fromAutocannon(result), ...outcome };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

export async function runHttpBenchmark(options: HttpOptions): Promise<HttpResult> {
  const dir = tempDir('http');
  const children: ChildProcess[] = [];
  try {
    const [port, basePort] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}`;
    const database = join(dir, 'ads.db');
    const serverEnv = {
      DATABASE: database,
      MEDIA_DIR: join(dir, 'media'),
      ADMIN_KEY,
      SECRET,
      RATE_LIMIT_ADVERTISER: '0',
      RATE_LIMIT_CLIENT: '0',
      USER_CACHE_SIZE: String(options.userCacheSize),
    };
    // The catalog goes straight into the database file (seeding is not what is measured; through the
    // API it takes minutes on a loaded machine, one index rebuild per change); the client key through the API.
    const catalog = generateCatalog(options.seed, options.campaigns);
    const t0 = Date.now();
    progress(`  http: seeding ${options.campaigns} campaigns into the database`);
    seedDatabase(database, catalog, Date.now());
    // Events: served slots of their own (a paused copy of the catalog), sized for EVENT_RATE_SIZING events/s in every events run.
    const eventSeconds = Math.max(3, Math.round(options.durationSeconds / 3));
    // A warm-up run first (budget accounts and report rows of every campaign, JIT), then one per level, then the profiled one.
    const eventRuns = 1 + options.eventConnections.length + (options.breakdown ? 1 : 0);
    progress(`  http: seeding served slots for ${eventRuns} events runs of ${eventSeconds} s`);
    const eventLoad = await seedEventLoad(database, catalog, {
      slots: Math.ceil((EVENT_RATE_SIZING * eventSeconds * eventRuns) / 0.9),
      users: options.users,
      batch: options.eventBatch,
      seed: options.seed,
      secret: SECRET,
      now: Date.now(),
      ttlMs: readSettings({}).tokenTtlMs,
    });
    progress(`  http: starting server on 127.0.0.1:${port} and baseline on :${basePort}`);
    let server = await start('src/runtime/node.ts', serverEnv, port);
    children.push(server);
    const baseline = await start('bench/baseline-server.ts', {}, basePort);
    children.push(baseline);
    const clientKey = await newClientKey(url);
    const seedSeconds = (Date.now() - t0) / 1000;
    progress(`  http: seeded and started in ${seedSeconds.toFixed(1)} s`);

    // Slot request bodies: feed sessions of users drawn by Zipf activity from `users`.
    const bodyCount = 200_000;
    const bodies = join(dir, 'bodies.jsonl');
    const lines: string[] = [];
    for (const s of sessions(options.seed, options.users, bodyCount, new Zipf(options.users))) {
      lines.push(slotsBody(s));
    }
    writeFileSync(bodies, `${lines.join('\n')}\n`);
    let offset = 0;

    const load = {
      threads: options.threads,
      connections: options.connections,
      seconds: options.durationSeconds,
      bodies,
      key: clientKey,
    };
    // Warm-up (JIT, the user cache, SQLite's page cache), not measured; its tokens feed the events below.
    progress('  http: warm-up, 3 s each');
    await wrk(`http://127.0.0.1:${basePort}/json`, { ...load, seconds: 3, tokens: '-', offset });
    offset +=
      (await wrk(`${url}/v1/slots`, { ...load, seconds: 3, tokens: join(dir, 'tokens-r0'), offset })).requests +
      options.connections;
    const rows: HttpResult['rows'] = [];
    for (let round = 1; round <= options.rounds; round++) {
      progress(`  http: round ${round}: baseline, ${options.connections} connections, ${options.durationSeconds} s`);
      const base = await withCpu(baseline.pid, async () =>
        fromWrk(await wrk(`http://127.0.0.1:${basePort}/json`, { ...load, tokens: '-', offset })),
      );
      progress(`  http: round ${round}: /v1/slots, ${options.connections} connections, ${options.durationSeconds} s`);
      const ours = await withCpu(server.pid, async () =>
        fromWrk(await wrk(`${url}/v1/slots`, { ...load, tokens: join(dir, `tokens-r${round}`), offset })),
      );
      offset += ours.requests + options.connections;
      const served = readTokens(dir, `tokens-r${round}`).length;
      rows.push({
        round,
        baseline: base,
        slots: ours,
        ratio: Math.round((ours.requestsPerSecond / base.requestsPerSecond) * 1000) / 1000,
        ...(ours.serverCpuUsPerRequest && base.serverCpuUsPerRequest
          ? { cpuRatio: Math.round((base.serverCpuUsPerRequest / ours.serverCpuUsPerRequest) * 1000) / 1000 }
          : {}),
        slotsPerRequest: Math.round((served / Math.max(1, ours.requests - ours.non2xx)) * 100) / 100,
      });
      progress(
        `  http: round ${round}: baseline ${base.requestsPerSecond} req/s, slots ${ours.requestsPerSecond} req/s (ratio ${rows.at(-1)!.ratio}), slots p99 ${ours.latencyMs.p99} ms`,
      );
    }

    // Events: the seeded slots' events, a share per concurrency level, each run `eventSeconds` long.
    const eventShare = Math.floor(eventLoad.batches.length / eventRuns);
    const eventBatchesOf = (run: number) => eventLoad.batches.slice(run * eventShare, (run + 1) * eventShare);
    const events: HttpResult['events'] = [];
    progress(`  http: /v1/events warm-up, ${Math.max(...options.eventConnections)} connections, ${eventSeconds} s`);
    await postEvents(url, eventLoad.clientKey, Math.max(...options.eventConnections), eventBatchesOf(0), eventSeconds);
    await settled(server.pid);
    for (const [level, connections] of options.eventConnections.entries()) {
      const k = level + 1;
      progress(`  http: /v1/events, ${connections} connections, ${eventSeconds} s, batches of ${options.eventBatch}`);
      const r = await withCpu(server.pid, async () => {
        const out = await postEvents(url, eventLoad.clientKey, connections, eventBatchesOf(k), eventSeconds);
        return { ...out, requests: out.load.requests };
      });
      const { requests: _, serverCpuUsPerRequest, serverSystemShare, ...rest } = r;
      events.push({
        connections,
        ...rest,
        load: { ...rest.load, serverCpuUsPerRequest, serverSystemShare },
        eventsPerSecond: Math.round(rest.accepted / rest.load.seconds),
        cpuUsPerEvent:
          serverCpuUsPerRequest !== undefined ? Math.round((serverCpuUsPerRequest / options.eventBatch) * 10) / 10 : undefined,
      });
      progress(`  http: → ${events.at(-1)!.eventsPerSecond} events/s accepted, ${events.at(-1)!.cpuUsPerEvent} µs CPU per event`);
    }
    const serverRssMB = rssMB(server.pid);

    let breakdown: HttpResult['breakdown'];
    if (options.breakdown) {
      progress('  http: restarting the server under --cpu-prof for the CPU breakdown');
      await stop(server);
      const profDir = join(dir, 'profile');
      mkdirSync(profDir);
      server = await start('src/runtime/node.ts', serverEnv, port, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
      children.push(server);
      // Warm up (JIT, user cache) before the measured window.
      await wrk(`${url}/v1/slots`, { ...load, seconds: 2, tokens: join(dir, 'tokens-warm'), offset });
      offset += 20_000;
      const seconds = Math.max(3, Math.round(options.durationSeconds / 2));
      const slotsFrom = nowUs();
      const slotsRun = await withCpu(server.pid, async () =>
        fromWrk(await wrk(`${url}/v1/slots`, { ...load, seconds, tokens: join(dir, 'tokens-prof'), offset })),
      );
      const slotsTo = nowUs();
      // Events: a second of warm-up on the last third of this run's share (the restart left every account cold), then measured.
      const profiled = eventBatchesOf(eventRuns - 1);
      const warmFrom = Math.floor((profiled.length * 2) / 3);
      await postEvents(url, eventLoad.clientKey, Math.max(...options.eventConnections), profiled.slice(warmFrom), 1);
      await settled(server.pid);
      const eventsFrom = nowUs();
      const ev = await withCpu(server.pid, async () => {
        const out = await postEvents(
          url,
          eventLoad.clientKey,
          Math.max(...options.eventConnections),
          profiled.slice(0, warmFrom),
          eventSeconds,
        );
        return { ...out, requests: out.load.requests };
      });
      const eventsTo = nowUs();
      await stop(server);
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (tsx's loader thread writes another).
      const file = readdirSync(profDir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
      if (file) {
        const [slots, evs] = summarizeProfile(join(profDir, file), [
          { name: 'POST /v1/slots', fromUs: slotsFrom, toUs: slotsTo, units: slotsRun.requests },
          {
            name: 'POST /v1/events (per event)',
            fromUs: eventsFrom,
            toUs: eventsTo,
            units: ev.accepted + ev.duplicate + ev.rejected,
          },
        ]);
        breakdown = {
          slots,
          events: evs,
          slotsCpuUsPerRequest: slotsRun.serverCpuUsPerRequest,
          eventsCpuUsPerEvent:
            ev.serverCpuUsPerRequest !== undefined
              ? Math.round((ev.serverCpuUsPerRequest / options.eventBatch) * 10) / 10
              : undefined,
        };
        if (options.profileDir) {
          mkdirSync(options.profileDir, { recursive: true });
          copyFileSync(join(profDir, file), join(options.profileDir, file));
          progress(`  http: CPU profile kept as ${join(options.profileDir, file)}`);
        }
      }
    }

    progress('  http: stopping the server (SIGTERM) and auditing its database');
    await stop(server);
    await stop(baseline);
    const audit = auditDatabase(database, readSettings({}).userCap, SEEDED_PREFIX);
    const serverErrors = rows.reduce((n, r) => n + r.slots.status5xx, 0) + events.reduce((n, e) => n + e.load.status5xx, 0);
    return {
      seededCampaigns: options.campaigns,
      seedSeconds,
      users: options.users,
      userCacheSize: options.userCacheSize,
      connections: options.connections,
      threads: options.threads,
      rows,
      ratio: median(rows.map((r) => r.ratio)),
      slotsP99Ms: median(rows.map((r) => r.slots.latencyMs.p99)),
      eventBatch: options.eventBatch,
      events,
      breakdown,
      serverRssMB,
      counters: {
        capViolations: audit.capViolations,
        blockedServed: audit.blockedServed,
        budgetOverspend: audit.budgetOverspend,
        serverErrors,
      },
      audit: { reservations: audit.reservations, users: audit.users },
    };
  } finally {
    for (const child of children) await stop(child);
    removeTempDir(dir);
  }
}
