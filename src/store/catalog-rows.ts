/**
 * Row mapping shared by the SQL backends (better-sqlite3, D1, Durable Objects): all
 * read the same schema, so they turn rows into records, servable campaigns and report rows alike.
 */
import type * as t from '../../schema/tables.js';
import { advertiserCard } from '../engine/card.js';
import { ctaTargetProblem } from '../engine/cta.js';
import { deploymentPrior, predictedCtr } from '../engine/ctr.js';
import type { ServableCampaign } from '../engine/types.js';
import type { CampaignPatch, CampaignRecord, Creative } from './interface.js';

export type CampaignRow = typeof t.campaigns.$inferSelect;
export type CreativeRow = typeof t.creatives.$inferSelect;

export function toCampaign(row: CampaignRow): CampaignRecord {
  const budget: CampaignRecord['budget'] = {};
  if (row.dailyBudgetMicros !== null) budget.dailyMicros = row.dailyBudgetMicros;
  if (row.totalBudgetMicros !== null) budget.totalMicros = row.totalBudgetMicros;
  return {
    id: row.id,
    advertiserId: row.advertiserId,
    name: row.name,
    status: row.status,
    startAt: row.startAt,
    endAt: row.endAt,
    bid: { type: row.bidType, amountMicros: row.bidMicros },
    budget,
    pacing: row.pacing,
    targeting: JSON.parse(row.targeting),
    caps: JSON.parse(row.caps),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export function campaignColumns(c: CampaignPatch) {
  const row: Partial<CampaignRow> = {};
  if (c.name !== undefined) row.name = c.name;
  if (c.status !== undefined) row.status = c.status;
  if (c.startAt !== undefined) row.startAt = c.startAt;
  if (c.endAt !== undefined) row.endAt = c.endAt;
  if (c.bid !== undefined) {
    row.bidType = c.bid.type;
    row.bidMicros = c.bid.amountMicros;
  }
  if (c.budget !== undefined) {
    row.dailyBudgetMicros = c.budget.dailyMicros ?? null;
    row.totalBudgetMicros = c.budget.totalMicros ?? null;
  }
  if (c.pacing !== undefined) row.pacing = c.pacing;
  if (c.targeting !== undefined) row.targeting = JSON.stringify(c.targeting);
  if (c.caps !== undefined) row.caps = JSON.stringify(c.caps);
  return row;
}

/** The full row for a new campaign. */
export function campaignRow(campaign: CampaignRecord): CampaignRow {
  return {
    ...(campaignColumns(campaign) as CampaignRow),
    id: campaign.id,
    advertiserId: campaign.advertiserId,
    createdAt: campaign.createdAt,
    updatedAt: campaign.updatedAt,
  };
}

/** The row for a new creative. */
export function creativeRow(creative: Creative): CreativeRow {
  return {
    id: creative.id,
    campaignId: creative.campaignId,
    advertiserId: creative.advertiserId,
    headline: creative.headline,
    ctaType: creative.cta.type,
    ctaTarget: creative.cta.target,
    mediaSha256: creative.mediaSha256,
    review: creative.review,
    reviewReason: creative.reviewReason,
    createdAt: creative.createdAt,
    updatedAt: creative.updatedAt,
  };
}

export function toCreative(row: CreativeRow): Creative {
  return {
    id: row.id,
    campaignId: row.campaignId,
    advertiserId: row.advertiserId,
    headline: row.headline,
    cta: { type: row.ctaType, target: row.ctaTarget },
    mediaSha256: row.mediaSha256,
    review: row.review,
    reviewReason: row.reviewReason,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export interface ServableRows {
  campaignRows: { campaign: CampaignRow; advertiser: typeof t.advertisers.$inferSelect }[];
  creativeRows: {
    creative: CreativeRow;
    media: typeof t.media.$inferSelect;
    impressions: number | null;
    clicks: number | null;
  }[];
  /** Deployment-wide impression and click totals: the CTR prior. */
  totals: { impressions: number; clicks: number } | undefined;
}

/** Active and paused campaigns with their approved creatives and predicted CTRs, for the in-memory index. */
export function servableFrom(
  { campaignRows, creativeRows, totals }: ServableRows,
  mediaUrl: (sha256: string) => string,
): ServableCampaign[] {
  const prior = deploymentPrior(totals?.clicks ?? 0, totals?.impressions ?? 0);
  const byCampaign = new Map<string, ServableCampaign>();
  for (const { campaign, advertiser } of campaignRows) {
    const c = toCampaign(campaign);
    byCampaign.set(c.id, {
      id: c.id,
      advertiserId: c.advertiserId,
      advertiser: advertiserCard(advertiser),
      status: c.status,
      startAt: c.startAt,
      endAt: c.endAt,
      bid: c.bid,
      budget: c.budget,
      pacing: c.pacing,
      targeting: c.targeting,
      caps: c.caps,
      creatives: [],
      hasCreatives: false,
    });
  }
  for (const { creative, media, impressions, clicks } of creativeRows) {
    const campaign = byCampaign.get(creative.campaignId);
    if (!campaign) continue;
    campaign.hasCreatives = true;
    if (creative.review !== 'approved') continue;
    // A target stored before the call-to-action rule was tightened is never served.
    if (ctaTargetProblem(creative.ctaType, creative.ctaTarget)) continue;
    campaign.creatives.push({
      id: creative.id,
      headline: creative.headline,
      cta: { type: creative.ctaType, target: creative.ctaTarget },
      media: {
        url: mediaUrl(media.sha256),
        mime: media.mime,
        width: media.width,
        height: media.height,
        ...(media.durationMs !== null ? { durationMs: media.durationMs } : {}),
      },
      predictedCtr: predictedCtr(clicks ?? 0, impressions ?? 0, prior),
    });
  }
  return [...byCampaign.values()];
}
