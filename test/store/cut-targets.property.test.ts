/**
 * A budget cut over shards (cutTargets): whatever the shards report, the targets never sum
 * past the new budget unless spend alone already does, no shard is asked below its spend
 * or above what it committed, and the whole budget left goes to holds that can use it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RenewRequest } from '../../src/engine/budget-leases.js';
import { cutTargets } from '../../src/store/durable-object/campaign-object.js';

const report = (spent: number, held: number): RenewRequest => ({
  shard: 0,
  seq: 1,
  day: 0,
  dailyMicros: null,
  totalMicros: null,
  account: { spentTodayMicros: spent, spentTotalMicros: spent, heldMicros: held },
  budget: {},
  holdsPerSec: 0,
  microsPerSec: 0,
  maxHoldMicros: 0,
  now: 0,
});

describe('cutTargets', () => {
  it('fits the new budget, keeps every shard’s spend, and hands out exactly what is left to holds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(50_000), fc.nat(50_000)), { minLength: 1, maxLength: 8 }),
        fc.nat(200_000),
        (shards, limit) => {
          const reports = shards.map(([spent, held]) => report(spent, held));
          const targets = cutTargets(reports, { totalMicros: limit });
          const spent = shards.reduce((s, [x]) => s + x, 0);
          const committed = shards.reduce((s, [x, h]) => s + x + h, 0);
          if (committed <= limit) {
            expect(targets).toBeNull();
            return;
          }
          expect(targets).not.toBeNull();
          const total = (targets ?? []).map((t) => t.totalMicros as number);
          total.forEach((t, i) => {
            expect(t).toBeGreaterThanOrEqual(shards[i][0]);
            expect(t).toBeLessThanOrEqual(shards[i][0] + shards[i][1]);
          });
          const sum = total.reduce((a, b) => a + b, 0);
          expect(sum).toBe(Math.max(spent, Math.min(limit, committed)));
          for (const t of targets ?? []) expect(t.dailyMicros).toBeNull();
        },
      ),
      { numRuns: 300 },
    );
  });
});
