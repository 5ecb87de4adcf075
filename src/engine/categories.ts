/**
 * The fixed list of business categories: the top level (tier 1) of the IAB Tech
 * Lab Content Taxonomy 3.0, minus the tiers that describe editorial content
 * rather than a business (Crime, Disasters, Genres, Sensitive Topics, War and
 * Conflicts). An advertiser's `category` is one of these ids; users mute by id.
 */

export const CATEGORIES = [
  { id: 'attractions', iabId: '150', label: 'Attractions' },
  { id: 'automotive', iabId: '1', label: 'Automotive' },
  { id: 'books-literature', iabId: '42', label: 'Books and Literature' },
  { id: 'business-finance', iabId: '52', label: 'Business and Finance' },
  { id: 'careers', iabId: '123', label: 'Careers' },
  { id: 'communication', iabId: '80DV8O', label: 'Communication' },
  { id: 'education', iabId: '132', label: 'Education' },
  { id: 'entertainment', iabId: 'JLBCU7', label: 'Entertainment' },
  { id: 'events', iabId: '8VZQHL', label: 'Events' },
  { id: 'family-relationships', iabId: '186', label: 'Family and Relationships' },
  { id: 'fine-art', iabId: '201', label: 'Fine Art' },
  { id: 'food-drink', iabId: '210', label: 'Food & Drink' },
  { id: 'healthy-living', iabId: '223', label: 'Healthy Living' },
  { id: 'hobbies-interests', iabId: '239', label: 'Hobbies & Interests' },
  { id: 'holidays', iabId: '1KXCLD', label: 'Holidays' },
  { id: 'home-garden', iabId: '274', label: 'Home & Garden' },
  { id: 'law', iabId: '383', label: 'Law' },
  { id: 'medical-health', iabId: '286', label: 'Medical Health' },
  { id: 'personal-celebrations', iabId: '163', label: 'Personal Celebrations & Life Events' },
  { id: 'personal-finance', iabId: '391', label: 'Personal Finance' },
  { id: 'pets', iabId: '422', label: 'Pets' },
  { id: 'politics', iabId: '386', label: 'Politics' },
  { id: 'pop-culture', iabId: '432', label: 'Pop Culture' },
  { id: 'real-estate', iabId: '441', label: 'Real Estate' },
  { id: 'religion-spirituality', iabId: '453', label: 'Religion & Spirituality' },
  { id: 'science', iabId: '464', label: 'Science' },
  { id: 'shopping', iabId: '473', label: 'Shopping' },
  { id: 'sports', iabId: '483', label: 'Sports' },
  { id: 'style-fashion', iabId: '552', label: 'Style & Fashion' },
  { id: 'technology-computing', iabId: '596', label: 'Technology & Computing' },
  { id: 'travel', iabId: '653', label: 'Travel' },
  { id: 'video-gaming', iabId: '680', label: 'Video Gaming' },
] as const;

export type CategoryId = (typeof CATEGORIES)[number]['id'];

export const CATEGORY_IDS = CATEGORIES.map((c) => c.id) as [CategoryId, ...CategoryId[]];

const ids = new Set<string>(CATEGORY_IDS);

export function isCategory(value: string): value is CategoryId {
  return ids.has(value);
}

export function categoryLabel(id: CategoryId): string {
  return CATEGORIES.find((c) => c.id === id)?.label ?? id;
}

/**
 * Common free-text categories advertisers used before the list was fixed, and
 * the category each one means. The 0003 migration maps stored values with
 * exactly this table (test/engine/categories.test.ts keeps the two in step).
 */
export const LEGACY_SYNONYMS: Record<string, CategoryId> = {
  food: 'food-drink',
  restaurant: 'food-drink',
  restaurants: 'food-drink',
  bakery: 'food-drink',
  cafe: 'food-drink',
  coffee: 'food-drink',
  drinks: 'food-drink',
  'food and beverage': 'food-drink',
  catering: 'food-drink',
  grocery: 'shopping',
  retail: 'shopping',
  shop: 'shopping',
  store: 'shopping',
  ecommerce: 'shopping',
  'e-commerce': 'shopping',
  fashion: 'style-fashion',
  clothing: 'style-fashion',
  apparel: 'style-fashion',
  beauty: 'style-fashion',
  cosmetics: 'style-fashion',
  tech: 'technology-computing',
  technology: 'technology-computing',
  software: 'technology-computing',
  electronics: 'technology-computing',
  it: 'technology-computing',
  finance: 'business-finance',
  business: 'business-finance',
  banking: 'personal-finance',
  bank: 'personal-finance',
  insurance: 'personal-finance',
  health: 'medical-health',
  medical: 'medical-health',
  pharmacy: 'medical-health',
  clinic: 'medical-health',
  fitness: 'healthy-living',
  gym: 'healthy-living',
  wellness: 'healthy-living',
  sport: 'sports',
  cars: 'automotive',
  auto: 'automotive',
  car: 'automotive',
  hotel: 'travel',
  hotels: 'travel',
  tourism: 'travel',
  games: 'video-gaming',
  gaming: 'video-gaming',
  music: 'entertainment',
  movies: 'entertainment',
  cinema: 'entertainment',
  media: 'entertainment',
  books: 'books-literature',
  school: 'education',
  courses: 'education',
  jobs: 'careers',
  recruiting: 'careers',
  'real estate': 'real-estate',
  property: 'real-estate',
  garden: 'home-garden',
  furniture: 'home-garden',
  home: 'home-garden',
  pet: 'pets',
  telecom: 'communication',
  legal: 'law',
  art: 'fine-art',
  church: 'religion-spirituality',
};

/** Lower case, trimmed, "&" as "and", runs of other punctuation and spaces as one space. */
export function normalizeCategoryText(text: string): string {
  return text
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[^a-z0-9-]+/g, ' ')
    .trim();
}

const byText = new Map<string, CategoryId>();
for (const c of CATEGORIES) {
  byText.set(c.id, c.id);
  byText.set(c.id.replace(/-/g, ' '), c.id);
  byText.set(normalizeCategoryText(c.label), c.id);
  byText.set(c.iabId.toLowerCase(), c.id);
}
for (const [text, id] of Object.entries(LEGACY_SYNONYMS)) byText.set(normalizeCategoryText(text), id);

/** The category a free-text value means (an id, a label, an IAB id or a common synonym), if any. */
export function categoryFromText(text: string): CategoryId | undefined {
  return byText.get(normalizeCategoryText(text));
}
