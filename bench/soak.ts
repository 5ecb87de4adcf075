/**
 * Soak: bounded load against the real Node server while sampling its resident
 * memory, open file descriptors and active timers from outside (/proc, SIGUSR2).
 * `tsx bench/soak.ts [seconds]` runs it long; test/security/soak.test.ts runs 20 s.
 */
import { Agent, request } from 'node:http';
import { pathToFileURL } from 'node:url';
import { png } from '../test/helpers/media.js';
import { procStats, type RealServer, removeDir, seed, startServer, stopServer } from '../test/helpers/server.js';

export interface SoakSample {
  atMs: number;
  rssKb: number;
  fds: number;
}

export interface SoakResult {
  samples: SoakSample[];
  requests: number;
  errors: number;
  /** Active handles by kind, before the load and after it (connections closed, idle). */
  resourcesBefore: Record<string, number>;
  resourcesAfter: Record<string, number>;
  fdsBefore: number;
  fdsAfter: number;
}

function post(agent: Agent, port: number, path: string, key: string, body: unknown): Promise<{ status: number; json: any }> {
  const data = JSON.stringify(body);
  return new Promise((done, fail) => {
    const req = request(
      {
        agent,
        port,
        host: '127.0.0.1',
        method: 'POST',
        path,
        headers: {
          Authorization: `Bearer ${key}`,
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(data),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => done({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', fail);
    req.end(data);
  });
}

/** Asks the server (preloaded with test/helpers/preload-resources.cjs) for its active handles. */
async function resources(server: RealServer): Promise<Record<string, number>> {
  const before = server.logs().length;
  process.kill(server.pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    const line = /\[resources\] (\{.*\})/.exec(server.logs().slice(before));
    if (line) return JSON.parse(line[1]);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('server did not report its resources');
}

/** Runs `workers` clients for `durationMs`: slots for ever-new users (churning the user cache) and their events. */
export async function soak(
  server: RealServer,
  options: { durationMs: number; workers: number; sampleEveryMs?: number },
): Promise<SoakResult> {
  const world = await seed(server, new Uint8Array(png(90, 160, 9)));
  const settle = () => new Promise((r) => setTimeout(r, 300));
  await settle();
  const resourcesBefore = await resources(server);
  const fdsBefore = procStats(server.pid).fds;
  const agent = new Agent({ keepAlive: true, maxSockets: options.workers });
  const samples: SoakSample[] = [];
  const start = Date.now();
  let requests = 0;
  let errors = 0;
  const sampler = setInterval(() => {
    try {
      samples.push({ atMs: Date.now() - start, ...procStats(server.pid) });
    } catch {
      // the server is gone; the load loop will notice
    }
  }, options.sampleEveryMs ?? 250);

  async function worker(n: number) {
    for (let i = 0; Date.now() - start < options.durationMs; i++) {
      const user = `soak-${n}-${i}`;
      const slots = await post(agent, server.port, '/v1/slots', world.clientKey, { user, statuses: 12 });
      requests++;
      if (slots.status !== 200) {
        errors++;
        continue;
      }
      const events = slots.json.slots.map((s: { token: string }) => ({ token: s.token, type: i % 4 ? 'impression' : 'click' }));
      if (events.length) {
        const res = await post(agent, server.port, '/v1/events', world.clientKey, { events });
        requests++;
        if (res.status !== 200) errors++;
      }
      if (i % 50 === 0) {
        await post(agent, server.port, '/v1/users/erase', world.clientKey, { user: `soak-${n}-${i - 25}` });
        requests++;
      }
    }
  }
  await Promise.all(Array.from({ length: options.workers }, (_, n) => worker(n)));
  clearInterval(sampler);
  agent.destroy();
  await settle();
  return {
    samples,
    requests,
    errors,
    resourcesBefore,
    resourcesAfter: await resources(server),
    fdsBefore,
    fdsAfter: procStats(server.pid).fds,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const seconds = Number(process.argv[2] ?? 300);
  const server = await startServer({
    env: {
      USER_CACHE_SIZE: process.env.USER_CACHE_SIZE ?? '1000',
      NODE_OPTIONS: `--require ${new URL('../test/helpers/preload-resources.cjs', import.meta.url).pathname}`,
    },
  });
  try {
    const result = await soak(server, { durationMs: seconds * 1000, workers: 4, sampleEveryMs: 1000 });
    for (const s of result.samples)
      console.log(`${(s.atMs / 1000).toFixed(0)}s rss=${(s.rssKb / 1024).toFixed(1)}MB fds=${s.fds}`);
    console.log(
      JSON.stringify({
        requests: result.requests,
        errors: result.errors,
        fds: [result.fdsBefore, result.fdsAfter],
        resources: [result.resourcesBefore, result.resourcesAfter],
      }),
    );
  } finally {
    await stopServer(server);
    removeDir(server.dir);
  }
}
