/** The engine's vocabulary: what can be served, what a user has seen, what was decided. */
import type { CapRule, PlacementSettings } from '../config.js';
import type { CategoryId } from './categories.js';
import type { CTA_TYPES } from './cta.js';

export type Platform = 'android' | 'ios' | 'web';
export type BidType = 'cpm' | 'cpc';
export type Pacing = 'even' | 'asap';
export type CampaignStatus = 'active' | 'paused' | 'archived';
/** Playback progress of a video creative: the IAB VAST tracking events, in snake case. */
export const VIDEO_EVENT_TYPES = ['start', 'first_quartile', 'midpoint', 'third_quartile', 'complete'] as const;
export type VideoEventType = (typeof VIDEO_EVENT_TYPES)[number];
export const EVENT_TYPES = ['impression', 'click', 'hide', 'report', 'block', ...VIDEO_EVENT_TYPES] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface Targeting {
  countries?: string[];
  languages?: string[];
  platforms?: Platform[];
}

export interface RequestContext {
  country?: string;
  language?: string;
  platform?: Platform;
}

export interface Cta {
  type: (typeof CTA_TYPES)[number];
  target: string;
}

export interface MediaRef {
  url: string;
  mime: string;
  width: number;
  height: number;
  durationMs?: number;
}

export interface ServableCreative {
  id: string;
  headline: string;
  cta: Cta;
  media: MediaRef;
  /** Smoothed click-through estimate used for cpc eCPM and rotation. */
  predictedCtr: number;
}

/** The advertiser's public profile, shown with every ad it serves (the business card). */
export interface AdvertiserCard {
  id: string;
  name: string;
  description: string | null;
  address: string | null;
  email: string | null;
  website: string | null;
  category: CategoryId | null;
}

/** A campaign as the engine sees it; `creatives` holds only approved ones. */
export interface ServableCampaign {
  id: string;
  advertiserId: string;
  advertiser: AdvertiserCard;
  status: CampaignStatus;
  startAt: number;
  endAt: number | null;
  bid: { type: BidType; amountMicros: number };
  budget: { dailyMicros?: number; totalMicros?: number };
  pacing: Pacing;
  targeting: Targeting;
  caps: CapRule[];
  creatives: ServableCreative[];
  /** The campaign has creatives, approved or not. */
  hasCreatives: boolean;
}

/** One served slot in a user's history: a live reservation or a viewed impression. */
export interface HistoryEntry {
  reservationId: string;
  campaignId: string;
  creativeId: string;
  advertiserId: string;
  servedAt: number;
  expiresAt: number;
  viewed: boolean;
}

export interface UserState {
  /** In no defined order (backends return it differently): nothing may assume the last entry is the newest. */
  history: HistoryEntry[];
  blocks: Set<string>;
  hides: Set<string>;
  /** Categories (src/engine/categories.ts) the user muted. */
  mutes: Set<string>;
}

export interface BudgetState {
  spentTodayMicros: number;
  spentTotalMicros: number;
  /** Maximum cost of the campaign's live reservations. */
  heldMicros: number;
}

/** Why a candidate lost, as `explain` names it (the API's enum is built from this list). */
export const LOSS_REASONS = [
  'paused',
  'targeting',
  'schedule',
  'budget',
  'pacing',
  'frequency_cap',
  'user_cap',
  'blocked',
  'muted',
  'hidden',
  'not_approved',
  'advertiser_diversity',
  'outranked',
] as const;
export type LossReason = (typeof LOSS_REASONS)[number];

export interface ExplainEntry {
  campaignId: string;
  creativeId?: string;
  outcome: 'served' | 'rejected';
  reason?: LossReason;
  /** The numbers that decided it, where there are some. */
  ecpmMicros?: number;
  priceMicros?: number;
  remainingBudgetMicros?: number;
}

export interface EngineSettings {
  placement: PlacementSettings;
  userCap: CapRule;
  floorCpmMicros: number;
  tokenTtlMs: number;
}

export interface SlotRequest {
  /** Either the organic status count or the per-contact runs. */
  statuses?: number;
  runs?: number[];
  context: RequestContext;
  explain: boolean;
}

export interface PlacedSlot {
  after: number;
  campaign: ServableCampaign;
  creative: ServableCreative;
  ecpmMicros: number;
  /** Clearing price per billable event: per impression for cpm, per click for cpc. */
  priceMicros: number;
}

/**
 * Why a place the feed could hold stayed empty: the user cap, or the reason the
 * best-ranked candidate lost (`floor`: its eCPM was under the floor), or no candidate at all.
 */
export type UnfilledReason = 'user_cap' | 'frequency_cap' | 'blocked' | 'hidden' | 'budget' | 'pacing' | 'floor' | 'no_candidate';

export interface Decision {
  slots: PlacedSlot[];
  explain?: ExplainEntry[];
  /** Places the request could hold that got no ad, by reason (absent when every place was filled). */
  unfilled?: { reason: UnfilledReason; count: number }[];
}
