/**
 * Where workerd's time goes on the Workers slot path: the bench Worker (bench/workers/entry.ts,
 * the Worker as `npm run start:worker` bundles it) in workerd with its V8 inspector open, wrk on
 * POST /v1/slots with many distinct users, and a CPU profile of the isolate (the Worker and its
 * Durable Objects run in it) taken meanwhile. Samples are split by the source module they ran in
 * (esbuild marks each module in the unminified bundle) and by function, self time, per request.
 * Writes bench/results/workers-profile-<label>.md.
 *
 * With --events N, the event path instead: the tokens of N slot requests (16 in flight, not profiled) come back
 * as batches of 100 (8 in flight) while the profile is taken; figures are then per event batch.
 *
 * Usage: node --experimental-websocket --import tsx bench/workers/profile.ts [--campaigns 200]
 *        [--users 200000] [--duration 20] [--connections 32] [--events N] [--label name] [--set NAME=value ...]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../../test/helpers/server.js';
import { installCleanup, removeTempDir, tempDir } from '../cleanup.js';
import { eventsForSlot, generateCatalog, rng, sessions, slotsBody, Zipf } from '../workload.js';
import { cpuSeconds, pool, post, retried, round, seed, settingsOf, startBenchWorker, workerdPids, wrk } from './run.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A minimal Chrome DevTools Protocol client over the global WebSocket (node --experimental-websocket). */
async function connect(url: string) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', reject, { once: true });
  });
  let next = 0;
  const waiting = new Map<number, (result: any) => void>();
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data));
    if (message.id !== undefined) waiting.get(message.id)?.(message.result ?? message.error);
  });
  return {
    send: (method: string, params: unknown = {}) =>
      new Promise<any>((resolve) => {
        const id = ++next;
        waiting.set(id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Bundle line → the source module esbuild emitted there (`// src/...` comments in an unminified bundle). */
function moduleLines(bundle: string): { line: number; module: string }[] {
  const marks: { line: number; module: string }[] = [];
  bundle.split('\n').forEach((text, line) => {
    // A symlinked node_modules shows as a path outside the project (../../…/node_modules/…).
    const m = /^\/\/ (?:\S*?\/)?((?:src|schema|bench)\/\S+|node_modules\/\S+)$/.exec(text);
    if (m) marks.push({ line, module: m[1].replace(/^node_modules\/(@[^/]+\/[^/]+|[^/]+)\/.*/, 'node_modules/$1') });
  });
  return marks;
}

function moduleAt(marks: { line: number; module: string }[], line: number): string {
  let lo = 0;
  let hi = marks.length - 1;
  let found = '(bundle prelude)';
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (marks[mid].line <= line) {
      found = marks[mid].module;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function selfTimes(profile: CpuProfile, marks: { line: number; module: string }[]) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const moduleOf = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    return url.endsWith('worker.js')
      ? moduleAt(marks, lineNumber)
      : functionName.startsWith('(')
        ? functionName
        : url || '(native)';
  };
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  /** Time with the module anywhere on the stack: what it costs with the libraries it calls. */
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    const module = moduleOf(node);
    if (module === '(idle)') return;
    total += us;
    byModule.set(module, (byModule.get(module) ?? 0) + us);
    const fn = `${node.callFrame.functionName || '(anonymous)'} — ${module}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: ProfileNode | undefined = node; at; at = byId.get(parent.get(at.id) ?? -1)) {
      const m = moduleOf(at);
      if (m.startsWith('src/') || m.startsWith('bench/')) seen.add(m);
    }
    for (const m of seen) inclusive.set(m, (inclusive.get(m) ?? 0) + us);
  });
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { total, modules: top(byModule, 25), functions: top(byFunction, 30), inclusive: top(inclusive, 25) };
}

async function main() {
  const { values } = parseArgs({
    options: {
      campaigns: { type: 'string' },
      users: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      events: { type: 'string' },
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
  if (typeof WebSocket === 'undefined') throw new Error('run with node --experimental-websocket (see --help)');
  installCleanup();
  const vars = settingsOf(values.set);
  const campaigns = Number(values.campaigns ?? 200);
  const users = Number(values.users ?? 200_000);
  const seconds = Number(values.duration ?? 20);
  const connections = Number(values.connections ?? 32);
  const label = values.label ?? 'run';
  const dir = tempDir('workers-profile');
  const inspectorPort = await freePort();
  const { mf, base } = await startBenchWorker(dir, vars, inspectorPort);
  try {
    const pids = workerdPids();
    console.log(`[profile] seeding ${campaigns} campaigns`);
    const headers = { Authorization: `Bearer ${await seed(base, generateCatalog(7, campaigns).campaigns)}` };
    await (await retried(`${base}/__bench/warm-user-shards`, { method: 'POST' })).arrayBuffer();
    await (await retried(`${base}/__bench/warm-campaign-objects`, { method: 'POST' })).arrayBuffer();
    const file = join(dir, 'bodies.txt');
    const lines: string[] = [];
    for (const s of sessions(7, users, 200_000, new Zipf(users))) lines.push(slotsBody(s));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const eventSlots = Number(values.events ?? 0);
    const batches: string[] = [];
    if (eventSlots > 0) {
      const random = rng(0xe7e7);
      const pending: { token: string; type: string }[] = [];
      await pool(lines.slice(0, eventSlots), 16, async (body) => {
        const res = await post(`${base}/v1/slots`, headers, body);
        if (!res.ok) return void (await res.arrayBuffer());
        for (const slot of ((await res.json()) as { slots: { token: string }[] }).slots)
          for (const type of eventsForSlot(random)) pending.push({ token: slot.token, type });
      });
      for (let i = 0; i + 100 <= pending.length; i += 100) batches.push(JSON.stringify({ events: pending.slice(i, i + 100) }));
    }
    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
      webSocketDebuggerUrl: string;
      title?: string;
    }[];
    const sessionsOpen = await Promise.all(targets.map((t) => connect(t.webSocketDebuggerUrl)));
    for (const s of sessionsOpen) {
      await s.send('Profiler.enable');
      await s.send('Profiler.setSamplingInterval', { interval: 250 });
      await s.send('Profiler.start');
    }
    console.log(
      eventSlots > 0
        ? `[profile] ${targets.length} inspector target(s); ${batches.length} event batches of 100, 8 in flight`
        : `[profile] ${targets.length} inspector target(s); wrk /v1/slots, ${users} users, ${connections} connections, ${seconds} s`,
    );
    const cpu0 = cpuSeconds(pids);
    const t0 = performance.now();
    const load =
      eventSlots > 0
        ? await pool(
            batches,
            8,
            async (body) => void (await (await post(`${base}/v1/events`, headers, body, 120_000)).arrayBuffer()),
          ).then(() => ({
            requests: batches.length,
            requestsPerSecond: Math.round(batches.length / ((performance.now() - t0) / 1000)),
            latencyMs: { p50: 0 },
          }))
        : await wrk(`${base}/v1/slots`, file, headers, connections, seconds, dir);
    const unit = eventSlots > 0 ? 'event batch of 100' : 'slot request';
    const cpu = cpuSeconds(pids) - cpu0;
    const profiles = await Promise.all(sessionsOpen.map(async (s) => (await s.send('Profiler.stop')).profile as CpuProfile));
    for (const s of sessionsOpen) s.close();
    const marks = moduleLines(readFileSync(join(dir, 'worker.js'), 'utf8'));
    const per = (us: number) => round(us / Math.max(1, load.requests), 0);
    const out: string[] = [
      `# Workers ${eventSlots > 0 ? 'event' : 'slot'} path profile: ${label}`,
      '',
      `${new Date().toISOString()}, \`node --experimental-websocket --import tsx bench/workers/profile.ts${eventSlots > 0 ? ` --events ${eventSlots}` : ''}\`: ${campaigns} campaigns, ${users.toLocaleString('en-US')} users (Zipf), ${eventSlots > 0 ? 'event batches of 100, 8 in flight' : `wrk -c${connections} ${seconds} s`}, vars ${JSON.stringify(vars)}. ${load.requests} × ${unit} (${load.requestsPerSecond}/s, p50 ${load.latencyMs.p50} ms); workerd process CPU ${round((cpu * 1e6) / Math.max(1, load.requests), 0).toLocaleString('en-US')} µs per ${unit}.`,
      '',
    ];
    profiles.forEach((profile, i) => {
      const t = selfTimes(profile, marks);
      out.push(
        `## Isolate ${i + 1} (${targets[i].title ?? '?'}): ${per(t.total).toLocaleString('en-US')} µs of JavaScript thread time per ${unit} (idle excluded)`,
        '',
      );
      out.push(`| module (self time) | µs per ${unit} | share |`, '|---|---:|---:|');
      for (const [m, us] of t.modules) out.push(`| ${m} | ${per(us)} | ${((us / t.total) * 100).toFixed(1)}% |`);
      out.push('', `| our module, with what it calls (inclusive) | µs per ${unit} | share |`, '|---|---:|---:|');
      for (const [m, us] of t.inclusive) out.push(`| ${m} | ${per(us)} | ${((us / t.total) * 100).toFixed(1)}% |`);
      out.push('', `| function — module (self time) | µs per ${unit} | share |`, '|---|---:|---:|');
      for (const [f, us] of t.functions) out.push(`| ${f} | ${per(us)} | ${((us / t.total) * 100).toFixed(1)}% |`);
      out.push('');
    });
    const md = out.join('\n');
    const results = fileURLToPath(new URL('../results/', import.meta.url));
    mkdirSync(results, { recursive: true });
    writeFileSync(join(results, `workers-profile-${label}.md`), md);
    console.log(md);
  } finally {
    await mf.dispose().catch(() => undefined);
    removeTempDir(dir);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
