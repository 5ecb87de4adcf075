/**
 * What the service needs remembered, split by owner: the catalog, per-user state,
 * budgets, and the event ledger with its reports. One implementation per backend
 * (`sqlite/`; `d1/` + `durable-object/`); every backend passes the same contract suite in test/store.
 */
import type { CapRule } from '../config.js';
import type { EventEffect, ReservationView } from '../engine/events.js';
import type {
  AdvertiserCard,
  BidType,
  BudgetState,
  CampaignStatus,
  Cta,
  EventType,
  HistoryEntry,
  Pacing,
  ServableCampaign,
  Targeting,
  UserState,
} from '../engine/types.js';
import type { KeyKind } from '../privacy/keys.js';

/** The stored advertiser: its public card (what users see with an ad) and what only it and operators see. */
export interface Advertiser extends AdvertiserCard {
  /** A free-text category from before the fixed list that maps to none of it; cleared when a category is set. */
  legacyCategory?: string | null;
  createdAt: number;
  updatedAt: number;
}
export type AdvertiserProfile = Pick<Advertiser, 'name' | 'description' | 'address' | 'email' | 'website' | 'category'>;

export interface Client {
  id: string;
  name: string;
  createdAt: number;
}

/** A campaign as the catalog stores it (the engine's view is `ServableCampaign`, the API's the `Campaign` schema). */
export interface CampaignRecord {
  id: string;
  advertiserId: string;
  name: string;
  status: CampaignStatus;
  startAt: number;
  endAt: number | null;
  bid: { type: BidType; amountMicros: number };
  budget: { dailyMicros?: number; totalMicros?: number };
  pacing: Pacing;
  targeting: Targeting;
  caps: CapRule[];
  createdAt: number;
  updatedAt: number;
}
export type CampaignPatch = Partial<
  Pick<CampaignRecord, 'name' | 'status' | 'startAt' | 'endAt' | 'bid' | 'budget' | 'pacing' | 'targeting' | 'caps'>
>;

export interface Media {
  sha256: string;
  mime: string;
  bytes: number;
  width: number;
  height: number;
  durationMs: number | null;
  createdAt: number;
}

export type ReviewState = 'pending' | 'approved' | 'rejected';

export interface Creative {
  id: string;
  campaignId: string;
  advertiserId: string;
  headline: string;
  cta: Cta;
  mediaSha256: string;
  review: ReviewState;
  reviewReason: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface CatalogStore {
  createAdvertiser(advertiser: Advertiser, keyHash: string): Promise<void>;
  listAdvertisers(): Promise<Advertiser[]>;
  getAdvertiser(id: string): Promise<Advertiser | undefined>;
  updateAdvertiser(id: string, patch: Partial<AdvertiserProfile>, now: number): Promise<Advertiser | undefined>;
  createClient(client: Client, keyHash: string): Promise<void>;
  findKey(keyHash: string): Promise<{ kind: KeyKind; ownerId: string } | undefined>;

  createCampaign(campaign: CampaignRecord): Promise<void>;
  listCampaigns(advertiserId: string): Promise<CampaignRecord[]>;
  getCampaign(id: string): Promise<CampaignRecord | undefined>;
  updateCampaign(id: string, patch: CampaignPatch, now: number): Promise<CampaignRecord | undefined>;

  putMedia(media: Media): Promise<void>;
  getMedia(sha256: string): Promise<Media | undefined>;
  createCreative(creative: Creative): Promise<void>;
  getCreative(id: string): Promise<Creative | undefined>;
  listCreatives(filter: { review?: ReviewState; campaignId?: string }): Promise<Creative[]>;
  setReview(id: string, review: ReviewState, reason: string | null, now: number): Promise<Creative | undefined>;
  /** Sends an approved creative back to review (reported too often); true if it was approved. */
  sendToReview(id: string, reason: string, now: number): Promise<boolean>;
  /** Adds impressions and clicks counted elsewhere (campaign objects) to the CTR counters. */
  addCtrCounts(counts: { creativeId: string; impressions: number; clicks: number }[], now: number): Promise<void>;

  /**
   * Every active or paused campaign with its advertiser and approved creatives, for the in-memory index
   * (paused ones never serve, but their caps still decide how much user history to keep).
   */
  servable(mediaUrl: (sha256: string) => string): Promise<ServableCampaign[]>;
  /** Bumped on every change that affects `servable()`. */
  version(): Promise<number>;
}

/** A slot as stored: the reservation behind a token. */
export interface Reservation {
  id: string;
  /**
   * The reservation's key within its SQLite file (`reservations.number`, the events key): given by the
   * store when it stores the reservation (Node: before the token is sealed, which carries it), else absent.
   */
  number?: number;
  uid: string;
  campaignId: string;
  creativeId: string;
  advertiserId: string;
  bidType: BidType;
  priceMicros: number;
  servedAt: number;
  expiresAt: number;
  viewedAt: number | null;
  chargedAt: number | null;
  /** The slot request's country and platform as the feed client sent them ('' when not sent): report breakdowns. */
  country: string;
  platform: string;
  /** The creative is a video: only then does it take playback events. */
  video: boolean;
  /**
   * Which of the campaign's budget shards holds its budget (Workers, a campaign split over
   * several objects: `budgets.shardFor`); absent or 0: the campaign's own authority.
   */
  budgetShard?: number;
}

export interface UserStore {
  /**
   * The user's blocks, hides and history still relevant to caps at `now` (served within `historyMs`):
   * at once where the backend reads synchronously (SQLite: its cache, or one statement), else a promise.
   */
  load(uid: string, now: number, historyMs: number): UserState | Promise<UserState>;
  /**
   * Stores one response's reservations (all of one user), durably, before resolving. With
   * `basedOn` (the history the response was decided on), stores nothing and answers false if
   * the user has since gained history that counts toward caps (a concurrent response). The
   * state `load` returns may be a live cached view: callers serialise a user in-process.
   */
  reserve(reservations: Reservation[], basedOn?: { history: HistoryEntry[]; historyMs: number }): Promise<boolean>;
  /**
   * Takes back stored reservations of this user for which no token was ever issued (their budget
   * hold was refused, or the response was abandoned after its holds were taken, e.g. a token seal
   * threw), so nothing can charge them: they stop counting toward caps at once.
   * Ids not stored (or of another user) are ignored; call only after their `reserve` resolved.
   */
  unreserve(uid: string, reservationIds: string[]): Promise<void>;
  /** One reservation of this user, as stored. */
  reservation(uid: string, id: string): Promise<Reservation | undefined>;
  /**
   * The reservation a handle names (`TokenHandle`): the one of this number, if its row has this expiry. Only
   * stores that number reservations before their tokens are sealed (SQLite) have it: only they serve handles.
   */
  numbered?(reservationNumber: number, expiresAt: number): Promise<Reservation | undefined>;
  block(uid: string, advertiserId: string, now: number): Promise<void>;
  unblock(uid: string, advertiserId: string): Promise<void>;
  blocks(uid: string): Promise<string[]>;
  mute(uid: string, category: string, now: number): Promise<void>;
  unmute(uid: string, category: string): Promise<void>;
  /** Muted categories, in the order they were muted. */
  mutes(uid: string): Promise<string[]>;
  /** Removes every row that carries this user's pseudonym. */
  erase(uid: string): Promise<void>;
}

export interface BudgetStore {
  /** The campaign's spend and holds as this process knows them; read on the hot path, so synchronous. */
  view(campaignId: string, now: number): BudgetState;
  /**
   * Backends that split a campaign's budget over shards: the shard this reservation's hold
   * goes to. The caller keeps it with the reservation (`Reservation.budgetShard`) and passes
   * it to `tryHold` and `release`. Absent: one authority per campaign.
   */
  shardFor?(campaignId: string, reservationId: string, now: number): number;
  /**
   * Atomically holds `amountMicros` against the campaign's budgets; false if it would not fit. At once
   * where the budget is in this process's memory (SQLite), else a promise.
   */
  tryHold(
    hold: { campaign: ServableCampaign; reservationId: string; amountMicros: number; expiresAt: number; shard?: number },
    now: number,
  ): boolean | Promise<boolean>;
  /**
   * Gives back a hold whose reservation was never stored (or was erased), or whose response was abandoned
   * before any token left (its reservation is taken back after); `shard` as it was held.
   */
  release(campaignId: string, reservationId: string, shard?: number): Promise<void>;
  /**
   * The campaign's budget changed (lowered, or the campaign paused or archived): outstanding
   * holds are cut so spend + holds fit the budget in force, and no later charge exceeds it.
   */
  limit(campaign: Pick<CampaignRecord, 'id' | 'budget'>, now: number): Promise<void>;
}

/** An event whose token sealed its claims: the reservation's id, user, campaign and creative (its number too, where known). */
export interface VerifiedEvent {
  type: EventType;
  reservationId: string;
  /** The reservation's number, where its token carries one (`TokenClaims.reservationNumber`). */
  reservationNumber?: number;
  uid: string;
  campaignId: string;
  creativeId: string;
}

/**
 * An event whose token is a handle (`TokenHandle`, Node): its reservation's number and the expiry that row must
 * have; the row tells the rest (user, campaign, creative).
 */
export interface HandleEvent {
  type: EventType;
  reservationNumber: number;
  expiresAt: number;
}

/** What the ledger records: events whose token verified, of either kind. */
export type LedgerEvent = VerifiedEvent | HandleEvent;

export type EventOutcome = { status: 'accepted' | 'duplicate' } | { status: 'rejected'; reason: string };

export interface EventBatchResult {
  outcomes: EventOutcome[];
  /** Creatives whose distinct reports reached the threshold and went back to review. */
  sentToReview: string[];
}

export interface EventRules {
  effect(reservation: ReservationView, type: EventType, now?: number): EventEffect;
  reportThreshold: number;
}

export type { ReportBy, ReportRow } from './report-rows.js';

import type { ReportBy, ReportRow } from './report-rows.js';

export interface LedgerStore {
  /** Applies a batch of verified events idempotently and durably, in order, before returning. */
  record(events: LedgerEvent[], now: number, rules: EventRules): Promise<EventBatchResult>;
  /** Rows with activity between the two UTC days (inclusive), broken down `by` [day], ordered by key. */
  report(campaignId: string, fromDay: string, toDay: string, by?: ReportBy): Promise<ReportRow[]>;
}

/** One traffic row: a day and request context ('' where none was sent), its counts and reach sketch. */
export interface TrafficRow {
  day: string;
  country: string;
  language: string;
  platform: string;
  requests: number;
  opportunities: number;
  served: number;
  reachSketch: string | null;
}

/** Traffic counted in memory since the last flush, merged into the stored rows by `add`. */
export interface TrafficBatch {
  cells: TrafficRow[];
  /** Impressions and clicks per UTC day. */
  totals: Record<string, { impressions: number; clicks: number }>;
  /** Rows of days before this one may be dropped. */
  oldestDayKept?: string;
}

/** Aggregate traffic per day and request context, never user ids: what forecasts are built from. */
export interface TrafficStore {
  add(batch: TrafficBatch): Promise<void>;
  read(fromDay: string, toDay: string): Promise<{ cells: TrafficRow[]; totals: TrafficBatch['totals'] }>;
}

export interface Store {
  catalog: CatalogStore;
  traffic: TrafficStore;
  users: UserStore;
  budgets: BudgetStore;
  ledger: LedgerStore;
  /** Drops per-user history older than `historyMs` that no token needs any more. */
  prune(now: number, historyMs: number): Promise<number>;
  /** Readiness: the database takes writes and every migration is applied (absent: assumed). */
  health?(): Promise<{ writable: boolean; migrated: boolean }>;
  close(): Promise<void>;
}
