/** Store records to API shapes: times as ISO-8601, optional fields omitted rather than null. */
import type { Advertiser, CampaignRecord, Client, Creative, Media } from '../store/interface.js';

const iso = (ms: number) => new Date(ms).toISOString();

export function advertiserView(a: Advertiser) {
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    address: a.address,
    email: a.email,
    website: a.website,
    category: a.category,
    // A category kept from before the fixed list that maps to none of it: say so until one is chosen.
    ...(a.legacyCategory
      ? {
          categoryNotice: `Your earlier category "${a.legacyCategory}" is not one of the fixed categories and is not shown with your ads; set one of the ids in docs/api.md#categories.`,
        }
      : {}),
    createdAt: iso(a.createdAt),
    updatedAt: iso(a.updatedAt),
  };
}

export function clientView(c: Client) {
  return { id: c.id, name: c.name, createdAt: iso(c.createdAt) };
}

export function campaignView(c: CampaignRecord) {
  const { startAt, endAt, ...rest } = c;
  return {
    ...rest,
    schedule: endAt === null ? { start: iso(startAt) } : { start: iso(startAt), end: iso(endAt) },
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}

export function mediaUrl(publicUrl: string, sha256: string): string {
  return `${publicUrl}/media/${sha256}`;
}

/** Vertical 9:16 fills a status screen; other ratios are letterboxed. */
export function mediaWarnings(media: Pick<Media, 'width' | 'height'>): string[] {
  const ratio = media.width / media.height;
  return Math.abs(ratio - 9 / 16) > 0.02
    ? [`media is ${media.width}x${media.height}; 9:16 (e.g. 1080x1920) is recommended for status feeds`]
    : [];
}

export function creativeView(c: Creative, media: Media, publicUrl: string) {
  const warnings = mediaWarnings(media);
  return {
    id: c.id,
    campaignId: c.campaignId,
    advertiserId: c.advertiserId,
    headline: c.headline,
    cta: c.cta,
    review: c.review,
    ...(c.reviewReason ? { reviewReason: c.reviewReason } : {}),
    media: {
      sha256: media.sha256,
      mime: media.mime,
      bytes: media.bytes,
      width: media.width,
      height: media.height,
      ...(media.durationMs !== null ? { durationMs: media.durationMs } : {}),
      url: mediaUrl(publicUrl, media.sha256),
    },
    ...(warnings.length ? { warnings } : {}),
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}
