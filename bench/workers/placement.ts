/**
 * User placement measured in workerd: one Durable Object per user against users
 * hashed into a fixed set of shared objects, on the real user-object code
 * (USER_SHARDS = 0 or N, passed to the Worker): a new user's first slot
 * request (creation), a warm user's request, SQLite bytes per user, and erase.
 * Writes bench/results/placement.json and .md.
 *
 * Usage: npx tsx bench/workers/placement.ts [--users 1500] [--shards 256] [--erase 300] [--campaigns 50]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { startLocalWorker } from '../../src/runtime/miniflare.js';
import { generateCatalog, sessions, Zipf } from '../workload.js';
import { cpuSeconds, pool, post, round, seed, sqliteBytes, startBenchWorker, workerdPids } from './run.js';

interface Phase {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  cpuUsPerRequest: number;
}

function summarize(latencies: number[], cpuSeconds: number): Phase {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return {
    requests: latencies.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    meanMs: round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)),
    cpuUsPerRequest: Math.round((cpuSeconds * 1e6) / Math.max(1, latencies.length)),
  };
}

async function measure(
  placement: { name: string; vars: Record<string, string>; warmShards: boolean },
  o: { users: number; erase: number; campaigns: number },
) {
  const dir = mkdtempSync(join(tmpdir(), 'status-ads-placement-'));
  let mf: Awaited<ReturnType<typeof startLocalWorker>> | undefined;
  try {
    let base: string;
    ({ mf, base } = await startBenchWorker(dir, placement.vars));
    const pids = workerdPids();
    const clientKey = await seed(base, generateCatalog(11, o.campaigns).campaigns);
    const headers = { Authorization: `Bearer ${clientKey}` };
    let warmSeconds = 0;
    if (placement.warmShards) {
      const t = performance.now();
      const res = await fetch(`${base}/__bench/warm-user-shards`, { method: 'POST' });
      if (!res.ok) throw new Error(`warm: ${res.status} ${await res.text()}`);
      warmSeconds = round((performance.now() - t) / 1000, 1);
    }
    const storageBefore = sqliteBytes(join(dir, 'data', 'do'));
    // Distinct users, each once: every request is a user's first.
    const bodies: string[] = [];
    const seen = new Set<number>();
    for (const s of sessions(11, 10_000_000, Infinity, new Zipf(10_000_000, 0.0001))) {
      if (seen.has(s.userIndex)) continue;
      seen.add(s.userIndex);
      bodies.push(JSON.stringify({ user: s.user, statuses: 10, context: s.context }));
      if (bodies.length === o.users) break;
    }
    const phase = async (items: string[], path: string, body: (item: string) => string) => {
      const latencies: number[] = [];
      const cpu0 = cpuSeconds(pids);
      await pool(items, 8, async (item) => {
        const t = performance.now();
        const res = await post(`${base}${path}`, headers, body(item));
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`${path}: ${res.status}`);
        latencies.push(performance.now() - t);
      });
      return summarize(latencies, cpuSeconds(pids) - cpu0);
    };
    const first = await phase(bodies, '/v1/slots', (b) => b);
    const again = await phase(bodies, '/v1/slots', (b) => b);
    const storage = sqliteBytes(join(dir, 'data', 'do'));
    const users = (ns: Record<string, { objects: number; bytes: number }>) =>
      Object.entries(ns).find(([k]) => k.includes('UserObject'))?.[1] ?? { objects: 0, bytes: 0 };
    const after = users(storage);
    const before = users(storageBefore);
    const erase = await phase(bodies.slice(0, o.erase), '/v1/users/erase', (b) => JSON.stringify({ user: JSON.parse(b).user }));
    const afterErase = users(sqliteBytes(join(dir, 'data', 'do')));
    return {
      placement: placement.name,
      vars: placement.vars,
      warmSeconds,
      firstRequest: first,
      warmRequest: again,
      userObjects: after.objects,
      bytesPerUser: Math.round((after.bytes - before.bytes) / o.users),
      bytesTotal: after.bytes,
      erase,
      bytesAfterErase: afterErase.bytes,
      objectsAfterErase: afterErase.objects,
    };
  } finally {
    await mf?.dispose().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      users: { type: 'string' },
      shards: { type: 'string' },
      erase: { type: 'string' },
      campaigns: { type: 'string' },
      'shards-var': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
    return;
  }
  const o = {
    users: Number(values.users ?? 1500),
    erase: Number(values.erase ?? 300),
    campaigns: Number(values.campaigns ?? 50),
  };
  const shards = values.shards ?? '256';
  const variable = values['shards-var'] ?? 'USER_SHARDS';
  const results: Awaited<ReturnType<typeof measure>>[] = [];
  for (const placement of [
    { name: 'one object per user', vars: { [variable]: '0' }, warmShards: false },
    { name: `hashed into ${shards} objects`, vars: { [variable]: shards }, warmShards: true },
  ]) {
    console.log(`[placement] ${placement.name}`);
    const r = await measure(placement, o);
    console.log(JSON.stringify(r));
    results.push(r);
  }
  const row = (r: (typeof results)[number]) =>
    `| ${r.placement} | ${r.firstRequest.p50Ms} / ${r.firstRequest.p99Ms} | ${r.firstRequest.cpuUsPerRequest.toLocaleString('en-US')} | ${r.warmRequest.p50Ms} / ${r.warmRequest.p99Ms} | ${r.warmRequest.cpuUsPerRequest.toLocaleString('en-US')} | ${r.userObjects.toLocaleString('en-US')} | ${(r.bytesPerUser / 1024).toFixed(1)} | ${r.erase.p50Ms} / ${r.erase.p99Ms} | ${r.erase.cpuUsPerRequest.toLocaleString('en-US')} |`;
  const md = `# User placement in workerd

${new Date().toISOString()}, \`npx tsx bench/workers/placement.ts\`: ${o.users.toLocaleString('en-US')} new users, one slot request each (8 in flight), then a
second request each, then ${o.erase} erasures; ${o.campaigns} campaigns. Hashed objects are created beforehand (${results[1].warmSeconds} s), as they
would be within minutes of a deployment's life. CPU is the workerd process's (user + system).

| placement | new user p50 / p99 ms | new user CPU µs | warm user p50 / p99 ms | warm user CPU µs | user objects | KiB per user | erase p50 / p99 ms | erase CPU µs |
|---|---|---|---|---|---|---|---|---|
${results.map(row).join('\n')}
`;
  const out = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'placement.json'), `${JSON.stringify({ options: o, results }, null, 1)}\n`);
  writeFileSync(join(out, 'placement.md'), md);
  console.log(md);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
