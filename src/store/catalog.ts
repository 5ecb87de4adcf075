/**
 * The one catalog over drizzle, for every SQL backend (better-sqlite3 on Node, D1 on
 * Workers): advertisers, keys, campaigns, media and creatives, and the version
 * counter caches watch. A backend supplies only `atomic`, which runs several
 * writes all-or-nothing (a transaction on better-sqlite3, a batch on D1).
 */
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import * as t from '../../schema/tables.js';
import type { ServableCampaign } from '../engine/types.js';
import { campaignColumns, campaignRow, creativeRow, servableFrom, toCampaign, toCreative } from './catalog-rows.js';
import type {
  Advertiser,
  AdvertiserProfile,
  CampaignPatch,
  CampaignRecord,
  CatalogStore,
  Client,
  Creative,
  Media,
  ReviewState,
} from './interface.js';

/** A drizzle SQLite database, synchronous (better-sqlite3) or not (D1): every query here is awaited. */
export type SqlDb = BaseSQLiteDatabase<'sync' | 'async', unknown>;

export type AtomicWrites = Readonly<[BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]>;
/** Runs the writes all-or-nothing, in order; returns each one's result (rows for `returning()` writes). */
export type Atomic = <T extends AtomicWrites>(writes: T) => Promise<BatchResponse<T>>;

export class SqlCatalog implements CatalogStore {
  constructor(
    readonly db: SqlDb,
    private atomic: Atomic,
  ) {}

  private bump() {
    return this.db
      .insert(t.catalogVersion)
      .values({ id: 1, version: 1 })
      .onConflictDoUpdate({ target: t.catalogVersion.id, set: { version: sql`${t.catalogVersion.version} + 1` } });
  }

  async createAdvertiser(advertiser: Advertiser, keyHash: string) {
    await this.atomic([
      this.db.insert(t.advertisers).values(advertiser),
      this.db.insert(t.apiKeys).values({ keyHash, kind: 'advertiser', ownerId: advertiser.id, createdAt: advertiser.createdAt }),
    ]);
  }

  async listAdvertisers() {
    return await this.db.select().from(t.advertisers).orderBy(asc(t.advertisers.createdAt), asc(t.advertisers.id)).all();
  }

  async getAdvertiser(id: string) {
    return await this.db.select().from(t.advertisers).where(eq(t.advertisers.id, id)).get();
  }

  async updateAdvertiser(id: string, patch: Partial<AdvertiserProfile>, now: number) {
    // Choosing a category retires a free-text one the migration could not map (see docs/api.md#categories).
    const legacy = patch.category !== undefined ? { legacyCategory: null } : {};
    const update = this.db
      .update(t.advertisers)
      .set({ ...patch, ...legacy, updatedAt: now })
      .where(eq(t.advertisers.id, id))
      .returning();
    // The whole profile is the business card shown with served ads.
    const [rows] = Object.keys(patch).length === 0 ? await this.atomic([update]) : await this.atomic([update, this.bump()]);
    return rows[0];
  }

  async createClient(client: Client, keyHash: string) {
    await this.atomic([
      this.db.insert(t.clients).values(client),
      this.db.insert(t.apiKeys).values({ keyHash, kind: 'client', ownerId: client.id, createdAt: client.createdAt }),
    ]);
  }

  async findKey(keyHash: string) {
    const row = await this.db.select().from(t.apiKeys).where(eq(t.apiKeys.keyHash, keyHash)).get();
    return row ? { kind: row.kind, ownerId: row.ownerId } : undefined;
  }

  async createCampaign(campaign: CampaignRecord) {
    await this.atomic([this.db.insert(t.campaigns).values(campaignRow(campaign)), this.bump()]);
  }

  async listCampaigns(advertiserId: string) {
    const rows = await this.db
      .select()
      .from(t.campaigns)
      .where(eq(t.campaigns.advertiserId, advertiserId))
      .orderBy(asc(t.campaigns.createdAt), asc(t.campaigns.id))
      .all();
    return rows.map(toCampaign);
  }

  async getCampaign(id: string) {
    const row = await this.db.select().from(t.campaigns).where(eq(t.campaigns.id, id)).get();
    return row ? toCampaign(row) : undefined;
  }

  async updateCampaign(id: string, patch: CampaignPatch, now: number) {
    // The bump is harmless when no row matched: caches just rebuild once more.
    const [rows] = await this.atomic([
      this.db
        .update(t.campaigns)
        .set({ ...campaignColumns(patch), updatedAt: now })
        .where(eq(t.campaigns.id, id))
        .returning(),
      this.bump(),
    ]);
    return rows[0] ? toCampaign(rows[0]) : undefined;
  }

  async putMedia(media: Media) {
    await this.db.insert(t.media).values(media).onConflictDoNothing().run();
  }

  async getMedia(sha256: string) {
    return await this.db.select().from(t.media).where(eq(t.media.sha256, sha256)).get();
  }

  async createCreative(creative: Creative) {
    await this.atomic([this.db.insert(t.creatives).values(creativeRow(creative)), this.bump()]);
  }

  async getCreative(id: string) {
    const row = await this.db.select().from(t.creatives).where(eq(t.creatives.id, id)).get();
    return row ? toCreative(row) : undefined;
  }

  async listCreatives(filter: { review?: ReviewState; campaignId?: string }) {
    const conditions = [];
    if (filter.review) conditions.push(eq(t.creatives.review, filter.review));
    if (filter.campaignId) conditions.push(eq(t.creatives.campaignId, filter.campaignId));
    const rows = await this.db
      .select()
      .from(t.creatives)
      .where(and(...conditions))
      .orderBy(asc(t.creatives.createdAt), asc(t.creatives.id))
      .all();
    return rows.map(toCreative);
  }

  async setReview(id: string, review: ReviewState, reason: string | null, now: number) {
    const [rows] = await this.atomic([
      this.db.update(t.creatives).set({ review, reviewReason: reason, updatedAt: now }).where(eq(t.creatives.id, id)).returning(),
      this.bump(),
    ]);
    return rows[0] ? toCreative(rows[0]) : undefined;
  }

  async sendToReview(id: string, reason: string, now: number): Promise<boolean> {
    // Conditional on still being approved, so a retry or a later report sends it back at most once.
    const [rows] = await this.atomic([
      this.db
        .update(t.creatives)
        .set({ review: 'pending', reviewReason: reason, updatedAt: now })
        .where(and(eq(t.creatives.id, id), eq(t.creatives.review, 'approved')))
        .returning({ id: t.creatives.id }),
      this.bump(),
    ]);
    return rows.length > 0;
  }

  async servable(mediaUrl: (sha256: string) => string): Promise<ServableCampaign[]> {
    // Not one D1 `batch`: drizzle maps joined rows from D1 batches by column name, and
    // campaigns.name and advertisers.name collide there. Plain queries map by position.
    const [campaignRows, creativeRows, totals] = await Promise.all([
      this.db
        .select({ campaign: t.campaigns, advertiser: t.advertisers })
        .from(t.campaigns)
        .innerJoin(t.advertisers, eq(t.advertisers.id, t.campaigns.advertiserId))
        .where(ne(t.campaigns.status, 'archived'))
        .all(),
      this.db
        .select({
          creative: t.creatives,
          media: t.media,
          impressions: t.creativeStats.impressions,
          clicks: t.creativeStats.clicks,
        })
        .from(t.creatives)
        .innerJoin(t.campaigns, eq(t.campaigns.id, t.creatives.campaignId))
        .innerJoin(t.media, eq(t.media.sha256, t.creatives.mediaSha256))
        .leftJoin(t.creativeStats, eq(t.creativeStats.creativeId, t.creatives.id))
        .where(ne(t.campaigns.status, 'archived'))
        .all(),
      // The prior is the whole deployment's CTR (every creative ever counted), smoothed toward 1%.
      this.db
        .select({
          impressions: sql<number>`coalesce(sum(${t.creativeStats.impressions}), 0)`,
          clicks: sql<number>`coalesce(sum(${t.creativeStats.clicks}), 0)`,
        })
        .from(t.creativeStats)
        .get(),
    ]);
    return servableFrom({ campaignRows, creativeRows, totals }, mediaUrl);
  }

  async addCtrCounts(counts: { creativeId: string; impressions: number; clicks: number }[], now: number): Promise<void> {
    const writes = counts.map((c) =>
      this.db
        .insert(t.creativeStats)
        .values({ creativeId: c.creativeId, impressions: c.impressions, clicks: c.clicks, updatedAt: now })
        .onConflictDoUpdate({
          target: t.creativeStats.creativeId,
          set: {
            // Literals, not parameters: workerd binds JS numbers as REAL.
            impressions: sql`${t.creativeStats.impressions} + ${sql.raw(String(Math.trunc(c.impressions)))}`,
            clicks: sql`${t.creativeStats.clicks} + ${sql.raw(String(Math.trunc(c.clicks)))}`,
            updatedAt: now,
          },
        }),
    );
    if (writes.length > 0) await this.atomic(writes as unknown as AtomicWrites);
  }

  async version() {
    return (await this.db.select().from(t.catalogVersion).get())?.version ?? 0;
  }
}
