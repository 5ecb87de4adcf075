/** The business card shown with every ad: the advertiser's public profile, absent fields as null. */
import { isCategory } from './categories.js';
import type { AdvertiserCard } from './types.js';

export interface ProfileFields {
  id: string;
  name: string;
  description?: string | null;
  address?: string | null;
  email?: string | null;
  website?: string | null;
  category?: string | null;
}

/** A card from profile fields; a category outside the fixed list is never shown (or muted by). */
export function advertiserCard(profile: ProfileFields): AdvertiserCard {
  return {
    id: profile.id,
    name: profile.name,
    description: profile.description ?? null,
    address: profile.address ?? null,
    email: profile.email ?? null,
    website: profile.website ?? null,
    category: profile.category && isCategory(profile.category) ? profile.category : null,
  };
}
