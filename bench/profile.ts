/**
 * Where the server's thread time goes: reads a V8 CPU profile (`node --cpu-prof`)
 * and splits the samples taken inside a time window into named parts of the
 * request (HTTP adapter, validation, auth, pseudonym, user state, decide, budget,
 * reservation, tokens, response, ...). A sample belongs to the innermost frame
 * on its stack that a rule recognises (see RULES for the order), so a drizzle
 * call made by the user store counts as user state and a hash made by the auth
 * middleware counts as auth.
 * Samples are thread time: a synchronous fsync inside a commit shows as time in
 * the part that commits, although the CPU sits idle then.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Parts of a request. Each sample goes to the matching frame of the highest
 * tier, innermost first within a tier: the service's own code (tier 3–5) before
 * validation and response building (2) before the framework, the adapter and
 * libraries (1), so a drizzle call made by the user store counts as user state.
 */
const RULES: { part: string; tier: number; url: RegExp; fn?: RegExp }[] = [
  { part: 'event ledger (SQLite)', tier: 5, url: /src\/store\/(sqlite\/ledger\.ts|event-procedure\.ts)/ },
  { part: 'WAL sync', tier: 4, url: /src\/store\/sqlite\/wal-sync\.ts/, fn: /^(sync|round|finish)$/ },
  { part: 'reservation (insert + commit)', tier: 4, url: /src\/store\/sqlite\/group-commit\.ts/ },
  { part: 'tokens', tier: 3, url: /src\/privacy\/token\.ts/ },
  { part: 'pseudonym', tier: 3, url: /src\/privacy\/pseudonym\.ts/ },
  { part: 'auth (key lookup, throttle, rate limit)', tier: 3, url: /src\/api\/middleware\/(auth|auth-throttle|rate-limit)\.ts/ },
  { part: 'user state (cache, SQLite read)', tier: 3, url: /src\/store\/sqlite\/users\.ts/ },
  { part: 'user state (cache, SQLite read)', tier: 3, url: /src\/delivery\//, fn: /^loadUser$/ },
  { part: 'budget', tier: 3, url: /src\/store\/sqlite\/budgets\.ts/ },
  { part: 'event ledger (SQLite)', tier: 3, url: /src\/store\/sqlite\/ledger\.ts/ },
  { part: 'store (other)', tier: 3, url: /src\/store\// },
  { part: 'traffic recorder (forecasts)', tier: 3, url: /src\/forecast\/recorder\.ts/ },
  // The engine thread's side of the crossing: calls in, answers out (structured clone under postMessage).
  { part: 'engine thread crossing (messages)', tier: 3, url: /src\/runtime\/engine-(rpc|worker)\.ts/ },
  { part: 'decide (engine, index)', tier: 3, url: /src\/(engine|catalog)\// },
  { part: 'delivery (orchestration, ids)', tier: 3, url: /src\/delivery\// },
  {
    part: 'validation (zod)',
    tier: 2,
    url: /node_modules\/(zod|@hono\/zod-openapi|@hono\/zod-validator)\/|hono\/dist\/validator\//,
  },
  { part: 'response (JSON, headers)', tier: 2, url: /hono\/dist\/context\.js|src\/api\/views\.ts/ },
  {
    part: 'logging, metrics',
    tier: 2,
    url: /node_modules\/(pino|prom-client|thread-stream|sonic-boom)\/|src\/ops\/.*(log|metric|prometheus)/i,
  },
  // The request envelope (request id, security headers) is middleware; only its log line and observation are logging.
  { part: 'logging, metrics', tier: 2, url: /src\/api\/middleware\/request-log\.ts/, fn: /^recordRequest$/ },
  // The Node slot lane (runtime/node-slots.ts) does the routes' and middleware's work for POST /v1/slots.
  { part: 'routes, middleware (Hono)', tier: 1, url: /node_modules\/hono\/|src\/api\/|src\/runtime\/node-slots\.ts/ },
  {
    part: 'HTTP adapter (node:http, @hono/node-server)',
    tier: 1,
    url: /@hono\/node-server|node:_http|node:net|node:internal\/(streams|stream_base|http|deps\/undici|webstreams|abort|url)|node:stream|node:events/,
  },
  { part: 'SQLite (other)', tier: 1, url: /better-sqlite3|drizzle-orm/ },
];
const GC = 'garbage collector';
const OTHER = 'other (runtime, timers, microtasks)';

export interface ProfileWindow {
  name: string;
  /** Window on the monotonic clock, in µs (process.hrtime.bigint() / 1000 in any process on this machine). */
  fromUs: number;
  toUs: number;
  /** What one unit is (requests, events), to report µs per unit. */
  units: number;
}

export interface ProfileBreakdown {
  name: string;
  units: number;
  /** Main-thread time not idle, per unit. */
  busyUsPerUnit: number;
  /** Idle share of the window (0..1). */
  idleShare: number;
  parts: { part: string; usPerUnit: number; share: number }[];
}

export function summarizeProfile(path: string, windows: ProfileWindow[]): ProfileBreakdown[] {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const partOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = partOf.get(id);
    if (known) return known;
    const leaf = byId.get(id)!.callFrame;
    let part: string | undefined;
    let best: string | undefined;
    if (leaf.functionName === '(idle)') part = 'idle';
    else if (leaf.functionName === '(garbage collector)') part = GC;
    let tier = 0;
    for (let at: number | undefined = id; part === undefined && at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      const rule = RULES.find((r) => r.tier > tier && r.url.test(frame.url) && (!r.fn || r.fn.test(frame.functionName)));
      if (rule) [best, tier] = [rule.part, rule.tier];
    }
    part ??= best;
    partOf.set(id, part ?? OTHER);
    return part ?? OTHER;
  };
  const totals = windows.map(() => new Map<string, number>());
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    // A sample stands for the interval since the previous one.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    windows.forEach((w, k) => {
      if (t >= w.fromUs && t < w.toUs) {
        const part = classify(profile.samples[i]);
        totals[k].set(part, (totals[k].get(part) ?? 0) + dt);
      }
    });
  }
  return windows.map((w, k) => {
    const all = [...totals[k].values()].reduce((a, b) => a + b, 0);
    const idle = totals[k].get('idle') ?? 0;
    const busy = all - idle;
    const units = Math.max(1, w.units);
    const parts = [...totals[k].entries()]
      .filter(([part]) => part !== 'idle')
      .sort((a, b) => b[1] - a[1])
      .map(([part, us]) => ({
        part,
        usPerUnit: Math.round((us / units) * 10) / 10,
        share: Math.round((us / Math.max(1, busy)) * 1000) / 1000,
      }));
    return {
      name: w.name,
      units: w.units,
      busyUsPerUnit: Math.round((busy / units) * 10) / 10,
      idleShare: all > 0 ? Math.round((idle / all) * 1000) / 1000 : 0,
      parts,
    };
  });
}

/**
 * Self time by function (name, file and line) over the samples inside `windows`, per unit, the
 * largest first: what the parts above are made of.
 */
export function topFunctions(
  path: string,
  windows: { fromUs: number; toUs: number }[],
  units: number,
  count: number,
): { name: string; usPerUnit: number }[] {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (!windows.some((w) => t >= w.fromUs && t < w.toUs)) continue;
    const f = byId.get(profile.samples[i])!.callFrame;
    if (f.functionName === '(idle)') continue;
    const file = f.url.replace(/^.*\/(node_modules\/|src\/)/, '$1');
    const name = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + dt);
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, usPerUnit: us / Math.max(1, units) }));
}

/**
 * A server's per-thread profiles in `dir` (`--cpu-prof-dir`: CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile,
 * one per thread): the engine thread's (the one that ran engine-worker.ts) and main's, as paths, and all files' names.
 */
export function threadProfiles(dir: string): { engine?: string; main?: string; files: string[] } {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const engine = files.find((f) => readFileSync(join(dir, f), 'utf8').includes('engine-worker.ts'));
  const main = files.find((f) => f !== engine);
  return { engine: engine && join(dir, engine), main: main && join(dir, main), files };
}
