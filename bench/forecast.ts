/**
 * Forecast accuracy: replay one simulated day of the bench workload through the
 * real in-process service (SQLite, Delivery, events), forecast a set of new
 * campaign drafts at the start of the next day, add them, serve the next day
 * (other sessions of the same users) and compare each forecast with what the
 * drafts actually got. `npx tsx bench/forecast.ts [--seed=N] [--sessions=N]`;
 * writes bench/results/<time>-forecast.{json,md}. See docs/forecast.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSettings } from '../src/config.js';
import { matchesTargeting } from '../src/engine/eligibility.js';
import type { ForecastResult } from '../src/engine/forecast.js';
import type { EventType } from '../src/engine/types.js';
import { FsMediaStorage } from '../src/media/fs.js';
import { createSqliteStore } from '../src/store/sqlite/index.js';
import { createService } from '../src/wiring.js';
import { seedDatabase } from './serve.js';
import { machine, progress } from './stats.js';
import { type CampaignSpec, eventsForSlot, generateCatalog, rng, sessions, Zipf } from './workload.js';

const DAY_MS = 86_400_000;
/** Midnight UTC: day 1 is replayed from here, drafts are forecast at the start of day 2. */
const DAY1 = Date.UTC(2026, 10, 24);

export interface ForecastScenario {
  seed: number;
  campaigns: number;
  users: number;
  /** Slot requests per simulated day. */
  sessionsPerDay: number;
  drafts: number;
}

interface Actual {
  matchingRequests: number;
  reachableUsers: number;
  impressions: number;
  winRate: number;
  averagePriceMicros: number;
  spendMicros: number;
}

const METRICS = ['matchingRequests', 'reachableUsers', 'impressions', 'winRate', 'averagePriceMicros', 'spendMicros'] as const;

export interface ForecastAccuracy {
  scenario: ForecastScenario;
  drafts: {
    id: string;
    bid: CampaignSpec['bid'];
    targeting: CampaignSpec['targeting'];
    forecast: ForecastResult;
    actual: Actual;
  }[];
  /** Per metric: median and mean absolute percentage error, and how often the actual fell inside [low, high]. */
  summary: Record<(typeof METRICS)[number], { medianApe: number; meanApe: number; withinRange: number; drafts: number }>;
}

export async function runForecastAccuracy(scenario: ForecastScenario): Promise<ForecastAccuracy> {
  const dir = mkdtempSync(join(tmpdir(), 'status-ads-forecast-'));
  try {
    const path = join(dir, 'ads.db');
    seedDatabase(path, generateCatalog(scenario.seed, scenario.campaigns), DAY1);
    const settings = readSettings({ RATE_LIMIT_ADVERTISER: '0' });
    let now = DAY1;
    const store = createSqliteStore({ path, userCacheSize: scenario.users });
    const service = await createService({
      settings,
      store,
      media: new FsMediaStorage(join(dir, 'media')),
      adminKey: 'bench-admin-key',
      secret: 'bench-secret',
      clock: () => now,
    });
    const { delivery, forecasts, index } = service;
    const zipf = new Zipf(scenario.users);
    const eventRandom = rng(scenario.seed ^ 0xe7e7);

    /** Serves one day of sessions, events following their slots within the simulated minute. */
    async function serveDay(
      day: number,
      sessionSeed: number,
      watch: Map<string, { requests: number; users: Set<string>; served: number; spec: CampaignSpec }>,
    ) {
      const step = DAY_MS / scenario.sessionsPerDay;
      const pending: { token: string; type: EventType }[] = [];
      let i = 0;
      const flush = async () => {
        while (pending.length > 0) await delivery.events(pending.splice(0, 50));
      };
      const feed = sessions(scenario.seed, scenario.users, scenario.sessionsPerDay, zipf, sessionSeed);
      // Sixteen requests in flight, as the serve benchmark: reservations share group commits.
      const worker = async () => {
        for (let next = feed.next(); !next.done; next = feed.next()) {
          const session = next.value;
          now = Math.max(now, day + Math.floor(i * step));
          i++;
          for (const w of watch.values()) {
            if (!matchesTargeting(w.spec.targeting, session.context)) continue;
            w.requests++;
            w.users.add(session.user);
          }
          const res = await delivery.slots({
            user: session.user,
            statuses: session.statuses,
            runs: session.runs,
            context: session.context,
          });
          for (const slot of res.slots) {
            const watched = watch.get(slot.ad.campaignId);
            if (watched) watched.served++;
            for (const type of eventsForSlot(eventRandom)) pending.push({ token: slot.token, type });
          }
          if (pending.length >= 50) await flush();
          if (i % Math.floor(scenario.sessionsPerDay / 4) === 0)
            progress(`  forecast bench: day ${new Date(day).toISOString().slice(0, 10)} ${i}/${scenario.sessionsPerDay}`);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      await flush();
    }

    await serveDay(DAY1, scenario.seed, new Map());

    // Day 2 begins: forecast each draft against day 1's traffic and today's catalog.
    now = DAY1 + DAY_MS + 60_000;
    const specs = generateCatalog(scenario.seed ^ 0xd4af, scenario.drafts).campaigns.slice(0, scenario.drafts);
    const drafts = specs.map((spec, i) => ({
      ...spec,
      id: `draft_${i}`,
      advertiserId: `draft_adv_${i}`,
      creatives: spec.creatives.map((c, k) => ({ ...c, id: `draft_${i}_cr${k}` })),
    }));
    const forecastsById = new Map<string, ForecastResult>();
    for (const d of drafts) {
      forecastsById.set(
        d.id,
        await forecasts.forecast(
          { bid: d.bid, budget: d.budget, pacing: d.pacing, targeting: d.targeting, caps: d.caps },
          d.advertiserId,
        ),
      );
    }

    // Then the drafts go live and day 2 is served.
    const sha256 = 'f'.repeat(64);
    await store.catalog.putMedia({
      sha256,
      mime: 'image/png',
      bytes: 20_000,
      width: 1080,
      height: 1920,
      durationMs: null,
      createdAt: now,
    });
    for (const d of drafts) {
      await store.catalog.createAdvertiser(
        {
          id: d.advertiserId,
          name: d.advertiserId,
          description: null,
          address: null,
          email: null,
          website: null,
          category: null,
          createdAt: now,
          updatedAt: now,
        },
        `key-${d.id}`,
      );
      await store.catalog.createCampaign({
        id: d.id,
        advertiserId: d.advertiserId,
        name: d.id,
        status: 'active',
        startAt: now,
        endAt: null,
        bid: d.bid,
        budget: d.budget,
        pacing: d.pacing,
        targeting: d.targeting,
        caps: d.caps,
        createdAt: now,
        updatedAt: now,
      });
      for (const c of d.creatives) {
        await store.catalog.createCreative({
          id: c.id,
          campaignId: d.id,
          advertiserId: d.advertiserId,
          headline: 'New',
          cta: { type: 'website', target: 'https://shop.example' },
          mediaSha256: sha256,
          review: 'approved',
          reviewReason: null,
          createdAt: now,
          updatedAt: now,
        });
      }
    }
    await index.refresh(true);
    const watch = new Map(drafts.map((d) => [d.id, { requests: 0, users: new Set<string>(), served: 0, spec: d }]));
    await serveDay(DAY1 + DAY_MS, scenario.seed + 1, watch);

    const day2 = new Date(DAY1 + DAY_MS).toISOString().slice(0, 10);
    const results: ForecastAccuracy['drafts'] = [];
    for (const d of drafts) {
      const w = watch.get(d.id)!;
      const [row] = await store.ledger.report(d.id, day2, day2, 'day');
      const impressions = row?.impressions ?? 0;
      const spendMicros = row?.spendMicros ?? 0;
      const billable = d.bid.type === 'cpm' ? impressions / 1000 : (row?.clicks ?? 0);
      results.push({
        id: d.id,
        bid: d.bid,
        targeting: d.targeting,
        forecast: forecastsById.get(d.id)!,
        actual: {
          matchingRequests: w.requests,
          reachableUsers: w.users.size,
          impressions,
          winRate: w.requests > 0 ? Math.round((w.served / w.requests) * 1000) / 1000 : 0,
          averagePriceMicros: billable > 0 ? Math.round(spendMicros / billable) : 0,
          spendMicros,
        },
      });
    }
    await store.close();
    return { scenario, drafts: results, summary: summarize(results) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function summarize(drafts: ForecastAccuracy['drafts']): ForecastAccuracy['summary'] {
  const out = {} as ForecastAccuracy['summary'];
  for (const metric of METRICS) {
    // Percentage errors where the actual is not zero (a price is only defined where something was bought).
    const rows = drafts.filter((d) => d.actual[metric] > 0);
    const apes = rows
      .map((d) => Math.abs(d.forecast[metric].expected - d.actual[metric]) / d.actual[metric])
      .sort((a, b) => a - b);
    const within = drafts.filter(
      (d) => d.forecast[metric].low <= d.actual[metric] && d.actual[metric] <= d.forecast[metric].high,
    ).length;
    out[metric] = {
      medianApe: apes.length ? Math.round(apes[Math.floor(apes.length / 2)] * 1000) / 1000 : 0,
      meanApe: apes.length ? Math.round((apes.reduce((a, b) => a + b, 0) / apes.length) * 1000) / 1000 : 0,
      withinRange: drafts.length ? Math.round((within / drafts.length) * 1000) / 1000 : 0,
      drafts: rows.length,
    };
  }
  return out;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

export function renderMarkdown(r: ForecastAccuracy, startedAt: string): string {
  const lines = [
    `# Forecast accuracy, ${startedAt}`,
    '',
    `Seed ${r.scenario.seed}: ${r.scenario.campaigns} campaigns, ${r.scenario.users} users, ${r.scenario.sessionsPerDay} slot requests per simulated day; ${r.scenario.drafts} new drafts forecast at the start of day 2 from day 1, then served on day 2.`,
    '',
    '| metric | median abs. error | mean abs. error | actual within [low, high] | drafts with actual > 0 |',
    '|---|---|---|---|---|',
    ...METRICS.map(
      (m) =>
        `| ${m} | ${pct(r.summary[m].medianApe)} | ${pct(r.summary[m].meanApe)} | ${pct(r.summary[m].withinRange)} | ${r.summary[m].drafts} |`,
    ),
    '',
    '| draft | bid | targeting | requests f/a | reach f/a | impressions f [low–high] / a | win rate f/a | price f/a | spend f/a |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.drafts.map((d) => {
      const f = d.forecast;
      const a = d.actual;
      return `| ${d.id} | ${d.bid.type} ${d.bid.amountMicros} | ${JSON.stringify(d.targeting)} | ${f.matchingRequests.expected} / ${a.matchingRequests} | ${f.reachableUsers.expected} / ${a.reachableUsers} | ${f.impressions.expected} [${f.impressions.low}–${f.impressions.high}] / ${a.impressions} | ${f.winRate.expected} / ${a.winRate} | ${f.averagePriceMicros.expected} / ${a.averagePriceMicros} | ${f.spendMicros.expected} / ${a.spendMicros} |`;
    }),
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string, fallback: number) =>
    Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
  const scenario: ForecastScenario = {
    seed: arg('seed', 42),
    campaigns: arg('campaigns', 400),
    users: arg('users', 20_000),
    sessionsPerDay: arg('sessions', 40_000),
    drafts: arg('drafts', 20),
  };
  const startedAt = new Date().toISOString();
  const result = await runForecastAccuracy(scenario);
  const md = renderMarkdown(result, startedAt);
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(out, { recursive: true });
  const stamp = startedAt.replace(/[:.]/g, '-').slice(0, 19);
  writeFileSync(join(out, `${stamp}-forecast.json`), JSON.stringify({ ...result, machine: machine(), startedAt }, null, 2));
  writeFileSync(join(out, `${stamp}-forecast.md`), md);
  process.stdout.write(md);
}
