/**
 * Properties of the slot decision over random catalogs, users and sequences of
 * slot requests, events and clock moves. The model applies each response as
 * reservations (as the delivery layer does) and checks the product's invariants
 * with its own arithmetic, never the engine's helpers.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CatalogIndex } from '../../src/catalog/index.js';
import { decide } from '../../src/engine/decide.js';
import { eventEffect } from '../../src/engine/events.js';
import type { EngineSettings, RequestContext, ServableCampaign, Targeting } from '../../src/engine/types.js';
import {
  type Action,
  actionArb,
  BudgetModel,
  catalogArb,
  counted,
  type GenCampaign,
  REASONS,
  type ServedSlot,
  servable,
  settingsArb,
  T0,
  USERS,
  worstWindow,
} from '../helpers/engine-model.js';

const stats = { responses: 0, slots: 0, impressions: 0, charges: 0, blockedSkips: 0 };

function targetingMatches(t: Targeting, c: RequestContext): boolean {
  const ok = <T>(list: T[] | undefined, value: T | undefined) =>
    list === undefined || (value !== undefined && list.includes(value));
  return ok(t.countries, c.country) && ok(t.languages, c.language) && ok(t.platforms, c.platform);
}

function expectedPositions(request: { statuses?: number; runs?: number[] }): number[] {
  if (request.runs) {
    let sum = 0;
    return request.runs.map((r) => (sum += r));
  }
  return Array.from({ length: request.statuses ?? 0 }, (_, i) => i + 1);
}

/** How many of those positions the greedy pick from the top takes (firstAfter, minGap, maxPerResponse). */
function greedyPlaces(positions: number[], p: EngineSettings['placement']): number {
  let count = 0;
  let previous = -Infinity;
  for (const after of positions) {
    if (count >= p.maxPerResponse) break;
    if (after < p.firstAfter || after - previous < p.minGap) continue;
    count++;
    previous = after;
  }
  return count;
}

function remaining(campaign: ServableCampaign, b: { spentTodayMicros: number; spentTotalMicros: number; heldMicros: number }) {
  let left = Infinity;
  if (campaign.budget.dailyMicros !== undefined)
    left = Math.min(left, campaign.budget.dailyMicros - b.spentTodayMicros - b.heldMicros);
  if (campaign.budget.totalMicros !== undefined)
    left = Math.min(left, campaign.budget.totalMicros - b.spentTotalMicros - b.heldMicros);
  return left;
}

function simulate(settings: EngineSettings, catalog: GenCampaign[], actions: Action[]) {
  const campaigns = servable(catalog);
  const index = new CatalogIndex(undefined as never, (sha) => `/media/${sha}`);
  index.build(campaigns);
  const generated = new Map(catalog.map((c) => [c.id, c]));
  const users = Array.from({ length: USERS }, () => ({
    history: [] as ServedSlot[],
    blocks: new Set<string>(),
    hides: new Set<string>(),
    mutes: new Set<string>(),
  }));
  const served: ServedSlot[] = [];
  const seenEvents = new Set<string>();
  const budgets = new BudgetModel();
  let now = T0;
  let seq = 0;

  for (const action of actions) {
    if (action.kind === 'advance') now += action.ms;
    if (action.kind === 'block') users[action.user].blocks.add(`a${action.advertiser}`);
    if (action.kind === 'unblock') users[action.user].blocks.delete(`a${action.advertiser}`);
    if (action.kind === 'mute') users[action.user].mutes.add(action.category);
    if (action.kind === 'unmute') users[action.user].mutes.delete(action.category);
    if (action.kind === 'event' && served.length > 0) {
      const slot = served[action.pick % served.length];
      const key = `${slot.reservationId}:${action.type}`;
      // An expired token is rejected; a replayed (token, type) counts once.
      if (slot.expiresAt > now && !seenEvents.has(key)) {
        seenEvents.add(key);
        const effect = eventEffect(
          { bidType: slot.bidType, priceMicros: slot.priceMicros, viewedAt: slot.viewed ? now : null, chargedAt: slot.chargedAt },
          action.type,
        );
        if (effect.converts && !slot.viewed) {
          slot.viewed = true;
          stats.impressions++;
        }
        if (effect.chargeMicros > 0) {
          slot.chargedAt = now;
          budgets.charge(slot.campaignId, slot.reservationId, effect.chargeMicros, now);
          stats.charges++;
        }
        if (effect.blocksAdvertiser) users[slot.user].blocks.add(slot.advertiserId);
        if (effect.hidesCreative) users[slot.user].hides.add(slot.creativeId);
      }
    }
    if (action.kind === 'slots') {
      const user = users[action.user];
      const request = { statuses: action.statuses, runs: action.runs, context: action.context, explain: action.explain };
      const reservedBefore = new Set(user.history.filter((e) => !e.viewed && e.expiresAt > now).map((e) => e.creativeId));
      const budgetsBefore = new Map(campaigns.map((c) => [c.id, budgets.view(c.id, now)]));
      const run = (explain: boolean) =>
        decide({
          now,
          settings,
          campaigns: index.candidates(action.context, explain),
          user: { history: user.history, blocks: new Set(user.blocks), hides: new Set(user.hides), mutes: new Set(user.mutes) },
          budgetOf: (id) => budgets.view(id, now),
          request: { ...request, explain },
        });
      const decision = run(action.explain);
      stats.responses++;

      // Explain must not change the outcome (the non-explain path prunes candidates).
      const other = run(!action.explain);
      const shape = (d: typeof decision) => d.slots.map((s) => [s.after, s.campaign.id, s.creative.id, s.priceMicros]);
      expect(shape(other)).toEqual(shape(decision));
      // Every place the feed could hold is served or counted unfilled (metrics), the same way with or without explain.
      expect(other.unfilled).toEqual(decision.unfilled);
      const unfilled = (decision.unfilled ?? []).reduce((sum, u) => sum + u.count, 0);
      expect(decision.slots.length + unfilled).toBe(greedyPlaces(expectedPositions(request), settings.placement));

      // Placement.
      const positions = expectedPositions(request);
      const afters = decision.slots.map((s) => s.after);
      expect(afters.length).toBeLessThanOrEqual(settings.placement.maxPerResponse);
      afters.forEach((after, i) => {
        expect(positions).toContain(after);
        expect(after).toBeGreaterThanOrEqual(1);
        expect(after).toBeLessThanOrEqual(positions.at(-1) ?? 0);
        expect(after).toBeGreaterThanOrEqual(settings.placement.firstAfter);
        if (i > 0) expect(after - afters[i - 1]).toBeGreaterThanOrEqual(settings.placement.minGap);
      });
      // One advertiser and one creative at most once per response.
      expect(new Set(decision.slots.map((s) => s.campaign.advertiserId)).size).toBe(decision.slots.length);
      expect(new Set(decision.slots.map((s) => s.creative.id)).size).toBe(decision.slots.length);

      for (const slot of decision.slots) {
        const campaign = generated.get(slot.campaign.id)!;
        const creative = campaign.allCreatives.find((k) => k.id === slot.creative.id)!;
        expect(creative?.approved).toBe(true);
        expect(campaign.status).toBe('active');
        expect(campaign.startAt).toBeLessThanOrEqual(now);
        if (campaign.endAt !== null) expect(now).toBeLessThan(campaign.endAt);
        expect(targetingMatches(campaign.targeting, action.context)).toBe(true);
        expect(user.blocks.has(campaign.advertiserId)).toBe(false);
        // A muted category is never served to that user.
        const category = slot.campaign.advertiser.category;
        if (category !== null) expect(user.mutes.has(category)).toBe(false);
        expect(user.hides.has(creative.id)).toBe(false);
        expect(reservedBefore.has(creative.id)).toBe(false);
        const ecpm =
          campaign.bid.type === 'cpm' ? campaign.bid.amountMicros : campaign.bid.amountMicros * creative.predictedCtr * 1000;
        expect(ecpm).toBeGreaterThanOrEqual(settings.floorCpmMicros);
        const maxCost = campaign.bid.type === 'cpm' ? Math.floor(campaign.bid.amountMicros / 1000) : campaign.bid.amountMicros;
        expect(slot.priceMicros).toBeLessThanOrEqual(maxCost);
        expect(slot.priceMicros).toBeGreaterThan(0);
        // What it can be charged fits the budget left (a campaign short of one full event bids only what it has).
        expect(remaining(slot.campaign, budgetsBefore.get(campaign.id)!)).toBeGreaterThanOrEqual(slot.priceMicros);
      }

      if (action.explain) {
        const explain = decision.explain!;
        expect(explain).toBeDefined();
        // Every candidate once, with a reason from the product's list when it lost.
        expect(explain.map((e) => e.campaignId).sort()).toEqual(campaigns.map((c) => c.id).sort());
        for (const entry of explain) {
          if (entry.outcome === 'rejected') expect(REASONS).toContain(entry.reason);
          else expect(entry.reason).toBeUndefined();
        }
        expect(
          explain
            .filter((e) => e.outcome === 'served')
            .map((e) => e.campaignId)
            .sort(),
        ).toEqual(decision.slots.map((s) => s.campaign.id).sort());
        for (const entry of explain) {
          const c = generated.get(entry.campaignId)!;
          if (entry.reason === 'blocked') expect(user.blocks.has(c.advertiserId)).toBe(true);
          if (entry.reason === 'muted') {
            const category = campaigns.find((k) => k.id === entry.campaignId)!.advertiser.category;
            expect(category !== null && user.mutes.has(category)).toBe(true);
          }
          if (entry.reason === 'targeting') expect(targetingMatches(c.targeting, action.context)).toBe(false);
          if (entry.reason === 'not_approved') expect(c.allCreatives.some((k) => k.approved)).toBe(false);
        }
      } else {
        expect(decision.explain).toBeUndefined();
      }

      // Apply the response as the delivery layer does: hold budget, then reserve.
      for (const slot of decision.slots) {
        if (remaining(slot.campaign, budgets.view(slot.campaign.id, now)) < slot.priceMicros) continue;
        const reservationId = `r${seq++}`;
        budgets.hold(slot.campaign.id, reservationId, slot.priceMicros, now + settings.tokenTtlMs);
        const entry: ServedSlot = {
          reservationId,
          campaignId: slot.campaign.id,
          creativeId: slot.creative.id,
          advertiserId: slot.campaign.advertiserId,
          servedAt: now,
          expiresAt: now + settings.tokenTtlMs,
          viewed: false,
          user: action.user,
          bidType: slot.campaign.bid.type,
          priceMicros: slot.priceMicros,
          chargedAt: null,
        };
        user.history.push(entry);
        served.push(entry);
        stats.slots++;
      }
    }

    // Invariants at every step: impressions + live reservations within every cap window.
    for (const user of users) {
      const live = counted(user.history, now);
      expect(worstWindow(live, settings.userCap)).toBeLessThanOrEqual(settings.userCap.impressions);
      for (const campaign of catalog) {
        const own = live.filter((e) => e.campaignId === campaign.id);
        for (const cap of campaign.caps) expect(worstWindow(own, cap)).toBeLessThanOrEqual(cap.impressions);
      }
    }
    // Spend never exceeds a budget.
    for (const campaign of catalog) {
      const byDay = budgets.spendByDay(campaign.id);
      const total = [...byDay.values()].reduce((a, b) => a + b, 0);
      if (campaign.budget.totalMicros !== undefined) expect(total).toBeLessThanOrEqual(campaign.budget.totalMicros);
      if (campaign.budget.dailyMicros !== undefined)
        for (const spent of byDay.values()) expect(spent).toBeLessThanOrEqual(campaign.budget.dailyMicros);
    }
  }
}

describe('decide (properties)', () => {
  afterAll(() => {
    // The properties above are only meaningful if ads were actually served and viewed.
    expect(stats.slots).toBeGreaterThan(100);
    expect(stats.impressions).toBeGreaterThan(20);
    expect(stats.charges).toBeGreaterThan(5);
  });

  it('holds caps, blocks, hides, placement, eligibility and budgets over any sequence', () => {
    fc.assert(
      fc.property(settingsArb, catalogArb, fc.array(actionArb, { minLength: 1, maxLength: 60 }), (settings, catalog, actions) => {
        simulate(settings, catalog, actions);
      }),
      { numRuns: 250 },
    );
  });

  it('holds the invariants under tight caps and generous budgets (many repeats per user)', () => {
    const tight = catalogArb.map((catalog) =>
      catalog.map((c) => ({
        ...c,
        status: 'active' as const,
        startAt: T0 - 86_400_000,
        endAt: null,
        targeting: {},
        budget: {},
        bid: { type: 'cpm' as const, amountMicros: 1_000_000 + c.bid.amountMicros },
        allCreatives: c.allCreatives.map((k) => ({ ...k, approved: true })),
      })),
    );
    const busy = fc.array(
      fc.oneof(
        { weight: 4, arbitrary: actionArb.filter((a) => a.kind === 'slots') },
        { weight: 4, arbitrary: actionArb.filter((a) => a.kind === 'event') },
        {
          weight: 1,
          arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1_000, max: 1_000_000 }) }),
        },
      ),
      { minLength: 10, maxLength: 80 },
    );
    fc.assert(
      fc.property(settingsArb, tight, busy, (settings, catalog, actions) => simulate(settings, catalog, actions)),
      { numRuns: 150 },
    );
  });
});
