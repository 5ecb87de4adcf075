/**
 * Tables only Durable Objects have, beside the shared schema their migrations
 * create: the user object's outbox of effects owed to campaign objects, and the
 * campaign object's budget holds, applied-effect ledger and CTR counters owed to D1.
 */
import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Effects committed in a user object but not yet acknowledged by their campaign object. */
export const outbox = sqliteTable('do_outbox', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  campaignId: text('campaign_id').notNull(),
  /** JSON CampaignEffect */
  effect: text('effect').notNull(),
});

/** Live budget holds: the maximum cost of a served, not yet charged reservation. */
export const budgetHolds = sqliteTable('do_budget_holds', {
  reservationId: text('reservation_id').primaryKey(),
  amountMicros: integer('amount_micros').notNull(),
  expiresAt: integer('expires_at').notNull(),
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

/** Impressions and clicks per creative counted here but not yet added to D1's creative_stats (CTR estimates). */
export const ctrPending = sqliteTable('do_ctr_pending', {
  creativeId: text('creative_id').primaryKey(),
  impressions: integer('impressions').notNull(),
  clicks: integer('clicks').notNull(),
});

export const objectTablesDdl = [
  `CREATE TABLE IF NOT EXISTS do_ctr_pending (creative_id TEXT PRIMARY KEY NOT NULL, impressions INTEGER NOT NULL, clicks INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS do_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, campaign_id TEXT NOT NULL, effect TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS do_budget_holds (reservation_id TEXT PRIMARY KEY NOT NULL, amount_micros INTEGER NOT NULL, expires_at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS do_applied_effects (reservation_id TEXT NOT NULL, type TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (reservation_id, type))`,
];
