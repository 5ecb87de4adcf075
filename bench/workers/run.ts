/**
 * The Workers path measured in workerd, the way `npm run start:worker` runs it
 * (same bundle settings, bindings and D1 migrations through Miniflare 3), side
 * by side with a plain Hono JSON endpoint served by the same workerd isolate:
 * wrk on POST /v1/slots with many distinct users and with a few warm ones, then
 * event batches; Durable Object calls, D1 statements and workerd CPU per request.
 * Writes bench/results/workers-<label>.json and .md.
 *
 * Usage: npx tsx bench/workers/run.ts [--campaigns 200] [--users 200000] [--warm-users 500]
 *        [--duration 20] [--connections 32] [--event-slots 3000] [--label name] [--set NAME=value ...]
 *
 * User and campaign objects are created (migrated) before anything is measured: in a deployment they
 * outlive a request by far, and a new object's ~100 migration statements would otherwise dominate
 * short runs (15 statements per slot request in campaign objects in an 8 s run, against ~3 warm).
 *
 * USER_SHARDS is 256 here unless set: one local workerd runs every object in one process, and past
 * ~750–790 migrated objects its SQLite answers SQLITE_NOMEM (1,024 user objects and the campaigns'
 * do not fit). On Cloudflare each object has its own memory, so the per-request counts are the same.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleWorker, startLocalWorker } from '../../src/runtime/miniflare.js';
import { LOCAL_USER_SHARDS } from '../../src/store/durable-object/placement.js';
import { png } from '../../test/helpers/media.js';
import { freePort } from '../../test/helpers/server.js';
import { removeTempDir, tempDir, track } from '../cleanup.js';
import { type CampaignSpec, eventsForSlot, generateCatalog, rng, sessions, slotsBody, Zipf } from '../workload.js';

export const ADMIN_KEY = 'sk_admin_bench-workers-0123456789abcdef';
export const SECRET = 'bench-workers-secret-0123456789abcdef-0123';
const here = fileURLToPath(new URL('.', import.meta.url));

/** Shared user objects in the bench's one workerd (see the header): 1,024 with the campaigns' exhaust its SQLite memory. */
export const BENCH_USER_SHARDS = String(LOCAL_USER_SHARDS);

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  non2xx: number;
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  seconds: number;
}

/** Round trips to Durable Objects on the critical path of requests that ran alone (bench/workers/entry.ts). */
export interface CriticalPath {
  requests: number;
  /** Requests by number of sequential DO round trips before the response. */
  depth: Record<string, number>;
  /** DO calls still in flight when the response left, in all. */
  background: number;
  /** DO calls by binding.method over the probe (background ones included). */
  doCalls?: Record<string, number>;
  /** Latency of a request alone, ms: median and 90th percentile. */
  aloneMs?: { p50: number; p90: number };
}

export interface PathCost {
  requests: number;
  /** Durable Object RPCs per request, by binding.method, and in all. */
  doCallsPerRequest: number;
  doCalls: Record<string, number>;
  d1StatementsPerRequest: number;
  /** SQL statements on Durable Objects' own SQLite per request, by object class. */
  doSqlPerRequest: Record<string, number>;
  /** workerd process CPU (user + system) per request. */
  cpuUsPerRequest: number;
}

/** The workerd processes Miniflare started for us (children of this process). */
export function workerdPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid && stat.includes('(workerd)')) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** CPU seconds (user + system) used so far by the given processes and their threads. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / 100;
}

/** POST JSON; a connection workerd closed under us (keep-alive race) is retried on a fresh one. */
export async function post(url: string, headers: Record<string, string>, body: string, timeoutMs?: number): Promise<Response> {
  return await retried(url, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body,
    ...(timeoutMs ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
  });
}

export async function retried(url: string, init: RequestInit): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (err) {
      // A request that took too long is not retried: its answer may still be on the way.
      if (attempt >= 5 || (err as Error).name === 'TimeoutError') throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

export async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

export async function seed(base: string, campaigns: CampaignSpec[]): Promise<string> {
  const call = async (method: string, path: string, key: string, body: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as any;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const keys = new Map<string, string>();
  await pool([...new Set(campaigns.map((c) => c.advertiserId))], 4, async (id) => {
    keys.set(id, (await call('POST', '/v1/advertisers', ADMIN_KEY, { name: `Business ${id}` })).apiKey);
  });
  const start = new Date(Date.now() - 86_400_000).toISOString();
  const images = Array.from({ length: 8 }, (_, i) => png(90, 160, i));
  await pool(campaigns, 4, async (c) => {
    const key = keys.get(c.advertiserId)!;
    const campaign = await call('POST', '/v1/campaigns', key, {
      name: c.id,
      bid: c.bid,
      budget: c.budget,
      pacing: c.pacing,
      targeting: c.targeting,
      caps: c.caps,
      schedule: { start },
    });
    const form = new FormData();
    form.set(
      'file',
      new File([images[Number(c.id.slice(4)) % images.length] as Uint8Array<ArrayBuffer>], 'ad.png', { type: 'image/png' }),
    );
    form.set('headline', `Offer from ${c.advertiserId}`);
    form.set('ctaType', 'website');
    form.set('ctaTarget', 'https://shop.example');
    const res = await fetch(`${base}/v1/campaigns/${campaign.id}/creatives`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}` },
      body: form,
    });
    const creative = (await res.json()) as any;
    if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(creative)}`);
    await call('POST', `/v1/creatives/${creative.id}/review`, ADMIN_KEY, { decision: 'approve' });
  });
  return (await call('POST', '/v1/clients', ADMIN_KEY, { name: 'Bench messenger' })).apiKey;
}

const WRK_SCRIPT = `
local bodies = {}
local n = 0
local i = 0
function init(args)
  local f = io.open(args[1], "r")
  for line in f:lines() do n = n + 1; bodies[n] = line end
  f:close()
  i = math.random(n)
end
function request()
  i = i % n + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format('\\nJSON {"requests":%d,"seconds":%f,"non2xx":%d,"errors":%d,"p50":%f,"p90":%f,"p99":%f,"max":%f}\\n',
    summary.requests, summary.duration / 1e6, non2xx, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
`;

export async function wrk(
  url: string,
  bodiesFile: string,
  headers: Record<string, string>,
  connections: number,
  seconds: number,
  dir: string,
): Promise<WrkResult> {
  const script = join(dir, 'bench.lua');
  writeFileSync(script, `wrk.method = "POST"\n${WRK_SCRIPT}`);
  const args = [
    '-t2',
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '10s',
    '-s',
    script,
    '-H',
    'Content-Type: application/json',
  ];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url, '--', bodiesFile);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('/usr/bin/wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    track(child);
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.on('error', reject);
    child.on('exit', () => resolve(text));
  });
  const line = out.split('\n').find((l) => l.startsWith('JSON '));
  if (!line) throw new Error(`wrk gave no summary: ${out}`);
  const j = JSON.parse(line.slice(5));
  return {
    requestsPerSecond: Math.round(j.requests / j.seconds),
    requests: j.requests,
    non2xx: j.non2xx,
    errors: j.errors,
    latencyMs: { p50: round(j.p50), p90: round(j.p90), p99: round(j.p99), max: round(j.max) },
    seconds: round(j.seconds),
  };
}

/** The Worker's settings from repeated `--set K=V` flags. */
export function settingsOf(pairs: string[] = []): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of pairs) {
    const [k, ...v] = pair.split('=');
    vars[k] = v.join('=');
  }
  return vars;
}

export const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * The bench entry bundled into `dir` and served by workerd on 127.0.0.1 and a free port, with `vars` over the bench's
 * settings (USER_SHARDS: BENCH_USER_SHARDS unless set).
 */
export async function startBenchWorker(dir: string, vars: Record<string, string> = {}, inspectorPort?: number) {
  const scriptPath = join(dir, 'worker.js');
  await bundleWorker(scriptPath, join(here, 'entry.ts'));
  const port = await freePort();
  const mf = await startLocalWorker({
    scriptPath,
    bindings: {
      ADMIN_KEY,
      SECRET,
      RATE_LIMIT_ADVERTISER: '0',
      RATE_LIMIT_CLIENT: '0',
      LOG_LEVEL: 'warn',
      USER_SHARDS: BENCH_USER_SHARDS,
      ...vars,
    },
    dataDir: join(dir, 'data'),
    port,
    inspectorPort,
    host: '127.0.0.1',
  });
  return { mf, base: `http://127.0.0.1:${port}` };
}

export interface WorkersBenchOptions {
  campaigns: number;
  users: number;
  warmUsers: number;
  durationSeconds: number;
  connections: number;
  seed: number;
  /** Extra Worker vars (settings), e.g. USER_SHARDS. */
  vars: Record<string, string>;
  /** Slot requests whose tokens come back as event batches (about one event per request). */
  eventSlots: number;
  label: string;
}

export async function runWorkersBench(o: WorkersBenchOptions) {
  const dir = tempDir('workers');
  let mf: Awaited<ReturnType<typeof startLocalWorker>> | undefined;
  const stop = async () => {
    await mf?.dispose().catch(() => undefined);
    removeTempDir(dir);
  };
  const onSignal = () => void stop().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let base: string;
    ({ mf, base } = await startBenchWorker(dir, o.vars));
    const pids = workerdPids();
    console.log(`[workers] workerd ${pids.join(',')} on ${base}; seeding ${o.campaigns} campaigns`);
    const t0 = Date.now();
    const clientKey = await seed(base, generateCatalog(o.seed, o.campaigns).campaigns);
    const seedSeconds = round((Date.now() - t0) / 1000, 1);
    // Shared user objects exist within minutes of a deployment's life: create them first, so the
    // measurement sees a new user arrive in an existing object (0 with one object per user).
    const t1 = Date.now();
    const warm = await retried(`${base}/__bench/warm-user-shards`, { method: 'POST' });
    const userShards = ((await warm.json()) as { shards: number }).shards;
    const warmShardSeconds = round((Date.now() - t1) / 1000, 1);
    console.log(`[workers] ${userShards} shared user objects created in ${warmShardSeconds} s`);
    // A campaign's object lives as long as the campaign: create (migrate) them before measuring too.
    const t2 = Date.now();
    const warmCampaigns = await retried(`${base}/__bench/warm-campaign-objects`, { method: 'POST' });
    const campaignObjects = ((await warmCampaigns.json()) as { campaigns: number }).campaigns;
    const warmCampaignSeconds = round((Date.now() - t2) / 1000, 1);
    console.log(`[workers] ${campaignObjects} campaign objects created in ${warmCampaignSeconds} s`);
    const headers = { Authorization: `Bearer ${clientKey}` };

    const bodies = (users: number, count: number) => {
      const file = join(dir, `bodies-${users}.txt`);
      const lines: string[] = [];
      const distinct = new Set<number>();
      for (const s of sessions(o.seed, users, count, new Zipf(users))) {
        distinct.add(s.userIndex);
        lines.push(slotsBody(s));
      }
      writeFileSync(file, `${lines.join('\n')}\n`);
      return { file, lines, distinct: distinct.size };
    };
    const counters = async () =>
      (await (await retried(`${base}/__bench/counters`, {})).json()) as {
        doCalls: Record<string, number>;
        d1Statements: number;
        doSql?: Record<string, number>;
        requests: number;
        criticalPath: Record<string, CriticalPath>;
      };
    /** Sends `bodies` one at a time, so each request runs alone and its DO round trips can be told apart. */
    const probe = async (path: string, bodies: string[]): Promise<CriticalPath> => {
      await reset();
      const ms: number[] = [];
      for (const body of bodies) {
        const t = performance.now();
        await (await post(`${base}${path}`, headers, body, 120_000)).arrayBuffer();
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      const c = await counters();
      return {
        ...(c.criticalPath[`POST ${path}`] ?? { requests: 0, depth: {}, background: 0 }),
        doCalls: c.doCalls,
        aloneMs: { p50: round(ms[Math.floor(ms.length / 2)] ?? 0), p90: round(ms[Math.floor(ms.length * 0.9)] ?? 0) },
      };
    };
    const reset = async () => void (await (await retried(`${base}/__bench/counters/reset`, { method: 'POST' })).arrayBuffer());
    const costed = async <T>(work: () => Promise<T>, requestsOf: (t: T) => number): Promise<{ result: T; cost: PathCost }> => {
      await reset();
      const cpu0 = cpuSeconds(pids);
      const result = await work();
      const cpu = cpuSeconds(pids) - cpu0;
      const c = await counters();
      const requests = Math.max(1, requestsOf(result));
      const doCalls = Object.values(c.doCalls).reduce((a, b) => a + b, 0);
      return {
        result,
        cost: {
          requests,
          doCallsPerRequest: round(doCalls / requests),
          doCalls: c.doCalls,
          d1StatementsPerRequest: round(c.d1Statements / requests, 3),
          doSqlPerRequest: Object.fromEntries(Object.entries(c.doSql ?? {}).map(([k, v]) => [k, round(v / requests)])),
          cpuUsPerRequest: Math.round((cpu * 1e6) / requests),
        },
      };
    };

    const many = bodies(o.users, 200_000);
    const warmUsers = bodies(o.warmUsers, 20_000);
    console.log(`[workers] plain Hono in the same workerd, ${o.connections} connections, ${o.durationSeconds} s`);
    const hono = await costed(
      () => wrk(`${base}/__bench/hono`, many.file, headers, o.connections, o.durationSeconds, dir),
      (r) => r.requests,
    );
    console.log(`[workers]   ${hono.result.requestsPerSecond} req/s`);
    console.log(`[workers] /v1/slots, ${o.users} users (Zipf), ${o.connections} connections, ${o.durationSeconds} s`);
    const manyRun = await costed(
      () => wrk(`${base}/v1/slots`, many.file, headers, o.connections, o.durationSeconds, dir),
      (r) => r.requests,
    );
    console.log(`[workers]   ${manyRun.result.requestsPerSecond} req/s, ${JSON.stringify(manyRun.cost)}`);
    // Users never seen before, each once, with the request mix's feeds.
    const newUsers = many.lines.slice(0, 200).map((line, i) => JSON.stringify({ ...JSON.parse(line), user: `probe-new-${i}` }));
    const probeMany = await probe('/v1/slots', newUsers);
    console.log(`[workers]   one at a time, new users: DO round trips on the critical path ${JSON.stringify(probeMany)}`);
    // Warm the few users once, then measure.
    await pool(warmUsers.lines.slice(0, 2_000), 8, async (body) => {
      await (await post(`${base}/v1/slots`, headers, body)).arrayBuffer();
    });
    console.log(`[workers] /v1/slots, ${o.warmUsers} warm users, ${o.connections} connections, ${o.durationSeconds} s`);
    const warmRun = await costed(
      () => wrk(`${base}/v1/slots`, warmUsers.file, headers, o.connections, o.durationSeconds, dir),
      (r) => r.requests,
    );
    console.log(`[workers]   ${warmRun.result.requestsPerSecond} req/s, ${JSON.stringify(warmRun.cost)}`);
    const probeWarm = await probe('/v1/slots', warmUsers.lines.slice(0, 200));
    console.log(`[workers]   one at a time, warm users: DO round trips on the critical path ${JSON.stringify(probeWarm)}`);

    // Events: tokens from fresh slot requests, sent back in batches of 100.
    const random = rng(o.seed ^ 0xe7e7);
    const pending: { token: string; type: string }[] = [];
    await pool(many.lines.slice(0, o.eventSlots), 16, async (body) => {
      const res = await post(`${base}/v1/slots`, headers, body);
      if (!res.ok) return void (await res.arrayBuffer());
      for (const slot of ((await res.json()) as { slots: { token: string }[] }).slots)
        for (const type of eventsForSlot(random)) pending.push({ token: slot.token, type });
    });
    const batches: string[] = [];
    for (let i = 0; i + 100 <= pending.length; i += 100) batches.push(JSON.stringify({ events: pending.slice(i, i + 100) }));
    console.log(`[workers] /v1/events: ${batches.length} batches of 100, 8 at a time`);
    const events = await costed(
      async () => {
        const outcome = { accepted: 0, duplicate: 0, rejected: 0, non2xx: 0, timedOut: 0 };
        const t = performance.now();
        await pool(batches, 8, async (body) => {
          const res = await post(`${base}/v1/events`, headers, body, 120_000).catch((err: Error) => {
            if (err.name !== 'TimeoutError') throw err;
            outcome.timedOut++;
          });
          if (!res) return;
          if (!res.ok) {
            await res.arrayBuffer();
            outcome.non2xx++;
            return;
          }
          for (const r of ((await res.json()) as { results: { status: 'accepted' | 'duplicate' | 'rejected' }[] }).results)
            outcome[r.status]++;
        });
        const seconds = (performance.now() - t) / 1000;
        return {
          ...outcome,
          batches: batches.length,
          seconds: round(seconds),
          eventsPerSecond: Math.round(outcome.accepted / seconds),
        };
      },
      (r) => r.batches,
    );
    console.log(`[workers]   ${JSON.stringify(events.result)} ${JSON.stringify(events.cost)}`);

    const storage = sqliteBytes(join(dir, 'data', 'do'));
    return {
      label: o.label,
      when: new Date().toISOString(),
      options: o,
      seedSeconds,
      userShards,
      warmShardSeconds,
      campaignObjects,
      warmCampaignSeconds,
      hono: hono.result,
      honoCost: hono.cost,
      slotsManyUsers: {
        ...manyRun.result,
        distinctUsersInBodies: many.distinct,
        ratio: round(manyRun.result.requestsPerSecond / hono.result.requestsPerSecond, 3),
        cost: manyRun.cost,
      },
      slotsWarmUsers: {
        ...warmRun.result,
        ratio: round(warmRun.result.requestsPerSecond / hono.result.requestsPerSecond, 3),
        cost: warmRun.cost,
      },
      events: { ...events.result, cost: events.cost },
      criticalPath: { slotsNewUsers: probeMany, slotsWarmUsers: probeWarm },
      durableObjectStorage: storage,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stop();
  }
}

/** SQLite files of Durable Objects on disk, per namespace folder: count and bytes. */
export function sqliteBytes(root: string): Record<string, { objects: number; bytes: number }> {
  const out: Record<string, { objects: number; bytes: number }> = {};
  const walk = (dir: string, ns: string) => {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      const path = join(dir, name);
      let s: ReturnType<typeof statSync>;
      try {
        s = statSync(path);
      } catch {
        // workerd removed it meanwhile (a -shm or -wal file): nothing to count.
        continue;
      }
      if (s.isDirectory()) walk(path, ns || name);
      else if (name.endsWith('.sqlite') || name.endsWith('.sqlite-wal')) {
        out[ns] ??= { objects: 0, bytes: 0 };
        if (name.endsWith('.sqlite')) out[ns].objects++;
        out[ns].bytes += s.size;
      }
    }
  };
  walk(root, '');
  return out;
}

export type WorkersResult = Awaited<ReturnType<typeof runWorkersBench>>;

export function workersMarkdown(r: WorkersResult): string {
  const row = (name: string, w: WrkResult, cost?: PathCost, ratio?: number) =>
    `| ${name} | ${w.requestsPerSecond.toLocaleString('en-US')} | ${ratio ?? '—'} | ${w.latencyMs.p50} / ${w.latencyMs.p99} | ${w.non2xx} | ${cost ? cost.doCallsPerRequest : '—'} | ${cost ? cost.d1StatementsPerRequest : '—'} | ${cost ? cost.cpuUsPerRequest.toLocaleString('en-US') : '—'} |`;
  return `# Workers path in workerd: ${r.label}

${r.when}, \`npx tsx bench/workers/run.ts\` (${r.options.campaigns} campaigns seeded through the API in ${r.seedSeconds} s; ${r.userShards ? `${r.userShards} shared user objects created first in ${r.warmShardSeconds} s` : 'one object per user'}; ${r.campaignObjects} campaign objects created first in ${r.warmCampaignSeconds} s; wrk -t2 -c${r.options.connections} -d${r.options.durationSeconds}s; vars ${JSON.stringify(r.options.vars)}).

| endpoint | req/s | × Hono | p50 / p99 ms | non-2xx | DO calls/req | D1 statements/req | workerd CPU µs/req |
|---|---|---|---|---|---|---|---|
${row('plain Hono JSON (same workerd)', r.hono, r.honoCost)}
${row(`/v1/slots, ${r.options.users.toLocaleString('en-US')} users (${r.slotsManyUsers.distinctUsersInBodies.toLocaleString('en-US')} distinct in the request mix)`, r.slotsManyUsers, r.slotsManyUsers.cost, r.slotsManyUsers.ratio)}
${row(`/v1/slots, ${r.options.warmUsers} warm users`, r.slotsWarmUsers, r.slotsWarmUsers.cost, r.slotsWarmUsers.ratio)}

DO calls per slot request (many users): ${JSON.stringify(r.slotsManyUsers.cost.doCalls)} over ${r.slotsManyUsers.cost.requests} requests. SQL statements on the objects' SQLite per slot request: many users ${JSON.stringify(r.slotsManyUsers.cost.doSqlPerRequest)}; warm users ${JSON.stringify(r.slotsWarmUsers.cost.doSqlPerRequest)}.

DO round trips on the critical path (requests sent one at a time; requests by number of sequential round trips before the response; calls left in flight; latency alone p50/p90): slots, new users ${JSON.stringify(r.criticalPath.slotsNewUsers.depth)} (${r.criticalPath.slotsNewUsers.background} in background; ${r.criticalPath.slotsNewUsers.aloneMs?.p50}/${r.criticalPath.slotsNewUsers.aloneMs?.p90} ms); slots, warm users ${JSON.stringify(r.criticalPath.slotsWarmUsers.depth)} (${r.criticalPath.slotsWarmUsers.background}; ${r.criticalPath.slotsWarmUsers.aloneMs?.p50}/${r.criticalPath.slotsWarmUsers.aloneMs?.p90} ms). DO calls in those probes: slots, new users ${JSON.stringify(r.criticalPath.slotsNewUsers.doCalls)}; warm users ${JSON.stringify(r.criticalPath.slotsWarmUsers.doCalls)}.

Events: ${r.events.batches} batches of 100 (8 in flight): ${r.events.eventsPerSecond.toLocaleString('en-US')} accepted events/s; per batch ${r.events.cost.doCallsPerRequest} DO calls (${JSON.stringify(r.events.cost.doCalls)}), ${r.events.cost.d1StatementsPerRequest} D1 statements, ${JSON.stringify(r.events.cost.doSqlPerRequest)} statements on the objects' SQLite, ${r.events.cost.cpuUsPerRequest.toLocaleString('en-US')} µs workerd CPU; accepted ${r.events.accepted}, duplicate ${r.events.duplicate}, rejected ${r.events.rejected}, non-2xx ${r.events.non2xx}, no answer within 120 s ${r.events.timedOut}.

Durable Object SQLite on disk at the end: ${Object.entries(r.durableObjectStorage)
    .map(
      ([ns, v]) =>
        `${ns}: ${v.objects} objects, ${(v.bytes / 1024).toFixed(0)} KiB (${(v.bytes / Math.max(1, v.objects) / 1024).toFixed(1)} KiB each)`,
    )
    .join('; ')}.
`;
}

async function main() {
  const { values } = parseArgs({
    options: {
      campaigns: { type: 'string' },
      users: { type: 'string' },
      'warm-users': { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      seed: { type: 'string' },
      'event-slots': { type: 'string' },
      label: { type: 'string' },
      set: { type: 'string', multiple: true },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
    return;
  }
  const vars = settingsOf(values.set);
  const result = await runWorkersBench({
    campaigns: Number(values.campaigns ?? 200),
    users: Number(values.users ?? 200_000),
    warmUsers: Number(values['warm-users'] ?? 500),
    durationSeconds: Number(values.duration ?? 20),
    connections: Number(values.connections ?? 32),
    seed: Number(values.seed ?? 7),
    vars,
    eventSlots: Number(values['event-slots'] ?? 3_000),
    label: values.label ?? 'run',
  });
  const out = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `workers-${result.label}.json`), `${JSON.stringify(result, null, 1)}\n`);
  writeFileSync(join(out, `workers-${result.label}.md`), workersMarkdown(result));
  console.log(workersMarkdown(result));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
