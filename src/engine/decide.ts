/**
 * The slot decision: which sponsored items go where in one user's feed.
 * Pure: the clock and the user's and budgets' state are passed in; nothing is awaited.
 */
import {
  affordableBidMicros,
  ecpmMicros,
  ecpmUpperBound,
  frequencyCapAllows,
  inSchedule,
  matchesTargeting,
  maxCostMicros,
  pacingPassRate,
  pickCreative,
  remainingBudgetMicros,
  userCapRemaining,
} from './eligibility.js';
import { placedPositions, placementCapacity } from './placement.js';
import type {
  BudgetState,
  Decision,
  EngineSettings,
  ExplainEntry,
  LossReason,
  PlacedSlot,
  ServableCampaign,
  ServableCreative,
  SlotRequest,
  UnfilledReason,
  UserState,
} from './types.js';

export interface DecideInput {
  now: number;
  settings: EngineSettings;
  /** Candidates, ordered by `ecpmUpperBound` descending (the catalog index keeps them so). */
  campaigns: Iterable<ServableCampaign>;
  user: UserState;
  budgetOf: (campaignId: string) => BudgetState;
  request: SlotRequest;
  /**
   * Uniform draws in [0, 1) for probabilistic pacing (Delivery passes Math.random;
   * tests and simulations a seeded generator). Absent: every draw is 0.5.
   */
  random?: () => number;
}

/** A candidate that may win: what the auction ranks it by (`byEcpm`) and prices with. */
export interface Eligible {
  campaign: ServableCampaign;
  creative: ServableCreative;
  ecpm: number;
  remaining: number;
  /** The bid it competes with: the campaign's, or less when only that much budget is left. */
  bidMicros: number;
  /** eCPM at the campaign's full bid: breaks ties in favour of the higher bidder. */
  fullEcpm: number;
}

/**
 * A candidate, or why it loses. A loss's details (`creativeId`, `remaining`, `ecpm`, `price`) are set only when the
 * request asks for an explanation: without one, the losses below are shared objects with nothing but their `reason`,
 * so read the details only in the explanation (tests that explain would see them, production would not).
 */
type Verdict = Eligible | { reason: LossReason; creativeId?: string; remaining?: number; ecpm?: number; price?: number };

/** The verdicts that carry nothing but their reason: shared, so the many candidates a decision rejects allocate nothing. */
const PAUSED: Verdict = Object.freeze({ reason: 'paused' });
const SCHEDULE: Verdict = Object.freeze({ reason: 'schedule' });
const TARGETING: Verdict = Object.freeze({ reason: 'targeting' });
const NOT_APPROVED: Verdict = Object.freeze({ reason: 'not_approved' });
const BLOCKED: Verdict = Object.freeze({ reason: 'blocked' });
const MUTED: Verdict = Object.freeze({ reason: 'muted' });
// Losses whose details only an explanation reads, for a decision without one: `reason` only (see `Verdict`).
const UNDER_FLOOR: Verdict = Object.freeze({ reason: 'outranked' });
const BUDGET: Verdict = Object.freeze({ reason: 'budget' });
const PACING: Verdict = Object.freeze({ reason: 'pacing' });
const CAPPED: Verdict = Object.freeze({ reason: 'frequency_cap' });

/** What a campaign without a daily or total budget is decided on (nothing of it is read: no limit, no pacing). */
const UNBUDGETED: BudgetState = Object.freeze({ spentTodayMicros: 0, spentTotalMicros: 0, heldMicros: 0 });

/** Checks one campaign for this user and request, returning the first reason it loses. */
function evaluate(campaign: ServableCampaign, input: DecideInput): Verdict {
  const { now, user, request } = input;
  // Paused by the advertiser: a reason of its own, apart from dates (explain only: it is never a candidate).
  if (campaign.status === 'paused') return PAUSED;
  if (!inSchedule(campaign, now)) return SCHEDULE;
  if (!matchesTargeting(campaign.targeting, request.context)) return TARGETING;
  if (campaign.creatives.length === 0) return NOT_APPROVED;
  if (user.blocks.has(campaign.advertiserId)) return BLOCKED;
  if (campaign.advertiser.category !== null && user.mutes.has(campaign.advertiser.category)) return MUTED;
  const creative = pickCreative(campaign, user, now);
  if ('reason' in creative) return creative;
  // Without an explanation only a loss's reason is read: a shared verdict, nothing made per losing candidate.
  const explain = request.explain;
  const fullEcpm = ecpmMicros(campaign, creative);
  if (fullEcpm < input.settings.floorCpmMicros || fullEcpm <= 0)
    return explain ? { reason: 'outranked', creativeId: creative.id, ecpm: fullEcpm } : UNDER_FLOOR;
  // A campaign without a budget neither runs out nor paces on one: its account is not asked for.
  const budget =
    campaign.budget.dailyMicros === undefined && campaign.budget.totalMicros === undefined
      ? UNBUDGETED
      : input.budgetOf(campaign.id);
  const remaining = remainingBudgetMicros(campaign, budget);
  // Whatever the auction clears at must fit the budget: below one full bid's cost, bid only what is left.
  const bidMicros = affordableBidMicros(campaign, remaining);
  const ecpm = bidMicros === campaign.bid.amountMicros ? fullEcpm : ecpmMicros(campaign, creative, bidMicros);
  if (ecpm < input.settings.floorCpmMicros || ecpm <= 0) {
    if (!explain) return BUDGET;
    return { reason: 'budget', creativeId: creative.id, remaining, ecpm: fullEcpm, price: maxCostMicros(campaign) };
  }
  const passRate = pacingPassRate(campaign, creative, budget, now);
  if (passRate < 1 && (passRate <= 0 || (input.random ? input.random() : 0.5) >= passRate)) {
    return explain ? { reason: 'pacing', creativeId: creative.id, remaining, ecpm } : PACING;
  }
  if (!frequencyCapAllows(campaign, user, now)) return explain ? { reason: 'frequency_cap', creativeId: creative.id } : CAPPED;
  return { campaign, creative, ecpm, remaining, bidMicros, fullEcpm };
}

/** Second price: the runner-up's eCPM or the floor, never above the winner's own eCPM; per billable event, ≤ its bid. */
function clearingPrice(winner: Eligible, runnerUp: Eligible | undefined, floorCpmMicros: number): number {
  const priceEcpm = Math.min(winner.ecpm, Math.max(floorCpmMicros, runnerUp?.ecpm ?? 0));
  if (winner.campaign.bid.type === 'cpm') return Math.floor(priceEcpm / 1000);
  const perClick = Math.floor(priceEcpm / (winner.creative.predictedCtr * 1000));
  return Math.min(winner.bidMicros, perClick);
}

/** Rank order: eCPM, then eCPM at the full bid, then campaign id (descending, descending, ascending). */
export function byEcpm(a: Eligible, b: Eligible): number {
  return (
    b.ecpm - a.ecpm || b.fullEcpm - a.fullEcpm || (a.campaign.id < b.campaign.id ? -1 : a.campaign.id > b.campaign.id ? 1 : 0)
  );
}

/** Loss reasons that can explain an empty place (the rest mean the campaign was never a candidate for it). */
const UNFILLED_BY: Partial<Record<LossReason, UnfilledReason>> = {
  frequency_cap: 'frequency_cap',
  blocked: 'blocked',
  hidden: 'hidden',
  budget: 'budget',
  pacing: 'pacing',
  // evaluate() answers 'outranked' only for an eCPM under the floor.
  outranked: 'floor',
};

/**
 * Keeps `top` the best `size` eCPMs of distinct advertisers, descending, as one advertiser's best rises from
 * `previous` (undefined: new) to `ecpm`; in place (no array made per eligible candidate).
 */
function rank(top: number[], previous: number | undefined, ecpm: number, size: number): void {
  if (previous !== undefined) {
    const was = top.indexOf(previous);
    if (was >= 0) {
      for (let i = was; i < top.length - 1; i++) top[i] = top[i + 1];
      top.length--;
    }
  }
  let at = 0;
  while (at < top.length && top[at] >= ecpm) at++;
  if (at >= size) return;
  if (top.length < size) top.push(ecpm);
  for (let i = top.length - 1; i > at; i--) top[i] = top[i - 1];
  top[at] = ecpm;
}

/** Where `e` is or would go in `top` (in rank order), by bisection. */
function placeOf(top: Eligible[], e: Eligible): number {
  let at = 0;
  for (let hi = top.length; at < hi; ) {
    const mid = (at + hi) >>> 1;
    if (byEcpm(top[mid], e) < 0) at = mid + 1;
    else hi = mid;
  }
  return at;
}

/**
 * When one pass gives up. A candidate enters the leading set when it ranks among the best `size` advertisers seen so
 * far: ~size·ln(n) times in a shuffled list, about `size` times in the catalog's order (by eCPM upper bound,
 * descending), each a bisection and a shift of up to `size`. In an order where most candidates enter it (ascending
 * rank; the best first, then ascending) the pass gives up past `insertionBudget` insertions, or, sooner, past
 * `leaders` new leaders (a record, the best so far: ~ln(n) in a shuffled list, 12 at 100,000; one or two in the
 * catalog's order): it then starts over from the other end (an ascending list read backwards is the catalog's
 * order), and past the same there (twice the leaders), the list is sorted.
 */
const LEADERS_BEFORE_TURNING = 16;
const insertionBudget = (n: number, size: number) => size * Math.log(n + 1) + 64;

/**
 * The bests of the leading `size` advertisers in rank order, in one pass (from the end when `backwards`); undefined
 * once more than `at.most` candidates have entered them, or more than `at.leaders` have led.
 */
function leadersInOnePass(
  eligible: Eligible[],
  size: number,
  backwards: boolean,
  at: { most: number; leaders: number },
): Eligible[] | undefined {
  const top: Eligible[] = []; // the best of each leading advertiser so far, in rank order
  const bestOf = new Map<string, Eligible>(); // the same, by advertiser
  let insertions = 0;
  let leaders = 0;
  const step = backwards ? -1 : 1;
  for (let k = backwards ? eligible.length - 1 : 0, stop = backwards ? -1 : eligible.length; k !== stop; k += step) {
    const e = eligible[k];
    if (top.length === size && byEcpm(e, top[size - 1]) >= 0) continue;
    const advertiser = e.campaign.advertiserId;
    const previous = bestOf.get(advertiser);
    if (previous !== undefined && byEcpm(previous, e) < 0) continue;
    if (++insertions > at.most) return undefined;
    bestOf.set(advertiser, e);
    // Shift down from its place over its advertiser's previous best if among them, or else over the last if full.
    let end = previous === undefined ? top.length : placeOf(top, previous);
    if (end === size) bestOf.delete(top[--end].campaign.advertiserId);
    const place = placeOf(top, e);
    if (place === 0 && ++leaders > at.leaders) return undefined;
    for (let i = end; i > place; i--) top[i] = top[i - 1];
    top[place] = e;
  }
  return top;
}

/** The same from a sorted copy: the first candidate of each of the first `size` advertisers. */
function leadersBySort(eligible: Eligible[], size: number): Eligible[] {
  const top: Eligible[] = [];
  const served = new Set<string>();
  for (const e of eligible.slice().sort(byEcpm)) {
    if (served.has(e.campaign.advertiserId)) continue;
    served.add(e.campaign.advertiserId);
    if (top.push(e) === size) break;
  }
  return top;
}

/**
 * Up to `wanted` winners in rank order (`byEcpm`), one per advertiser, each priced by the next in that order
 * (second price). Advertisers rank by their best-ranked eligible candidate, which is the one they serve: winner k is
 * the best of the k-th advertiser, and the best of the other advertisers not yet served is the best of the (k+1)-th.
 * So one pass keeps the bests of the leading `wanted + 1` advertisers in order; a candidate ranked after the last of
 * them is passed over at one comparison (it can neither win nor set a price, nor be its advertiser's best among
 * them). The eligible are not sorted (only the explanation needs them in order), unless one pass from either end
 * would cost more than a sort (LEADERS_BEFORE_TURNING, insertionBudget).
 */
export function chooseWinners(
  eligible: Eligible[],
  wanted: number,
  floorCpmMicros: number,
): { winner: Eligible; price: number }[] {
  if (wanted <= 0) return [];
  const size = wanted + 1;
  const most = insertionBudget(eligible.length, size);
  const top =
    leadersInOnePass(eligible, size, false, { most, leaders: LEADERS_BEFORE_TURNING }) ??
    leadersInOnePass(eligible, size, true, { most, leaders: 2 * LEADERS_BEFORE_TURNING }) ??
    leadersBySort(eligible, size);
  const winners: { winner: Eligible; price: number }[] = [];
  for (let k = 0; k < wanted && k < top.length; k++) {
    winners.push({ winner: top[k], price: clearingPrice(top[k], top[k + 1], floorCpmMicros) });
  }
  return winners;
}

/** Decides the slots for one feed response. */
export function decide(input: DecideInput): Decision {
  const { settings, request, user, now } = input;
  const userRemaining = userCapRemaining(user, now, settings.userCap);
  const capacity = placementCapacity(request, settings.placement);
  const wanted = Math.min(capacity, userRemaining);
  // The best-ranked candidate's reason for losing, for the metrics of unfilled places.
  let shortfall: UnfilledReason | undefined;

  const eligible: Eligible[] = [];
  const explain: ExplainEntry[] | undefined = request.explain ? [] : undefined;
  // Stop once wanted + 1 distinct advertisers are eligible and no later (lower-bounded) candidate
  // could beat the (wanted + 1)-th best of them: it could then neither win nor set a price.
  const bestOfAdvertiser = new Map<string, number>();
  const top: number[] = []; // the best eCPM of the leading wanted + 1 advertisers, descending
  for (const campaign of input.campaigns) {
    if (!explain && (wanted === 0 || (top.length >= wanted + 1 && ecpmUpperBound(campaign) < top[wanted]))) break;
    const verdict = evaluate(campaign, input);
    if ('reason' in verdict) {
      shortfall ??= UNFILLED_BY[verdict.reason];
      if (explain) {
        const entry: ExplainEntry = { campaignId: campaign.id, outcome: 'rejected', reason: verdict.reason };
        if (verdict.creativeId) entry.creativeId = verdict.creativeId;
        if (verdict.ecpm !== undefined) entry.ecpmMicros = verdict.ecpm;
        if (verdict.price !== undefined) entry.priceMicros = verdict.price;
        if (verdict.remaining !== undefined && Number.isFinite(verdict.remaining))
          entry.remainingBudgetMicros = verdict.remaining;
        explain.push(entry);
      }
      continue;
    }
    eligible.push(verdict);
    const previous = bestOfAdvertiser.get(campaign.advertiserId);
    if (previous === undefined || verdict.ecpm > previous) {
      bestOfAdvertiser.set(campaign.advertiserId, verdict.ecpm);
      rank(top, previous, verdict.ecpm, wanted + 1);
    }
  }

  const winners = chooseWinners(eligible, wanted, settings.floorCpmMicros);

  const afters = placedPositions(request, settings.placement, winners.length);
  const slots: PlacedSlot[] = new Array(winners.length);
  for (let i = 0; i < winners.length; i++) {
    const { winner, price } = winners[i];
    slots[i] = {
      after: afters[i],
      campaign: winner.campaign,
      creative: winner.creative,
      ecpmMicros: winner.ecpm,
      priceMicros: price,
    };
  }

  let unfilled: Decision['unfilled'];
  if (slots.length < capacity) {
    unfilled = [];
    if (wanted < capacity) unfilled.push({ reason: 'user_cap', count: capacity - wanted });
    if (slots.length < wanted) unfilled.push({ reason: shortfall ?? 'no_candidate', count: wanted - slots.length });
  }

  if (explain) {
    eligible.sort(byEcpm);
    const served = new Map(slots.map((s) => [s.campaign.id, s]));
    // Advertisers in rank order (by their best candidate): the one at rank r would have had a place had the user cap
    // allowed it when wanted ≤ r < capacity, so the user cap, not the auction, is what it lost on.
    const cappedOut = new Set<Eligible>();
    if (wanted < capacity) {
      const ranked = new Set<string>();
      for (const e of eligible) {
        if (ranked.has(e.campaign.advertiserId)) continue;
        ranked.add(e.campaign.advertiserId);
        if (ranked.size > capacity) break;
        if (ranked.size > wanted) cappedOut.add(e);
      }
    }
    for (const e of eligible) {
      const slot = served.get(e.campaign.id);
      const entry: ExplainEntry = slot
        ? {
            campaignId: e.campaign.id,
            creativeId: e.creative.id,
            outcome: 'served',
            ecpmMicros: e.ecpm,
            priceMicros: slot.priceMicros,
          }
        : {
            campaignId: e.campaign.id,
            creativeId: e.creative.id,
            outcome: 'rejected',
            reason:
              userRemaining === 0 || cappedOut.has(e)
                ? 'user_cap'
                : winners.some((w) => w.winner.campaign.advertiserId === e.campaign.advertiserId)
                  ? 'advertiser_diversity'
                  : 'outranked',
            ecpmMicros: e.ecpm,
          };
      if (Number.isFinite(e.remaining)) entry.remainingBudgetMicros = e.remaining;
      explain.push(entry);
    }
    return unfilled ? { slots, explain, unfilled } : { slots, explain };
  }
  return unfilled ? { slots, unfilled } : { slots };
}
