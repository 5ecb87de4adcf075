/** Per-campaign rules: targeting, schedule, caps, budget, pacing and creative rotation. */
import type { CapRule } from '../config.js';
import type {
  BudgetState,
  HistoryEntry,
  LossReason,
  RequestContext,
  ServableCampaign,
  ServableCreative,
  Targeting,
  UserState,
} from './types.js';

const DAY_MS = 86_400_000;

/** Contextual targeting: an absent list matches anything; a present one needs the request to name a listed value. */
export function matchesTargeting(targeting: Targeting, context: RequestContext): boolean {
  if (targeting.countries && !(context.country && targeting.countries.includes(context.country))) return false;
  if (targeting.languages && !(context.language && targeting.languages.includes(context.language))) return false;
  if (targeting.platforms && !(context.platform && targeting.platforms.includes(context.platform))) return false;
  return true;
}

export function inSchedule(campaign: ServableCampaign, now: number): boolean {
  return campaign.status === 'active' && campaign.startAt <= now && (campaign.endAt === null || now < campaign.endAt);
}

/** A history entry still counts toward caps: viewed, or a reservation not yet expired. */
export function isLive(entry: HistoryEntry, now: number): boolean {
  return entry.viewed || entry.expiresAt > now;
}

/**
 * How far back a user's history matters: the longest campaign cap window, the
 * user-cap window or the token TTL. Older history is pruned.
 */
export function historyWindowMs(settings: { tokenTtlMs: number; userCap: CapRule }, longestCapMs: number): number {
  return Math.max(settings.tokenTtlMs, settings.userCap.windowSeconds * 1000, longestCapMs);
}

/**
 * Entries counting toward a cap window that ends now: impressions served within it, and every reservation still
 * live, whenever it was served (it may become an impression now: impressions + live reservations ≤ k in every window).
 */
export function countInWindow(history: HistoryEntry[], now: number, cap: CapRule, campaignId?: string): number {
  const since = now - cap.windowSeconds * 1000;
  let count = 0;
  for (const entry of history) {
    if (campaignId !== undefined && entry.campaignId !== campaignId) continue;
    if (entry.viewed ? entry.servedAt > since : entry.expiresAt > now) count++;
  }
  return count;
}

/** How many more ads the deployment-wide user cap allows right now. */
export function userCapRemaining(user: UserState, now: number, userCap: CapRule): number {
  return Math.max(0, userCap.impressions - countInWindow(user.history, now, userCap));
}

export function frequencyCapAllows(campaign: ServableCampaign, user: UserState, now: number): boolean {
  for (const cap of campaign.caps) if (countInWindow(user.history, now, cap, campaign.id) + 1 > cap.impressions) return false;
  return true;
}

/** The most one billable event of this campaign can cost: what a reservation holds against budgets. */
export function maxCostMicros(campaign: ServableCampaign): number {
  return campaign.bid.type === 'cpm' ? Math.floor(campaign.bid.amountMicros / 1000) : campaign.bid.amountMicros;
}

/** Budget left after spend and live holds, the tighter of daily and total; Infinity when unbounded. */
export function remainingBudgetMicros(campaign: ServableCampaign, budget: BudgetState): number {
  let remaining = Infinity;
  if (campaign.budget.dailyMicros !== undefined) {
    remaining = Math.min(remaining, campaign.budget.dailyMicros - budget.spentTodayMicros - budget.heldMicros);
  }
  if (campaign.budget.totalMicros !== undefined) {
    remaining = Math.min(remaining, campaign.budget.totalMicros - budget.spentTotalMicros - budget.heldMicros);
  }
  return remaining;
}

/**
 * Even pacing (see docs/economics.md): the campaign's committed daily spend —
 * spend plus the expected cost of its live holds — is compared with the target
 * daily budget × elapsed fraction of the UTC day. Requests pass with a
 * probability falling linearly from 1 to 0 across a tolerance band centred on
 * the target, `PACING.tolerance` × target wide (at least
 * `PACING.minToleranceEvents` events' cost): 1 while more than half the band
 * behind, 0.5 on target, 0 half the band ahead. A campaign with thin demand
 * falls behind and is never throttled. `asap`, or no daily budget: 1.
 */
export const PACING = { tolerance: 0.05, minToleranceEvents: 3 };

export function utcDayFraction(now: number): number {
  return (((now % DAY_MS) + DAY_MS) % DAY_MS) / DAY_MS;
}

/** The probability in [0, 1] that this request may consider the campaign under its pacing. */
export function pacingPassRate(
  campaign: ServableCampaign,
  creative: Pick<ServableCreative, 'predictedCtr'>,
  budget: BudgetState,
  now: number,
): number {
  if (campaign.pacing !== 'even' || campaign.budget.dailyMicros === undefined) return 1;
  const target = campaign.budget.dailyMicros * utcDayFraction(now);
  // A cpc hold is the price of a click that mostly never comes; pace on what it is expected to cost.
  const expectedHeld = campaign.bid.type === 'cpm' ? budget.heldMicros : budget.heldMicros * creative.predictedCtr;
  const committed = budget.spentTodayMicros + expectedHeld;
  const tolerance = Math.max(target * PACING.tolerance, PACING.minToleranceEvents * maxCostMicros(campaign));
  // The band is centred on the target, so a busy campaign hovers around it rather than above it.
  if (committed <= Math.max(0, target - tolerance / 2)) return 1;
  return Math.min(1, Math.max(0, 0.5 - (committed - target) / tolerance));
}

/**
 * The deterministic part of pacing, for a budget authority re-checking at hold
 * time: false only once the campaign is past the top of its pacing band (where
 * the engine's pass rate is 0). cpc holds are weighted by the campaign's best CTR.
 */
export function pacingAllows(campaign: ServableCampaign, budget: BudgetState, now: number): boolean {
  if (campaign.pacing !== 'even' || campaign.budget.dailyMicros === undefined) return true;
  let predictedCtr = 0;
  for (const creative of campaign.creatives) predictedCtr = Math.max(predictedCtr, creative.predictedCtr);
  return pacingPassRate(campaign, { predictedCtr }, budget, now) > 0;
}

/** eCPM in micros: the cpm bid, or cpc bid × predicted CTR × 1000 (`bidMicros` overrides the campaign's bid). */
export function ecpmMicros(
  campaign: ServableCampaign,
  creative: ServableCreative,
  bidMicros = campaign.bid.amountMicros,
): number {
  return campaign.bid.type === 'cpm' ? bidMicros : Math.floor(bidMicros * creative.predictedCtr * 1000);
}

/**
 * A budget-capped bid: a campaign whose remaining budget cannot cover its full
 * bid for one more event bids what it has left (per thousand for cpm, per click
 * for cpc), so its clearing price, and so its hold, always fits the budget.
 */
export function affordableBidMicros(campaign: ServableCampaign, remainingMicros: number): number {
  if (remainingMicros >= maxCostMicros(campaign)) return campaign.bid.amountMicros;
  const left = Math.max(0, Math.floor(remainingMicros));
  return campaign.bid.type === 'cpm' ? Math.min(campaign.bid.amountMicros, left * 1000) : left;
}

/** An upper bound on the campaign's eCPM over its creatives, used to order and prune candidates. */
export function ecpmUpperBound(campaign: ServableCampaign): number {
  let best = 0;
  for (const creative of campaign.creatives) best = Math.max(best, ecpmMicros(campaign, creative));
  return campaign.bid.type === 'cpm' ? campaign.bid.amountMicros : best;
}

/**
 * Rotation: among creatives the user has not hidden and that are not currently
 * reserved for them, the one this user has seen least, then the best predicted CTR;
 * or why none can be shown (a shared answer: nothing is made per candidate).
 */
export function pickCreative(
  campaign: ServableCampaign,
  user: UserState,
  now: number,
): ServableCreative | { reason: LossReason } {
  let best: ServableCreative | undefined;
  let bestSeen = Infinity;
  let visible = false;
  for (const creative of campaign.creatives) {
    if (user.hides.has(creative.id)) continue;
    visible = true;
    let seen = 0;
    let reserved = false;
    for (const entry of user.history) {
      if (entry.creativeId !== creative.id) continue;
      seen++;
      if (!entry.viewed && entry.expiresAt > now) reserved = true;
    }
    if (reserved) continue;
    if (seen < bestSeen || (seen === bestSeen && best !== undefined && creative.predictedCtr > best.predictedCtr)) {
      best = creative;
      bestSeen = seen;
    }
  }
  if (best) return best;
  return visible ? FREQUENCY_CAPPED : ALL_HIDDEN;
}

// Shared answers (a decision evaluates many candidates; a loss allocates nothing).
const ALL_HIDDEN: { reason: LossReason } = Object.freeze({ reason: 'hidden' });
const FREQUENCY_CAPPED: { reason: LossReason } = Object.freeze({ reason: 'frequency_cap' });
