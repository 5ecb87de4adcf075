/**
 * Budgets are never overspent, for any interleaving of slot requests (alone or
 * racing), impression and click events (replayed or not) and reservation
 * expiries, across a UTC midnight: the real Delivery, SQLite store and engine.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../bench/pacing/simulation.js';
import { CatalogIndex } from '../../src/catalog/index.js';
import { readSettings } from '../../src/config.js';
import { Delivery } from '../../src/delivery/delivery.js';
import { advertiserCard } from '../../src/engine/card.js';
import type { BudgetState, ServableCampaign } from '../../src/engine/types.js';
import { createPseudonymizer } from '../../src/privacy/pseudonym.js';
import { TokenSigner } from '../../src/privacy/token.js';
import type { BudgetStore, CatalogStore, Store } from '../../src/store/interface.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { utcDay } from '../../src/store/utc-day.js';

const START = Date.UTC(2026, 10, 25, 23, 40); // 20 minutes before a UTC midnight

function campaign(
  id: string,
  bid: ServableCampaign['bid'],
  budget: ServableCampaign['budget'],
  pacing: 'even' | 'asap',
): ServableCampaign {
  return {
    id,
    advertiserId: `adv-${id}`,
    advertiser: advertiserCard({ id: `adv-${id}`, name: id }),
    status: 'active',
    startAt: 0,
    endAt: null,
    bid,
    budget,
    pacing,
    targeting: {},
    caps: [],
    creatives: [0, 1].map((i) => ({
      id: `${id}-k${i}`,
      headline: id,
      cta: { type: 'website', target: 'https://x.example' },
      media: { url: '/m', mime: 'image/png', width: 9, height: 16 },
      predictedCtr: 0.01 + i * 0.005,
    })),
    hasCreatives: true,
  };
}

const CAMPAIGNS = [
  campaign('cpm-small', { type: 'cpm', amountMicros: 2_000_000 }, { dailyMicros: 9_000, totalMicros: 15_000 }, 'asap'),
  campaign('cpm-even', { type: 'cpm', amountMicros: 1_500_000 }, { dailyMicros: 7_000 }, 'even'),
  campaign('cpc', { type: 'cpc', amountMicros: 60_000 }, { dailyMicros: 130_000, totalMicros: 200_000 }, 'asap'),
  campaign('cpm-total', { type: 'cpm', amountMicros: 1_000_000 }, { totalMicros: 4_000 }, 'asap'),
];

type Command =
  | { kind: 'slots'; users: number[] }
  | { kind: 'events'; tokens: number[]; type: 'impression' | 'click' }
  | { kind: 'advance'; ms: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('slots' as const),
      users: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 6 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('events' as const),
      tokens: fc.array(fc.nat(30), { minLength: 1, maxLength: 8 }),
      type: fc.constantFrom('impression' as const, 'click' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 120_000 }), fc.integer({ min: 600_000, max: 1_200_000 })),
    }),
  },
);

async function harness(seed: number, campaigns = CAMPAIGNS, path = ':memory:') {
  const settings = readSettings({});
  const store = createSqliteStore({ path, userCacheSize: 4 });
  const clock = { now: START };
  const index = new CatalogIndex({} as CatalogStore, (sha) => sha);
  index.build(campaigns.map((c) => structuredClone(c)));
  // During a burst every request decides on the budgets as they were when the burst began, as
  // concurrent isolates would: only the store's atomic tryHold stands between them and overspend.
  const stale = { views: undefined as Map<string, BudgetState> | undefined };
  const budgets: BudgetStore = {
    view: (id, now) => stale.views?.get(id) ?? store.budgets.view(id, now),
    tryHold: (hold, now) => store.budgets.tryHold(hold, now),
    release: (campaignId, reservationId) => store.budgets.release(campaignId, reservationId),
    limit: (campaign, now) => store.budgets.limit(campaign, now),
  };
  const racing: Store = { ...store, budgets };
  const delivery = new Delivery({
    settings,
    store: racing,
    index,
    clock: () => clock.now,
    random: seededRandom(seed),
    pseudonymize: createPseudonymizer('s'),
    signer: new TokenSigner('s'),
    // The index is built by hand from a fixed catalog: no CTR refresh from a store.
    ctrRefreshMs: Infinity,
  });
  const burst = async <T>(work: () => Promise<T>): Promise<T> => {
    stale.views = new Map([...index.candidates({}, true)].map((c) => [c.id, { ...store.budgets.view(c.id, clock.now) }]));
    try {
      return await work();
    } finally {
      stale.views = undefined;
    }
  };
  return { settings, store, clock, delivery, burst };
}

describe('budgets under any interleaving', () => {
  it('spend (and spend + live holds) never exceeds a daily or total budget', async () => {
    // The property is only meaningful if budgets actually bind in a good share of runs.
    let runs = 0;
    let binding = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 60 }), fc.integer(), async (commands, seed) => {
        const { store, clock, delivery, burst } = await harness(seed);
        const tokens: string[] = [];
        let bound = false;
        runs++;
        try {
          for (const command of commands) {
            if (command.kind === 'advance') clock.now += command.ms;
            else if (command.kind === 'slots') {
              // Different users race on the same campaigns.
              const responses = await burst(() =>
                Promise.all(command.users.map((u) => delivery.slots({ user: `u${u}`, statuses: 12 }))),
              );
              for (const r of responses) for (const slot of r.slots) tokens.push(slot.token);
            } else if (tokens.length > 0) {
              // Mostly recent tokens (still live), each sent twice (replays are duplicates).
              const batch = command.tokens.map((i) => ({
                token: tokens[tokens.length - 1 - (i % tokens.length)],
                type: command.type,
              }));
              await delivery.events([...batch, ...batch]);
            }
            for (const c of CAMPAIGNS) {
              const b = store.budgets.view(c.id, clock.now);
              const rows = await store.ledger.report(c.id, '2000-01-01', '2999-12-31');
              const total = rows.reduce((sum, r) => sum + r.spendMicros, 0);
              const today = rows.find((r) => r.date === utcDay(clock.now))?.spendMicros ?? 0;
              expect(b.spentTotalMicros).toBe(total);
              expect(b.spentTodayMicros).toBe(today);
              if (c.budget.dailyMicros !== undefined) expect(today + b.heldMicros).toBeLessThanOrEqual(c.budget.dailyMicros);
              if (c.budget.totalMicros !== undefined) expect(total + b.heldMicros).toBeLessThanOrEqual(c.budget.totalMicros);
              expect(b.heldMicros).toBeGreaterThanOrEqual(0);
              // The budget gate is closed: not even one more event's hold would fit.
              const maxCost = c.bid.type === 'cpm' ? c.bid.amountMicros / 1000 : c.bid.amountMicros;
              if (c.budget.totalMicros !== undefined && c.budget.totalMicros - total - b.heldMicros < maxCost) bound = true;
              if (c.budget.dailyMicros !== undefined && c.budget.dailyMicros - today - b.heldMicros < maxCost) bound = true;
            }
          }
        } finally {
          await store.close();
          if (bound) binding++;
        }
      }),
      { numRuns: 150 },
    );
    expect(binding / runs).toBeGreaterThan(0.2);
  });

  it('holds are released on expiry and on charge; each billable event is charged once', async () => {
    const { store, clock, delivery } = await harness(1, [CAMPAIGNS[0], CAMPAIGNS[2]]);
    const { slots } = await delivery.slots({ user: 'alice', statuses: 12 });
    const cpm = slots.find((s) => s.ad.campaignId === 'cpm-small')!;
    const cpc = slots.find((s) => s.ad.campaignId === 'cpc')!;
    expect(store.budgets.view('cpm-small', clock.now).heldMicros).toBeGreaterThan(0);
    const held = store.budgets.view('cpm-small', clock.now).heldMicros;
    // cpm: the impression charges the held clearing price once; the click charges nothing.
    await delivery.events([
      { token: cpm.token, type: 'impression' },
      { token: cpm.token, type: 'impression' },
      { token: cpm.token, type: 'click' },
    ]);
    expect(store.budgets.view('cpm-small', clock.now)).toMatchObject({ heldMicros: 0, spentTodayMicros: held });
    // cpc: the impression is free and keeps the hold; the click charges it.
    const cpcHeld = store.budgets.view('cpc', clock.now).heldMicros;
    await delivery.events([{ token: cpc.token, type: 'impression' }]);
    expect(store.budgets.view('cpc', clock.now)).toMatchObject({ heldMicros: cpcHeld, spentTodayMicros: 0 });
    await delivery.events([
      { token: cpc.token, type: 'click' },
      { token: cpc.token, type: 'click' },
    ]);
    expect(store.budgets.view('cpc', clock.now)).toMatchObject({ heldMicros: 0, spentTodayMicros: cpcHeld });
    // An unviewed reservation's hold goes when its token expires; a late event neither charges nor holds.
    const second = await delivery.slots({ user: 'bob', statuses: 12 });
    const late = second.slots.find((s) => s.ad.campaignId === 'cpm-small')!;
    expect(store.budgets.view('cpm-small', clock.now).heldMicros).toBeGreaterThan(0);
    clock.now += 900_000;
    expect(store.budgets.view('cpm-small', clock.now).heldMicros).toBe(0);
    expect(await delivery.events([{ token: late.token, type: 'impression' }])).toEqual([
      { status: 'rejected', reason: 'expired_token' },
    ]);
    expect(store.budgets.view('cpm-small', clock.now).spentTotalMicros).toBe(held);
    await store.close();
  });

  it('a restarted process rebuilds the same spend and holds from SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'budgets-'));
    try {
      const path = join(dir, 'ads.db');
      const { store, clock, delivery } = await harness(7, CAMPAIGNS, path);
      const tokens: string[] = [];
      for (let i = 0; i < 8; i++)
        for (const slot of (await delivery.slots({ user: `u${i}`, statuses: 12 })).slots) tokens.push(slot.token);
      await delivery.events(tokens.filter((_, i) => i % 2 === 0).map((token) => ({ token, type: 'impression' as const })));
      await delivery.events(tokens.filter((_, i) => i % 3 === 0).map((token) => ({ token, type: 'click' as const })));
      const before = CAMPAIGNS.map((c) => ({ ...store.budgets.view(c.id, clock.now) }));
      // Killed (its memory lost), then started again.
      await store.abandon();
      const restarted = createSqliteStore({ path, userCacheSize: 4 });
      const after = CAMPAIGNS.map((c) => restarted.budgets.view(c.id, clock.now));
      for (let i = 0; i < CAMPAIGNS.length; i++) {
        expect(after[i].spentTodayMicros).toBe(before[i].spentTodayMicros);
        expect(after[i].spentTotalMicros).toBe(before[i].spentTotalMicros);
        expect(after[i].heldMicros).toBe(before[i].heldMicros);
      }
      expect(before.some((b) => b.heldMicros > 0) && before.some((b) => b.spentTotalMicros > 0)).toBe(true);
      await restarted.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
