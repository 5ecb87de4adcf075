/**
 * Two trees' Workers in workerd, loaded at once: each tree's bench Worker (its own
 * bench/workers/entry.ts and src/, bundled as `npm run start:worker` does) in its own workerd, seeded
 * alike, then wrk on POST /v1/slots against both at the same time (200,000 users, Zipf), then event
 * batches of 100 posted to both at the same time. Each workerd's CPU per slot request and per event
 * batch, and the statements its objects ran, side by side: a busy machine slows both alike.
 * Writes bench/results/workers-ab-<label>.md.
 *
 * Usage: npx tsx bench/workers/ab.ts --before=/path/to/other/tree [--campaigns 200] [--users 200000]
 *        [--duration 20] [--rounds 2] [--connections 16] [--event-slots 2000] [--label name] [--set NAME=value ...]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { installCleanup, removeTempDir, tempDir } from '../cleanup.js';
import { eventsForSlot, generateCatalog, rng, sessions, slotsBody, Zipf } from '../workload.js';
import { cpuSeconds, pool, post, retried, round, seed, settingsOf, workerdPids, wrk } from './run.js';

type RunModule = typeof import('./run.js');

interface Side {
  name: string;
  base: string;
  pids: number[];
  headers: Record<string, string>;
  dir: string;
  dispose: () => Promise<void>;
}

const counters = async (s: Side) =>
  (await (await retried(`${s.base}/__bench/counters`, {})).json()) as {
    doSql?: Record<string, number>;
    doRowsWritten?: Record<string, number>;
    doCalls: Record<string, number>;
  };
const reset = async (s: Side) =>
  void (await (await retried(`${s.base}/__bench/counters/reset`, { method: 'POST' })).arrayBuffer());
const perEach = (m: Record<string, number> | undefined, n: number) =>
  Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, round(v / Math.max(1, n))]));

async function start(name: string, tree: string, vars: Record<string, string>, campaigns: number): Promise<Side> {
  const run = (await import(pathToFileURL(join(tree, 'bench/workers/run.ts')).href)) as RunModule;
  const dir = tempDir(`workers-ab-${name}`);
  const before = new Set(workerdPids());
  const { mf, base } = await run.startBenchWorker(dir, vars);
  const pids = workerdPids().filter((p) => !before.has(p));
  const headers = { Authorization: `Bearer ${await seed(base, generateCatalog(7, campaigns).campaigns)}` };
  await (await retried(`${base}/__bench/warm-user-shards`, { method: 'POST' })).arrayBuffer();
  await (await retried(`${base}/__bench/warm-campaign-objects`, { method: 'POST' })).arrayBuffer();
  console.log(`[ab] ${name}: ${tree}, workerd ${pids.join(',')} on ${base}`);
  return {
    name,
    base,
    pids,
    headers,
    dir,
    dispose: async () => {
      await mf.dispose().catch(() => undefined);
      removeTempDir(dir);
    },
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      before: { type: 'string' },
      campaigns: { type: 'string' },
      users: { type: 'string' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      'event-slots': { type: 'string' },
      label: { type: 'string' },
      set: { type: 'string', multiple: true },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help || !values.before) {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
    return;
  }
  installCleanup();
  const vars = settingsOf(values.set);
  const campaigns = Number(values.campaigns ?? 200);
  const users = Number(values.users ?? 200_000);
  const seconds = Number(values.duration ?? 20);
  const rounds = Number(values.rounds ?? 2);
  const connections = Number(values.connections ?? 16);
  const eventSlots = Number(values['event-slots'] ?? 2_000);
  const here = resolve(fileURLToPath(new URL('../..', import.meta.url)));
  const sides: Side[] = [];
  try {
    sides.push(await start('before', resolve(values.before), vars, campaigns));
    sides.push(await start('after', here, vars, campaigns));
    const lines: string[] = [];
    for (const s of sessions(7, users, 200_000, new Zipf(users))) lines.push(slotsBody(s));
    const bodies = join(sides[0].dir, 'bodies.txt');
    writeFileSync(bodies, `${lines.join('\n')}\n`);
    const out: string[] = [
      `# Workers A/B, loaded at once: ${new Date().toISOString()}`,
      '',
      `before ${resolve(values.before)}, after ${here}; ${campaigns} campaigns, ${users.toLocaleString('en-US')} users (Zipf), wrk -c${connections} ${seconds} s on each at once; load average ${loadavg()[0].toFixed(2)} at start.`,
      '',
      '| round | side | slot req/s | workerd CPU µs / slot request | statements per slot request (objects) | rows written per slot request (objects) | DO calls per slot request |',
      '|---|---|---:|---:|---|---|---:|',
    ];
    const ratios: number[] = [];
    for (let r = 1; r <= rounds; r++) {
      await Promise.all(sides.map(reset));
      const cpu0 = sides.map((s) => cpuSeconds(s.pids));
      const loads = await Promise.all(
        sides.map((s) => wrk(`${s.base}/v1/slots`, bodies, s.headers, connections, seconds, s.dir)),
      );
      const cpu = sides.map((s, i) => cpuSeconds(s.pids) - cpu0[i]);
      const us: number[] = [];
      for (const [i, s] of sides.entries()) {
        const c = await counters(s);
        const n = loads[i].requests;
        const calls = Object.values(c.doCalls).reduce((a, b) => a + b, 0);
        us.push((cpu[i] * 1e6) / Math.max(1, n));
        out.push(
          `| ${r} | ${s.name} | ${loads[i].requestsPerSecond} | ${Math.round(us[i]).toLocaleString('en-US')} | ${JSON.stringify(perEach(c.doSql, n))} | ${JSON.stringify(perEach(c.doRowsWritten, n))} | ${round(calls / Math.max(1, n))} |`,
        );
      }
      ratios.push(us[1] / us[0]);
      console.log(out.slice(-2).join('\n'));
    }
    // Events: each side's own tokens, the same mix, batches of 100 posted to both at once.
    const tokens = await Promise.all(
      sides.map(async (s) => {
        const random = rng(0xe7e7);
        const pending: { token: string; type: string }[] = [];
        await pool(lines.slice(0, eventSlots), 16, async (body) => {
          const res = await post(`${s.base}/v1/slots`, s.headers, body);
          if (!res.ok) return void (await res.arrayBuffer());
          for (const slot of ((await res.json()) as { slots: { token: string }[] }).slots)
            for (const type of eventsForSlot(random)) pending.push({ token: slot.token, type });
        });
        const batches: string[] = [];
        for (let i = 0; i + 100 <= pending.length; i += 100) batches.push(JSON.stringify({ events: pending.slice(i, i + 100) }));
        return batches;
      }),
    );
    const n = Math.min(...tokens.map((b) => b.length));
    await Promise.all(sides.map(reset));
    const cpu0 = sides.map((s) => cpuSeconds(s.pids));
    const accepted = await Promise.all(
      sides.map(async (s, i) => {
        let ok = 0;
        await pool(tokens[i].slice(0, n), 8, async (body) => {
          const res = await post(`${s.base}/v1/events`, s.headers, body, 120_000);
          if (!res.ok) return void (await res.arrayBuffer());
          for (const x of ((await res.json()) as { results: { status: string }[] }).results) if (x.status === 'accepted') ok++;
        });
        return ok;
      }),
    );
    const cpu = sides.map((s, i) => cpuSeconds(s.pids) - cpu0[i]);
    out.push(
      '',
      `Events: ${n} batches of 100 on each side at once (8 in flight each).`,
      '',
      '| side | accepted | workerd CPU µs per batch | statements per batch (objects) | rows written per batch (objects) | DO calls per batch |',
      '|---|---:|---:|---|---|---:|',
    );
    const batchUs: number[] = [];
    for (const [i, s] of sides.entries()) {
      const c = await counters(s);
      const calls = Object.values(c.doCalls).reduce((a, b) => a + b, 0);
      batchUs.push((cpu[i] * 1e6) / Math.max(1, n));
      out.push(
        `| ${s.name} | ${accepted[i]} | ${Math.round(batchUs[i]).toLocaleString('en-US')} | ${JSON.stringify(perEach(c.doSql, n))} | ${JSON.stringify(perEach(c.doRowsWritten, n))} | ${round(calls / Math.max(1, n))} |`,
      );
    }
    out.push(
      '',
      `After ÷ before, CPU per slot request by round: ${ratios.map((x) => x.toFixed(3)).join(', ')}; per event batch: ${(batchUs[1] / batchUs[0]).toFixed(3)}. Load average ${loadavg()[0].toFixed(2)} at the end.`,
    );
    const results = fileURLToPath(new URL('../results/', import.meta.url));
    mkdirSync(results, { recursive: true });
    writeFileSync(join(results, `workers-ab-${values.label ?? 'run'}.md`), `${out.join('\n')}\n`);
    console.log(out.join('\n'));
  } finally {
    for (const s of sides) await s.dispose();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
