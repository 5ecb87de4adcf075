/**
 * HTTP benchmark: the real server (`src/runtime/node.ts` via tsx) on a temporary
 * data folder, seeded through the API, loaded with autocannon on /v1/slots and
 * /v1/events (batches of 50); a plain Hono JSON server is loaded in the same run
 * as the baseline. Afterwards the database is audited for cap, block and budget breaches.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSettings } from '../src/config.js';
import type { EventType } from '../src/engine/types.js';
import { png } from '../test/helpers/media.js';
import { auditDatabase } from './audit.js';
import { progress, type Counters } from './stats.js';
import { eventsForSlot, generateCatalog, rng, sessions, Zipf, type CampaignSpec } from './workload.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
const SECRET = 'bench-secret-0123456789abcdef';

export interface HttpOptions {
  campaigns: number;
  users: number;
  connections: number[];
  durationSeconds: number;
  eventConnections: number[];
  seed: number;
  /** Write a V8 CPU profile of the server into this folder when it stops. */
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
}

export interface HttpResult {
  seededCampaigns: number;
  seedSeconds: number;
  rows: { connections: number; baseline: HttpLoad; slots: HttpLoad; ratio: number; cpuRatio?: number; slotsPerRequest: number }[];
  events: { connections: number; load: HttpLoad; eventsPerSecond: number; accepted: number; duplicate: number; rejected: number }[];
  counters: Counters;
  audit: { reservations: number; users: number };
}

/** CPU seconds (user + system) used so far by a process and its descendants still alive (tsx runs node as a child); null off Linux. */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return null;
  let total = 0;
  const visit = (p: number) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
      for (const child of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) visit(Number(child));
    } catch {
      // the process went away
    }
  };
  visit(pid);
  return total;
}

/** Runs a load and measures the server's CPU time per request alongside it. */
async function measured(pid: number | undefined, options: autocannon.Options): Promise<HttpLoad> {
  const before = cpuSeconds(pid);
  const result = summarize(await load(options));
  const after = cpuSeconds(pid);
  if (before !== null && after !== null && result.requests > 0) result.serverCpuUsPerRequest = Math.round(((after - before) * 1e6) / result.requests);
  return result;
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** Starts a server under tsx; with `nodeArgs` (e.g. --cpu-prof) as `node <args> --import tsx` instead, since NODE_OPTIONS refuses those flags. */
async function start(script: string, env: Record<string, string>, port: number, nodeArgs?: string[]): Promise<ChildProcess> {
  const [command, args] = nodeArgs ? [process.execPath, [...nodeArgs, '--import', 'tsx', script]] : [TSX, [script]];
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const deadline = Date.now() + 30_000;
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

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

async function seed(base: string, campaigns: CampaignSpec[]): Promise<string> {
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
  const advertiserIds = [...new Set(campaigns.map((c) => c.advertiserId))];
  await pool(advertiserIds, 8, async (id) => {
    const res = await call('POST', '/v1/advertisers', ADMIN_KEY, { name: `Business ${id}` });
    keys.set(id, res.apiKey);
  });
  const start = new Date(Date.now() - 86_400_000).toISOString();
  const images = Array.from({ length: 8 }, (_, i) => png(90, 160, i));
  await pool(campaigns, 8, async (c) => {
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
    form.set('file', new File([images[Number(c.id.slice(4)) % images.length] as Uint8Array<ArrayBuffer>], 'ad.png', { type: 'image/png' }));
    form.set('headline', `Offer from ${c.advertiserId}`);
    form.set('ctaType', 'website');
    form.set('ctaTarget', 'https://shop.example');
    const res = await fetch(`${base}/v1/campaigns/${campaign.id}/creatives`, { method: 'POST', headers: { Authorization: `Bearer ${key}` }, body: form });
    const creative = (await res.json()) as any;
    if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(creative)}`);
    await call('POST', `/v1/creatives/${creative.id}/review`, ADMIN_KEY, { decision: 'approve' });
  });
  return (await call('POST', '/v1/clients', ADMIN_KEY, { name: 'Bench messenger' })).apiKey;
}

function summarize(r: autocannon.Result): HttpLoad {
  const seconds = (r.finish.getTime() - r.start.getTime()) / 1000;
  const total = r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'];
  return {
    seconds,
    requestsPerSecond: Math.round(total / seconds),
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, p999: r.latency.p99_9, max: r.latency.max, mean: r.latency.average },
    requests: total,
    non2xx: r.non2xx,
    errors: r.errors,
    status5xx: r['5xx'],
  };
}

const load = (options: autocannon.Options) => autocannon(options) as unknown as Promise<autocannon.Result>;

export async function runHttpBenchmark(options: HttpOptions): Promise<HttpResult> {
  const dir = mkdtempSync(join(tmpdir(), 'status-ads-http-'));
  const children: ChildProcess[] = [];
  try {
    const [port, basePort] = [await freePort(), await freePort()];
    const database = join(dir, 'ads.db');
    progress(`  http: starting server on 127.0.0.1:${port} and baseline on :${basePort}`);
    const server = await start(
      'src/runtime/node.ts',
      { DATABASE: database, MEDIA_DIR: join(dir, 'media'), ADMIN_KEY, SECRET, RATE_LIMIT_ADVERTISER: '0' },
      port,
      options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : undefined,
    );
    children.push(server);
    const baseline = await start('bench/baseline-server.ts', {}, basePort);
    children.push(baseline);

    const catalog = generateCatalog(options.seed, options.campaigns);
    const t0 = Date.now();
    progress(`  http: seeding ${options.campaigns} campaigns through the API`);
    const clientKey = await seed(`http://127.0.0.1:${port}`, catalog.campaigns);
    const seedSeconds = (Date.now() - t0) / 1000;
    progress(`  http: seeded in ${seedSeconds.toFixed(1)} s`);

    const feed = sessions(options.seed, options.users, Infinity, new Zipf(options.users));
    const nextBody = () => {
      const s = feed.next().value!;
      return JSON.stringify(s.statuses !== undefined ? { user: s.user, statuses: s.statuses, context: s.context } : { user: s.user, runs: s.runs, context: s.context });
    };
    const eventRandom = rng(options.seed ^ 0xe7e7);
    const pendingEvents: { token: string; type: EventType }[] = [];
    const headers = { Authorization: `Bearer ${clientKey}`, 'Content-Type': 'application/json' };

    const rows: HttpResult['rows'] = [];
    for (const connections of options.connections) {
      progress(`  http: baseline, ${connections} connections, ${options.durationSeconds} s`);
      const base = await measured(baseline.pid, {
        url: `http://127.0.0.1:${basePort}`,
        connections,
        duration: options.durationSeconds,
        requests: [{ method: 'POST', path: '/json', headers, setupRequest: (req) => ({ ...req, body: nextBody() }) }],
      });
      progress(`  http: /v1/slots, ${connections} connections, ${options.durationSeconds} s`);
      let slotCount = 0;
      let responses = 0;
      const ours = await measured(server.pid, {
        url: `http://127.0.0.1:${port}`,
        connections,
        duration: options.durationSeconds,
        requests: [
          {
            method: 'POST',
            path: '/v1/slots',
            headers,
            setupRequest: (req) => ({ ...req, body: nextBody() }),
            onResponse: (status, body) => {
              if (status !== 200) return;
              responses++;
              const slots = (JSON.parse(body) as { slots: { token: string }[] }).slots;
              slotCount += slots.length;
              for (const slot of slots) for (const type of eventsForSlot(eventRandom)) pendingEvents.push({ token: slot.token, type });
            },
          },
        ],
      });
      rows.push({
        connections,
        baseline: base,
        slots: ours,
        ratio: Math.round((ours.requestsPerSecond / base.requestsPerSecond) * 1000) / 1000,
        ...(ours.serverCpuUsPerRequest && base.serverCpuUsPerRequest
          ? { cpuRatio: Math.round((base.serverCpuUsPerRequest / ours.serverCpuUsPerRequest) * 1000) / 1000 }
          : {}),
        slotsPerRequest: Math.round((slotCount / Math.max(1, responses)) * 100) / 100,
      });
    }

    // Events: every slot served above, in batches of 50, split across the concurrency levels.
    const batches: string[] = [];
    for (let i = 0; i + 50 <= pendingEvents.length; i += 50) batches.push(JSON.stringify({ events: pendingEvents.slice(i, i + 50) }));
    const events: HttpResult['events'] = [];
    const share = Math.floor(batches.length / options.eventConnections.length);
    for (const [k, connections] of options.eventConnections.entries()) {
      const mine = batches.slice(k * share, (k + 1) * share);
      if (mine.length === 0) break;
      progress(`  http: /v1/events, ${connections} connections, ${mine.length} batches of 50`);
      let next = 0;
      const outcome = { accepted: 0, duplicate: 0, rejected: 0 };
      const result = await measured(server.pid, {
        url: `http://127.0.0.1:${port}`,
        connections,
        amount: mine.length,
        requests: [
          {
            method: 'POST',
            path: '/v1/events',
            headers,
            setupRequest: (req) => ({ ...req, body: mine[next++ % mine.length] }),
            onResponse: (status, body) => {
              if (status !== 200) return;
              for (const r of (JSON.parse(body) as { results: { status: keyof typeof outcome }[] }).results) outcome[r.status]++;
            },
          },
        ],
      });
      events.push({ connections, load: result, eventsPerSecond: Math.round(outcome.accepted / result.seconds), ...outcome });
    }

    progress('  http: stopping the server (SIGTERM) and auditing its database');
    await stop(server);
    await stop(baseline);
    const audit = auditDatabase(database, readSettings({}).userCap);
    const serverErrors = rows.reduce((n, r) => n + r.slots.status5xx, 0) + events.reduce((n, e) => n + e.load.status5xx, 0);
    return {
      seededCampaigns: options.campaigns,
      seedSeconds,
      rows,
      events,
      counters: { capViolations: audit.capViolations, blockedServed: audit.blockedServed, budgetOverspend: audit.budgetOverspend, serverErrors },
      audit: { reservations: audit.reservations, users: audit.users },
    };
  } finally {
    for (const child of children) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
