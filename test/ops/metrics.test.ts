/**
 * GET /metrics against what the API answered: a scripted sequence of slot
 * requests and events on the real in-process service (SQLite file), then the
 * Prometheus counters must equal the tallies of the answers. Also: who may read
 * /metrics, and /healthz and /readyz.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrometheusMetrics, type PrometheusMetrics, plainMetric } from '../../src/ops/prometheus.js';
import { ADMIN_KEY, makeService, type TestService } from '../helpers/service.js';

const METRICS_TOKEN = 'metrics-token-for-the-scraper';
let s: TestService;
let metrics: PrometheusMetrics;

/** Parses the exposition text into `name{a="x",b="y"}` → value, labels sorted. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable line: ${line}`);
    const labels = match[2]
      ? match[2]
          .split(/,(?=\w+=)/)
          .sort()
          .join(',')
      : '';
    out.set(`${match[1]}{${labels}}`, Number(match[3]));
  }
  return out;
}

async function scrape(key = ADMIN_KEY) {
  const res = await s.app.request('/metrics', { headers: { Authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const values = parse(await res.text());
  return (name: string, labels: Record<string, string> = {}) => {
    const key = `${name}{${Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .sort()
      .join(',')}}`;
    return values.get(key) ?? 0;
  };
}

beforeAll(async () => {
  metrics = createPrometheusMetrics({ userCacheSize: () => s.store.userCacheSize() });
  // 10 statuses hold 3 ads (after 2, 6, 10); a user sees at most 4 ads an hour.
  s = await makeService({ USER_CAP_IMPRESSIONS: '4', TOKEN_TTL: '60' }, undefined, {
    metrics,
    scrapeMetrics: () => metrics.scrape(),
    metricsToken: METRICS_TOKEN,
  });
});
afterAll(() => s.close());

describe('GET /metrics access', () => {
  it('needs the operator key or METRICS_TOKEN', async () => {
    const client = await s.newClient();
    const advertiser = await s.newAdvertiser();
    expect((await s.call('GET', '/metrics', undefined)).status).toBe(401);
    expect((await s.call('GET', '/metrics', 'not-the-token')).status).toBe(401);
    expect((await s.call('GET', '/metrics', client.key)).status).toBe(403);
    expect((await s.call('GET', '/metrics', advertiser.key)).status).toBe(403);
    expect((await s.app.request('/metrics', { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
    expect((await s.app.request('/metrics', { headers: { Authorization: `Bearer ${ADMIN_KEY}` } })).status).toBe(200);
  });
});

describe('/healthz and /readyz', () => {
  it('healthz says alive and nothing else; readyz reports its checks', async () => {
    const health = await s.call('GET', '/healthz', undefined);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await s.call('GET', '/readyz', undefined);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: true, migrations: true, catalog: true } });
  });

  it('readyz is 503 naming the failing check when migrations are missing or the database is gone', async () => {
    const other = await makeService();
    const Database = (await import('better-sqlite3')).default;
    const raw = new Database(`${other.dir}/ads.db`);
    raw.exec('DELETE FROM __drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM __drizzle_migrations)');
    raw.close();
    let ready = await other.call('GET', '/readyz', undefined);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(ready.body).toMatchObject({
      status: 503,
      detail: 'Failing checks: migrations',
      checks: { database: true, migrations: false, catalog: true },
    });
    await other.store.close();
    ready = await other.call('GET', '/readyz', undefined);
    expect(ready.status).toBe(503);
    expect(ready.body.checks.database).toBe(false);
    await other.close();
  });
});

describe('counters match what the API answered', () => {
  it('after a scripted sequence of slots and events', async () => {
    const client = await s.newClient();
    const a = await s.seedCampaign({ seed: 1 });
    const b = await s.seedCampaign({ seed: 2 });
    const before = await scrape();
    const slots = (user: string, extra: Record<string, unknown> = {}) =>
      s.call('POST', '/v1/slots', client.key, { user, statuses: 10, ...extra });
    // Every event sent and its answer, for the tally.
    const sent: string[] = [];
    const results: { status: string; reason?: string }[] = [];
    const events = async (list: { token: string; type: string }[]) => {
      const res = await s.call('POST', '/v1/events', client.key, { events: list });
      expect(res.status).toBe(200);
      sent.push(...list.map((e) => e.type));
      results.push(...res.body.results);
      return res;
    };
    const view = (answer: { body: { slots: { token: string }[] } }) =>
      events(answer.body.slots.map((x) => ({ token: x.token, type: 'impression' })));

    // 1. Two advertisers for three places: two served, the third has no candidate left.
    const first = await slots('u1', { explain: true });
    expect(first.body.slots).toHaveLength(2);
    const prices = first.body.explain
      .filter((e: { outcome: string }) => e.outcome === 'served')
      .map((e: { priceMicros: number }) => e.priceMicros);
    expect(prices).toHaveLength(2);

    // 2. A user who blocked both advertisers: three places, all unfilled as blocked.
    await s.call('POST', '/v1/users/block', client.key, { user: 'u2', advertiser: a.advertiser.id });
    await s.call('POST', '/v1/users/block', client.key, { user: 'u2', advertiser: b.advertiser.id });
    expect((await slots('u2')).body.slots).toHaveLength(0);

    // 3. The user cap (4): u3 sees 2, then 2 more (one place capped), then none (all capped).
    const served3: number[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await slots('u3');
      served3.push(answer.body.slots.length);
      if (answer.body.slots.length > 0) await view(answer);
    }
    expect(served3).toEqual([2, 2, 0]);

    // 4. Events: impressions, a duplicate, a forged token, a click, hides.
    const tokens = first.body.slots.map((x: { token: string }) => x.token);
    await view(first);
    await events([
      { token: tokens[0], type: 'impression' },
      { token: 'not-a-token', type: 'click' },
      { token: tokens[1], type: 'click' },
    ]);
    const u4 = await slots('u4');
    expect(u4.body.slots).toHaveLength(2);
    await events(u4.body.slots.map((x: { token: string }) => ({ token: x.token, type: 'hide' })));
    // Both creatives hidden for u4: its next request fills nothing, as hidden.
    expect((await slots('u4')).body.slots).toHaveLength(0);

    const after = await scrape(METRICS_TOKEN);
    const delta = (name: string, labels: Record<string, string> = {}) => after(name, labels) - before(name, labels);

    const slotCalls = 1 + 1 + 3 + 2;
    const servedTotal = 2 + 0 + 2 + 2 + 0 + 2 + 0;
    expect(delta('ads_slot_requests_total')).toBe(slotCalls);
    expect(delta('ads_slots_served_total', { bid_type: 'cpm' })).toBe(servedTotal);
    expect(delta('ads_clearing_price_micros_count', { bid_type: 'cpm' })).toBe(servedTotal);
    expect(delta('http_request_duration_seconds_count', { route: '/v1/slots', method: 'POST', status: '200' })).toBe(slotCalls);
    // The third place of u1, u3's first and u4's first requests: only two advertisers.
    expect(delta('ads_slots_unfilled_total', { reason: 'no_candidate' })).toBe(3);
    expect(delta('ads_slots_unfilled_total', { reason: 'blocked' })).toBe(3);
    // u3: 1 place (2 of 4 left), then 3; u4's second request: 1 place (2 of 4 left).
    expect(delta('ads_slots_unfilled_total', { reason: 'user_cap' })).toBe(1 + 3 + 1);
    // u4's other two places: it hid both creatives.
    expect(delta('ads_slots_unfilled_total', { reason: 'hidden' })).toBe(2);
    // Every place a request could hold is served or counted unfilled.
    const unfilled = [
      'frequency_cap',
      'user_cap',
      'blocked',
      'hidden',
      'budget',
      'pacing',
      'floor',
      'no_candidate',
      'unavailable',
    ].reduce((sum, reason) => sum + delta('ads_slots_unfilled_total', { reason }), 0);
    expect(servedTotal + unfilled).toBe(slotCalls * 3);

    // Events by type and outcome, exactly as the results said.
    const tally = new Map<string, number>();
    expect(results).toHaveLength(sent.length);
    results.forEach((r: { status: string; reason?: string }, i: number) => {
      const key = `${sent[i]}/${r.status === 'rejected' ? r.reason : r.status}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    });
    expect(tally.get('impression/duplicate')).toBe(1);
    expect(tally.get('click/invalid_token')).toBe(1);
    for (const [key, count] of tally) {
      const [type, outcome] = key.split('/');
      expect(delta('ads_events_total', { type, outcome }), key).toBe(count);
    }

    // Budget holds: one per served slot; each charged (accepted cpm) impression released its own.
    expect(delta('ads_budget_holds_total', { change: 'taken' })).toBe(servedTotal);
    const released = delta('ads_budget_holds_total', { change: 'released' });
    expect(released).toBe(tally.get('impression/accepted'));
    // Past the token TTL, the next look at each campaign expires what was never charged.
    s.clock.advance(61_000);
    await slots('u9');
    const later = await scrape();
    expect(later('ads_budget_holds_total', { change: 'expired' }) - before('ads_budget_holds_total', { change: 'expired' })).toBe(
      servedTotal - released,
    );

    expect(after('ads_user_cache_entries')).toBeGreaterThan(0);
    expect(delta('ads_store_commit_group_size_count', { kind: 'events' })).toBeGreaterThan(0);
    expect(delta('ads_store_commit_seconds_count', { kind: 'reservations' })).toBeGreaterThan(0);
    expect(after('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });
});

describe('the hot-path counters and histograms', () => {
  it('expose exactly the text prom-client’s own Counter and Histogram expose for the same observations', async () => {
    const buckets = [0.001, 0.01, 0.1, 1];
    const ours = new Registry();
    const theirs = new Registry();
    const counter = plainMetric(ours, { name: 'c_total', help: 'a counter', labelNames: ['kind', 'outcome'] });
    const histogram = plainMetric(ours, { name: 'h_seconds', help: 'a "histogram"\\n', labelNames: ['route'], buckets });
    const bare = plainMetric(ours, { name: 'bare_total', help: 'no labels' }).child();
    const reference = {
      counter: new Counter({ name: 'c_total', help: 'a counter', labelNames: ['kind', 'outcome'], registers: [theirs] }),
      histogram: new Histogram({
        name: 'h_seconds',
        help: 'a "histogram"\\n',
        labelNames: ['route'],
        buckets,
        registers: [theirs],
      }),
      bare: new Counter({ name: 'bare_total', help: 'no labels', registers: [theirs] }),
    };
    const routes = ['/v1/slots', '/v1/a"b\\c', '/x\ny'];
    for (let i = 0; i < 500; i++) {
      const kind = ['a', 'b', 'c'][i % 3];
      const outcome = i % 7 === 0 ? 'rejected' : 'ok';
      counter.child(kind, outcome).inc(i % 5);
      reference.counter.inc({ kind, outcome }, i % 5);
      const route = routes[i % routes.length];
      const seconds = (i * 0.37) % 2;
      histogram.child(route).observe(seconds);
      reference.histogram.observe({ route }, seconds);
      if (i % 2) {
        bare.inc();
        reference.bare.inc();
      }
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
