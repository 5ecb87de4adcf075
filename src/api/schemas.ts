/**
 * Request and response schemas: they validate at the edge and generate the
 * OpenAPI document. Request objects are strict: unknown fields are rejected.
 */
import { z } from '@hono/zod-openapi';
import { CATEGORY_IDS, categoryFromText } from '../engine/categories.js';
import { COUNTRY_CODES } from '../engine/countries.js';
import { CTA_TYPES, ctaTargetProblem, isHttpUrl } from '../engine/cta.js';
import type { Cta } from '../engine/types.js';
import { EVENT_TYPES, LOSS_REASONS } from '../engine/types.js';
import { plainMessage } from './messages.js';

z.config({ customError: plainMessage });

/**
 * Text must be well-formed: a lone UTF-16 surrogate would be stored as U+FFFD
 * (so two different user ids could become one pseudonym) and NUL cuts strings
 * short in C tools and logs. Applied to every string the API accepts.
 */
const ILL_FORMED = /[\0\uD800-\uDFFF]/u;
export const wellFormedText = (s: string) => !ILL_FORMED.test(s);
const WELL_FORMED = 'must be well-formed Unicode text without NUL or lone surrogates';
/** A string schema that refuses ill-formed text (400 naming the field). */
export const text = () => z.string().refine(wellFormedText, WELL_FORMED);

export const Id = text().min(1).max(64);
const Micros = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ISO_DATE_EXPECTED =
  'an ISO-8601 date-time with seconds and an offset, e.g. "2026-01-01T09:00:00Z", or a date, e.g. "2026-01-01"';
const IsoDate = z.union([z.iso.datetime({ offset: true }), z.iso.date()], {
  error: (issue) => (issue.input === undefined ? `required: ${ISO_DATE_EXPECTED}` : `must be ${ISO_DATE_EXPECTED}`),
});
/** Campaign targeting stores codes as the engine compares them: countries in upper case, primary language tags in lower case. */
const Country = z
  .string()
  .regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code in upper case, e.g. "DE"')
  .refine((code) => !/^[A-Z]{2}$/.test(code) || COUNTRY_CODES.has(code), {
    error: (issue) => `"${issue.input}" is not an ISO 3166-1 alpha-2 country code`,
  });
const Language = z.string().regex(/^[a-z]{2,3}$/, 'a BCP-47 primary language tag in lower case, e.g. "de"');
export const PlatformSchema = z.enum(['android', 'ios', 'web']);
const ShortText = (max: number) => text().trim().min(1).max(max);

const HttpUrl = text().max(2000).refine(isHttpUrl, 'must be an absolute https:// (or http://) URL');

/** One of the fixed business categories (docs/api.md#categories); free text is refused, with the id it probably meant. */
const categoryError = (issue: { input?: unknown }) => {
  const meant = typeof issue.input === 'string' ? categoryFromText(issue.input) : undefined;
  const hint = meant ? `; did you mean "${meant}"?` : ' (the list is in docs/api.md#categories and the OpenAPI document)';
  return `category must be one of the fixed category ids, e.g. "food-drink"${hint}`;
};
export const CategorySchema = z.enum(CATEGORY_IDS, { error: categoryError }).openapi('Category');
/** In answers: a category, or null when the advertiser has none (not registered, so `Category` stays the bare list). */
const CategoryOrNull = z.enum(CATEGORY_IDS).nullable();

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

// ---------- operator ----------

/** The business card's fields an advertiser may leave empty. */
const optionalProfileFields = {
  description: text().max(2000),
  address: text().max(500),
  email: z.email().max(320).refine(wellFormedText, WELL_FORMED),
  website: HttpUrl,
  category: CategorySchema,
};
/**
 * A category or `null`: a union, not `CategorySchema.nullable()`, which the OpenAPI generator writes as the
 * registered enum narrowed by allOf (so no null), or, met first, as `Category` itself with null in its list.
 */
const CategoryOrNullInput = z.union([CategorySchema, z.null()], { error: categoryError });

export const AdvertiserProfileInput = z
  .strictObject({
    name: ShortText(200),
    // `null` is "not filled", as every answer shows it and as PATCH /v1/me takes it.
    description: optionalProfileFields.description.nullable().optional(),
    address: optionalProfileFields.address.nullable().optional(),
    email: optionalProfileFields.email.nullable().optional(),
    website: optionalProfileFields.website.nullable().optional(),
    category: CategoryOrNullInput.optional(),
  })
  .openapi('AdvertiserInput');

/** A free-text profile field as stored: blank is not filled in, so `null` on the card like a field never sent. */
export const filledOrNull = (value: string | null | undefined): string | null =>
  value === undefined || value === null || value.trim() === '' ? null : value;

/** A profile change: the fields sent, where `null` empties a field the advertiser filled before. */
export const AdvertiserPatch = z
  .strictObject({
    name: ShortText(200).optional(),
    description: optionalProfileFields.description.nullable().optional(),
    address: optionalProfileFields.address.nullable().optional(),
    email: optionalProfileFields.email.nullable().optional(),
    website: optionalProfileFields.website.nullable().optional(),
    category: CategoryOrNullInput.optional(),
  })
  .openapi('AdvertiserPatch');

/** What every ad shows of its advertiser; the full profile adds bookkeeping to it. */
const advertiserCardFields = {
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  address: z.string().nullable(),
  email: z.string().nullable(),
  website: z.string().nullable(),
  category: CategoryOrNull,
};

export const Advertiser = z
  .object({
    ...advertiserCardFields,
    categoryNotice: z
      .string()
      .optional()
      .openapi({ description: 'Present when a free-text category from before the fixed list could not be mapped to one' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Advertiser');

/** The advertiser's public profile as shown with each ad. */
export const AdvertiserCard = z.object(advertiserCardFields).openapi('AdvertiserCard');

export const ClientInput = z.strictObject({ name: ShortText(200) }).openapi('ClientInput');
export const Client = z.object({ id: z.string(), name: z.string(), createdAt: z.string() }).openapi('Client');

export const ReviewInput = z
  .strictObject({
    decision: z.enum(['approve', 'reject']),
    reason: text().trim().min(1).max(500).optional(),
  })
  .refine((r) => r.decision === 'approve' || r.reason !== undefined, { message: 'a rejection needs a reason', path: ['reason'] })
  .openapi('ReviewInput');

// ---------- campaigns ----------

const Targeting = z
  .strictObject({
    countries: z.array(Country).min(1).max(250).optional(),
    languages: z.array(Language).min(1).max(200).optional(),
    platforms: z.array(PlatformSchema).min(1).max(3).optional(),
  })
  .openapi('Targeting');

const CapSchema = z.strictObject({
  impressions: z.number().int().min(1).max(10_000),
  windowSeconds: z
    .number()
    .int()
    .min(1, 'must be at least 1 second')
    .max(30 * 86_400, 'must be at most 30 days (2592000 seconds)'),
});

// Its own bound, not Micros.min(1): Micros' min(0) would name 0 as the bound of a negative bid as well. The message
// serves the API (micros) and the console's bid in currency units alike.
const Bid = z.strictObject({
  type: z.enum(['cpm', 'cpc']),
  amountMicros: z.number().int().min(1, 'must be at least 1 micro (more than 0)').max(Number.MAX_SAFE_INTEGER),
});
const Budget = z.strictObject({ dailyMicros: Micros.optional(), totalMicros: Micros.optional() });
const Schedule = z.strictObject({ start: IsoDate, end: IsoDate.optional() });

const campaignFields = {
  name: ShortText(200),
  status: z.enum(['active', 'paused', 'archived']),
  schedule: Schedule,
  bid: Bid,
  budget: Budget,
  pacing: z.enum(['even', 'asap']),
  targeting: Targeting,
  caps: z.array(CapSchema).max(10),
};

const scheduleOrdered = (c: { schedule?: { start: string; end?: string } }) =>
  !c.schedule?.end || Date.parse(c.schedule.end) > Date.parse(c.schedule.start);
/** Also the PATCH route's, where the end is checked against the stored start. */
export const END_AFTER_START = 'must be after the start';
const scheduleIssue = { message: END_AFTER_START, path: ['schedule', 'end'] };

/** The name a campaign created without one gets: PRODUCT.md's campaign has no name, so it is not required. */
export const DEFAULT_CAMPAIGN_NAME = 'Untitled campaign';

export const CampaignInput = z
  .strictObject({
    ...campaignFields,
    name: campaignFields.name.default(DEFAULT_CAMPAIGN_NAME),
    status: campaignFields.status.default('active'),
    schedule: Schedule.optional(),
    budget: Budget.default({}),
    pacing: campaignFields.pacing.default('even'),
    targeting: Targeting.default({}),
    caps: campaignFields.caps.default([]),
  })
  .refine(scheduleOrdered, scheduleIssue)
  .openapi('CampaignInput');

/** `null` in a PATCH removes an optional field (RFC 7396), so "no limit", "any" and "no end" can be set again. */
const removable = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

/**
 * A JSON merge patch (RFC 7396) of a campaign: an object field changes only the members sent, `null` removes one;
 * arrays (caps, targeting lists) and scalars are replaced. The end is checked against the stored start by the route.
 */
export const CampaignPatch = z
  .strictObject({
    ...campaignFields,
    schedule: z.strictObject({ start: IsoDate.optional(), end: removable(IsoDate) }),
    bid: z.strictObject({ type: Bid.shape.type.optional(), amountMicros: Bid.shape.amountMicros.optional() }),
    budget: z.strictObject({ dailyMicros: removable(Micros), totalMicros: removable(Micros) }),
    targeting: z.strictObject({
      countries: removable(Targeting.shape.countries.unwrap()),
      languages: removable(Targeting.shape.languages.unwrap()),
      platforms: removable(Targeting.shape.platforms.unwrap()),
    }),
  })
  .partial()
  .refine(
    (c) => !c.schedule?.start || scheduleOrdered({ schedule: { start: c.schedule.start, end: c.schedule.end ?? undefined } }),
    scheduleIssue,
  )
  .openapi('CampaignPatch');

export const Campaign = z
  .object({
    id: z.string(),
    advertiserId: z.string(),
    name: z.string(),
    status: z.enum(['active', 'paused', 'archived']),
    schedule: z.object({ start: z.string(), end: z.string().optional() }),
    bid: z.object({ type: z.enum(['cpm', 'cpc']), amountMicros: z.number().int() }),
    budget: z.object({ dailyMicros: z.number().int().optional(), totalMicros: z.number().int().optional() }),
    pacing: z.enum(['even', 'asap']),
    targeting: z.object({
      countries: z.array(z.string()).optional(),
      languages: z.array(z.string()).optional(),
      platforms: z.array(PlatformSchema).optional(),
    }),
    caps: z.array(z.object({ impressions: z.number().int(), windowSeconds: z.number().int() })),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Campaign');

// ---------- creatives ----------

export const CtaType = z.enum(CTA_TYPES);

/** Fields of a call to action; every path that sets one (upload, any later update) checks it with `ctaIssue`. */
export const ctaFields = {
  ctaType: CtaType,
  ctaTarget: ShortText(2000).openapi({
    description:
      'website: an absolute https:// or http:// URL; call: an E.164 number ("+4930123456"); ' +
      'message: an E.164 number or a chat link "https://wa.me/<digits of the E.164 number>"',
  }),
};

/** Adds a 400 issue naming `ctaTarget` when it does not fit `ctaType`. */
export function ctaIssue(value: { ctaType?: Cta['type']; ctaTarget?: string }, ctx: z.RefinementCtx) {
  if (value.ctaType === undefined || value.ctaTarget === undefined) return;
  const problem = ctaTargetProblem(value.ctaType, value.ctaTarget);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['ctaTarget'] });
}

export const CreativeUpload = z
  .strictObject({
    file: z
      .instanceof(File, { message: 'send the image or video as a file part named "file"' })
      .openapi({ type: 'string', format: 'binary' }),
    headline: ShortText(90),
    ...ctaFields,
  })
  .superRefine(ctaIssue)
  .openapi('CreativeUpload');

export const MediaInfo = z
  .object({
    sha256: z.string(),
    mime: z.string(),
    bytes: z.number().int(),
    width: z.number().int(),
    height: z.number().int(),
    durationMs: z.number().int().optional(),
    url: z.string(),
  })
  .openapi('MediaInfo');

export const Creative = z
  .object({
    id: z.string(),
    campaignId: z.string(),
    advertiserId: z.string(),
    headline: z.string(),
    cta: z.object({ type: CtaType, target: z.string() }),
    review: z.enum(['pending', 'approved', 'rejected']),
    reviewReason: z.string().optional(),
    media: MediaInfo,
    warnings: z.array(z.string()).optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Creative');

// ---------- feed ----------

/** A raw user id: it is pseudonymised before anything else sees it. */
export const UserId = text().min(1).max(256);

/**
 * A slot request's context as the device knows it, in either case: a country code (upper-cased) and any
 * well-formed BCP-47 language tag (RFC 5646 `langtag`, e.g. a device locale "de-AT"), of which only the
 * primary language subtag, lower-cased, is kept: campaigns target those. The patterns and the normalising
 * functions are the whole rule, for `SlotsInput` and `plainSlotsInput` alike.
 */
const CONTEXT_COUNTRY = /^[A-Za-z]{2}$/;
const LANGUAGE_TAG =
  /^(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*(?:-[0-9A-WYZa-wyz](?:-[A-Za-z0-9]{2,8})+)*(?:-[Xx](?:-[A-Za-z0-9]{1,8})+)?$/;
const countryCode = (code: string) => code.toUpperCase();
/** "de-AT" → "de", "DE" → "de". */
const primaryLanguage = (tag: string) => {
  const dash = tag.indexOf('-');
  return (dash < 0 ? tag : tag.slice(0, dash)).toLowerCase();
};
const ContextCountry = z
  .string()
  .regex(CONTEXT_COUNTRY, 'an ISO 3166-1 alpha-2 country code in either case, e.g. "DE"')
  .overwrite(countryCode)
  .openapi({ description: 'ISO 3166-1 alpha-2, either case ("DE", "de"); compared upper-cased', example: 'DE' });
const ContextLanguage = z
  .string()
  .regex(LANGUAGE_TAG, 'a BCP-47 language tag in either case, e.g. "de" or a device locale "de-AT"')
  .overwrite(primaryLanguage)
  .openapi({
    description:
      'Any well-formed BCP-47 language tag, either case ("de", "de-AT", "DE", "zh-Hant-TW"); only its primary language subtag counts, lower-cased ("de-AT" reaches campaigns targeting "de")',
    example: 'de-AT',
  });

export const SlotsInput = z
  .strictObject({
    user: UserId,
    statuses: z.number().int().min(0).max(1000).optional(),
    runs: z
      .array(z.number().int().min(1).max(1000))
      .max(1000)
      .refine((runs) => runs.reduce((a, b) => a + b, 0) <= 1000, 'runs may sum to at most 1000 statuses')
      .optional(),
    context: z
      .strictObject({
        country: ContextCountry.optional(),
        language: ContextLanguage.optional(),
        platform: PlatformSchema.optional(),
      })
      .optional(),
    explain: z.boolean().optional(),
  })
  .refine((r) => (r.statuses === undefined) !== (r.runs === undefined), {
    message: 'send exactly one of statuses or runs',
    path: ['statuses'],
  })
  .openapi('SlotsRequest');

const SLOTS_KEYS = new Set(['user', 'statuses', 'runs', 'context', 'explain']);
const CONTEXT_KEYS = new Set(['country', 'language', 'platform']);
const PLATFORMS = new Set(['android', 'ios', 'web']);
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
const isCount = (v: unknown, min: number, max: number): v is number =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/**
 * The slot request's hot-path check, by hand: a parsed JSON body that `SlotsInput` accepts, as `SlotsInput`
 * parses it (same fields, bounds, text rules and context codes, normalised in place; a test holds the two
 * together), or undefined. Undefined says nothing: the body then goes through `SlotsInput` itself, which
 * names what is wrong.
 */
export function plainSlotsInput(body: unknown): z.infer<typeof SlotsInput> | undefined {
  return isPlainSlotsBody(body) ? body : undefined;
}

function isPlainSlotsBody(body: unknown): body is z.infer<typeof SlotsInput> {
  if (!isPlainObject(body)) return false;
  for (const key in body) if (!SLOTS_KEYS.has(key)) return false;
  const { user, statuses, runs, context, explain } = body;
  if (typeof user !== 'string' || user.length < 1 || user.length > 256 || !wellFormedText(user)) return false;
  if ((statuses === undefined) === (runs === undefined)) return false;
  if (statuses !== undefined && !isCount(statuses, 0, 1000)) return false;
  if (runs !== undefined) {
    if (!Array.isArray(runs) || runs.length > 1000) return false;
    let sum = 0;
    for (const run of runs) {
      if (!isCount(run, 1, 1000)) return false;
      sum += run;
    }
    if (sum > 1000) return false;
  }
  if (context !== undefined) {
    if (!isPlainObject(context)) return false;
    for (const key in context) if (!CONTEXT_KEYS.has(key)) return false;
    const { country, language, platform } = context;
    if (country !== undefined) {
      if (typeof country !== 'string' || !CONTEXT_COUNTRY.test(country)) return false;
      context.country = countryCode(country);
    }
    if (language !== undefined) {
      if (typeof language !== 'string' || !LANGUAGE_TAG.test(language)) return false;
      context.language = primaryLanguage(language);
    }
    if (platform !== undefined && (typeof platform !== 'string' || !PLATFORMS.has(platform))) return false;
  }
  return explain === undefined || typeof explain === 'boolean';
}

export const Slot = z
  .object({
    after: z.number().int(),
    token: z.string(),
    ad: z.object({
      creativeId: z.string(),
      campaignId: z.string(),
      advertiser: AdvertiserCard,
      headline: z.string(),
      cta: z.object({ type: CtaType, target: z.string() }),
      media: z.object({
        url: z.string(),
        mime: z.string(),
        width: z.number().int(),
        height: z.number().int(),
        durationMs: z.number().int().optional(),
      }),
    }),
  })
  .openapi('Slot');

export const ExplainEntry = z
  .object({
    campaignId: z.string(),
    creativeId: z.string().optional(),
    outcome: z.enum(['served', 'rejected']),
    reason: z.enum(LOSS_REASONS).optional(),
    ecpmMicros: z.number().int().optional(),
    priceMicros: z.number().int().optional(),
    remainingBudgetMicros: z.number().int().optional(),
  })
  .openapi('ExplainEntry');

/** A slot request's 200 answer (the slot route's schema; `Delivery.slotsJson` writes it). */
export const SlotsResponse = z.object({ slots: z.array(Slot), explain: z.array(ExplainEntry).optional() });

/**
 * A slot token as sent back: any non-empty text. Whether it is a token of ours (its length included) is the
 * token's own rule (`TokenSigner.verify`), so a forged one is refused item by item, not as a bad request.
 */
const EventToken = text()
  .min(1)
  .openapi({ description: 'The slot token as served (opaque); one that is not a valid token is a rejected item' });

export const EventsInput = z
  .strictObject({
    events: z
      .array(z.strictObject({ token: EventToken, type: z.enum(EVENT_TYPES) }))
      .min(1)
      .max(500),
  })
  .openapi('EventsRequest');

const EVENT_TYPE_NAMES = new Set<string>(EVENT_TYPES);

/**
 * The events request's hot-path check, by hand: true only for a parsed JSON body that `EventsInput`
 * accepts unchanged (same fields, bounds and text rules; a test holds the two together). A false
 * answer says nothing: the body then goes through `EventsInput` itself, which names what is wrong.
 */
export function isPlainEventsInput(body: unknown): body is z.infer<typeof EventsInput> {
  if (!isPlainObject(body)) return false;
  for (const key in body) if (key !== 'events') return false;
  const { events } = body;
  if (!Array.isArray(events) || events.length < 1 || events.length > 500) return false;
  for (const event of events) {
    if (!isPlainObject(event)) return false;
    for (const key in event) if (key !== 'token' && key !== 'type') return false;
    const { token, type } = event;
    if (typeof token !== 'string' || token.length < 1 || !wellFormedText(token)) return false;
    if (typeof type !== 'string' || !EVENT_TYPE_NAMES.has(type)) return false;
  }
  return true;
}

export const EventResult = z
  .object({ status: z.enum(['accepted', 'duplicate', 'rejected']), reason: z.string().optional() })
  .openapi('EventResult');

export const UserAdvertiserInput = z.strictObject({ user: UserId, advertiser: Id }).openapi('UserAdvertiser');
export const UserInput = z.strictObject({ user: UserId }).openapi('UserRef');
export const WhyInput = z.strictObject({ token: text().min(1) }).openapi('WhyRequest');

export const ReportQuery = z.object({
  campaign: Id,
  from: z.iso.date(),
  to: z.iso.date(),
  by: z.enum(['day', 'hour', 'creative', 'country', 'platform']).default('day'),
  format: z.enum(['json', 'csv']).default('json'),
});

export const ReportRow = z
  .object({
    date: z.string().optional().openapi({ description: 'by=day: the UTC day, YYYY-MM-DD' }),
    hour: z.string().optional().openapi({ description: 'by=hour: the UTC hour, YYYY-MM-DDTHH' }),
    creativeId: z.string().optional().openapi({ description: 'by=creative' }),
    country: z.string().optional().openapi({ description: 'by=country: as the feed client sent it; "" when it sent none' }),
    platform: z.string().optional().openapi({ description: 'by=platform: as the feed client sent it; "" when it sent none' }),
    impressions: z.number().int(),
    reach: z.number().int(),
    clicks: z.number().int(),
    hides: z.number().int(),
    reports: z.number().int(),
    blocks: z.number().int(),
    spendMicros: z.number().int(),
    videoStarts: z.number().int(),
    videoFirstQuartiles: z.number().int(),
    videoMidpoints: z.number().int(),
    videoThirdQuartiles: z.number().int(),
    videoCompletes: z.number().int(),
  })
  .openapi('ReportRow');

// ---------- topic controls and forecasts ----------

export const UserCategoryInput = z.strictObject({ user: UserId, category: CategorySchema }).openapi('UserCategory');

export const UserBlocks = z
  .object({ advertisers: z.array(z.string()), categories: z.array(CategorySchema) })
  .openapi('UserBlocks');

/** A campaign as it would be created, for a forecast: what it targets, caps, bids and may spend. */
export const ForecastInput = z
  .strictObject({
    // A whole campaign body is a draft too: its name and status are taken and not used (the forecast is of it running).
    name: campaignFields.name.optional(),
    status: campaignFields.status.optional(),
    bid: Bid,
    budget: Budget.default({}),
    pacing: campaignFields.pacing.default('even'),
    targeting: Targeting.default({}),
    caps: campaignFields.caps.default([]),
    schedule: Schedule.optional(),
  })
  .refine(scheduleOrdered, scheduleIssue)
  .openapi('ForecastRequest');

const Estimate = (description: string) =>
  z.object({ expected: z.number(), low: z.number(), high: z.number() }).openapi({ description });

export const Forecast = z
  .object({
    day: z.string().openapi({ description: 'The UTC day forecast, YYYY-MM-DD (tomorrow)' }),
    matchingRequests: Estimate('Slot requests matching the targeting'),
    reachableUsers: Estimate('Distinct users behind those requests (from reach sketches)'),
    impressions: Estimate('Impressions expected under the caps, the budget and today’s competition'),
    winRate: Estimate('Share of matching requests the campaign would win a slot in, 0..1'),
    averagePriceMicros: Estimate('Expected clearing price, in the bid’s unit: per thousand impressions (cpm) or per click (cpc)'),
    spendMicros: Estimate('Expected spend for the day'),
    basis: z.object({
      days: z.number().int().openapi({ description: 'Days of recorded traffic the forecast used' }),
      from: z.string().nullable(),
      to: z.string().nullable(),
      partial: z.boolean().openapi({ description: 'true when only today’s traffic so far was available, scaled to a day' }),
      requests: z.number().int().openapi({ description: 'Slot requests recorded over those days, all targeting' }),
    }),
  })
  .openapi('Forecast');
