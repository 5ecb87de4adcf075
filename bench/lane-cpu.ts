/**
 * The main thread's CPU per `POST /v1/slots` outside the engine, trees side by side: each tree's
 * `bench/lane-server.ts` (this tree's file, loading that tree's modules: the real node:http server,
 * slot lane, edge, log and metrics, with `delivery.slots` answering one recorded decision) and the
 * plain Hono baseline are started together and loaded together, each by its own wrk (`-t2`, the
 * workload's slot bodies); server CPU per request from /proc per window. Prints each window and the
 * medians, and each tree's median over the first tree's.
 *
 *   npx tsx bench/lane-cpu.ts --tree=/work/wt/lead --tree=. [--windows=4] [--seconds=5]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/helpers/server.js';
import { installCleanup, tempDir, track } from './cleanup.js';
import { cpuSeconds, stop, wrk } from './http.js';
import { median, progress } from './stats.js';
import { sessions, slotsBody, Zipf } from './workload.js';

const { values: o } = parseArgs({
  strict: true,
  options: {
    tree: { type: 'string', multiple: true, default: ['.'] },
    windows: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '8' },
    connections: { type: 'string', default: '16' },
    baseline: { type: 'boolean', default: true },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (o.help) {
  console.log(
    'Usage: npx tsx bench/lane-cpu.ts --tree=DIR [--tree=DIR ...] [--windows=N] [--seconds=S] [--warmup=S] [--connections=N]',
  );
  process.exit(0);
}
installCleanup();
const dir = tempDir('lane-cpu');
const bodies = join(dir, 'bodies.jsonl');
const lines: string[] = [];
for (const s of sessions(42, 1_000_000, 50_000, new Zipf(1_000_000))) lines.push(slotsBody(s));
writeFileSync(bodies, `${lines.join('\n')}\n`);
const here = resolve('.');

interface Server {
  name: string;
  child: ChildProcess;
  url: string;
  key: string;
}

async function startServer(name: string, script: string, env: Record<string, string>, path: string): Promise<Server> {
  const port = await freePort();
  const out = openSync(join(dir, `${name.replace(/\W/g, '_')}.log`), 'w');
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: here,
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', out, 'pipe'],
    }),
  );
  let err = '';
  const key = await new Promise<string>((ok, fail) => {
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /READY (\S*)/.exec(err);
      if (m) ok(m[1]);
    });
    if (name === 'baseline') {
      const poll = () =>
        fetch(`http://127.0.0.1:${port}/healthz`).then(
          () => ok('none'),
          () => setTimeout(poll, 100),
        );
      poll();
    }
    child.once('exit', () => fail(new Error(`${name} exited: ${err}`)));
  });
  return { name, child, url: `http://127.0.0.1:${port}${path}`, key };
}

const servers: Server[] = [];
for (const tree of o.tree) servers.push(await startServer(tree, 'bench/lane-server.ts', { TREE: resolve(tree) }, '/v1/slots'));
if (o.baseline) servers.push(await startServer('baseline', 'bench/baseline-server.ts', {}, '/json'));
const loadAll = (seconds: number, offset: number) =>
  Promise.all(
    servers.map((s) =>
      wrk(s.url, { threads: 2, connections: Number(o.connections), seconds, bodies, tokens: '-', offset, key: s.key }),
    ),
  );
try {
  progress(`lane-cpu: warm-up ${o.warmup} s`);
  await loadAll(Number(o.warmup), 0);
  const us = servers.map(() => [] as number[]);
  for (let w = 1; w <= Number(o.windows); w++) {
    const before = servers.map((s) => cpuSeconds(s.child.pid));
    const runs = await loadAll(Number(o.seconds), w * 7919);
    const after = servers.map((s) => cpuSeconds(s.child.pid));
    servers.forEach((s, k) => {
      const [b, a] = [before[k]!, after[k]!];
      if (runs[k].s2xx !== runs[k].requests) throw new Error(`${s.name}: ${runs[k].requests - runs[k].s2xx} non-2xx answers`);
      us[k].push(((a.user + a.system - b.user - b.system) * 1e6) / runs[k].requests);
    });
    progress(`lane-cpu: window ${w}: ${servers.map((s, k) => `${s.name} ${us[k].at(-1)!.toFixed(1)}`).join(', ')} µs CPU/req`);
  }
  for (const [k, s] of servers.entries())
    console.log(
      `${s.name}: median ${median(us[k]).toFixed(1)} µs CPU/req (windows ${us[k].map((x) => x.toFixed(0)).join(' ')}); ÷ first ${median(us[k].map((x, i) => x / us[0][i])).toFixed(3)}`,
    );
} finally {
  for (const s of servers) await stop(s.child);
}
