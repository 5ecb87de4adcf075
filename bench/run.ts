/**
 * `npm run bench` (quick, < 3 min) and `npm run bench -- --full`: engine, serve
 * path, memory and HTTP benchmarks with correctness counters; prints a markdown
 * summary and writes JSON, a markdown report and SVG plots under bench/results/.
 * `--only=engine,serve,memory,http` runs a subset; `--seed=N` changes the workload;
 * `--profile=DIR` makes the HTTP server write a CPU profile (node --cpu-prof) into DIR;
 * `--report=bench/results/X.json` only re-renders the markdown of a saved run.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryPerUserState, runEngineScenario, type EngineResult } from './engine.js';
import { runHttpBenchmark, type HttpResult } from './http.js';
import { runMemoryBound, type MemoryPoint } from './memory.js';
import { runServeScenario, type ServeResult } from './serve.js';
import { addCounters, machine, progress, zeroCounters, type Counters, type Machine } from './stats.js';
import { barChart, lineChart } from './svg.js';

const TARGETS = {
  engineP99Us: 250,
  engineDecisionsPerSecond: 20_000,
  httpRatio: 0.7,
  httpP99Ms: 10,
  eventsPerSecond: 50_000,
};

export interface BenchReport {
  mode: 'quick' | 'full';
  startedAt: string;
  seconds: number;
  machine: Machine;
  engine: EngineResult[];
  userStateBytes?: { bytesPerUser: number; historyEntries: number };
  serve: ServeResult[];
  memory: MemoryPoint[];
  http?: HttpResult;
  counters: Counters;
  targets: { name: string; target: string; measured: string; met: boolean | null }[];
}

function parseArgs(argv: string[]) {
  const full = argv.includes('--full');
  const only = argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
  const seed = Number(argv.find((a) => a.startsWith('--seed='))?.slice(7) ?? 42);
  const profileDir = argv.find((a) => a.startsWith('--profile='))?.slice(10);
  return { full, only: new Set(only ?? ['engine', 'serve', 'memory', 'http']), seed, profileDir };
}

const n = (v: number) => v.toLocaleString('en-US');

function targets(r: BenchReport): BenchReport['targets'] {
  const out: BenchReport['targets'] = [];
  const big = r.engine.find((e) => e.scenario.campaigns === 100_000 && e.scenario.users === 1_000_000) ?? r.engine.at(-1);
  if (big) {
    const label = `${n(big.scenario.campaigns)} campaigns, ${n(big.scenario.users)} users`;
    out.push({ name: `engine p99 (${label})`, target: `≤ ${TARGETS.engineP99Us} µs`, measured: `${big.latency.p99Us} µs`, met: big.latency.p99Us <= TARGETS.engineP99Us });
    out.push({ name: `engine decisions/s, one core (${label})`, target: `≥ ${n(TARGETS.engineDecisionsPerSecond)}`, measured: n(big.decisionsPerSecond), met: big.decisionsPerSecond >= TARGETS.engineDecisionsPerSecond });
    const small = r.engine.find((e) => e.scenario.campaigns === Math.min(...r.engine.map((x) => x.scenario.campaigns)) && e.scenario.users === big.scenario.users);
    const fewUsers = r.engine.find((e) => e.scenario.campaigns === big.scenario.campaigns && e.scenario.users === Math.min(...r.engine.map((x) => x.scenario.users)));
    if (small && small !== big) {
      out.push({
        name: `engine mean time vs campaigns (${n(small.scenario.campaigns)} → ${n(big.scenario.campaigns)})`,
        target: 'grows with matching candidates, not all campaigns',
        measured: `×${(big.latency.meanUs / small.latency.meanUs).toFixed(2)} time for ×${big.scenario.campaigns / small.scenario.campaigns} campaigns; candidates examined ${small.candidatesExamined} → ${big.candidatesExamined}`,
        met: big.latency.meanUs / small.latency.meanUs < Math.sqrt(big.scenario.campaigns / small.scenario.campaigns),
      });
    }
    if (fewUsers && fewUsers !== big) {
      // More users also changes the mix: with few users the heavy (Zipf) ones sit at their user cap and
      // get no ads, so compare the time per campaign examined, not per decision.
      const perCandidate = (e: EngineResult) => e.latency.meanUs / Math.max(1, e.candidatesExamined);
      const ratio = perCandidate(big) / perCandidate(fewUsers);
      out.push({
        name: `engine time vs users (${n(fewUsers.scenario.users)} → ${n(big.scenario.users)})`,
        target: 'flat per campaign examined',
        measured: `×${ratio.toFixed(2)} per campaign examined (per decision ×${(big.latency.meanUs / fewUsers.latency.meanUs).toFixed(2)}, as slots/decision go ${fewUsers.slotsPerDecision} → ${big.slotsPerDecision} and campaigns examined ${fewUsers.candidatesExamined} → ${big.candidatesExamined})`,
        met: ratio < 2,
      });
    }
  }
  if (r.http) {
    for (const row of r.http.rows) {
      out.push({ name: `HTTP /v1/slots vs Hono baseline, ${row.connections} connections`, target: `≥ ${TARGETS.httpRatio * 100}%`, measured: `${(row.ratio * 100).toFixed(1)}%`, met: row.ratio >= TARGETS.httpRatio });
      out.push({ name: `HTTP /v1/slots p99, ${row.connections} connections`, target: `≤ ${TARGETS.httpP99Ms} ms`, measured: `${row.slots.latencyMs.p99} ms`, met: row.slots.latencyMs.p99 <= TARGETS.httpP99Ms });
    }
    const best = Math.max(0, ...r.http.events.map((e) => e.eventsPerSecond));
    out.push({ name: 'HTTP /v1/events, durably acknowledged', target: `≥ ${n(TARGETS.eventsPerSecond)} events/s`, measured: `${n(best)} events/s`, met: best >= TARGETS.eventsPerSecond });
  }
  if (r.memory.length > 0) {
    const bySize = new Map<number, MemoryPoint[]>();
    for (const p of r.memory) bySize.set(p.userCacheSize, [...(bySize.get(p.userCacheSize) ?? []), p]);
    const flat = [...bySize.values()].every((ps) => {
      const grow = ps.map((p) => p.heapGrowthMB);
      return ps.every((p) => p.cacheEntries <= p.userCacheSize) && Math.max(...grow) <= Math.min(...grow) * 1.3 + 2;
    });
    out.push({
      name: 'memory bounded by the user cache setting',
      target: 'heap flat as distinct users grow',
      measured: [...bySize.entries()].map(([size, ps]) => `cache ${n(size)}: ${ps.map((p) => `${n(p.distinctUsers)} users → +${p.heapGrowthMB} MB`).join(', ')}`).join('; '),
      met: flat,
    });
  }
  const c = r.counters;
  out.push({
    name: 'correctness counters (cap violations, blocked served, overspend, 5xx)',
    target: 'all 0',
    measured: `${c.capViolations}, ${c.blockedServed}, ${c.budgetOverspend}, ${c.serverErrors}`,
    met: c.capViolations + c.blockedServed + c.budgetOverspend + c.serverErrors === 0,
  });
  return out;
}

export function markdown(r: BenchReport, plots: Record<string, string> = {}): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push(`# Benchmark report (${r.mode}) — ${r.startedAt}`);
  lines.push('');
  lines.push(
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node} (${m.platform}); load average ${m.loadAverageAtStart} at start, ${m.loadAverageAtEnd ?? '?'} at end. Run took ${Math.round(r.seconds)} s.`,
  );
  lines.push('');
  lines.push('## Targets');
  lines.push('');
  lines.push('| | target | measured | met |');
  lines.push('|---|---|---|---|');
  for (const t of r.targets) lines.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.met === null ? '–' : t.met ? 'yes' : '**no**'} |`);
  lines.push('');
  if (r.engine.length > 0) {
    lines.push('## Engine (in-process `decide` over the catalog index, user states and budgets in memory)');
    lines.push('');
    lines.push('| campaigns | users | decisions | decisions/s (1 core) | p50 µs | p99 µs | p99.9 µs | max µs | mean µs | slots/decision | candidates examined | matching targeting | in index bucket | distinct users | counters |');
    lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const e of r.engine) {
      const c = e.counters;
      lines.push(
        `| ${n(e.scenario.campaigns)} | ${n(e.scenario.users)} | ${n(e.scenario.decisions)} | ${n(e.decisionsPerSecond)} | ${e.latency.p50Us} | ${e.latency.p99Us} | ${e.latency.p999Us} | ${e.latency.maxUs} | ${e.latency.meanUs} | ${e.slotsPerDecision} | ${e.candidatesExamined} | ${n(e.matchingCampaigns)} | ${n(e.bucketCampaigns)} | ${n(e.distinctUsers)} | ${c.capViolations}/${c.blockedServed}/${c.budgetOverspend} |`,
      );
    }
    lines.push('');
    lines.push('Counters are cap violations / blocked advertisers served / budget overspend. "Candidates examined" is how many campaigns `decide` pulled from the index per decision; "matching targeting" is how many campaigns match the request\'s country, language and platform; "in index bucket" is what the index could hand out for the request\'s country.');
    if (r.userStateBytes) {
      lines.push('');
      lines.push(`Memory per cached user state: **${n(r.userStateBytes.bytesPerUser)} bytes** with ${r.userStateBytes.historyEntries} history entries and a 64-hex key (heap growth over 20,000 states).`);
    }
    if (plots.engine) lines.push('', `![engine latency vs campaigns](${plots.engine})`);
    if (plots.candidates) lines.push('', `![candidates examined](${plots.candidates})`);
    lines.push('');
  }
  if (r.serve.length > 0) {
    lines.push('## Serve path in-process (`Delivery.slots` / `Delivery.events` on the SQLite store, no HTTP)');
    lines.push('');
    lines.push('| campaigns | users | user cache | in flight | requests | slots req/s | CPU µs/request | p50 µs | p99 µs | p99.9 µs | slots/request | events/s (batches of 50) | CPU µs/event | batch p50 µs | batch p99 µs | accepted | heap MB | cached users | counters |');
    lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const s of r.serve) {
      const c = s.counters;
      lines.push(
        `| ${n(s.scenario.campaigns)} | ${n(s.scenario.users)} | ${n(s.scenario.userCacheSize)} | ${s.scenario.concurrency} | ${n(s.scenario.requests)} | ${n(s.slots.perSecond)} | ${s.slots.cpuUsPerRequest} | ${s.slots.latency.p50Us} | ${s.slots.latency.p99Us} | ${s.slots.latency.p999Us} | ${s.slots.slotsPerRequest} | ${n(s.events.perSecond)} | ${s.events.cpuUsPerEvent} | ${s.events.batchLatency.p50Us} | ${s.events.batchLatency.p99Us} | ${n(s.events.accepted)} | ${s.heapUsedMB} | ${n(s.userCacheEntries)} | ${c.capViolations}/${c.blockedServed}/${c.budgetOverspend} |`,
      );
    }
    lines.push('');
  }
  if (r.memory.length > 0) {
    lines.push('## Memory bound (SQLite user store, 3 reservations per user)');
    lines.push('');
    lines.push('| user cache setting | distinct users loaded | cached entries | heap growth MB |');
    lines.push('|---:|---:|---:|---:|');
    for (const p of r.memory) lines.push(`| ${n(p.userCacheSize)} | ${n(p.distinctUsers)} | ${n(p.cacheEntries)} | ${p.heapGrowthMB} |`);
    lines.push('');
  }
  if (r.http) {
    const h = r.http;
    lines.push(`## HTTP (real server over 127.0.0.1, ${n(h.seededCampaigns)} campaigns seeded through the API in ${h.seedSeconds.toFixed(1)} s)`);
    lines.push('');
    lines.push('| connections | baseline req/s | baseline p50/p99 ms | /v1/slots req/s | /v1/slots p50/p90/p99/p99.9 ms | ratio | server CPU µs/req baseline / slots | CPU ratio | slots/response | 5xx | errors |');
    lines.push('|---:|---:|---|---:|---|---:|---|---:|---:|---:|---:|');
    for (const row of h.rows) {
      const s = row.slots.latencyMs;
      lines.push(
        `| ${row.connections} | ${n(row.baseline.requestsPerSecond)} | ${row.baseline.latencyMs.p50}/${row.baseline.latencyMs.p99} | ${n(row.slots.requestsPerSecond)} | ${s.p50}/${s.p90}/${s.p99}/${s.p999} | ${(row.ratio * 100).toFixed(1)}% | ${row.baseline.serverCpuUsPerRequest ?? '?'} / ${row.slots.serverCpuUsPerRequest ?? '?'} | ${row.cpuRatio !== undefined ? `${(row.cpuRatio * 100).toFixed(1)}%` : '?'} | ${row.slotsPerRequest} | ${row.slots.status5xx} | ${row.slots.errors} |`,
      );
    }
    lines.push('');
    lines.push('| /v1/events connections | batches | req/s | events/s accepted | p50/p99 ms | server CPU µs/event | accepted | duplicate | rejected | 5xx |');
    lines.push('|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|');
    for (const e of h.events) {
      lines.push(
        `| ${e.connections} | ${n(e.load.requests)} | ${n(e.load.requestsPerSecond)} | ${n(e.eventsPerSecond)} | ${e.load.latencyMs.p50}/${e.load.latencyMs.p99} | ${e.load.serverCpuUsPerRequest !== undefined ? Math.round(e.load.serverCpuUsPerRequest / 50) : '?'} | ${n(e.accepted)} | ${n(e.duplicate)} | ${n(e.rejected)} | ${e.load.status5xx} |`,
      );
    }
    lines.push('');
    lines.push('"ratio" is /v1/slots requests/s over the baseline\'s in the same run; "CPU ratio" is baseline server CPU per request over ours, which depends less on what else runs on the machine. Both servers run under tsx, one process each.');
    lines.push('');
    lines.push(`Audit of the server's database afterwards: ${n(h.audit.reservations)} reservations of ${n(h.audit.users)} users; cap violations ${h.counters.capViolations}, blocked served ${h.counters.blockedServed}, overspend ${h.counters.budgetOverspend}; 5xx responses ${h.counters.serverErrors}.`);
    if (plots.http) lines.push('', `![HTTP throughput](${plots.http})`);
    lines.push('');
  }
  lines.push('## Correctness counters (all must be 0)');
  lines.push('');
  lines.push('| cap violations | blocked advertisers served | budget overspend | 5xx responses |');
  lines.push('|---:|---:|---:|---:|');
  lines.push(`| ${r.counters.capViolations} | ${r.counters.blockedServed} | ${r.counters.budgetOverspend} | ${r.counters.serverErrors} |`);
  lines.push('');
  return lines.join('\n');
}

async function main() {
  const rewrite = process.argv.find((a) => a.startsWith('--report='))?.slice(9);
  if (rewrite) {
    // Re-render the markdown of a saved run (e.g. after changing how targets are judged).
    const saved = JSON.parse(readFileSync(rewrite, 'utf8')) as BenchReport;
    saved.targets = targets(saved);
    const stamp = basename(rewrite, '.json');
    const plots = Object.fromEntries(['engine', 'candidates', 'http'].map((k) => [k, `${stamp}-${k}.svg`]).filter(([, f]) => existsSync(join(dirname(rewrite), f))));
    writeFileSync(rewrite, JSON.stringify(saved, null, 2) + '\n');
    writeFileSync(join(dirname(rewrite), `${stamp}.md`), markdown(saved, plots));
    process.stdout.write(markdown(saved, plots) + '\n');
    return;
  }
  const { full, only, seed, profileDir } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const report: BenchReport = {
    mode: full ? 'full' : 'quick',
    startedAt: new Date(started).toISOString(),
    seconds: 0,
    machine: machine(),
    engine: [],
    serve: [],
    memory: [],
    counters: zeroCounters(),
    targets: [],
  };
  progress(`${report.mode} run on ${report.machine.cores} × ${report.machine.cpuModel}, Node ${report.machine.node}, load ${report.machine.loadAverageAtStart}`);

  if (only.has('engine')) {
    const decisions = full ? 200_000 : 20_000;
    for (const campaigns of [1_000, 10_000, 100_000]) {
      for (const users of [10_000, 1_000_000]) {
        progress(`engine: ${campaigns} campaigns × ${users} users, ${decisions} decisions`);
        const e = await runEngineScenario({ campaigns, users, decisions, warmup: full ? 20_000 : 2_000, seed });
        report.engine.push(e);
        report.counters = addCounters(report.counters, e.counters);
        progress(`  → ${e.decisionsPerSecond} decisions/s, p50 ${e.latency.p50Us} µs, p99 ${e.latency.p99Us} µs, p99.9 ${e.latency.p999Us} µs`);
      }
    }
    report.userStateBytes = memoryPerUserState();
    progress(`engine: ${report.userStateBytes.bytesPerUser} bytes per cached user state`);
  }
  if (only.has('serve')) {
    const scenarios = full
      ? [
          { campaigns: 10_000, users: 1_000_000, requests: 50_000, warmup: 2_000, userCacheSize: 100_000, concurrency: 16, seed },
          { campaigns: 100_000, users: 1_000_000, requests: 50_000, warmup: 2_000, userCacheSize: 100_000, concurrency: 16, seed },
        ]
      : [{ campaigns: 10_000, users: 1_000_000, requests: 5_000, warmup: 500, userCacheSize: 100_000, concurrency: 16, seed }];
    for (const s of scenarios) {
      progress(`serve path: ${s.campaigns} campaigns × ${s.users} users, ${s.requests} requests`);
      const r = await runServeScenario(s);
      report.serve.push(r);
      report.counters = addCounters(report.counters, r.counters);
      progress(`  → ${r.slots.perSecond} slots req/s (p99 ${r.slots.latency.p99Us} µs), ${r.events.perSecond} events/s`);
    }
  }
  if (only.has('memory')) {
    progress('memory: user cache bound');
    report.memory = full ? await runMemoryBound([10_000, 50_000], [100_000, 200_000]) : await runMemoryBound([5_000], [20_000, 60_000]);
  }
  if (only.has('http')) {
    progress('http: real server vs plain Hono baseline');
    // --profile=DIR: the server writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
    report.http = await runHttpBenchmark(
      Object.assign(
        { profileDir },
        full
        ? { campaigns: 1_000, users: 1_000_000, connections: [1, 10, 50, 100], durationSeconds: 10, eventConnections: [4, 16], seed }
        : { campaigns: 150, users: 1_000_000, connections: [10, 50], durationSeconds: 5, eventConnections: [4, 16], seed },
      ),
    );
    report.counters = addCounters(report.counters, report.http.counters);
  }

  report.seconds = (Date.now() - started) / 1000;
  report.machine.loadAverageAtEnd = Math.round(loadavg()[0] * 100) / 100;
  report.targets = targets(report);

  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const stamp = `${report.startedAt.replace(/[:.]/g, '-').slice(0, 19)}-${report.mode}`;
  const plots: Record<string, string> = {};
  if (report.engine.length > 0) {
    const users = [...new Set(report.engine.map((e) => e.scenario.users))];
    const series = users.flatMap((u) => {
      const rows = report.engine.filter((e) => e.scenario.users === u);
      return [
        { name: `p50, ${u / 1000}k users`, points: rows.map((e) => [e.scenario.campaigns, e.latency.p50Us] as [number, number]) },
        { name: `p99, ${u / 1000}k users`, points: rows.map((e) => [e.scenario.campaigns, e.latency.p99Us] as [number, number]), dashed: true },
      ];
    });
    plots.engine = `${stamp}-engine.svg`;
    writeFileSync(join(dir, plots.engine), lineChart({ title: 'Engine latency per decision vs active campaigns', xLabel: 'active campaigns (log)', yLabel: 'µs', logX: true, series }));
    plots.candidates = `${stamp}-candidates.svg`;
    writeFileSync(
      join(dir, plots.candidates),
      lineChart({
        title: 'Campaigns a decision examines vs what matches',
        xLabel: 'active campaigns (log)',
        yLabel: 'campaigns per decision',
        logX: true,
        series: users.map((u) => ({
          name: `examined, ${u / 1000}k users`,
          points: report.engine.filter((e) => e.scenario.users === u).map((e) => [e.scenario.campaigns, e.candidatesExamined] as [number, number]),
        })),
      }),
    );
  }
  if (report.http) {
    plots.http = `${stamp}-http.svg`;
    writeFileSync(
      join(dir, plots.http),
      barChart({
        title: 'HTTP requests/s: plain Hono vs /v1/slots',
        xLabel: 'connections',
        yLabel: 'requests/s',
        groups: report.http.rows.map((r) => String(r.connections)),
        series: [
          { name: 'Hono baseline', values: report.http.rows.map((r) => r.baseline.requestsPerSecond) },
          { name: '/v1/slots', values: report.http.rows.map((r) => r.slots.requestsPerSecond) },
        ],
      }),
    );
  }
  const md = markdown(report, plots);
  writeFileSync(join(dir, `${stamp}.json`), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(dir, `${stamp}.md`), md);
  process.stdout.write(md + '\n');
  progress(`wrote bench/results/${stamp}.{json,md} and ${Object.keys(plots).length} SVG plots`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
