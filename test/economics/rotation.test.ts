/** Creative rotation: the creative this user has seen least, then the better predicted CTR. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { advertiserCard } from '../../src/engine/card.js';
import { pickCreative } from '../../src/engine/eligibility.js';
import type { HistoryEntry, ServableCampaign, UserState } from '../../src/engine/types.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const creative = (id: string, predictedCtr: number) => ({
  id,
  headline: id,
  cta: { type: 'website' as const, target: 'https://x.example' },
  media: { url: '/m', mime: 'image/png', width: 9, height: 16 },
  predictedCtr,
});
const campaignWith = (ctrs: number[]): ServableCampaign => ({
  id: 'c',
  advertiserId: 'a',
  advertiser: advertiserCard({ id: 'a', name: 'A' }),
  status: 'active',
  startAt: 0,
  endAt: null,
  bid: { type: 'cpm', amountMicros: 1_000_000 },
  budget: {},
  pacing: 'asap',
  targeting: {},
  caps: [],
  creatives: ctrs.map((ctr, i) => creative(`k${i}`, ctr)),
  hasCreatives: true,
});
const seen = (creativeId: string, n: number, live = false): HistoryEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    reservationId: `${creativeId}-${i}`,
    campaignId: 'c',
    creativeId,
    advertiserId: 'a',
    servedAt: NOW - 60_000 * (i + 1),
    expiresAt: live && i === 0 ? NOW + 1000 : NOW - 1,
    viewed: !(live && i === 0),
  }));
const user = (history: HistoryEntry[], hides: string[] = []): UserState => ({
  history,
  blocks: new Set(),
  hides: new Set(hides),
  mutes: new Set(),
});

describe('pickCreative', () => {
  it('prefers the best predicted CTR among unseen creatives', () => {
    expect(pickCreative(campaignWith([0.01, 0.03, 0.02]), user([]), NOW)).toEqual(expect.objectContaining({ id: 'k1' }));
  });
  it('prefers the least-seen creative over a better CTR', () => {
    expect(pickCreative(campaignWith([0.01, 0.03]), user(seen('k1', 1)), NOW)).toEqual(expect.objectContaining({ id: 'k0' }));
  });
  it('skips hidden creatives and ones reserved for the user right now', () => {
    expect(pickCreative(campaignWith([0.01, 0.03]), user([], ['k1']), NOW)).toEqual(expect.objectContaining({ id: 'k0' }));
    expect(pickCreative(campaignWith([0.01, 0.03]), user([...seen('k0', 3), ...seen('k1', 1, true)]), NOW)).toEqual(
      expect.objectContaining({ id: 'k0' }),
    );
    expect(pickCreative(campaignWith([0.01]), user([], ['k0']), NOW)).toEqual({ reason: 'hidden' });
    expect(pickCreative(campaignWith([0.01]), user(seen('k0', 1, true)), NOW)).toEqual({ reason: 'frequency_cap' });
  });
  it('property: the pick minimises (times seen, −CTR) over visible, unreserved creatives', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ctr: fc.double({ min: 0, max: 1, noNaN: true }), seen: fc.integer({ min: 0, max: 4 }) }), {
          minLength: 1,
          maxLength: 5,
        }),
        (specs) => {
          const campaign = campaignWith(specs.map((s) => s.ctr));
          const history = specs.flatMap((s, i) => seen(`k${i}`, s.seen));
          const pick = pickCreative(campaign, user(history), NOW);
          if ('reason' in pick) throw new Error('no pick');
          const chosen = specs[Number(pick.id.slice(1))];
          for (const s of specs) {
            expect(chosen.seen <= s.seen).toBe(true);
            if (s.seen === chosen.seen) expect(chosen.ctr).toBeGreaterThanOrEqual(s.ctr);
          }
        },
      ),
    );
  });
});
