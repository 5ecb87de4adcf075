/**
 * The catalog in D1 through drizzle's D1 driver: the same tables and rows as the
 * SQLite backend. D1 has no interactive transactions, so multi-row writes go
 * through `batch`, which D1 runs atomically.
 */
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import { drizzle, type DrizzleD1Database } from 'drizzle-orm/d1';
import * as t from '../../../schema/tables.js';
import type { ServableCampaign } from '../../engine/types.js';
import type { Advertiser, AdvertiserProfile, Campaign, CampaignPatch, CatalogStore, Client, Creative, Media, ReviewState } from '../interface.js';
import { campaignColumns, campaignRow, creativeRow, servableFrom, toCampaign, toCreative } from '../catalog-rows.js';

export type D1Db = DrizzleD1Database;

/** Anything drizzle's D1 driver accepts: the Workers binding, or Miniflare's from Node. */
export type D1Binding = Parameters<typeof drizzle>[0];

export class D1Catalog implements CatalogStore {
  readonly db: D1Db;

  constructor(binding: D1Binding) {
    this.db = drizzle(binding);
  }

  private bump() {
    return this.db
      .insert(t.catalogVersion)
      .values({ id: 1, version: 1 })
      .onConflictDoUpdate({ target: t.catalogVersion.id, set: { version: sql`${t.catalogVersion.version} + 1` } });
  }

  async createAdvertiser(advertiser: Advertiser, keyHash: string) {
    await this.db.batch([
      this.db.insert(t.advertisers).values(advertiser),
      this.db.insert(t.apiKeys).values({ keyHash, kind: 'advertiser', ownerId: advertiser.id, createdAt: advertiser.createdAt }),
    ]);
  }

  async listAdvertisers() {
    return this.db.select().from(t.advertisers).orderBy(asc(t.advertisers.createdAt), asc(t.advertisers.id)).all();
  }

  async getAdvertiser(id: string) {
    return this.db.select().from(t.advertisers).where(eq(t.advertisers.id, id)).get();
  }

  async updateAdvertiser(id: string, patch: Partial<AdvertiserProfile>, now: number) {
    const update = this.db.update(t.advertisers).set({ ...patch, ...(patch.category !== undefined ? { legacyCategory: null } : {}), updatedAt: now }).where(eq(t.advertisers.id, id)).returning();
    // The whole profile is the business card shown on served ads.
    if (Object.keys(patch).length === 0) return (await update)[0];
    const [rows] = await this.db.batch([update, this.bump()]);
    return rows[0];
  }

  async createClient(client: Client, keyHash: string) {
    await this.db.batch([
      this.db.insert(t.clients).values(client),
      this.db.insert(t.apiKeys).values({ keyHash, kind: 'client', ownerId: client.id, createdAt: client.createdAt }),
    ]);
  }

  async findKey(keyHash: string) {
    const row = await this.db.select().from(t.apiKeys).where(eq(t.apiKeys.keyHash, keyHash)).get();
    return row ? { kind: row.kind, ownerId: row.ownerId } : undefined;
  }

  async createCampaign(campaign: Campaign) {
    await this.db.batch([
      this.db.insert(t.campaigns).values(campaignRow(campaign)),
      this.bump(),
    ]);
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
    const [rows] = await this.db.batch([
      this.db.update(t.campaigns).set({ ...campaignColumns(patch), updatedAt: now }).where(eq(t.campaigns.id, id)).returning(),
      this.bump(),
    ]);
    return rows[0] ? toCampaign(rows[0]) : undefined;
  }

  async putMedia(media: Media) {
    await this.db.insert(t.media).values(media).onConflictDoNothing().run();
  }

  async getMedia(sha256: string) {
    return this.db.select().from(t.media).where(eq(t.media.sha256, sha256)).get();
  }

  async createCreative(creative: Creative) {
    await this.db.batch([
      this.db.insert(t.creatives).values(creativeRow(creative)),
      this.bump(),
    ]);
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
    // The bump is harmless when no row matched: caches just rebuild once more.
    const [rows] = await this.db.batch([
      this.db.update(t.creatives).set({ review, reviewReason: reason, updatedAt: now }).where(eq(t.creatives.id, id)).returning(),
      this.bump(),
    ]);
    return rows[0] ? toCreative(rows[0]) : undefined;
  }

  /** Sends an approved creative back to review (reported too often); true if it was approved. */
  async sendToReview(id: string, reason: string, now: number): Promise<boolean> {
    const [rows] = await this.db.batch([
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
    // Not one `batch`: drizzle maps joined rows from D1 batches by column name, and
    // campaigns.name and advertisers.name collide there. Plain queries map by position.
    const [campaignRows, creativeRows] = await Promise.all([
      this.db
        .select({ campaign: t.campaigns, advertiser: t.advertisers })
        .from(t.campaigns)
        .innerJoin(t.advertisers, eq(t.advertisers.id, t.campaigns.advertiserId))
        .where(ne(t.campaigns.status, 'archived'))
        .all(),
      this.db
        .select({ creative: t.creatives, media: t.media, impressions: t.creativeStats.impressions, clicks: t.creativeStats.clicks })
        .from(t.creatives)
        .innerJoin(t.campaigns, eq(t.campaigns.id, t.creatives.campaignId))
        .innerJoin(t.media, eq(t.media.sha256, t.creatives.mediaSha256))
        .leftJoin(t.creativeStats, eq(t.creativeStats.creativeId, t.creatives.id))
        .where(ne(t.campaigns.status, 'archived'))
        .all(),
    ]);
    // The prior is the whole deployment's CTR (every creative ever counted), as on SQLite.
    const totals = await this.db
      .select({
        impressions: sql<number>`coalesce(sum(${t.creativeStats.impressions}), 0)`,
        clicks: sql<number>`coalesce(sum(${t.creativeStats.clicks}), 0)`,
      })
      .from(t.creativeStats)
      .get();
    return servableFrom({ campaignRows, creativeRows, totals }, mediaUrl);
  }

  /** Adds impressions and clicks counted elsewhere (campaign objects) to the CTR counters, in one batch. */
  async addCtrCounts(counts: { creativeId: string; impressions: number; clicks: number }[], now: number): Promise<void> {
    if (counts.length === 0) return;
    const [first, ...rest] = counts.map((c) =>
      this.db
        .insert(t.creativeStats)
        .values({ creativeId: c.creativeId, impressions: c.impressions, clicks: c.clicks, updatedAt: now })
        .onConflictDoUpdate({
          target: t.creativeStats.creativeId,
          set: {
            impressions: sql`${t.creativeStats.impressions} + ${sql.raw(String(Math.trunc(c.impressions)))}`,
            clicks: sql`${t.creativeStats.clicks} + ${sql.raw(String(Math.trunc(c.clicks)))}`,
            updatedAt: now,
          },
        }),
    );
    await this.db.batch([first, ...rest]);
  }

  async version() {
    return (await this.db.select().from(t.catalogVersion).get())?.version ?? 0;
  }
}
