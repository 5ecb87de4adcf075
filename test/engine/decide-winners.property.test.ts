/**
 * The auction's winners and prices (`chooseWinners`: one pass keeping the leading advertisers' bests) against the
 * plain model with its own rank order (PRODUCT.md, docs/economics.md §4: eCPM, then the higher full bid, then the
 * lower campaign id): sort them all, then for each place take the first of an advertiser not yet served, priced by
 * the first after it of another advertiser not yet served. Ties of eCPM, full eCPM and advertisers are made often;
 * lists in ascending rank (read from the end) and rising then falling (sorted) take its other ways.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseWinners, type Eligible } from '../../src/engine/decide.js';
import type { ServableCampaign, ServableCreative } from '../../src/engine/types.js';

/** The model's rank order, written here rather than imported: eCPM, full eCPM (both descending), campaign id ascending. */
function rankOrder(a: Eligible, b: Eligible): number {
  if (a.ecpm !== b.ecpm) return b.ecpm - a.ecpm;
  if (a.fullEcpm !== b.fullEcpm) return b.fullEcpm - a.fullEcpm;
  return a.campaign.id < b.campaign.id ? -1 : 1; // campaign ids are unique
}

function modelWinners(eligible: Eligible[], wanted: number, floor: number) {
  const sorted = [...eligible].sort(rankOrder);
  const used = new Set<string>();
  const winners: { id: string; price: number }[] = [];
  for (let slot = 0; slot < wanted; slot++) {
    const index = sorted.findIndex((e) => !used.has(e.campaign.advertiserId));
    if (index < 0) break;
    const winner = sorted[index];
    const runnerUp = sorted.find(
      (e, i) => i > index && e.campaign.advertiserId !== winner.campaign.advertiserId && !used.has(e.campaign.advertiserId),
    );
    // Second price, as decide.ts prices it (its own arithmetic here).
    const priceEcpm = Math.min(winner.ecpm, Math.max(floor, runnerUp?.ecpm ?? 0));
    const price =
      winner.campaign.bid.type === 'cpm'
        ? Math.floor(priceEcpm / 1000)
        : Math.min(winner.bidMicros, Math.floor(priceEcpm / (winner.creative.predictedCtr * 1000)));
    winners.push({ id: winner.campaign.id, price });
    used.add(winner.campaign.advertiserId);
  }
  return winners;
}

function eligibleOf(rows: { advertiser: number; ecpm: number; extra: number; type: 'cpm' | 'cpc'; ctr: number }[]): Eligible[] {
  return rows.map((r, i): Eligible => {
    const creative = { id: `k${i}`, predictedCtr: r.ctr } as ServableCreative;
    const campaign = {
      id: `c${(i * 7919) % 31}-${i}`,
      advertiserId: `a${r.advertiser}`,
      bid: { type: r.type, amountMicros: r.ecpm + r.extra },
    } as ServableCampaign;
    return { campaign, creative, ecpm: r.ecpm, remaining: Infinity, bidMicros: r.ecpm, fullEcpm: r.ecpm + r.extra };
  });
}

// 1 to 40 advertisers, up to 80 candidates; 8 eCPMs and 3 full-bid extras, so equal ranks but for the id are common.
const eligibleArb = fc
  .integer({ min: 1, max: 40 })
  .chain((advertisers) =>
    fc.array(
      fc.record({
        advertiser: fc.integer({ min: 0, max: advertisers - 1 }),
        ecpm: fc.integer({ min: 1, max: 8 }).map((x) => x * 500),
        extra: fc.integer({ min: 0, max: 2 }).map((x) => x * 250),
        type: fc.constantFrom('cpm' as const, 'cpc' as const),
        ctr: fc.constantFrom(0.01, 0.02, 0.05),
      }),
      { maxLength: 80 },
    ),
  )
  .map(eligibleOf);

// Longer lists in one order: descending rank (the catalog's), ascending (costly for the one pass: it reads them from
// the end instead), the best first and then ascending (costly forwards too: read from the end), or rising to the best
// and falling after it (costly both ways: sorted instead). Up to 300 candidates, more eCPMs, ties still common.
const orderedArb = fc
  .tuple(
    fc.integer({ min: 1, max: 60 }),
    fc.integer({ min: 0, max: 300 }),
    fc.constantFrom('ascending' as const, 'descending' as const, 'headUp' as const, 'mountain' as const),
  )
  .chain(([advertisers, length, order]) =>
    fc
      .array(
        fc.record({
          advertiser: fc.integer({ min: 0, max: advertisers - 1 }),
          ecpm: fc.integer({ min: 1, max: 200 }).map((x) => x * 500),
          extra: fc.integer({ min: 0, max: 2 }).map((x) => x * 250),
          type: fc.constantFrom('cpm' as const, 'cpc' as const),
          ctr: fc.constantFrom(0.01, 0.02, 0.05),
        }),
        { minLength: length, maxLength: length },
      )
      .map((rows) => {
        const eligible = eligibleOf(rows).sort(rankOrder);
        if (order === 'ascending') return eligible.reverse();
        if (order === 'descending') return eligible;
        if (order === 'headUp') return [...eligible.slice(0, 1), ...eligible.slice(1).reverse()];
        return [...eligible.filter((_, i) => i % 2 === 1).reverse(), ...eligible.filter((_, i) => i % 2 === 0)];
      }),
  );

describe('chooseWinners', () => {
  it('picks and prices as sorting would when the candidates arrive in ascending, descending, best-then-ascending or rising-then-falling rank', () => {
    fc.assert(
      fc.property(orderedArb, fc.integer({ min: 0, max: 40 }), fc.constantFrom(0, 500, 1500), (eligible, wanted, floor) => {
        const given = [...eligible];
        const got = chooseWinners(eligible, wanted, floor).map((w) => ({ id: w.winner.campaign.id, price: w.price }));
        expect(got).toEqual(modelWinners(eligible, wanted, floor));
        // The caller's list is left in its order.
        expect(eligible).toEqual(given);
      }),
      { numRuns: 1000 },
    );
  });

  it('picks and prices as sorting every eligible candidate would', () => {
    fc.assert(
      fc.property(eligibleArb, fc.integer({ min: 0, max: 12 }), fc.constantFrom(0, 500, 1500), (eligible, wanted, floor) => {
        const got = chooseWinners(eligible, wanted, floor).map((w) => ({ id: w.winner.campaign.id, price: w.price }));
        expect(got).toEqual(modelWinners(eligible, wanted, floor));
      }),
      { numRuns: 3000 },
    );
  });

  it("breaks a tie of eCPM and full eCPM to the lower campaign id, which pays the other one's eCPM", () => {
    const tied = { ecpm: 5000, extra: 250, type: 'cpm' as const, ctr: 0.02 };
    const [lower, higher] = eligibleOf([
      { ...tied, advertiser: 1 },
      { ...tied, advertiser: 2 },
    ]);
    expect(lower.campaign.id < higher.campaign.id).toBe(true); // "c0-0" < "c14-1"
    const winners = chooseWinners([higher, lower], 2, 2000); // the higher id seen first
    expect(winners.map((w) => [w.winner.campaign.id, w.price])).toEqual([
      [lower.campaign.id, 5], // the other's eCPM 5000 per thousand
      [higher.campaign.id, 2], // nobody left: the floor
    ]);
  });
});
