/**
 * Forecast CPU: how long one `POST /v1/forecast` takes in process (the work that runs on Node's engine thread) at a
 * catalog size, over a week of recorded traffic of the bench workload's contexts: the process's CPU time per
 * forecast (wall time on a loaded machine says little). The first forecast after an index build is reported apart
 * (it computes the rival bids of the cells it meets). `npx tsx bench/forecast-time.ts [--campaigns=10000]
 * [--drafts=20] [--rounds=5] [--requests=20000] [--tree=/path/to/another/tree]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { numberOf } from './stats.js';

const DAY_MS = 86_400_000;
const DAY1 = Date.UTC(2026, 10, 17);
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const tree = resolve(arg('tree') ?? '.');
const campaigns = numberOf('campaigns', arg('campaigns') ?? '10000');
const draftCount = numberOf('drafts', arg('drafts') ?? '20');
const requestsPerDay = numberOf('requests', arg('requests') ?? '20000');
const rounds = numberOf('rounds', arg('rounds') ?? '5');

const load = (path: string) => import(pathToFileURL(join(tree, path)).href);
const { readSettings } = await load('src/config.ts');
const { FsMediaStorage } = await load('src/media/fs.ts');
const { createSqliteStore } = await load('src/store/sqlite/index.ts');
const { createService } = await load('src/wiring.ts');
const { seedDatabase } = await load('bench/serve.ts');
const { generateCatalog, sessions, Zipf, rng } = await load('bench/workload.ts');

const dir = mkdtempSync(join(tmpdir(), 'status-ads-forecast-time-'));
try {
  const path = join(dir, 'ads.db');
  seedDatabase(path, generateCatalog(1, campaigns), DAY1);
  let now = DAY1;
  const store = createSqliteStore({ path, userCacheSize: 1000 });
  const service = await createService({
    settings: readSettings({ RATE_LIMIT_ADVERTISER: '0', TRAFFIC_FLUSH_MS: '0' }),
    store,
    media: new FsMediaStorage(join(dir, 'media')),
    adminKey: 'bench-admin-key',
    secret: 'bench-secret',
    clock: () => now,
  });
  // A week of traffic: the workload's contexts and users, three positions a request, most of them served.
  const users = 50_000;
  const zipf = new Zipf(users);
  const r = rng(7);
  for (let day = 0; day < 7; day++) {
    now = DAY1 + day * DAY_MS + 60_000;
    for (const s of sessions(1, users, requestsPerDay, zipf, day + 1)) {
      service.traffic.request(now, s.context, s.user, 3, r() < 0.8 ? 3 : 1);
    }
    await service.traffic.flush();
  }
  now = DAY1 + 7 * DAY_MS + 60_000;
  const drafts = generateCatalog(99, draftCount).campaigns.slice(0, draftCount);
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const d of drafts) {
      const cpu = process.cpuUsage();
      await service.forecasts.forecast(
        { bid: d.bid, budget: d.budget, pacing: d.pacing, targeting: d.targeting, caps: d.caps },
        `draft_${d.id}`,
      );
      const used = process.cpuUsage(cpu);
      times.push((used.user + used.system) / 1000);
    }
  }
  const rest = times.slice(1).sort((a, b) => a - b);
  const ms = (x: number) => x.toFixed(2);
  const mean = rest.reduce((a, b) => a + b, 0) / rest.length;
  console.log(
    `${tree}: ${campaigns} campaigns, ${service.index.size} in the index, CPU per forecast: the first ${ms(times[0])} ms; the next ${rest.length}: median ${ms(rest[Math.floor(rest.length / 2)])} ms, mean ${ms(mean)} ms, max ${ms(rest.at(-1) ?? 0)} ms`,
  );
  store.close?.();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
