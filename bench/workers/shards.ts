/**
 * Slot throughput as a campaign's budget shards grow, in workerd: one hot campaign (it wins
 * every slot; a large daily budget, so leases are real) served to warm users, with
 * BUDGET_MIN_SHARDS = K forcing K shard objects, one fresh workerd per K, and the plain
 * Hono JSON endpoint measured in the same workerd first (the baseline). Reports slot
 * req/s, × Hono, DO calls per slot request by method, and the busiest campaign object's
 * calls/s: what a Durable Object's ~1,000 requests/s limit is about. Writes
 * bench/results/workers-shards.json and .md.
 *
 * Usage: npx tsx bench/workers/shards.ts [--shards 1,2,4,8] [--users 1000] [--duration 10] [--connections 32]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { startLocalWorker } from '../../src/runtime/miniflare.js';
import type { CampaignSpec } from '../workload.js';
import { cpuSeconds, pool, post, round, seed, startBenchWorker, type WrkResult, workerdPids, wrk } from './run.js';

interface KRun {
  shards: number;
  hono: WrkResult;
  slots: WrkResult;
  ratio: number;
  slotsServed: number;
  doCallsPerSlot: number;
  doCalls: Record<string, number>;
  cpuUsPerSlot: number;
  /** Calls per second at each object of the hot campaign (its own object first). */
  campaignObjectCallsPerSec: Record<string, number>;
  busiestObjectCallsPerSec: number;
}

const HOT: CampaignSpec = {
  id: 'cmp_0',
  advertiserId: 'adv_0',
  bid: { type: 'cpm', amountMicros: 2_000_000 },
  // Large but bounded: shards hold real leases and renew them.
  budget: { dailyMicros: 1_000_000_000_000 },
  pacing: 'asap',
  targeting: {},
  caps: [],
  creatives: [{ id: 'crv_0', predictedCtr: 0.01 }],
};

async function measureK(shards: number, o: { users: number; durationSeconds: number; connections: number }): Promise<KRun> {
  const dir = mkdtempSync(join(tmpdir(), 'status-ads-shards-'));
  let mf: Awaited<ReturnType<typeof startLocalWorker>> | undefined;
  try {
    let base: string;
    ({ mf, base } = await startBenchWorker(dir, {
      BUDGET_MIN_SHARDS: String(shards),
      USER_SHARDS: '64',
      // Warm users come back all the time: caps must not empty the feed, and a creative reserved
      // for a user (unseen, unexpired) is not served to them again, so reservations live 1 s.
      USER_CAP_IMPRESSIONS: '10000',
      TOKEN_TTL: '1',
      MAX_PER_RESPONSE: '1',
    }));
    const pids = workerdPids();
    const clientKey = await seed(base, [HOT]);
    const headers = { Authorization: `Bearer ${clientKey}` };
    const lines = Array.from({ length: o.users }, (_, i) => JSON.stringify({ user: `bench-user-${i}`, statuses: 5 }));
    const file = join(dir, 'bodies.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    // Every user once (their objects' rows exist), and the campaign's shards are leased.
    await pool(lines, 16, async (body) => void (await (await post(`${base}/v1/slots`, headers, body)).arrayBuffer()));
    const counters = async () =>
      (await (await fetch(`${base}/__bench/counters`)).json()) as {
        doCalls: Record<string, number>;
        campaignObjectCalls: Record<string, number>;
      };
    const reset = async () => void (await (await fetch(`${base}/__bench/counters/reset`, { method: 'POST' })).arrayBuffer());

    console.log(`[shards] K=${shards}: plain Hono, ${o.connections} connections, ${o.durationSeconds} s`);
    const hono = await wrk(`${base}/__bench/hono`, file, headers, o.connections, o.durationSeconds, dir);
    console.log(`[shards]   ${hono.requestsPerSecond} req/s`);
    await reset();
    const cpu0 = cpuSeconds(pids);
    const slots = await wrk(`${base}/v1/slots`, file, headers, o.connections, o.durationSeconds, dir);
    const cpu = cpuSeconds(pids) - cpu0;
    const c = await counters();
    const calls = Object.values(c.doCalls).reduce((a, b) => a + b, 0);
    const served = c.doCalls['CAMPAIGNS.tryHold'] ?? 0;
    const perObject = Object.fromEntries(
      Object.entries(c.campaignObjectCalls)
        .sort(([a], [b]) => a.length - b.length || (a < b ? -1 : 1))
        .map(([name, n]) => [name, Math.round(n / slots.seconds)]),
    );
    const run: KRun = {
      shards,
      hono,
      slots,
      ratio: round(slots.requestsPerSecond / hono.requestsPerSecond, 3),
      slotsServed: served,
      doCallsPerSlot: round(calls / Math.max(1, slots.requests)),
      doCalls: c.doCalls,
      cpuUsPerSlot: Math.round((cpu * 1e6) / Math.max(1, slots.requests)),
      campaignObjectCallsPerSec: perObject,
      busiestObjectCallsPerSec: Math.max(0, ...Object.values(perObject)),
    };
    console.log(
      `[shards]   ${slots.requestsPerSecond} req/s (${run.ratio} × Hono), busiest campaign object ${run.busiestObjectCallsPerSec} calls/s`,
    );
    return run;
  } finally {
    await mf?.dispose().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

function markdown(runs: KRun[], o: { users: number; durationSeconds: number; connections: number }, when: string): string {
  const rows = runs.map(
    (r) =>
      `| ${r.shards} | ${r.hono.requestsPerSecond.toLocaleString('en-US')} | ${r.slots.requestsPerSecond.toLocaleString('en-US')} | ${r.ratio} | ${r.slots.latencyMs.p50} / ${r.slots.latencyMs.p99} | ${r.slots.non2xx} | ${r.doCallsPerSlot} | ${r.cpuUsPerSlot.toLocaleString('en-US')} | ${r.busiestObjectCallsPerSec} | ${Object.values(r.campaignObjectCallsPerSec).join(' / ')} |`,
  );
  return `# Slot throughput as budget shards grow (workerd)

${when}, \`npx tsx bench/workers/shards.ts\`: one hot campaign (wins every slot, daily budget 10⁶ units, asap), ${o.users.toLocaleString('en-US')} warm users, one slot per response, tokens living 1 s (so a returning user is served again), BUDGET_MIN_SHARDS = K, a fresh workerd per K; wrk -t2 -c${o.connections} -d${o.durationSeconds}s on the plain Hono endpoint and then on /v1/slots in the same workerd.

| K | plain Hono req/s | /v1/slots req/s | × Hono | p50 / p99 ms | non-2xx | DO calls / slot request | workerd CPU µs / slot request | busiest campaign object, calls/s | calls/s per campaign object (own object first) |
|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

DO calls by method: ${runs.map((r) => `K=${r.shards} ${JSON.stringify(r.doCalls)}`).join('; ')}.
`;
}

async function main() {
  const { values } = parseArgs({
    options: {
      shards: { type: 'string' },
      users: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
    return;
  }
  const o = {
    users: Number(values.users ?? 1000),
    durationSeconds: Number(values.duration ?? 10),
    connections: Number(values.connections ?? 32),
  };
  const ks = (values.shards ?? '1,2,4,8').split(',').map(Number);
  const when = new Date().toISOString();
  const runs: KRun[] = [];
  for (const k of ks) runs.push(await measureK(k, o));
  const out = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'workers-shards.json'), `${JSON.stringify({ when, options: o, runs }, null, 1)}\n`);
  writeFileSync(join(out, 'workers-shards.md'), markdown(runs, o, when));
  console.log(markdown(runs, o, when));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
