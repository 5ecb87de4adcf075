/**
 * In workerd, as `npm run start:worker` serves it (bench/workers/entry.ts wraps every Durable
 * Object binding and counts calls): a slot request makes at most two Durable Object round trips
 * on its critical path (the user's object, then the budget holds and the reservation together),
 * counted per request without clocks; the calls it makes in all are one load, one hold per slot
 * and one reserve. The traffic counts' flush, when due, leaves after the answer and is still written.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, seed, startBenchWorker } from '../../bench/workers/run.js';
import { generateCatalog } from '../../bench/workload.js';

describe('a slot request in workerd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'round-trips-worker-'));
  let stop: () => Promise<void>;
  let base: string;
  let headers: Record<string, string>;

  beforeAll(async () => {
    // The traffic counts' flush (one request per TRAFFIC_FLUSH_MS per isolate) is kept out of this count.
    const { mf, base: url } = await startBenchWorker(dir, { USER_SHARDS: '16', TRAFFIC_FLUSH_MS: '3600000' });
    stop = () => mf.dispose();
    base = url;
    const campaigns = generateCatalog(3, 4).campaigns.map((c) => ({
      ...c,
      budget: {},
      pacing: 'asap' as const,
      targeting: {},
      caps: [],
    }));
    headers = { Authorization: `Bearer ${await seed(base, campaigns)}` };
  }, 120_000);
  afterAll(async () => {
    await stop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes at most two Durable Object round trips on its critical path', async () => {
    await (await fetch(`${base}/__bench/counters/reset`, { method: 'POST' })).arrayBuffer();
    let served = 0;
    // One at a time, so each request's calls are its own; new users and a returning one.
    for (let i = 0; i < 12; i++) {
      const res = await post(`${base}/v1/slots`, headers, JSON.stringify({ user: `user-${i % 9}`, statuses: 30 }));
      expect(res.status).toBe(200);
      served += ((await res.json()) as { slots: unknown[] }).slots.length;
    }
    const counters = (await (await fetch(`${base}/__bench/counters`)).json()) as {
      doCalls: Record<string, number>;
      criticalPath: Record<string, { requests: number; depth: Record<string, number> }>;
    };
    const path = counters.criticalPath['POST /v1/slots'];
    expect(path.requests).toBe(12);
    expect(served).toBeGreaterThan(0);
    expect(Math.max(...Object.keys(path.depth).map(Number))).toBe(2);
    expect(counters.doCalls['USERS.load']).toBe(12);
    expect(counters.doCalls['CAMPAIGNS.tryHold']).toBe(served);
    expect(counters.doCalls['USERS.unreserve']).toBeUndefined();
  }, 120_000);
});

describe('a slot request in workerd that finds the traffic counts due', () => {
  const dir = mkdtempSync(join(tmpdir(), 'traffic-flush-worker-'));
  let stop: () => Promise<void>;
  let base: string;
  let headers: Record<string, string>;

  beforeAll(async () => {
    // Due on every request: each slot request carries a flush to the traffic object.
    const { mf, base: url } = await startBenchWorker(dir, { USER_SHARDS: '16', TRAFFIC_FLUSH_MS: '0' });
    stop = () => mf.dispose();
    base = url;
    const campaigns = generateCatalog(5, 2).campaigns.map((c) => ({ ...c, budget: {}, pacing: 'asap' as const, targeting: {} }));
    headers = { Authorization: `Bearer ${await seed(base, campaigns)}` };
  }, 120_000);
  afterAll(async () => {
    await stop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers before the flush (still two round trips), and the flush is written', async () => {
    const day = new Date().toISOString().slice(0, 10);
    const read = async () =>
      (await (await fetch(`${base}/__bench/traffic?day=${day}`)).json()) as { cells: { requests: number; served: number }[] };
    const sum = (cells: { requests: number }[]) => cells.reduce((n, c) => n + c.requests, 0);
    const before = sum((await read()).cells);
    await (await fetch(`${base}/__bench/counters/reset`, { method: 'POST' })).arrayBuffer();
    for (let i = 0; i < 8; i++) {
      const res = await post(`${base}/v1/slots`, headers, JSON.stringify({ user: `flush-${i}`, statuses: 30 }));
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const counters = (await (await fetch(`${base}/__bench/counters`)).json()) as {
      doCalls: Record<string, number>;
      criticalPath: Record<string, { requests: number; depth: Record<string, number>; background: number }>;
    };
    const path = counters.criticalPath['POST /v1/slots'];
    expect(path.requests).toBe(8);
    expect(counters.doCalls['TRAFFIC.add']).toBeGreaterThanOrEqual(1);
    // Awaited inside the request, the flush was a third round trip; now it is still in flight when the answer leaves.
    expect(Math.max(...Object.keys(path.depth).map(Number))).toBeLessThanOrEqual(2);
    expect(path.background).toBeGreaterThanOrEqual(1);
    // Every request counted reaches the traffic object (each request's waitUntil keeps its flush alive).
    let written = before;
    for (let i = 0; i < 100 && written < before + 8; i++) {
      await new Promise((r) => setTimeout(r, 100));
      written = sum((await read()).cells);
    }
    expect(written).toBe(before + 8);
  }, 120_000);
});
