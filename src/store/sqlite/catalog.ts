/** Advertisers, keys, campaigns, media and creatives in SQLite through drizzle. */
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import * as t from '../../../schema/tables.js';
import type { ServableCampaign } from '../../engine/types.js';
import type { Advertiser, AdvertiserProfile, Campaign, CampaignPatch, CatalogStore, Client, Creative, Media, ReviewState } from '../interface.js';
import { campaignColumns, campaignRow, creativeRow, servableFrom, toCampaign, toCreative } from '../catalog-rows.js';
import type { Db } from './db.js';

export class SqliteCatalog implements CatalogStore {
  constructor(private db: Db) {}

  private bump(): void {
    this.db
      .insert(t.catalogVersion)
      .values({ id: 1, version: 1 })
      .onConflictDoUpdate({ target: t.catalogVersion.id, set: { version: sql`${t.catalogVersion.version} + 1` } })
      .run();
  }

  async createAdvertiser(advertiser: Advertiser, keyHash: string) {
    this.db.transaction((tx) => {
      tx.insert(t.advertisers).values(advertiser).run();
      tx.insert(t.apiKeys).values({ keyHash, kind: 'advertiser', ownerId: advertiser.id, createdAt: advertiser.createdAt }).run();
    });
  }

  async listAdvertisers() {
    return this.db.select().from(t.advertisers).orderBy(asc(t.advertisers.createdAt), asc(t.advertisers.id)).all();
  }

  async getAdvertiser(id: string) {
    return this.db.select().from(t.advertisers).where(eq(t.advertisers.id, id)).get();
  }

  async updateAdvertiser(id: string, patch: Partial<AdvertiserProfile>, now: number) {
    return this.db.transaction((tx) => {
      const row = tx.update(t.advertisers).set({ ...patch, ...(patch.category !== undefined ? { legacyCategory: null } : {}), updatedAt: now }).where(eq(t.advertisers.id, id)).returning().get();
      // The whole profile is the business card shown on served ads.
      if (row && Object.keys(patch).length > 0) this.bump();
      return row;
    });
  }

  async createClient(client: Client, keyHash: string) {
    this.db.transaction((tx) => {
      tx.insert(t.clients).values(client).run();
      tx.insert(t.apiKeys).values({ keyHash, kind: 'client', ownerId: client.id, createdAt: client.createdAt }).run();
    });
  }

  async findKey(keyHash: string) {
    const row = this.db.select().from(t.apiKeys).where(eq(t.apiKeys.keyHash, keyHash)).get();
    return row ? { kind: row.kind, ownerId: row.ownerId } : undefined;
  }

  async createCampaign(campaign: Campaign) {
    this.db.transaction(() => {
      this.db
        .insert(t.campaigns)
        .values(campaignRow(campaign))
        .run();
      this.bump();
    });
  }

  async listCampaigns(advertiserId: string) {
    return this.db
      .select()
      .from(t.campaigns)
      .where(eq(t.campaigns.advertiserId, advertiserId))
      .orderBy(asc(t.campaigns.createdAt), asc(t.campaigns.id))
      .all()
      .map(toCampaign);
  }

  async getCampaign(id: string) {
    const row = this.db.select().from(t.campaigns).where(eq(t.campaigns.id, id)).get();
    return row ? toCampaign(row) : undefined;
  }

  async updateCampaign(id: string, patch: CampaignPatch, now: number) {
    return this.db.transaction(() => {
      const row = this.db
        .update(t.campaigns)
        .set({ ...campaignColumns(patch), updatedAt: now })
        .where(eq(t.campaigns.id, id))
        .returning()
        .get();
      if (row) this.bump();
      return row ? toCampaign(row) : undefined;
    });
  }

  async putMedia(media: Media) {
    this.db.insert(t.media).values(media).onConflictDoNothing().run();
  }

  async getMedia(sha256: string) {
    return this.db.select().from(t.media).where(eq(t.media.sha256, sha256)).get();
  }

  async createCreative(creative: Creative) {
    this.db.transaction(() => {
      this.db
        .insert(t.creatives)
        .values(creativeRow(creative))
        .run();
      this.bump();
    });
  }

  async getCreative(id: string) {
    const row = this.db.select().from(t.creatives).where(eq(t.creatives.id, id)).get();
    return row ? toCreative(row) : undefined;
  }

  async listCreatives(filter: { review?: ReviewState; campaignId?: string }) {
    const conditions = [];
    if (filter.review) conditions.push(eq(t.creatives.review, filter.review));
    if (filter.campaignId) conditions.push(eq(t.creatives.campaignId, filter.campaignId));
    return this.db
      .select()
      .from(t.creatives)
      .where(and(...conditions))
      .orderBy(asc(t.creatives.createdAt), asc(t.creatives.id))
      .all()
      .map(toCreative);
  }

  async setReview(id: string, review: ReviewState, reason: string | null, now: number) {
    return this.db.transaction(() => {
      const row = this.db
        .update(t.creatives)
        .set({ review, reviewReason: reason, updatedAt: now })
        .where(eq(t.creatives.id, id))
        .returning()
        .get();
      if (row) this.bump();
      return row ? toCreative(row) : undefined;
    });
  }

  async servable(mediaUrl: (sha256: string) => string): Promise<ServableCampaign[]> {
    const campaignRows = this.db
      .select({ campaign: t.campaigns, advertiser: t.advertisers })
      .from(t.campaigns)
      .innerJoin(t.advertisers, eq(t.advertisers.id, t.campaigns.advertiserId))
      .where(ne(t.campaigns.status, 'archived'))
      .all();
    const creativeRows = this.db
      .select({ creative: t.creatives, media: t.media, impressions: t.creativeStats.impressions, clicks: t.creativeStats.clicks })
      .from(t.creatives)
      .innerJoin(t.campaigns, eq(t.campaigns.id, t.creatives.campaignId))
      .innerJoin(t.media, eq(t.media.sha256, t.creatives.mediaSha256))
      .leftJoin(t.creativeStats, eq(t.creativeStats.creativeId, t.creatives.id))
      .where(ne(t.campaigns.status, 'archived'))
      .all();
    // The prior is the whole deployment's CTR (every creative ever counted), smoothed toward 1%.
    const totals = this.db
      .select({
        impressions: sql<number>`coalesce(sum(${t.creativeStats.impressions}), 0)`,
        clicks: sql<number>`coalesce(sum(${t.creativeStats.clicks}), 0)`,
      })
      .from(t.creativeStats)
      .get();
    return servableFrom({ campaignRows, creativeRows, totals }, mediaUrl);
  }

  async version() {
    return this.db.select().from(t.catalogVersion).get()?.version ?? 0;
  }
}
