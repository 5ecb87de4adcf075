/**
 * The holds a Node process takes are kept in arrays ordered by the ids' serving time and found by
 * a search over it (src/store/sqlite/budgets.ts, `LiveHolds`); ids out of that order, many of one
 * millisecond, holds that expire before ones taken earlier (a shorter TTL) and holds ended in any
 * order must still give the figures a plain list of holds gives (each hold live until its own expiry). In memory, against that list, over random sequences of holds, releases, charges, cuts
 * and time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ServableCampaign } from '../../src/engine/types.js';
import type { SqliteBudgets } from '../../src/store/sqlite/budgets.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';

const TTL = 900_000;
const T0 = Date.UTC(2026, 11, 2, 12);
const campaign = (dailyMicros: number) =>
  ({ id: 'cmp_1', advertiserId: 'adv_1', budget: { dailyMicros } }) as unknown as ServableCampaign;
/** As `timeOrderedId` makes them: "r_", 12 hex digits of the serving time, random characters. */
const idAt = (ms: number, suffix: string) => `r_${ms.toString(16).padStart(12, '0')}${suffix}`;

type Op =
  | { kind: 'hold'; advance: number; back: boolean; suffix: string; amount: number; ttl: number }
  | { kind: 'release' | 'charge'; pick: number }
  | { kind: 'cut'; daily: number }
  | { kind: 'wait'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('hold' as const),
      // Mostly the same or the next milliseconds; sometimes a clock stepped back.
      advance: fc.integer({ min: 0, max: 3 }),
      back: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      suffix: fc.stringMatching(/^[A-Za-z0-9_-]{1,3}$/),
      amount: fc.integer({ min: 1, max: 500 }),
      // Mostly the TTL; sometimes a shorter one (a changed setting), so a hold can expire before one taken earlier.
      ttl: fc.constantFrom(TTL, TTL, TTL, TTL / 3, 1000),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('release' as const, 'charge' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), daily: fc.integer({ min: 0, max: 20_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: TTL / 3 }) }) },
);

describe('live budget holds (SQLite, in memory)', () => {
  it('hold, release, charge, cut and expiry give the figures a list of holds gives', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 50, maxLength: 300, size: 'max' }), async (ops) => {
        const store = createSqliteStore({ path: ':memory:', userCacheSize: 10 });
        const budgets = store.budgets as SqliteBudgets;
        try {
          const model: { id: string; amount: number; expiresAt: number; live: boolean }[] = [];
          let now = T0;
          let clockAt = T0;
          const held = () => model.filter((h) => h.live && h.expiresAt > now).reduce((s, h) => s + h.amount, 0);
          for (const o of ops) {
            if (o.kind === 'wait') now += o.ms;
            else if (o.kind === 'hold') {
              clockAt = o.back ? clockAt - 5 : clockAt + o.advance;
              const id = idAt(clockAt, o.suffix);
              if (model.some((h) => h.id === id)) continue;
              const ok = await budgets.tryHold(
                { campaign: campaign(1e12), reservationId: id, amountMicros: o.amount, expiresAt: now + o.ttl },
                now,
              );
              expect(ok).toBe(true);
              model.push({ id, amount: o.amount, expiresAt: now + o.ttl, live: true });
            } else if (o.kind === 'cut') {
              // Newest first, until the holds fit the new daily budget.
              await budgets.limit({ id: 'cmp_1', budget: { dailyMicros: o.daily } }, now);
              for (let i = model.length - 1; i >= 0 && held() > o.daily; i--)
                if (model[i].live && model[i].expiresAt > now) model[i].live = false;
            } else if (model.length > 0) {
              const h = model[o.pick % model.length];
              if (o.kind === 'release') await budgets.release('cmp_1', h.id);
              else budgets.charged('cmp_1', [h.id], 0, now);
              h.live = false;
            }
            expect(budgets.view('cmp_1', now).heldMicros).toBe(held());
          }
          now += TTL;
          expect(budgets.view('cmp_1', now).heldMicros).toBe(0);
          expect(budgets.holdsKept()).toBe(0);
          expect(budgets.holdsApart()).toBe(0);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
