/**
 * The engine on its own thread (Node, `npm start`, ENGINE_THREAD on by default): catalog changes seen by the
 * very next slot request, forecasts reading the engine's index, the engine's metrics on GET /metrics,
 * acknowledged slots and events across kill -9, the thread dying mid-load ending the process non-zero without
 * a hang, and the wire keeping errors' classes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ApiError, asApiError, statusOf } from '../../src/api/errors.js';
import { createPrometheusMetrics } from '../../src/ops/prometheus.js';
import { fromWire, OK, Outbox, toWire } from '../../src/runtime/engine-rpc.js';
import { type EngineThread, startEngineThread } from '../../src/runtime/engine-thread.js';
import type { Advertiser } from '../../src/store/interface.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { png } from '../helpers/media.js';
import { ADMIN, http, type RealServer, removeDir, seed, startServer, stopServer } from '../helpers/server.js';

const CRASH_PRELOAD = resolve(import.meta.dirname, '../helpers/engine-crash.mjs');

describe('the engine thread behind the real server', () => {
  let server: RealServer | undefined;
  afterEach(async () => {
    await stopServer(server);
    removeDir(server?.dir);
    server = undefined;
  });

  const slots = async (s: RealServer, key: string, user: string) => {
    const res = await http(s, 'POST', '/v1/slots', key, { user, statuses: 10 });
    expect(res.status).toBe(200);
    return res.body.slots as { token: string; ad: { campaignId: string } }[];
  };

  it('a pause, a budget cut and a rejected creative are seen by the very next slot request', async () => {
    server = await startServer();
    const ids = await seed(server, png(90, 160, 3), { pacing: 'asap' });
    const patch = (body: unknown) => http(server!, 'PATCH', `/v1/campaigns/${ids.campaignId}`, ids.advertiserKey, body);
    let user = 0;
    expect(await slots(server, ids.clientKey, `u${user++}`)).toHaveLength(1);
    for (let round = 0; round < 3; round++) {
      expect((await patch({ status: 'paused' })).status).toBe(200);
      expect(await slots(server, ids.clientKey, `u${user++}`)).toEqual([]);
      expect((await patch({ status: 'active' })).status).toBe(200);
      expect(await slots(server, ids.clientKey, `u${user++}`)).toHaveLength(1);
    }
    // Less than one impression's price left: nothing to serve.
    expect((await patch({ budget: { totalMicros: 1 } })).status).toBe(200);
    expect(await slots(server, ids.clientKey, `u${user++}`)).toEqual([]);
    expect((await patch({ budget: { totalMicros: 10_000_000 } })).status).toBe(200);
    expect(await slots(server, ids.clientKey, `u${user++}`)).toHaveLength(1);
    const review = await http(server, 'POST', `/v1/creatives/${ids.creativeId}/review`, ADMIN, {
      decision: 'reject',
      reason: 'misleading',
    });
    expect(review.status).toBe(200);
    expect(await slots(server, ids.clientKey, `u${user++}`)).toEqual([]);
  });

  it('forecasts read the index that serves slots: a creative sent back to review by reports leaves them at once', async () => {
    server = await startServer();
    const ids = await seed(server, png(90, 160, 5), { pacing: 'asap' });
    const other = await http(server, 'POST', '/v1/advertisers', ADMIN, { name: 'Florist' });
    // Below the seeded campaign's 2.00 CPM: it wins wherever that one is eligible.
    const draft = { bid: { type: 'cpm', amountMicros: 1_000_000 }, caps: [] };
    const forecast = async () => {
      const res = await http(server!, 'POST', '/v1/forecast', other.body.apiKey, draft);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as { winRate: { expected: number } };
    };
    // One position per feed (`firstAfter` 2, `minGap` 4): the draft wins only where the seeded campaign is gone.
    const served: { token: string }[] = [];
    for (let user = 0; user < 5; user++) {
      const res = await http(server, 'POST', '/v1/slots', ids.clientKey, { user: `reporter${user}`, statuses: 3 });
      served.push(...res.body.slots);
    }
    expect(served).toHaveLength(5);
    const before = await forecast();
    expect(before.winRate.expected).toBe(0);
    // The fifth distinct reporter sends the creative back to review (on the engine thread, no catalog write on main).
    for (const { token } of served) {
      const res = await http(server, 'POST', '/v1/events', ids.clientKey, { events: [{ token, type: 'report' }] });
      expect(res.body.results).toEqual([{ status: 'accepted' }]);
    }
    expect(await slots(server, ids.clientKey, 'after-review')).toEqual([]);
    const after = await forecast();
    expect(after.winRate.expected).toBe(1);
    const ready = await http(server, 'GET', '/readyz', undefined);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: true, migrations: true, catalog: true } });
  });

  it('cuts every hold above a lowered budget while slot requests keep coming (no slot decided under the old one)', async () => {
    server = await startServer();
    const ids = await seed(server, png(90, 160, 7), { pacing: 'asap', budget: { totalMicros: 1_000_000_000 } });
    const patch = (body: unknown) => http(server!, 'PATCH', `/v1/campaigns/${ids.campaignId}`, ids.advertiserKey, body);
    const metric = async (series: string) => {
      const res = await fetch(`${server!.url}/metrics`, { headers: { Authorization: `Bearer ${ADMIN}` } });
      const text = await res.text();
      return Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    };
    let user = 0;
    let served = 0;
    for (let round = 0; round < 3; round++) {
      let stop = false;
      const loop = async () => {
        while (!stop) {
          const res = await http(server!, 'POST', '/v1/slots', ids.clientKey, { user: `u${user++}`, statuses: 10 });
          expect(res.status).toBe(200);
          served += res.body.slots.length;
        }
      };
      const loops = Array.from({ length: 16 }, loop);
      await new Promise((r) => setTimeout(r, 200));
      // Less than one impression's price: once the cut has answered, no hold may be left (none is ever charged).
      expect((await patch({ budget: { totalMicros: 1 } })).status).toBe(200);
      stop = true;
      await Promise.all(loops);
      const taken = await metric('ads_budget_holds_total{change="taken"}');
      const ended =
        (await metric('ads_budget_holds_total{change="released"}')) + (await metric('ads_budget_holds_total{change="expired"}'));
      expect({ round, live: taken - ended }).toEqual({ round, live: 0 });
      expect((await patch({ budget: { totalMicros: 1_000_000_000 } })).status).toBe(200);
    }
    expect(served).toBeGreaterThan(0);
  });

  it('shows the engine thread’s metrics on GET /metrics, and SIGTERM closes it cleanly', async () => {
    server = await startServer();
    const ids = await seed(server, png(90, 160, 4), { pacing: 'asap' });
    expect(await slots(server, ids.clientKey, 'alice')).toHaveLength(1);
    expect(await slots(server, ids.clientKey, 'bob')).toHaveLength(1);
    const res = await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    // Counted on the engine thread, shipped to this registry before the scrape.
    expect(value('ads_slot_requests_total')).toBe(2);
    expect(value('ads_slots_served_total{bid_type="cpm"}')).toBe(2);
    expect(value('ads_user_cache_lookups_total{result="miss"}')).toBe(2);
    expect(value('ads_budget_holds_total{change="taken"}')).toBe(2);
    expect(value('ads_store_commit_group_size_count{kind="reservations"}')).toBeGreaterThanOrEqual(1);
    expect(value('ads_user_cache_entries')).toBe(2);
    expect(value('ads_campaigns_out_of_budget')).toBe(0);
    // The engine thread's own heap and event loop (prom-client's nodejs_* series describe main's).
    expect(value('ads_engine_heap_used_bytes')).toBeGreaterThan(1_000_000);
    expect(value('ads_engine_eventloop_delay_p99_seconds')).toBeGreaterThanOrEqual(0);
    // And this thread's own.
    expect(value('http_request_duration_seconds_count{route="/v1/slots",method="POST",status="200"}')).toBe(2);

    server.proc.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.logs()).toContain('stopped cleanly');
  });

  it('keeps acknowledged slots and events across kill -9', async () => {
    server = await startServer();
    const ids = await seed(server, png(90, 160, 5), { pacing: 'asap' });
    const [seen] = await slots(server, ids.clientKey, 'alice');
    const [unseen] = await slots(server, ids.clientKey, 'bob');
    const events = await http(server, 'POST', '/v1/events', ids.clientKey, {
      events: [{ token: seen.token, type: 'impression' }],
    });
    expect(events.body.results).toEqual([{ status: 'accepted' }]);
    const dir = server.dir;
    await stopServer(server, 'SIGKILL');

    server = await startServer({ dir });
    // Bob's reservation (answered, never seen) holds budget again and still explains itself.
    expect(server.logs()).toMatch(/"holds":1,/);
    const why = await http(server, 'POST', '/v1/why', ids.clientKey, { token: unseen.token });
    expect(why.status).toBe(200);
    const replay = await http(server, 'POST', '/v1/events', ids.clientKey, {
      events: [{ token: seen.token, type: 'impression' }],
    });
    expect(replay.body.results).toEqual([{ status: 'duplicate' }]);
  });

  it('exits non-zero when the engine thread dies mid-load, answering or closing every request in flight', async () => {
    server = await startServer({
      env: { NODE_OPTIONS: `--import ${CRASH_PRELOAD}`, CRASH_ENGINE_AFTER_SLOTS: '3' },
    });
    const ids = await seed(server, png(90, 160, 6), { pacing: 'asap' });
    expect(await slots(server, ids.clientKey, 'alice')).toHaveLength(1);
    expect(await slots(server, ids.clientKey, 'bob')).toHaveLength(1);
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        fetch(`${server!.url}/v1/slots`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${ids.clientKey}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ user: `late${i}`, statuses: 10 }),
          signal: AbortSignal.timeout(15_000),
        }).then(
          async (res) => ({ status: res.status, body: await res.text() }),
          (err: Error) => ({ status: 0, body: err.name }),
        ),
      ),
    );
    // Each got an answer (a 500 problem) or its connection closed; none waited for the timeout.
    for (const o of outcomes) {
      if (o.status === 0) expect(o.body).not.toBe('TimeoutError');
      else expect([200, 500]).toContain(o.status);
    }
    expect(outcomes.some((o) => o.status !== 200)).toBe(true);
    expect(await server.exited).toEqual({ code: 1, signal: null });
    expect(server.logs()).toContain('the engine thread stopped; exiting');
    expect(server.logs()).toContain('engine thread crash (test preload)');
  });

  it('serves in one thread with ENGINE_THREAD=off, and refuses another value', async () => {
    server = await startServer({ env: { ENGINE_THREAD: 'off' } });
    expect(server.logs()).toContain('"engineThread":false');
    const ids = await seed(server, png(90, 160, 7), { pacing: 'asap' });
    expect(await slots(server, ids.clientKey, 'alice')).toHaveLength(1);
    await expect(startServer({ env: { ENGINE_THREAD: 'maybe' } })).rejects.toThrow(
      /ENGINE_THREAD must be on or off, got "maybe"/,
    );
  });
});

describe('the wire between the threads', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const folder = () => {
    const dir = mkdtempSync(join(tmpdir(), 'status-ads-engine-'));
    dirs.push(dir);
    return dir;
  };
  const advertiser: Advertiser = {
    id: 'adv_1',
    name: 'Bakery',
    description: '',
    address: '',
    email: '',
    website: '',
    category: null,
    createdAt: 1,
    updatedAt: 1,
  };
  const start = (dir: string, onFailure: (err: Error) => void = () => {}) =>
    startEngineThread({
      database: join(dir, 'ads.db'),
      secret: 'wire-test-secret',
      tokenSecrets: ['wire-test-secret'],
      metrics: createPrometheusMetrics(),
      onFailure,
    });

  it('brings an error thrown on the engine thread back as the same class, code and message', async () => {
    const engine = await start(folder());
    const local = createSqliteStore({ path: join(folder(), 'ads.db'), userCacheSize: 10 });
    try {
      await engine.store.catalog.createAdvertiser(advertiser, 'hash-1');
      await local.catalog.createAdvertiser(advertiser, 'hash-1');
      const there = await engine.store.catalog.createAdvertiser(advertiser, 'hash-2').catch((e: Error) => e);
      const here = await local.catalog.createAdvertiser(advertiser, 'hash-2').catch((e: Error) => e);
      expect(there).toBeInstanceOf(Error);
      expect({ name: there?.name, message: there?.message, code: (there as { code?: string }).code }).toEqual({
        name: here?.name,
        message: here?.message,
        code: (here as { code?: string }).code,
      });
      // The API answers both alike.
      expect(asApiError(there, () => false)).toEqual(asApiError(here, () => false));
      await expect((engine.store as unknown as { health(): Promise<unknown> }).health()).resolves.toEqual({
        writable: true,
        migrated: true,
      });
    } finally {
      await engine.store.close();
      await local.close();
    }
  });

  it('pushes only what is cheap every second; the out-of-budget walk runs on a scrape, never before ready', async () => {
    const engine = await start(folder());
    try {
      const pushed: Record<string, unknown>[] = [];
      engine.worker.on('message', (batch: unknown[]) => {
        for (let i = 0; i < batch.length; i += 3) if (batch[i] === 0) pushed.push(batch[i + 2] as Record<string, unknown>);
      });
      await new Promise((r) => setTimeout(r, 2_300));
      expect(pushed.length).toBeGreaterThanOrEqual(1);
      for (const snapshot of pushed) {
        expect(snapshot).not.toHaveProperty('campaignsOutOfBudget');
        expect(snapshot.heapUsedBytes).toBeGreaterThan(0);
      }
      await engine.flushMetrics();
      expect(engine.gauges.campaignsOutOfBudget()).toBe(0);
      expect(engine.gauges.heapUsedBytes()).toBeGreaterThan(0);
    } finally {
      await engine.store.close();
    }
  });

  it('fails only the call whose arguments cannot cross; the others posted in the same turn are answered', async () => {
    const engine = await start(folder());
    try {
      const bad = engine.store.catalog.getAdvertiser((() => 'a function') as unknown as string);
      const good = engine.store.catalog.listAdvertisers();
      await expect(bad).rejects.toThrow(/could not be cloned/);
      await expect(good).resolves.toEqual([]);
      await expect(engine.store.catalog.listAdvertisers()).resolves.toEqual([]);
    } finally {
      await engine.store.close();
    }
  });

  it('an outbox posts the rest of a batch when one item cannot be cloned, in order, and names that one', async () => {
    const { port1, port2 } = new MessageChannel();
    const got: unknown[][] = [];
    port2.on('message', (batch: unknown[]) => got.push(batch));
    const failed: [unknown, unknown, string][] = [];
    const out = new Outbox(port1, (a, b, err) => failed.push([a, b, err.name]));
    out.post(1, OK, 'one');
    out.post(2, OK, () => 'two');
    out.post(3, OK, { three: 3 });
    await new Promise((r) => setTimeout(r, 50));
    port1.close();
    expect(got.flat()).toEqual([1, OK, 'one', 3, OK, { three: 3 }]);
    expect(failed).toEqual([[2, OK, 'DataCloneError']]);
  });

  it('keeps an ApiError’s code, field errors and headers, so the API answers the same 4xx', () => {
    const thrown = new ApiError('rate_limited', 'slow down', [{ path: 'user', message: 'too often' }], { 'retry-after': '2' });
    const back = fromWire(structuredClone(toWire(thrown)));
    expect(back).toBeInstanceOf(ApiError);
    expect(asApiError(back, () => false)).toEqual(thrown);
    expect(statusOf((back as ApiError).code)).toBe(429);
  });

  it('rejects every call in flight and the ones after when the engine thread dies, and says so once', async () => {
    const failures: Error[] = [];
    const engine: EngineThread = await start(folder(), (err) => failures.push(err));
    const inFlight = engine.store.catalog.listAdvertisers();
    // A message the engine thread cannot read throws there, uncaught: the thread ends.
    engine.worker.postMessage(null);
    await expect(inFlight).rejects.toThrow(/engine thread/);
    await expect(engine.store.catalog.listAdvertisers()).rejects.toThrow(/engine thread/);
    expect(failures).toHaveLength(1);
    await expect(engine.store.close()).rejects.toThrow(/engine thread/);
  });
});
