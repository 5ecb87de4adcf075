/**
 * Catalog and serving records for store tests, written against the `Store` interface's
 * types: one of each with sensible defaults, `overrides` for what a test cares about.
 */
import { createHash } from 'node:crypto';
import type { ServableCampaign } from '../../src/engine/types.js';
import type {
  Advertiser,
  CampaignRecord as Campaign,
  Creative,
  Media,
  Reservation,
  Store,
  VerifiedEvent,
} from '../../src/store/interface.js';

/** The tests' clock: noon UTC on a weekday. */
export const T = Date.UTC(2026, 10, 25, 12, 0, 0);
export const DAY = 86_400_000;
/** A reservation's lifetime (TOKEN_TTL's default). */
export const TTL = 900_000;

/** The n-th test user's pseudonym: 64 hex characters, as the API edge makes them. */
export const pseudonym = (n: number) => createHash('sha256').update(String(n)).digest('hex');

let counter = 0;
export const nextId = (prefix: string) => `${prefix}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;

export function advertiser(overrides: Partial<Advertiser> = {}): Advertiser {
  return {
    id: nextId('adv'),
    name: 'Bakery',
    description: null,
    address: null,
    email: null,
    website: null,
    category: null,
    legacyCategory: null,
    createdAt: T,
    updatedAt: T,
    ...overrides,
  };
}

export function campaign(advertiserId: string, overrides: Partial<Campaign> = {}): Campaign {
  return {
    id: nextId('cmp'),
    advertiserId,
    name: 'Campaign',
    status: 'active',
    startAt: T - DAY,
    endAt: null,
    bid: { type: 'cpm', amountMicros: 2_000_000 },
    budget: {},
    pacing: 'asap',
    targeting: {},
    caps: [],
    createdAt: T,
    updatedAt: T,
    ...overrides,
  };
}

export function media(n = Math.floor(Math.random() * 1e9)): Media {
  return {
    sha256: n.toString(16).padStart(64, '0'),
    mime: 'image/png',
    bytes: 1234,
    width: 90,
    height: 160,
    durationMs: null,
    createdAt: T,
  };
}

export function creative(c: Campaign, mediaSha256: string, overrides: Partial<Creative> = {}): Creative {
  return {
    id: nextId('crv'),
    campaignId: c.id,
    advertiserId: c.advertiserId,
    headline: 'Fresh bread',
    cta: { type: 'website', target: 'https://bakery.example' },
    mediaSha256,
    review: 'pending',
    reviewReason: null,
    createdAt: T,
    updatedAt: T,
    ...overrides,
  };
}

export function reservation(
  c: Pick<Campaign, 'id' | 'advertiserId' | 'bid'>,
  k: Pick<Creative, 'id'>,
  user: string,
  overrides: Partial<Reservation> = {},
): Reservation {
  return {
    id: nextId('r'),
    uid: user,
    campaignId: c.id,
    creativeId: k.id,
    advertiserId: c.advertiserId,
    bidType: c.bid.type,
    priceMicros: c.bid.type === 'cpm' ? 1000 : 50_000,
    servedAt: T,
    expiresAt: T + TTL,
    viewedAt: null,
    chargedAt: null,
    country: '',
    platform: '',
    video: false,
    ...overrides,
  };
}

/** An event on the reservation's token: its number sealed beside the id where the store gave one (SQLite). */
export const event = (r: Reservation, type: VerifiedEvent['type'] = 'impression'): VerifiedEvent => ({
  type,
  reservationId: r.id,
  reservationNumber: r.number,
  uid: r.uid,
  campaignId: r.campaignId,
  creativeId: r.creativeId,
});

/** Stores `reservations` (served slots) and returns the impression a verified token of each one makes. */
export async function reserveForImpressions(store: Store, reservations: Reservation[]): Promise<VerifiedEvent[]> {
  await store.users.reserve(reservations);
  return reservations.map((r) => ({
    type: 'impression',
    reservationId: r.id,
    uid: r.uid,
    campaignId: r.campaignId,
    creativeId: r.creativeId,
  }));
}

/**
 * An advertiser, one cpm campaign (bid 1.00, `overrides` on top) and one approved creative, written through the
 * catalog; returns the campaign as the engine serves it and the creative.
 */
export async function servedCampaign(store: Store, overrides: Partial<Campaign> = {}) {
  const owner = advertiser();
  await store.catalog.createAdvertiser(owner, `hash-${owner.id}`);
  const record = campaign(owner.id, { bid: { type: 'cpm', amountMicros: 1_000_000 }, ...overrides });
  await store.catalog.createCampaign(record);
  const image = media();
  await store.catalog.putMedia(image);
  const made = creative(record, image.sha256, { review: 'approved' });
  await store.catalog.createCreative(made);
  const servable = (await store.catalog.servable((s) => `/media/${s}`)).find((s) => s.id === record.id) as ServableCampaign;
  return { campaign: record, servable, creative: made };
}
