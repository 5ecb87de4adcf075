/**
 * The one SQLite schema, shared by better-sqlite3 (Node), D1 and Durable Objects.
 * Times are Unix milliseconds, money is integer micros. No ON DELETE CASCADE:
 * deletes are explicit so D1 table-rebuild migrations never destroy data.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { CategoryId } from '../src/engine/categories.js';
import { CTA_TYPES } from '../src/engine/cta.js';

// ---------- catalog ----------

export const advertisers = sqliteTable('advertisers', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description'),
  address: text('address'),
  email: text('email'),
  website: text('website'),
  /** One of the fixed categories (src/engine/categories.ts). */
  category: text('category').$type<CategoryId>(),
  /** A free-text category from before the list was fixed that maps to none of it; kept, never served. */
  legacyCategory: text('legacy_category'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const clients = sqliteTable('clients', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: integer('created_at').notNull(),
});

/** API keys are stored as SHA-256 of the key; the key itself is shown once. */
export const apiKeys = sqliteTable('api_keys', {
  keyHash: text('key_hash').primaryKey(),
  kind: text('kind', { enum: ['advertiser', 'client'] }).notNull(),
  ownerId: text('owner_id').notNull(),
  createdAt: integer('created_at').notNull(),
});

export const campaigns = sqliteTable(
  'campaigns',
  {
    id: text('id').primaryKey(),
    advertiserId: text('advertiser_id').notNull(),
    name: text('name').notNull(),
    status: text('status', { enum: ['active', 'paused', 'archived'] }).notNull(),
    startAt: integer('start_at').notNull(),
    endAt: integer('end_at'),
    bidType: text('bid_type', { enum: ['cpm', 'cpc'] }).notNull(),
    bidMicros: integer('bid_micros').notNull(),
    dailyBudgetMicros: integer('daily_budget_micros'),
    totalBudgetMicros: integer('total_budget_micros'),
    pacing: text('pacing', { enum: ['even', 'asap'] }).notNull(),
    /** JSON: {countries?, languages?, platforms?} */
    targeting: text('targeting').notNull(),
    /** JSON: [{impressions, windowSeconds}] */
    caps: text('caps').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('campaigns_advertiser').on(t.advertiserId)],
);

/** Uploaded media, content-addressed by SHA-256. */
export const media = sqliteTable('media', {
  sha256: text('sha256').primaryKey(),
  mime: text('mime').notNull(),
  bytes: integer('bytes').notNull(),
  width: integer('width').notNull(),
  height: integer('height').notNull(),
  durationMs: integer('duration_ms'),
  createdAt: integer('created_at').notNull(),
});

export const creatives = sqliteTable(
  'creatives',
  {
    id: text('id').primaryKey(),
    campaignId: text('campaign_id').notNull(),
    advertiserId: text('advertiser_id').notNull(),
    headline: text('headline').notNull(),
    ctaType: text('cta_type', { enum: CTA_TYPES }).notNull(),
    ctaTarget: text('cta_target').notNull(),
    mediaSha256: text('media_sha256').notNull(),
    review: text('review', { enum: ['pending', 'approved', 'rejected'] }).notNull(),
    reviewReason: text('review_reason'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('creatives_campaign').on(t.campaignId), index('creatives_review').on(t.review)],
);

/** Distinct (pseudonymous) users who reported a creative; erased with the user. */
export const creativeReports = sqliteTable(
  'creative_reports',
  {
    creativeId: text('creative_id').notNull(),
    uid: text('uid').notNull(),
    at: integer('at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.creativeId, t.uid] }), index('creative_reports_uid').on(t.uid)],
);

/** A single-row counter bumped on every catalog change so caches elsewhere know to rebuild. */
export const catalogVersion = sqliteTable('catalog_version', {
  id: integer('id').primaryKey(),
  version: integer('version').notNull(),
});

// ---------- per-user state (keyed by pseudonymous uid) ----------

/**
 * `uidKey` in SQL over the column `uid`: for each of its first 13 characters its place in '0123456789abcdef' (-1 for
 * any other character, 0 past the end: `instr` finds the empty string at 1), as the digits of one integer.
 */
const UID_KEY = sql.raw(
  Array.from({ length: 13 }, (_, i) => `instr('0123456789abcdef', substr("uid", ${i + 1}, 1)) - 1`).reduce(
    (key, digit) => `(${key}) * 16 + ${digit}`,
  ),
);

/**
 * A served slot. Counts toward caps from `servedAt`; an impression converts it (`viewedAt`).
 * `number` is the reservation's key within its SQLite file (the rowid, `INTEGER PRIMARY KEY`
 * so VACUUM keeps it): given by the store in serving order, named by a slot handle on Node, and
 * the events key. The `id` (budget holds, campaign effects, Workers' sealed claims) has no index
 * on Node: what looks a row up by id first finds the user's rows (`reservation_users`) and names
 * the uid (migration 0012); Durable Objects, which find rows by id, keep a unique index of their
 * own (`migrateObject`).
 */
export const reservations = sqliteTable(
  'reservations',
  {
    number: integer('number').primaryKey(),
    id: text('id').notNull(),
    uid: text('uid').notNull(),
    /**
     * The integer of the pseudonym's first 13 hex digits, made by SQLite from `uid` (writers never name it; the
     * same as `uidKey`, src/store/user-history.ts): a user's rows are found by it (an 8-byte key, not 64
     * characters); `uid` then tells apart users whose keys collide.
     */
    uidKey: integer('uid_key').generatedAlwaysAs(UID_KEY, { mode: 'stored' }),
    campaignId: text('campaign_id').notNull(),
    creativeId: text('creative_id').notNull(),
    advertiserId: text('advertiser_id').notNull(),
    bidType: text('bid_type', { enum: ['cpm', 'cpc'] }).notNull(),
    /** Clearing price per billable event (impression for cpm, click for cpc). */
    priceMicros: integer('price_micros').notNull(),
    servedAt: integer('served_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    viewedAt: integer('viewed_at'),
    /** Set once the billable event was charged; releases the budget hold. */
    chargedAt: integer('charged_at'),
    /** The request's context as the feed client sent it, for report breakdowns ('' when not sent). */
    country: text('country').notNull().default(''),
    platform: text('platform').notNull().default(''),
    /** The creative is a video: only video creatives take playback events. */
    video: integer('video', { mode: 'boolean' }).notNull().default(false),
  },
  // Every index is another B-tree each served slot writes (~1.5–2 µs a row each, bench/README.md session 16), so
  // there is one: `expires_at`, which grows with the clock (a group commit appends to one page of it), for retention
  // (rows served before any cap window, then expired unviewed ones, both walked in expiry order) and the live budget
  // holds read at start. A user's rows are found through `reservation_users` (below), not an index here: an index
  // keyed by user is written at a random page per request (migration 0011). Durable Objects add indexes on `id` and
  // `served_at` of their own (`migrateObject`).
  (t) => [index('reservations_expires').on(t.expiresAt)],
);

/**
 * A user's reservations by key (`reservations.uid_key`, then `number`): the user index, kept by the Node store in
 * key-sorted batches instead of at every commit (src/store/sqlite/users.ts), so each random page it has is written
 * once per batch rather than once per request. Reservations not in it yet are in the store's memory, and those
 * numbered past the `reservation_users` mark in `ledger_marks` are added when the store opens (after a crash). A
 * `WITHOUT ROWID` table (migration 0011, written by hand): one B-tree. Durable Objects do not use it (their
 * `reservations` keep an index on `uid_key`, `migrateObject`).
 */
export const reservationUsers = sqliteTable(
  'reservation_users',
  {
    key: integer('key').notNull(),
    number: integer('number').notNull(),
  },
  (t) => [primaryKey({ columns: [t.key, t.number] })],
);

export const userBlocks = sqliteTable(
  'user_blocks',
  {
    uid: text('uid').notNull(),
    advertiserId: text('advertiser_id').notNull(),
    at: integer('at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.uid, t.advertiserId] })],
);

/** Categories of ads a user muted (src/engine/categories.ts). */
export const userMutes = sqliteTable(
  'user_mutes',
  {
    uid: text('uid').notNull(),
    category: text('category').notNull(),
    at: integer('at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.uid, t.category] })],
);

export const userHides = sqliteTable(
  'user_hides',
  {
    uid: text('uid').notNull(),
    creativeId: text('creative_id').notNull(),
    at: integer('at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.uid, t.creativeId] })],
);

/** Idempotency ledger: one row per (reservation, event type), keyed by the reservation's number. */
export const events = sqliteTable(
  'events',
  {
    /** `reservations.number`: an integer key grows with serving time, so a group's inserts share a few leaves. */
    reservation: integer('reservation').notNull(),
    type: text('type', {
      enum: [
        'impression',
        'click',
        'hide',
        'report',
        'block',
        'start',
        'first_quartile',
        'midpoint',
        'third_quartile',
        'complete',
      ],
    }).notNull(),
    uid: text('uid').notNull(),
    campaignId: text('campaign_id').notNull(),
    at: integer('at').notNull(),
    costMicros: integer('cost_micros').notNull(),
  },
  // No index on uid: a random key dirtied a page of its own per event. Erase finds a user's events through
  // reservations.uid; retention deletes events with their reservations (src/store/sqlite/users.ts `prune`).
  // Durable Objects add their own index on uid (`migrateObject`): they find events by pseudonym.
  (t) => [primaryKey({ columns: [t.reservation, t.type] }), index('events_at').on(t.at)],
);

// ---------- money and reports (aggregates only) ----------

export const campaignSpend = sqliteTable(
  'campaign_spend',
  {
    campaignId: text('campaign_id').notNull(),
    /** UTC day, YYYY-MM-DD */
    day: text('day').notNull(),
    spendMicros: integer('spend_micros').notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.day] })],
);

/**
 * Per-creative delivery counters for the CTR estimate, bumped by the ledger in
 * the same transaction as the event. Aggregates only, no user ids.
 */
export const creativeStats = sqliteTable('creative_stats', {
  creativeId: text('creative_id').primaryKey(),
  impressions: integer('impressions').notNull().default(0),
  clicks: integer('clicks').notNull().default(0),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * Report rows by breakdown (src/store/report-rows.ts): per campaign, UTC day,
 * breakdown (day | hour | creative | country | platform) and key, the counters
 * and a reach sketch. Aggregates only, no user ids.
 */
export const reportRows = sqliteTable(
  'report_rows',
  {
    campaignId: text('campaign_id').notNull(),
    by: text('by', { enum: ['day', 'hour', 'creative', 'country', 'platform'] }).notNull(),
    day: text('day').notNull(),
    key: text('key').notNull(),
    impressions: integer('impressions').notNull().default(0),
    clicks: integer('clicks').notNull().default(0),
    hides: integer('hides').notNull().default(0),
    reports: integer('reports').notNull().default(0),
    blocks: integer('blocks').notNull().default(0),
    spendMicros: integer('spend_micros').notNull().default(0),
    videoStarts: integer('video_starts').notNull().default(0),
    videoFirstQuartiles: integer('video_first_quartiles').notNull().default(0),
    videoMidpoints: integer('video_midpoints').notNull().default(0),
    videoThirdQuartiles: integer('video_third_quartiles').notNull().default(0),
    videoCompletes: integer('video_completes').notNull().default(0),
    /** Serialized HyperLogLog sketch for reach (unique users); never user ids. */
    reachSketch: text('reach_sketch'),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.by, t.day, t.key] })],
);

/**
 * Where state derived from the events table stands, by name: 'report_rows' — every
 * stored report row (counters and reach) holds exactly the events up to this events
 * rowid; 'row:<campaign>|<by>|<day>|<key>' — that row, written since, holds them up to
 * this rowid. Node's ledger keeps later changes in memory, writes each row once its
 * oldest change is 10 s old, and after a crash counts the events past the marks again.
 * No user ids.
 */
export const ledgerMarks = sqliteTable('ledger_marks', {
  name: text('name').primaryKey(),
  value: integer('value').notNull(),
});

// ---------- traffic (aggregates only), the basis of forecasts ----------

/**
 * Slot requests per UTC day and request context ('' where the feed client sent
 * none): requests, ad positions placement allowed, slots served, and a reach
 * sketch of the users behind them. Kept 35 days.
 */
export const trafficDaily = sqliteTable(
  'traffic_daily',
  {
    day: text('day').notNull(),
    country: text('country').notNull(),
    language: text('language').notNull(),
    platform: text('platform').notNull(),
    requests: integer('requests').notNull().default(0),
    opportunities: integer('opportunities').notNull().default(0),
    served: integer('served').notNull().default(0),
    reachSketch: text('reach_sketch'),
  },
  (t) => [primaryKey({ columns: [t.day, t.country, t.language, t.platform] })],
);

/** Impressions and clicks per UTC day over all traffic: how many served slots are seen, and the deployment's CTR. */
export const trafficTotals = sqliteTable('traffic_totals', {
  day: text('day').primaryKey(),
  impressions: integer('impressions').notNull().default(0),
  clicks: integer('clicks').notNull().default(0),
});

// ---------- Durable Objects only (created everywhere by the same migrations; empty outside objects) ----------

/** Effects committed in a user object but not yet acknowledged by their campaign object (JSON CampaignEffect). */
export const outbox = sqliteTable('do_outbox', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  campaignId: text('campaign_id').notNull(),
  effect: text('effect').notNull(),
});

/** A campaign object's live budget holds: the maximum cost of a served, not yet charged reservation. */
export const budgetHolds = sqliteTable(
  'do_budget_holds',
  {
    reservationId: text('reservation_id').primaryKey(),
    amountMicros: integer('amount_micros').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  // Lapsed holds are found by this index, never by a scan.
  (t) => [index('do_budget_holds_expires').on(t.expiresAt)],
);

/** A budget shard's lease (JSON ShardState from src/engine/budget-leases.ts, meter left out): what it may commit. */
export const budgetShard = sqliteTable('do_budget_shard', {
  campaignId: text('campaign_id').primaryKey(),
  shard: integer('shard').notNull(),
  state: text('state').notNull(),
});

/** A campaign's lease coordinator (JSON Coordinator), kept by its own object (shard 0): survives restarts. */
export const budgetCoordinator = sqliteTable('do_budget_coordinator', {
  campaignId: text('campaign_id').primaryKey(),
  state: text('state').notNull(),
});

/** In a user object: the campaign budget shard (above 0) that holds a reservation's budget, so charges, releases and erasure reach it. */
export const reservationShards = sqliteTable('do_reservation_shards', {
  reservationId: text('reservation_id').primaryKey(),
  shard: integer('shard').notNull(),
});

/** The budget in force as a campaign object last learned it (holds and catalog changes): charges never exceed it. */
export const budgetInForce = sqliteTable('do_budget_in_force', {
  campaignId: text('campaign_id').primaryKey(),
  dailyMicros: integer('daily_micros'),
  totalMicros: integer('total_micros'),
});

/** (reservation, event type) pairs a campaign object already applied: outbox retries count once. */
export const appliedEffects = sqliteTable(
  'do_applied_effects',
  {
    reservationId: text('reservation_id').notNull(),
    type: text('type').notNull(),
    at: integer('at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.reservationId, t.type] })],
);

/** Impressions and clicks per creative counted in a campaign object but not yet added to D1's creative_stats. */
export const ctrPending = sqliteTable('do_ctr_pending', {
  creativeId: text('creative_id').primaryKey(),
  impressions: integer('impressions').notNull(),
  clicks: integer('clicks').notNull(),
});
