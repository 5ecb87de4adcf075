/**
 * `npm run bench` (quick) and `npm run bench -- --full`: engine, serve path,
 * memory and HTTP benchmarks with correctness counters; prints a markdown
 * summary and writes JSON, a markdown report and SVG plots under bench/results/.
 * `npm run bench -- --help` lists the options (parsed strictly with node:util
 * parseArgs: an unknown flag is an error).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { installCleanup } from './cleanup.js';
import { type EngineResult, memoryPerUserState, runEngineScenario } from './engine.js';
import { type HttpResult, runHttpBenchmark } from './http.js';
import { type MemoryPoint, runMemoryBound } from './memory.js';
import { runServeScenario, type ServeResult } from './serve.js';
import { addCounters, type Counters, type Machine, machine, progress, zeroCounters } from './stats.js';
import { barChart, lineChart } from './svg.js';
import { runWorkersBench, type WorkersResult, workersMarkdown } from './workers/run.js';

const TARGETS = {
  engineP99Us: 250,
  engineDecisionsPerSecond: 20_000,
  httpRatio: 0.7,
  httpP99Ms: 10,
  eventsPerSecond: 50_000,
  workersCriticalPath: 2,
  /** Issue #16: what `npm run start:worker` served with 200,000 users before (req/s). */
  workersManyUsersBefore: 70,
};

/** The Workers part's workload: what issue #16 measured (bench/workers/run.ts takes other sizes). */
const WORKERS = { campaigns: 200, users: 200_000, warmUsers: 500, eventSlots: 3_000 };

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
  workers?: WorkersResult;
  counters: Counters;
  targets: { name: string; target: string; measured: string; met: boolean | null }[];
}

const PARTS = ['engine', 'serve', 'memory', 'http', 'workers'] as const;
/** Workers runs only when asked for (it takes a few minutes more). */
const DEFAULT_PARTS = PARTS.filter((p) => p !== 'workers');

const HELP = `Usage: npm run bench [-- options]

Engine, serve-path, memory and HTTP benchmarks with correctness counters.
Prints a markdown report on stdout (progress on stderr) and writes JSON, the
report and SVG plots under bench/results/. Temporary folders and the servers it
starts are removed and stopped when it ends or is interrupted.

Options:
  --full                 longer run (~6 min): more decisions, requests, rounds
  --only=LIST            comma-separated subset of: ${PARTS.join(', ')}
                         [${DEFAULT_PARTS.join(',')}]; workers is the Workers path in
                         workerd as \`npm run start:worker\` serves it, beside a plain
                         Hono endpoint in the same isolate: ${WORKERS.campaigns} campaigns,
                         ${WORKERS.users.toLocaleString('en-US')} users and ${WORKERS.warmUsers} warm ones; DO calls,
                         D1 statements, workerd CPU per request and event batch,
                         DO round trips on the critical path (other sizes:
                         npx tsx bench/workers/run.ts --help)
  --seed=N               another deterministic workload [42]
  --campaigns=N          HTTP: campaigns seeded through the API [1000]
  --users=N              HTTP: user population, Zipf activity [1000000]
  --user-cache=N         HTTP: the server's USER_CACHE_SIZE [20000]
  --connections=N        HTTP, workers: wrk connections [32]
  --duration=S           HTTP, workers: seconds per wrk run [quick 8, full 15]
  --rounds=N             HTTP: baseline/slots round pairs [quick 2, full 3]
  --no-breakdown         HTTP: skip the profiled pass (CPU breakdown)
  --profile=DIR          HTTP: also keep the profiled server's .cpuprofile in DIR
  --report=FILE.json     only re-render the markdown of a saved run
  -h, --help             this text
`;

function int(value: string | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return v;
}

class UsageError extends Error {}

export function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      full: { type: 'boolean' },
      only: { type: 'string' },
      seed: { type: 'string' },
      campaigns: { type: 'string' },
      users: { type: 'string' },
      'user-cache': { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      'no-breakdown': { type: 'boolean' },
      profile: { type: 'string' },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const only = values.only?.split(',').map((x) => x.trim()) ?? [...DEFAULT_PARTS];
  const unknown = only.filter((x) => !(PARTS as readonly string[]).includes(x));
  if (unknown.length > 0) throw new UsageError(`--only: unknown part(s) ${unknown.join(', ')}; choose from ${PARTS.join(', ')}`);
  const full = values.full === true;
  return {
    help: values.help === true,
    report: values.report,
    full,
    only: new Set(only),
    seed: int(values.seed, 'seed', 42, 0),
    http: {
      campaigns: int(values.campaigns, 'campaigns', 1_000),
      users: int(values.users, 'users', 1_000_000),
      userCacheSize: int(values['user-cache'], 'user-cache', 20_000),
      connections: int(values.connections, 'connections', 32),
      durationSeconds: int(values.duration, 'duration', full ? 15 : 8),
      rounds: int(values.rounds, 'rounds', full ? 3 : 2),
      breakdown: values['no-breakdown'] !== true,
      profileDir: values.profile,
    },
  };
}

const n = (v: number) => v.toLocaleString('en-US');
const pct = (v: number | undefined) => (v === undefined ? '?' : `${Math.round(v * 100)}%`);
/** The slot server's CPU per request by thread: main (HTTP), the busiest other (the engine thread), the rest. */
const threadsOf = (t: { main: number; busiestOther: number; rest: number } | undefined) =>
  t === undefined ? '' : `; threads: main ${t.main}, next ${t.busiestOther}, rest ${t.rest}`;

function targets(r: BenchReport): BenchReport['targets'] {
  const out: BenchReport['targets'] = [];
  const big = r.engine.find((e) => e.scenario.campaigns === 100_000 && e.scenario.users === 1_000_000) ?? r.engine.at(-1);
  if (big) {
    const label = `${n(big.scenario.campaigns)} campaigns, ${n(big.scenario.users)} users`;
    out.push({
      name: `engine p99 (${label})`,
      target: `≤ ${TARGETS.engineP99Us} µs`,
      measured: `${big.latency.p99Us} µs`,
      met: big.latency.p99Us <= TARGETS.engineP99Us,
    });
    out.push({
      name: `engine decisions/s, one core (${label})`,
      target: `≥ ${n(TARGETS.engineDecisionsPerSecond)}`,
      measured: n(big.decisionsPerSecond),
      met: big.decisionsPerSecond >= TARGETS.engineDecisionsPerSecond,
    });
    const small = r.engine.find(
      (e) =>
        e.scenario.campaigns === Math.min(...r.engine.map((x) => x.scenario.campaigns)) &&
        e.scenario.users === big.scenario.users,
    );
    const fewUsers = r.engine.find(
      (e) =>
        e.scenario.campaigns === big.scenario.campaigns &&
        e.scenario.users === Math.min(...r.engine.map((x) => x.scenario.users)),
    );
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
    const h = r.http;
    const at = `${h.connections} connections, ${n(h.seededCampaigns)} campaigns, ${n(h.users)} users`;
    out.push({
      name: `HTTP /v1/slots vs Hono baseline (${at}; median of ${h.rows.length} rounds)`,
      target: `≥ ${TARGETS.httpRatio * 100}%`,
      measured: `${(h.ratio * 100).toFixed(1)}% (rounds: ${h.rows.map((x) => `${(x.ratio * 100).toFixed(1)}%`).join(', ')})`,
      met: h.ratio >= TARGETS.httpRatio,
    });
    out.push({
      name: `HTTP /v1/slots p99 (${h.connections} connections)`,
      target: `≤ ${TARGETS.httpP99Ms} ms`,
      measured: `${h.slotsP99Ms} ms`,
      met: h.slotsP99Ms <= TARGETS.httpP99Ms,
    });
    const best = Math.max(0, ...h.events.map((e) => e.eventsPerSecond));
    out.push({
      name: `HTTP /v1/events, batches of ${h.eventBatch}, durably acknowledged`,
      target: `≥ ${n(TARGETS.eventsPerSecond)} events/s`,
      measured: `${n(best)} events/s`,
      met: best >= TARGETS.eventsPerSecond,
    });
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
      measured: [...bySize.entries()]
        .map(
          ([size, ps]) => `cache ${n(size)}: ${ps.map((p) => `${n(p.distinctUsers)} users → +${p.heapGrowthMB} MB`).join(', ')}`,
        )
        .join('; '),
      met: flat,
    });
  }
  if (r.workers) {
    const w = r.workers;
    const depths = [w.criticalPath.slotsNewUsers, w.criticalPath.slotsWarmUsers].flatMap((p) => Object.keys(p.depth).map(Number));
    out.push({
      name: "Workers: Durable Object round trips on a slot request's critical path (requests one at a time)",
      target: `≤ ${TARGETS.workersCriticalPath}`,
      measured: `at most ${Math.max(...depths)}; new users ${JSON.stringify(w.criticalPath.slotsNewUsers.depth)}, warm ${JSON.stringify(w.criticalPath.slotsWarmUsers.depth)}`,
      met: Math.max(...depths) <= TARGETS.workersCriticalPath,
    });
    out.push({
      name: `Workers: /v1/slots with ${n(w.options.users)} users, ${w.options.connections} connections (plain Hono ${n(w.hono.requestsPerSecond)} req/s)`,
      target: `> ${TARGETS.workersManyUsersBefore} req/s (issue #16's before)`,
      measured: `${n(w.slotsManyUsers.requestsPerSecond)} req/s (${w.slotsManyUsers.ratio}× Hono), ${n(w.slotsManyUsers.cost.cpuUsPerRequest)} µs workerd CPU per request`,
      met: w.slotsManyUsers.requestsPerSecond > TARGETS.workersManyUsersBefore,
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
  for (const t of r.targets)
    lines.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.met === null ? '–' : t.met ? 'yes' : '**no**'} |`);
  lines.push('');
  if (r.engine.length > 0) {
    lines.push('## Engine (in-process `decide` over the catalog index, user states and budgets in memory)');
    lines.push('');
    lines.push(
      '| campaigns | users | decisions | decisions/s (1 core) | p50 µs | p99 µs | p99.9 µs | max µs | mean µs | slots/decision | candidates examined | matching targeting | in index bucket | distinct users | counters |',
    );
    lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const e of r.engine) {
      const c = e.counters;
      lines.push(
        `| ${n(e.scenario.campaigns)} | ${n(e.scenario.users)} | ${n(e.scenario.decisions)} | ${n(e.decisionsPerSecond)} | ${e.latency.p50Us} | ${e.latency.p99Us} | ${e.latency.p999Us} | ${e.latency.maxUs} | ${e.latency.meanUs} | ${e.slotsPerDecision} | ${e.candidatesExamined} | ${n(e.matchingCampaigns)} | ${n(e.bucketCampaigns)} | ${n(e.distinctUsers)} | ${c.capViolations}/${c.blockedServed}/${c.budgetOverspend} |`,
      );
    }
    lines.push('');
    lines.push(
      'Counters are cap violations / blocked advertisers served / budget overspend. "Candidates examined" is how many campaigns `decide` pulled from the index per decision; "matching targeting" is how many campaigns match the request\'s country, language and platform; "in index bucket" is what the index could hand out for the request\'s country.',
    );
    if (r.userStateBytes) {
      lines.push('');
      lines.push(
        `Memory per cached user state: **${n(r.userStateBytes.bytesPerUser)} bytes** with ${r.userStateBytes.historyEntries} history entries and a 64-hex key (heap growth over 20,000 states).`,
      );
    }
    if (plots.engine) lines.push('', `![engine latency vs campaigns](${plots.engine})`);
    if (plots.candidates) lines.push('', `![candidates examined](${plots.candidates})`);
    lines.push('');
  }
  if (r.serve.length > 0) {
    lines.push('## Serve path in-process (`Delivery.slots` / `Delivery.events` on the SQLite store, no HTTP)');
    lines.push('');
    lines.push(
      '| campaigns | users | user cache | in flight | requests | slots req/s | CPU µs/request | p50 µs | p99 µs | p99.9 µs | slots/request | events/s (batches of 50) | CPU µs/event | batch p50 µs | batch p99 µs | accepted | heap MB | cached users | counters |',
    );
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
    for (const p of r.memory)
      lines.push(`| ${n(p.userCacheSize)} | ${n(p.distinctUsers)} | ${n(p.cacheEntries)} | ${p.heapGrowthMB} |`);
    lines.push('');
  }
  if (r.http) {
    const h = r.http;
    lines.push(
      `## HTTP (real server over 127.0.0.1, ${n(h.seededCampaigns)} campaigns written into its database, seeded and started in ${h.seedSeconds.toFixed(1)} s)`,
    );
    lines.push('');
    lines.push(
      `wrk, ${h.threads} threads, ${h.connections} connections; users drawn from a population of ${n(h.users)} with Zipf activity, server \`USER_CACHE_SIZE=${n(h.userCacheSize)}\`. Rounds alternate baseline and /v1/slots.`,
    );
    lines.push('');
    lines.push(
      '| round | baseline req/s | baseline p50/p99 ms | /v1/slots req/s | /v1/slots p50/p90/p99/p99.9 ms | ratio | server CPU µs/req baseline / slots | CPU ratio | slots/response | non-2xx | 5xx | errors |',
    );
    lines.push('|---:|---:|---|---:|---|---:|---|---:|---:|---:|---:|---:|');
    for (const row of h.rows) {
      const s = row.slots.latencyMs;
      lines.push(
        `| ${row.round} | ${n(row.baseline.requestsPerSecond)} | ${row.baseline.latencyMs.p50}/${row.baseline.latencyMs.p99} | ${n(row.slots.requestsPerSecond)} | ${s.p50}/${s.p90}/${s.p99}/${s.p999} | ${(row.ratio * 100).toFixed(1)}% | ${row.baseline.serverCpuUsPerRequest ?? '?'} / ${row.slots.serverCpuUsPerRequest ?? '?'} (kernel ${pct(row.baseline.serverSystemShare)} / ${pct(row.slots.serverSystemShare)})${threadsOf(row.slots.serverThreadsUsPerRequest)} | ${row.cpuRatio !== undefined ? `${(row.cpuRatio * 100).toFixed(1)}%` : '?'} | ${row.slotsPerRequest} | ${row.slots.non2xx} | ${row.slots.status5xx} | ${row.slots.errors} |`,
      );
    }
    lines.push('');
    lines.push(
      `| /v1/events connections | batches of ${h.eventBatch} | req/s | events/s accepted | p50/p99 ms | server CPU µs/event | accepted | duplicate | rejected | 5xx |`,
    );
    lines.push('|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|');
    for (const e of h.events) {
      lines.push(
        `| ${e.connections} | ${n(e.load.requests)} | ${n(e.load.requestsPerSecond)} | ${n(e.eventsPerSecond)} | ${e.load.latencyMs.p50}/${e.load.latencyMs.p99} | ${e.cpuUsPerEvent ?? '?'} | ${n(e.accepted)} | ${n(e.duplicate)} | ${n(e.rejected)} | ${e.load.status5xx} |`,
      );
    }
    lines.push('');
    lines.push(
      '"ratio" is /v1/slots requests/s over the baseline\'s in the same round; "CPU ratio" is baseline server CPU per request over ours (from /proc), which depends less on what else runs on the machine. Both servers run as one `node --import tsx` process each. Events are acknowledged only after their transaction is durable.',
    );
    if (h.serverRssMB !== undefined) lines.push('', `Server resident memory after the load: ${h.serverRssMB} MB.`);
    if (h.breakdown) {
      const b = h.breakdown;
      lines.push('');
      lines.push("### Where the server's time goes (profiled pass, `node --cpu-prof`)");
      lines.push('');
      lines.push(
        `Main-thread time per unit, from the samples taken while the load ran; busy ${b.slots.busyUsPerUnit} µs per slot request (idle ${(b.slots.idleShare * 100).toFixed(0)}%), ${b.events.busyUsPerUnit} µs per event (idle ${(b.events.idleShare * 100).toFixed(0)}%). Process CPU in the same pass (/proc, profiler included): ${b.slotsCpuUsPerRequest ?? '?'} µs per slot request, ${b.eventsCpuUsPerEvent ?? '?'} µs per event. A synchronous fsync counts as thread time of the part that commits.`,
      );
      lines.push('');
      lines.push('| part | µs per slot request | share | | part | µs per event | share |');
      lines.push('|---|---:|---:|---|---|---:|---:|');
      const rowsN = Math.max(b.slots.parts.length, b.events.parts.length);
      for (let i = 0; i < rowsN; i++) {
        const a = b.slots.parts[i];
        const e = b.events.parts[i];
        lines.push(
          `| ${a?.part ?? ''} | ${a?.usPerUnit ?? ''} | ${a ? `${(a.share * 100).toFixed(1)}%` : ''} | | ${e?.part ?? ''} | ${e?.usPerUnit ?? ''} | ${e ? `${(e.share * 100).toFixed(1)}%` : ''} |`,
        );
      }
    }
    lines.push('');
    lines.push(
      `Audit of the server's database afterwards: ${n(h.audit.reservations)} reservations of ${n(h.audit.users)} users; cap violations ${h.counters.capViolations}, blocked served ${h.counters.blockedServed}, overspend ${h.counters.budgetOverspend}; 5xx responses ${h.counters.serverErrors}.`,
    );
    if (plots.http) lines.push('', `![HTTP throughput](${plots.http})`);
    lines.push('');
  }
  if (r.workers) {
    lines.push(workersMarkdown(r.workers).replace(/^# /, '## '));
  }
  lines.push('## Correctness counters (all must be 0)');
  lines.push('');
  lines.push('| cap violations | blocked advertisers served | budget overspend | 5xx responses |');
  lines.push('|---:|---:|---:|---:|');
  lines.push(
    `| ${r.counters.capViolations} | ${r.counters.blockedServed} | ${r.counters.budgetOverspend} | ${r.counters.serverErrors} |`,
  );
  lines.push('');
  return lines.join('\n');
}

async function main() {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    // parseArgs rejects unknown flags and missing values; ours reject bad numbers and parts.
    process.stderr.write(`bench: ${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(HELP);
    return;
  }
  installCleanup();
  const rewrite = options.report;
  if (rewrite) {
    // Re-render the markdown of a saved run (e.g. after changing how targets are judged).
    const saved = JSON.parse(readFileSync(rewrite, 'utf8')) as BenchReport;
    saved.targets = targets(saved);
    const stamp = basename(rewrite, '.json');
    const plots = Object.fromEntries(
      ['engine', 'candidates', 'http']
        .map((k) => [k, `${stamp}-${k}.svg`])
        .filter(([, f]) => existsSync(join(dirname(rewrite), f))),
    );
    writeFileSync(rewrite, `${JSON.stringify(saved, null, 2)}\n`);
    writeFileSync(join(dirname(rewrite), `${stamp}.md`), markdown(saved, plots));
    process.stdout.write(`${markdown(saved, plots)}\n`);
    return;
  }
  const { full, only, seed } = options;
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
  progress(
    `${report.mode} run on ${report.machine.cores} × ${report.machine.cpuModel}, Node ${report.machine.node}, load ${report.machine.loadAverageAtStart}`,
  );

  if (only.has('engine')) {
    const decisions = full ? 200_000 : 20_000;
    for (const campaigns of [1_000, 10_000, 100_000]) {
      for (const users of [10_000, 1_000_000]) {
        progress(`engine: ${campaigns} campaigns × ${users} users, ${decisions} decisions`);
        const e = await runEngineScenario({ campaigns, users, decisions, warmup: full ? 20_000 : 2_000, seed });
        report.engine.push(e);
        report.counters = addCounters(report.counters, e.counters);
        progress(
          `  → ${e.decisionsPerSecond} decisions/s, p50 ${e.latency.p50Us} µs, p99 ${e.latency.p99Us} µs, p99.9 ${e.latency.p999Us} µs`,
        );
      }
    }
    report.userStateBytes = memoryPerUserState();
    progress(`engine: ${report.userStateBytes.bytesPerUser} bytes per cached user state`);
  }
  if (only.has('serve')) {
    const scenarios = full
      ? [
          { campaigns: 10_000, users: 1_000_000, requests: 50_000, warmup: 2_000, userCacheSize: 100_000, concurrency: 16, seed },
          {
            campaigns: 100_000,
            users: 1_000_000,
            requests: 50_000,
            warmup: 2_000,
            userCacheSize: 100_000,
            concurrency: 16,
            seed,
          },
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
    report.memory = full
      ? await runMemoryBound([10_000, 50_000], [100_000, 200_000])
      : await runMemoryBound([5_000], [20_000, 60_000]);
  }
  if (only.has('http')) {
    progress('http: real server vs plain Hono baseline');
    report.http = await runHttpBenchmark({ ...options.http, threads: 2, eventBatch: 100, eventConnections: [8, 32], seed });
    report.counters = addCounters(report.counters, report.http.counters);
  }
  if (only.has('workers')) {
    progress('workers: the Worker in workerd vs plain Hono in the same isolate');
    report.workers = await runWorkersBench({
      ...WORKERS,
      durationSeconds: options.http.durationSeconds,
      connections: options.http.connections,
      seed,
      vars: {},
      label: 'bench',
    });
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
        {
          name: `p99, ${u / 1000}k users`,
          points: rows.map((e) => [e.scenario.campaigns, e.latency.p99Us] as [number, number]),
          dashed: true,
        },
      ];
    });
    plots.engine = `${stamp}-engine.svg`;
    writeFileSync(
      join(dir, plots.engine),
      lineChart({
        title: 'Engine latency per decision vs active campaigns',
        xLabel: 'active campaigns (log)',
        yLabel: 'µs',
        logX: true,
        series,
      }),
    );
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
          points: report.engine
            .filter((e) => e.scenario.users === u)
            .map((e) => [e.scenario.campaigns, e.candidatesExamined] as [number, number]),
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
        xLabel: `${report.http.connections} connections`,
        yLabel: 'requests/s',
        groups: report.http.rows.map((r) => `round ${r.round}`),
        series: [
          { name: 'Hono baseline', values: report.http.rows.map((r) => r.baseline.requestsPerSecond) },
          { name: '/v1/slots', values: report.http.rows.map((r) => r.slots.requestsPerSecond) },
        ],
      }),
    );
  }
  const md = markdown(report, plots);
  writeFileSync(join(dir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, `${stamp}.md`), md);
  process.stdout.write(`${md}\n`);
  progress(`wrote bench/results/${stamp}.{json,md} and ${Object.keys(plots).length} SVG plots`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
