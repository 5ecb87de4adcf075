/**
 * The catalog use case: every write to advertisers, campaigns and creatives goes
 * through here, which also refreshes the index (and, when a campaign's budget or
 * status changes, lets the budget store cut holds the new budget no longer allows),
 * so routes and the console only translate HTTP. Reads go to the store directly.
 */
import type {
  Advertiser,
  AdvertiserProfile,
  CampaignPatch,
  CampaignRecord,
  Client,
  Creative,
  Media,
  ReviewState,
  Store,
} from '../store/interface.js';

export class CatalogService {
  constructor(
    private store: Pick<Store, 'catalog' | 'budgets'>,
    /**
     * The index rebuilt from the store after a change, before the write answers (on Node's engine thread
     * where the index is there), so the very next slot request sees the change.
     */
    private refresh: () => Promise<void>,
  ) {}

  createAdvertiser(advertiser: Advertiser, keyHash: string): Promise<void> {
    return this.store.catalog.createAdvertiser(advertiser, keyHash);
  }

  async updateAdvertiser(id: string, patch: Partial<AdvertiserProfile>, now: number): Promise<Advertiser | undefined> {
    const advertiser = await this.store.catalog.updateAdvertiser(id, patch, now);
    // The whole profile is the business card shown with served ads.
    if (advertiser && Object.keys(patch).length > 0) await this.refresh();
    return advertiser;
  }

  createClient(client: Client, keyHash: string): Promise<void> {
    return this.store.catalog.createClient(client, keyHash);
  }

  async createCampaign(campaign: CampaignRecord): Promise<void> {
    await this.store.catalog.createCampaign(campaign);
    await this.refresh();
  }

  async updateCampaign(id: string, patch: CampaignPatch, now: number): Promise<CampaignRecord | undefined> {
    const campaign = await this.store.catalog.updateCampaign(id, patch, now);
    if (!campaign) return undefined;
    // The index that serves slots first: every hold taken after it is checked against the new budget (its
    // campaign object, `tryHold`), so the cut below catches every hold taken under the old one. Cut first and
    // refresh after, and slots decided in between (several round trips with the engine on its own thread)
    // would keep holds the new budget does not allow.
    try {
      await this.refresh();
    } finally {
      // Spend never exceeds the budget in force: holds taken under a larger budget are cut to it (also when a
      // refresh failed: the change is committed).
      if (patch.budget !== undefined || patch.status !== undefined) {
        // Holds lapse with their tokens if the budget store cannot be reached now.
        await this.store.budgets
          .limit(campaign, now)
          .catch((err) => console.error(`[budgets] could not cut holds of ${id}: ${(err as Error).message}`));
      }
    }
    return campaign;
  }

  putMedia(media: Media): Promise<void> {
    return this.store.catalog.putMedia(media);
  }

  async createCreative(creative: Creative): Promise<void> {
    await this.store.catalog.createCreative(creative);
    await this.refresh();
  }

  async setReview(id: string, review: ReviewState, reason: string | null, now: number): Promise<Creative | undefined> {
    const creative = await this.store.catalog.setReview(id, review, reason, now);
    if (creative) await this.refresh();
    return creative;
  }
}
