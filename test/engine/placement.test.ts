/** Placement: where ads may go between organic statuses, with statuses or per-contact runs. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PlacementSettings } from '../../src/config.js';
import { placedPositions, placementCapacity } from '../../src/engine/placement.js';

const defaults: PlacementSettings = { firstAfter: 2, minGap: 4, maxPerResponse: 3 };

/** The model: every `after` an ad may take (1..statuses, or only run boundaries when runs are given). */
function positionsOf(request: { statuses?: number; runs?: number[] }): number[] {
  if (request.runs) {
    let total = 0;
    return request.runs.map((run) => (total += run));
  }
  return Array.from({ length: request.statuses ?? 0 }, (_, i) => i + 1);
}

/** The model: up to `limit` of those positions, greedily from the top, honouring firstAfter, minGap, maxPerResponse. */
function greedy(positions: number[], s: PlacementSettings, limit: number): number[] {
  const chosen: number[] = [];
  for (const after of positions) {
    if (chosen.length >= Math.min(limit, s.maxPerResponse)) break;
    if (after < s.firstAfter || after - (chosen.at(-1) ?? -Infinity) < s.minGap) continue;
    chosen.push(after);
  }
  return chosen;
}

describe('placedPositions', () => {
  it('uses the product defaults on a plain feed', () => {
    expect(placedPositions({ statuses: 10 }, defaults, Infinity)).toEqual([2, 6, 10]);
    expect(placedPositions({ statuses: 20 }, defaults, Infinity)).toEqual([2, 6, 10]);
    expect(placedPositions({ statuses: 1 }, defaults, Infinity)).toEqual([]);
    expect(placedPositions({ statuses: 2 }, defaults, Infinity)).toEqual([2]);
  });

  it('never places an ad inside one contact’s run', () => {
    expect(placedPositions({ runs: [3, 1, 2] }, defaults, Infinity)).toEqual([3]);
    expect(placedPositions({ runs: [1, 1, 4, 4] }, defaults, Infinity)).toEqual([2, 6, 10]);
    // A single run of 5 has one boundary: after the last status.
    expect(placedPositions({ runs: [5] }, defaults, Infinity)).toEqual([5]);
    // First boundary before firstAfter is skipped.
    expect(placedPositions({ runs: [1, 6] }, defaults, Infinity)).toEqual([7]);
  });

  it('respects the limit it is given', () => {
    expect(placedPositions({ statuses: 30 }, defaults, 1)).toEqual([2]);
    expect(placedPositions({ statuses: 30 }, defaults, 0)).toEqual([]);
  });

  it('obeys firstAfter, minGap, maxPerResponse and picks as many positions as fit (property)', () => {
    const settings = fc.record({
      firstAfter: fc.integer({ min: 1, max: 6 }),
      minGap: fc.integer({ min: 1, max: 6 }),
      maxPerResponse: fc.integer({ min: 1, max: 5 }),
    });
    const feed = fc.oneof(
      fc.record({ statuses: fc.integer({ min: 0, max: 16 }) }),
      fc.record({ runs: fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 10 }) }),
    );
    fc.assert(
      fc.property(settings, feed, fc.integer({ min: 0, max: 6 }), (s, request, limit) => {
        const positions = positionsOf(request);
        const total = 'statuses' in request ? request.statuses : request.runs.reduce((a, b) => a + b, 0);
        const chosen = placedPositions(request, s, limit);
        expect(chosen.length).toBeLessThanOrEqual(Math.min(limit, s.maxPerResponse));
        chosen.forEach((after, i) => {
          expect(positions).toContain(after);
          expect(after).toBeGreaterThanOrEqual(Math.max(1, s.firstAfter));
          expect(after).toBeLessThanOrEqual(total);
          if (i > 0) expect(after - chosen[i - 1]).toBeGreaterThanOrEqual(s.minGap);
        });
        // Greedy from the top is optimal: no valid set of positions is larger (exhaustive search).
        let best = 0;
        const search = (from: number, previous: number, count: number) => {
          best = Math.max(best, count);
          if (count >= Math.min(limit, s.maxPerResponse)) return;
          for (let i = from; i < positions.length; i++) {
            const p = positions[i];
            if (p >= s.firstAfter && p - previous >= s.minGap) {
              search(i + 1, p, count + 1);
            }
          }
        };
        search(0, -Infinity, 0);
        expect(chosen.length).toBe(best);
      }),
      { numRuns: 300 },
    );
  });
});

describe('placementCapacity', () => {
  it('counts what the greedy pick over the list of every position would place, for any feed and settings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ statuses: fc.integer({ min: 0, max: 1000 }) }),
          fc.record({ runs: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 60 }) }),
        ),
        fc.record({
          firstAfter: fc.integer({ min: 1, max: 20 }),
          minGap: fc.integer({ min: 0, max: 20 }),
          maxPerResponse: fc.integer({ min: 0, max: 10 }),
        }),
        (request, settings) => {
          expect(placementCapacity(request, settings)).toBe(greedy(positionsOf(request), settings, Infinity).length);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('placedPositions against the list model', () => {
  it('places what the greedy pick over the list of every position would, for any feed, settings and limit', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ statuses: fc.integer({ min: 0, max: 1000 }) }),
          fc.record({ runs: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 60 }) }),
        ),
        fc.record({
          firstAfter: fc.integer({ min: 1, max: 20 }),
          minGap: fc.integer({ min: 0, max: 20 }),
          maxPerResponse: fc.integer({ min: 0, max: 10 }),
        }),
        fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constant(Infinity)),
        (request, settings, limit) => {
          expect(placedPositions(request, settings, limit)).toEqual(greedy(positionsOf(request), settings, limit));
        },
      ),
      { numRuns: 500 },
    );
  });
});
