/** Keeps the benchmark harness compiling and working: determinism of the workload and tiny smoke runs. No timing assertions. */
import { describe, expect, it } from 'vitest';
import { runEngineScenario } from '../../bench/engine.js';
import { seededTimeOrderedId } from '../../bench/event-load.js';
import { runServeScenario } from '../../bench/serve.js';
import { eventsForSlot, generateCatalog, rng, sessions, userProfile, Zipf } from '../../bench/workload.js';
import { timeOrderedId } from '../../src/privacy/crypto.js';

const take = <T>(it: Iterable<T>, n: number) => {
  const out: T[] = [];
  for (const x of it) {
    if (out.length >= n) break;
    out.push(x);
  }
  return out;
};

describe('workload generator', () => {
  it('gives the same catalog, sessions and events for the same seed', () => {
    const a = {
      catalog: generateCatalog(7, 500),
      sessions: take(sessions(7, 10_000), 200),
      events: Array.from(
        { length: 200 },
        (
          (r) => () =>
            eventsForSlot(r)
        )(rng(7)),
      ),
    };
    const b = {
      catalog: generateCatalog(7, 500),
      sessions: take(sessions(7, 10_000), 200),
      events: Array.from(
        { length: 200 },
        (
          (r) => () =>
            eventsForSlot(r)
        )(rng(7)),
      ),
    };
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(generateCatalog(8, 500))).not.toBe(JSON.stringify(a.catalog));
    expect(userProfile(7, 123)).toEqual(userProfile(7, 123));
  });

  it('generates what the API accepts: bounded feeds, one to three creatives, valid money', () => {
    const { advertisers, campaigns } = generateCatalog(3, 1_000);
    expect(campaigns).toHaveLength(1_000);
    expect(new Set(campaigns.map((c) => c.advertiserId)).size).toBe(advertisers.length);
    for (const c of campaigns) {
      expect(Number.isInteger(c.bid.amountMicros) && c.bid.amountMicros > 0).toBe(true);
      expect(c.creatives.length).toBeGreaterThanOrEqual(1);
      expect(c.creatives.length).toBeLessThanOrEqual(3);
    }
    for (const s of take(sessions(3, 1_000), 500)) {
      const total = s.runs ? s.runs.reduce((x, y) => x + y, 0) : s.statuses!;
      expect(total).toBeLessThanOrEqual(1000);
      if (s.runs) expect(s.runs.every((r) => r >= 1)).toBe(true);
    }
  });

  it('draws users with a Zipf skew: the most active user far above the median one', () => {
    const zipf = new Zipf(1_000);
    const r = rng(1);
    const counts = new Array(1_000).fill(0);
    for (let i = 0; i < 20_000; i++) counts[zipf.sample(r)]++;
    expect(counts[0]).toBeGreaterThan(counts[500] * 50);
  });
});

describe('seeded served slots', () => {
  it('have ids shaped and ordered like the server ones (timeOrderedId), from the seeded generator', () => {
    const at = Date.UTC(2026, 11, 1, 17, 0, 0);
    const ours = seededTimeOrderedId(at, rng(1));
    expect(ours).toHaveLength(timeOrderedId('r', at).length);
    expect(ours.slice(0, 14)).toBe(timeOrderedId('r', at).slice(0, 14));
    expect(ours).toMatch(/^r_[0-9a-f]{12}[A-Za-z0-9_-]{12}$/);
    expect(timeOrderedId('r', at)).toMatch(/^r_[0-9a-f]{12}[A-Za-z0-9_-]{12}$/);
    expect(seededTimeOrderedId(at, rng(1))).toBe(ours);
    expect(seededTimeOrderedId(at + 1, rng(2)) > seededTimeOrderedId(at, rng(3))).toBe(true);
  });
});

describe('benchmark smoke runs', () => {
  it('runs the engine benchmark with zero correctness counters', async () => {
    const result = await runEngineScenario({ campaigns: 300, users: 1_000, decisions: 500, warmup: 50, seed: 1 });
    expect(result.latency.count).toBe(500);
    expect(result.slotsPerDecision).toBeGreaterThan(0);
    expect(result.counters).toEqual({ capViolations: 0, blockedServed: 0, budgetOverspend: 0, serverErrors: 0 });
  });

  it('runs the in-process serve path benchmark with zero correctness counters', async () => {
    const result = await runServeScenario({
      campaigns: 100,
      users: 500,
      requests: 200,
      warmup: 20,
      userCacheSize: 100,
      concurrency: 4,
      seed: 1,
    });
    expect(result.slots.latency.count).toBe(200);
    expect(result.events.accepted).toBeGreaterThan(0);
    expect(result.userCacheEntries).toBeLessThanOrEqual(100);
    expect(result.counters).toEqual({ capViolations: 0, blockedServed: 0, budgetOverspend: 0, serverErrors: 0 });
  });
});
