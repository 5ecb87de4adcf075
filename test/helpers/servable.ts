/** A servable campaign for the slot path's tests: one image creative, cpm bid rising with `n`, no caps or targeting. */
import { advertiserCard } from '../../src/engine/card.js';
import type { ServableCampaign } from '../../src/engine/types.js';

export function servableCampaign(n: number, now: number, budget: ServableCampaign['budget'] = {}): ServableCampaign {
  return {
    id: `cmp_${n}`,
    advertiserId: `adv_${n}`,
    advertiser: advertiserCard({ id: `adv_${n}`, name: `Shop ${n}` }),
    status: 'active',
    startAt: now - 1000,
    endAt: null,
    bid: { type: 'cpm', amountMicros: 2_000_000 + n * 100_000 },
    budget,
    pacing: 'asap',
    targeting: {},
    caps: [],
    creatives: [
      {
        id: `crv_${n}`,
        headline: `Offer ${n}`,
        cta: { type: 'website', target: 'https://shop.example' },
        media: { url: '/media/x', mime: 'image/png', width: 90, height: 160 },
        predictedCtr: 0.01,
      },
    ],
    hasCreatives: true,
  };
}
