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
import { candidatePositions, choosePositions } from './placement.js';
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

interface Eligible {
  campaign: ServableCampaign;
  creative: ServableCreative;
  ecpm: number;
  remaining: number;
  /** The bid it competes with: the campaign's, or less when only that much budget is left. */
  bidMicros: number;
  /** eCPM at the campaign's full bid: breaks ties in favour of the higher bidder. */
  fullEcpm: number;
}

type Verdict = Eligible | { reason: LossReason; creativeId?: string; remaining?: number; ecpm?: number; price?: number };

/** The verdicts that carry nothing but their reason: shared, so the many candidates a decision rejects allocate nothing. */
const SCHEDULE: Verdict = Object.freeze({ reason: 'schedule' });
const TARGETING: Verdict = Object.freeze({ reason: 'targeting' });
const NOT_APPROVED: Verdict = Object.freeze({ reason: 'not_approved' });
const BLOCKED: Verdict = Object.freeze({ reason: 'blocked' });
const MUTED: Verdict = Object.freeze({ reason: 'muted' });

/** Checks one campaign for this user and request, returning the first reason it loses. */
function evaluate(campaign: ServableCampaign, input: DecideInput): Verdict {
  const { now, user, request } = input;
  if (!inSchedule(campaign, now)) return SCHEDULE;
  if (!matchesTargeting(campaign.targeting, request.context)) return TARGETING;
  if (campaign.creatives.length === 0) return NOT_APPROVED;
  if (user.blocks.has(campaign.advertiserId)) return BLOCKED;
  if (campaign.advertiser.category !== null && user.mutes.has(campaign.advertiser.category)) return MUTED;
  const pick = pickCreative(campaign, user, now);
  if ('reason' in pick) return pick;
  const creative = pick.creative;
  const fullEcpm = ecpmMicros(campaign, creative);
  if (fullEcpm < input.settings.floorCpmMicros || fullEcpm <= 0)
    return { reason: 'outranked', creativeId: creative.id, ecpm: fullEcpm };
  const budget = input.budgetOf(campaign.id);
  const remaining = remainingBudgetMicros(campaign, budget);
  // Whatever the auction clears at must fit the budget: below one full bid's cost, bid only what is left.
  const bidMicros = affordableBidMicros(campaign, remaining);
  const ecpm = bidMicros === campaign.bid.amountMicros ? fullEcpm : ecpmMicros(campaign, creative, bidMicros);
  if (ecpm < input.settings.floorCpmMicros || ecpm <= 0) {
    return { reason: 'budget', creativeId: creative.id, remaining, ecpm: fullEcpm, price: maxCostMicros(campaign) };
  }
  const passRate = pacingPassRate(campaign, creative, budget, now);
  if (passRate < 1 && (passRate <= 0 || (input.random ? input.random() : 0.5) >= passRate)) {
    return { reason: 'pacing', creativeId: creative.id, remaining, ecpm };
  }
  if (!frequencyCapAllows(campaign, user, now)) return { reason: 'frequency_cap', creativeId: creative.id };
  return { campaign, creative, ecpm, remaining, bidMicros, fullEcpm };
}

/** Second price: the runner-up's eCPM or the floor, never above the winner's own eCPM; per billable event, ≤ its bid. */
function clearingPrice(winner: Eligible, runnerUp: Eligible | undefined, floorCpmMicros: number): number {
  const priceEcpm = Math.min(winner.ecpm, Math.max(floorCpmMicros, runnerUp?.ecpm ?? 0));
  if (winner.campaign.bid.type === 'cpm') return Math.floor(priceEcpm / 1000);
  const perClick = Math.floor(priceEcpm / (winner.creative.predictedCtr * 1000));
  return Math.min(winner.bidMicros, perClick);
}

function byEcpm(a: Eligible, b: Eligible): number {
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

/** Decides the slots for one feed response. */
export function decide(input: DecideInput): Decision {
  const { settings, request, user, now } = input;
  const positions = candidatePositions(request);
  const userRemaining = userCapRemaining(user, now, settings.userCap);
  const capacity = choosePositions(positions, settings.placement, Infinity).length;
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
      const was = previous === undefined ? -1 : top.indexOf(previous);
      if (was >= 0) top.splice(was, 1);
      let at = 0;
      while (at < top.length && top[at] >= verdict.ecpm) at++;
      top.splice(at, 0, verdict.ecpm);
      if (top.length > wanted + 1) top.pop();
    }
  }
  eligible.sort(byEcpm);

  const winners: { winner: Eligible; price: number }[] = [];
  const usedAdvertisers = new Set<string>();
  for (let slot = 0; slot < wanted; slot++) {
    const index = eligible.findIndex((e) => !usedAdvertisers.has(e.campaign.advertiserId));
    if (index < 0) break;
    const winner = eligible[index];
    const runnerUp = eligible.find(
      (e, i) =>
        i > index && e.campaign.advertiserId !== winner.campaign.advertiserId && !usedAdvertisers.has(e.campaign.advertiserId),
    );
    winners.push({ winner, price: clearingPrice(winner, runnerUp, settings.floorCpmMicros) });
    usedAdvertisers.add(winner.campaign.advertiserId);
  }

  const afters = choosePositions(positions, settings.placement, winners.length);
  const slots: PlacedSlot[] = winners.map(({ winner, price }, i) => ({
    after: afters[i],
    campaign: winner.campaign,
    creative: winner.creative,
    ecpmMicros: winner.ecpm,
    priceMicros: price,
  }));

  let unfilled: Decision['unfilled'];
  if (slots.length < capacity) {
    unfilled = [];
    if (wanted < capacity) unfilled.push({ reason: 'user_cap', count: capacity - wanted });
    if (slots.length < wanted) unfilled.push({ reason: shortfall ?? 'no_candidate', count: wanted - slots.length });
  }

  if (explain) {
    const served = new Map(slots.map((s) => [s.campaign.id, s]));
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
              userRemaining === 0
                ? 'user_cap'
                : usedAdvertisers.has(e.campaign.advertiserId)
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
