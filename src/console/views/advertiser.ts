/** Advertiser pages: business profile, campaigns, one campaign with its creatives, reports. */
import { DEFAULT_CAMPAIGN_NAME } from '../../api/schemas.js';
import { CATEGORIES } from '../../engine/categories.js';
import type { AdvertiserView, CampaignView, CreativeView, ForecastView, ReportRowView } from '../api.js';
import { CAMPAIGN_LABELS, type CampaignFormValues, describeCap } from '../campaign-form.js';
import { type FieldErrors, formatMicros, lastDay } from '../forms.js';
import type { Session } from '../session.js';
import { reportChart, ZERO_ROW } from './chart.js';
import { checkboxes, csrfField, errorSummary, scrollTable, section, selectField, textArea, textField } from './fields.js';
import { attr, type Content, type Html, html } from './html.js';
import { page } from './layout.js';
import { CTA_LABELS, phonePreview } from './phone.js';

const money = (micros: number | undefined) => (micros === undefined ? 'none' : formatMicros(micros));
const STATUS_LABELS: Record<string, string> = { active: 'Active', paused: 'Paused', archived: 'Archived' };
const REVIEW_LABELS: Record<string, string> = { pending: 'Pending review', approved: 'Approved', rejected: 'Rejected' };

// ---------- profile ----------

export const PROFILE_LABELS = {
  name: 'Business name',
  description: 'Description',
  address: 'Address',
  email: 'Email',
  website: 'Website',
  category: 'Category',
} as const;

export type ProfileValues = Record<keyof typeof PROFILE_LABELS, string>;

/** The profile fields, shared by the advertiser's own form and the operator's "create advertiser" form. */
export function profileFields({ values, errors }: { values: Partial<ProfileValues>; errors: FieldErrors }): Content {
  return [
    textField({
      name: 'name',
      label: PROFILE_LABELS.name,
      value: values.name,
      required: true,
      maxlength: 200,
      errors,
      autocomplete: 'organization',
    }),
    textArea({ name: 'description', label: PROFILE_LABELS.description, value: values.description, maxlength: 2000, errors }),
    textField({
      name: 'address',
      label: PROFILE_LABELS.address,
      value: values.address,
      maxlength: 500,
      errors,
      autocomplete: 'street-address',
    }),
    textField({ name: 'email', label: PROFILE_LABELS.email, type: 'email', value: values.email, errors, autocomplete: 'email' }),
    textField({
      name: 'website',
      label: PROFILE_LABELS.website,
      type: 'url',
      value: values.website,
      errors,
      hint: 'Starts with https://',
      autocomplete: 'url',
    }),
    selectField({
      name: 'category',
      label: PROFILE_LABELS.category,
      value: values.category,
      options: [['', 'No category'], ...CATEGORIES.map((c): [string, string] => [c.id, c.label])],
      errors,
      hint: 'People can mute a whole category of ads',
    }),
  ];
}

export function profilePage(props: {
  session: Session;
  profile: AdvertiserView;
  values: ProfileValues;
  errors: FieldErrors;
  notice?: string;
}): Html {
  const { session, profile, values, errors } = props;
  return page({ title: 'Business profile', session, section: '/console/profile', notice: props.notice }, [
    html`<p>This is the business card people see with your ads.</p>`,
    html`<div class="split">${[
      html`<form method="post" action="/console/profile" class="stack" novalidate="">${[
        errorSummary({ errors, labels: PROFILE_LABELS }),
        csrfField(session.csrf),
        profile.categoryNotice && html`<p class="warning">${profile.categoryNotice}</p>`,
        profileFields({ values, errors }),
        html`<button type="submit">Save profile</button>`,
      ]}</form>`,
      phonePreview({
        advertiser: profile,
        headline: 'Your headline',
        ctaType: 'website',
        caption: 'Your business card as people see it',
      }),
    ]}</div>`,
  ]);
}

// ---------- campaigns ----------

export interface CampaignRow {
  campaign: CampaignView;
  /** Undefined when today's report could not be read. */
  todaySpendMicros?: number;
}

function statusButton(campaign: CampaignView, csrf: string): Content {
  if (campaign.status === 'archived') return null;
  const next = campaign.status === 'active' ? 'paused' : 'active';
  return html`<form method="post" action="${`/console/campaigns/${encodeURIComponent(campaign.id)}/status`}" class="inline">${[
    csrfField(csrf),
    html`<input type="hidden" name="status" value="${next}"/>`,
    html`<button type="submit" class="secondary">${next === 'paused' ? 'Pause' : 'Resume'}<span class="visually-hidden"> ${campaign.name}</span></button>`,
  ]}</form>`;
}

function spend(row: CampaignRow): Html {
  const daily = row.campaign.budget.dailyMicros;
  if (row.todaySpendMicros === undefined) return html`<span>unavailable</span>`;
  return html`<span class="spend">${[
    money(row.todaySpendMicros),
    daily !== undefined ? ` of ${money(daily)}` : ' (no daily budget)',
    daily !== undefined &&
      daily > 0 &&
      html`<meter min="0" max="${daily}" value="${Math.min(row.todaySpendMicros, daily)}" aria-label="${`Today’s spend against the daily budget of ${row.campaign.name}`}"></meter>`,
  ]}</span>`;
}

export function campaignsPage({ session, rows, notice }: { session: Session; rows: CampaignRow[]; notice?: string }): Html {
  return page({ title: 'Campaigns', session, section: '/console/campaigns', notice }, [
    html`<p><a class="button" href="/console/campaigns/new">New campaign</a></p>`,
    rows.length === 0
      ? html`<p>You have no campaigns yet.</p>`
      : scrollTable('Your campaigns (spend is today’s, UTC)', [
          html`<thead><tr><th scope="col">Campaign</th><th scope="col">Status</th><th scope="col">Today’s spend</th><th scope="col">Bid</th><th scope="col">Actions</th></tr></thead>`,
          html`<tbody>${rows.map((row) => {
            const path = `/console/campaigns/${encodeURIComponent(row.campaign.id)}`;
            return html`<tr>${[
              html`<th scope="row"><a href="${path}">${row.campaign.name}</a></th>`,
              html`<td>${STATUS_LABELS[row.campaign.status]}</td>`,
              html`<td>${spend(row)}</td>`,
              html`<td>${money(row.campaign.bid.amountMicros)} ${row.campaign.bid.type.toUpperCase()}</td>`,
              html`<td class="actions">${[
                html`<a href="${`${path}/edit`}">Edit<span class="visually-hidden"> ${row.campaign.name}</span></a>`,
                statusButton(row.campaign, session.csrf),
              ]}</td>`,
            ]}</tr>`;
          })}</tbody>`,
        ]),
  ]);
}

/** What decides delivery: schedule, bid, budgets, pacing, targeting and the cap (the campaign form's and the forecast's). */
function deliveryFields(v: CampaignFormValues, errors: FieldErrors, otherCaps: CampaignView['caps'] = []): Content {
  const L = CAMPAIGN_LABELS;
  const row = (...fields: Content[]) => html`<div class="row">${fields}</div>`;
  return [
    row(
      textField({ name: 'start', label: L.start, type: 'date', value: v.start, errors, hint: 'The first day it runs (UTC)' }),
      textField({ name: 'end', label: L.end, type: 'date', value: v.end, errors, hint: 'Optional: the last day it runs' }),
    ),
    row(
      selectField({
        name: 'bidType',
        label: L.bidType,
        value: v.bidType,
        errors,
        options: [
          ['cpm', 'CPM (per 1,000 impressions)'],
          ['cpc', 'CPC (per click)'],
        ],
      }),
      textField({
        name: 'bidAmount',
        label: L.bidAmount,
        value: v.bidAmount,
        inputmode: 'decimal',
        errors,
        hint: 'In your currency, e.g. 2.50',
      }),
    ),
    row(
      textField({
        name: 'dailyBudget',
        label: L.dailyBudget,
        value: v.dailyBudget,
        inputmode: 'decimal',
        errors,
        hint: 'Optional',
      }),
      textField({
        name: 'totalBudget',
        label: L.totalBudget,
        value: v.totalBudget,
        inputmode: 'decimal',
        errors,
        hint: 'Optional',
      }),
    ),
    selectField({
      name: 'pacing',
      label: L.pacing,
      value: v.pacing,
      errors,
      options: [
        ['even', 'Even through the day'],
        ['asap', 'As fast as possible'],
      ],
    }),
    textField({
      name: 'countries',
      label: L.countries,
      value: v.countries,
      errors,
      hint: 'ISO codes separated by commas, e.g. DE, FR. Empty: everywhere',
    }),
    textField({
      name: 'languages',
      label: L.languages,
      value: v.languages,
      errors,
      hint: 'Language codes separated by commas, e.g. de, fr. Empty: any',
    }),
    checkboxes({
      name: 'platforms',
      label: L.platforms,
      values: v.platforms,
      errors,
      hint: 'None ticked: all',
      options: [
        ['android', 'Android'],
        ['ios', 'iOS'],
        ['web', 'Web'],
      ],
    }),
    row(
      textField({
        name: 'capImpressions',
        label: L.capImpressions,
        value: v.capImpressions,
        inputmode: 'numeric',
        errors,
        hint: 'Optional',
      }),
      textField({
        name: 'capHours',
        label: L.capHours,
        value: v.capHours,
        inputmode: 'decimal',
        errors,
        hint: 'Optional, e.g. 24 or 0.5',
      }),
    ),
    otherCaps.length > 0 &&
      html`<p class="hint">Also capped at ${otherCaps.map(describeCap).join('; ')}: kept as they are (the API changes them).</p>`,
  ];
}

export function campaignFormPage(props: {
  session: Session;
  campaign?: CampaignView;
  values: CampaignFormValues;
  errors: FieldErrors;
}): Html {
  const { session, campaign, values: v, errors } = props;
  const editing = campaign !== undefined;
  const action = editing ? `/console/campaigns/${encodeURIComponent(campaign.id)}/edit` : '/console/campaigns/new';
  const L = CAMPAIGN_LABELS;
  return page(
    { title: editing ? `Edit ${campaign.name}` : 'New campaign', session, section: '/console/campaigns' },
    html`<form method="post" action="${action}" class="stack" novalidate="">${[
      errorSummary({ errors, labels: L }),
      csrfField(session.csrf),
      textField({
        name: 'name',
        label: L.name,
        value: v.name,
        required: editing,
        maxlength: 200,
        errors,
        hint: editing ? undefined : `Optional: “${DEFAULT_CAMPAIGN_NAME}” when left empty`,
      }),
      selectField({
        name: 'status',
        label: L.status,
        value: v.status,
        errors,
        options: [
          ['active', 'Active'],
          ['paused', 'Paused'],
          ['archived', 'Archived'],
        ],
      }),
      deliveryFields(v, errors, campaign?.caps.slice(1)),
      html`<button type="submit">${editing ? 'Save campaign' : 'Create campaign'}</button>`,
    ]}</form>`,
  );
}

// ---------- forecast ----------

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const percent = (n: number) => `${(n * 100).toFixed(1)}%`;

/** One day's expected delivery for a draft, with its range and what it is based on. */
function forecastResult(f: ForecastView, bidType: string): Html {
  const price = bidType === 'cpc' ? 'Average price per click' : 'Average price per 1,000 impressions';
  const lines: [string, ForecastView['impressions'], (n: number) => string][] = [
    ['Matching requests', f.matchingRequests, count],
    ['Reachable people', f.reachableUsers, count],
    ['Impressions', f.impressions, count],
    ['Win rate', f.winRate, percent],
    [price, f.averagePriceMicros, (n) => formatMicros(Math.round(n))],
    ['Spend', f.spendMicros, (n) => formatMicros(Math.round(n))],
  ];
  const b = f.basis;
  const basis =
    b.requests === 0
      ? 'No traffic has been recorded yet, so every figure is 0.'
      : b.partial
        ? `Based on today’s traffic so far (${count(b.requests)} request${b.requests === 1 ? '' : 's'}), scaled to a day.`
        : `Based on ${count(b.requests)} requests over ${b.days} day${b.days === 1 ? '' : 's'}, ${b.from} to ${b.to} (UTC).`;
  return html`<section aria-labelledby="forecast-heading" class="forecast">${[
    html`<h2 id="forecast-heading">Forecast for ${f.day} (UTC)</h2>`,
    scrollTable(`Expected delivery on ${f.day}, with a low and a high estimate`, [
      html`<thead><tr><th scope="col">Measure</th><th scope="col">Expected</th><th scope="col">Low</th><th scope="col">High</th></tr></thead>`,
      html`<tbody>${lines.map(
        ([label, e, format]) =>
          html`<tr><th scope="row">${label}</th><td>${format(e.expected)}</td><td>${format(e.low)}</td><td>${format(e.high)}</td></tr>`,
      )}</tbody>`,
    ]),
    html`<p>${basis} Built from aggregate counts, never from people’s ids.</p>`,
  ]}</section>`;
}

export function forecastPage(props: {
  session: Session;
  values: CampaignFormValues;
  errors: FieldErrors;
  forecast?: ForecastView;
}): Html {
  const { session, values, errors, forecast } = props;
  return page({ title: 'Forecast', session, section: '/console/forecast' }, [
    html`<p>What a campaign with these settings could expect tomorrow, from the traffic of the last 7 days. Nothing is saved.</p>`,
    html`<form method="get" action="/console/forecast" class="stack" novalidate="">${[
      errorSummary({ errors, labels: CAMPAIGN_LABELS }),
      deliveryFields(values, errors),
      html`<button type="submit">Run forecast</button>`,
    ]}</form>`,
    forecast && forecastResult(forecast, values.bidType),
  ]);
}

// ---------- one campaign: creatives ----------

export const UPLOAD_LABELS = {
  file: 'Image or video file',
  headline: 'Headline',
  ctaType: 'Call to action',
  ctaTarget: 'Call-to-action target',
} as const;
export type UploadValues = Record<Exclude<keyof typeof UPLOAD_LABELS, 'file'>, string>;

const mediaPath = (c: CreativeView) => `/media/${c.media.sha256}`;

function creativeCard(creative: CreativeView, profile: AdvertiserView): Html {
  const headingId = `creative-${creative.id}`;
  const m = creative.media;
  return html`<article class="creative" aria-labelledby="${headingId}">${[
    html`<h3 id="${headingId}">${creative.headline}</h3>`,
    phonePreview({
      advertiser: profile,
      headline: creative.headline,
      ctaType: creative.cta.type,
      media: { src: mediaPath(creative), mime: m.mime },
      caption: `${m.mime}, ${m.width}×${m.height}${m.durationMs ? `, ${(m.durationMs / 1000).toFixed(1)} s` : ''}`,
    }),
    html`<p class="${`review review-${creative.review}`}">Review: <strong>${REVIEW_LABELS[creative.review]}</strong></p>`,
    creative.reviewReason && html`<p class="reason">Reason: ${creative.reviewReason}</p>`,
    html`<p>${CTA_LABELS[creative.cta.type]}: ${creative.cta.target}</p>`,
    creative.warnings?.map((w) => html`<p class="warning">${w}</p>`),
  ]}</article>`;
}

export function campaignPage(props: {
  session: Session;
  campaign: CampaignView;
  creatives: CreativeView[];
  profile: AdvertiserView;
  upload: UploadValues;
  errors: FieldErrors;
  notice?: string;
}): Html {
  const { session, campaign, creatives, profile, upload, errors } = props;
  const id = encodeURIComponent(campaign.id);
  const t = campaign.targeting;
  const targeting = [
    t.countries?.join(', ') ?? 'all countries',
    t.languages?.join(', ') ?? 'all languages',
    t.platforms?.join(', ') ?? 'all platforms',
  ].join('; ');
  return page({ title: campaign.name, session, section: '/console/campaigns', notice: props.notice }, [
    html`<dl class="summary">${[
      html`<dt>Status</dt><dd>${STATUS_LABELS[campaign.status]}</dd>`,
      html`<dt>Schedule</dt><dd>${campaign.schedule.start.slice(0, 10)} to ${campaign.schedule.end ? lastDay(campaign.schedule.end) : 'no end'}</dd>`,
      html`<dt>Bid</dt><dd>${money(campaign.bid.amountMicros)} ${campaign.bid.type.toUpperCase()}</dd>`,
      html`<dt>Budget</dt><dd>daily ${money(campaign.budget.dailyMicros)}, total ${money(campaign.budget.totalMicros)}, ${campaign.pacing} pacing</dd>`,
      html`<dt>Targeting</dt><dd>${targeting}</dd>`,
      html`<dt>Frequency caps</dt><dd>${campaign.caps.length ? campaign.caps.map(describeCap).join('; ') : 'none'}</dd>`,
    ]}</dl>`,
    html`<p class="actions">${[
      html`<a href="${`/console/campaigns/${id}/edit`}">Edit campaign</a>`,
      statusButton(campaign, session.csrf),
      html`<a href="${`/console/reports?campaign=${id}`}">Report</a>`,
    ]}</p>`,

    section(
      { title: 'Upload a creative', id: 'upload' },
      html`<div class="split">${[
        html`<form method="post" action="${`/console/campaigns/${id}/creatives`}" enctype="multipart/form-data" class="stack" data-upload-form="true" novalidate="">${[
          errorSummary({ errors, labels: UPLOAD_LABELS }),
          csrfField(session.csrf),
          html`<div class="field dropzone" data-dropzone="true">${[
            html`<label for="file">${UPLOAD_LABELS.file}</label>`,
            html`<input id="file" name="file" type="file" accept="image/png,image/jpeg,image/webp,video/mp4" required="" aria-describedby="${`file-hint${errors.file ? ' file-error' : ''}`}"${attr('aria-invalid', errors.file ? 'true' : undefined)}/>`,
            html`<p class="hint" id="file-hint">Drop a file here or choose one: PNG, JPEG or WebP up to 5 MB, or MP4 up to 16 MB and 30 s. Vertical 9:16 fills the screen.</p>`,
            errors.file && html`<p class="field-error" id="file-error">${errors.file.join('; ')}</p>`,
          ]}</div>`,
          textField({
            name: 'headline',
            label: UPLOAD_LABELS.headline,
            value: upload.headline,
            required: true,
            maxlength: 90,
            errors,
          }),
          selectField({
            name: 'ctaType',
            label: UPLOAD_LABELS.ctaType,
            value: upload.ctaType,
            errors,
            options: [
              ['website', 'Visit website'],
              ['message', 'Send message'],
              ['call', 'Call'],
            ],
          }),
          textField({
            name: 'ctaTarget',
            label: UPLOAD_LABELS.ctaTarget,
            value: upload.ctaTarget,
            required: true,
            errors,
            hint: 'A web address (https://…) for Visit website; a phone number in international format (+49…) for Call or Send message',
          }),
          html`<button type="submit">Upload creative</button>`,
        ]}</form>`,
        phonePreview({
          advertiser: profile,
          headline: upload.headline,
          ctaType: upload.ctaType,
          caption: 'Live preview',
          live: true,
        }),
      ]}</div>`,
    ),

    section(
      { title: 'Creatives', id: 'creatives' },
      creatives.length === 0
        ? html`<p>No creatives yet. Upload one above.</p>`
        : html`<div class="creatives">${creatives.map((c) => creativeCard(c, profile))}</div>`,
    ),
  ]);
}

// ---------- reports ----------

/** The API's report breakdowns (`by`), as the form names them. */
export const REPORT_BREAKDOWNS = [
  ['day', 'Day'],
  ['hour', 'Hour'],
  ['creative', 'Creative'],
  ['country', 'Country'],
  ['platform', 'Platform'],
] as const;
export type ReportBreakdown = (typeof REPORT_BREAKDOWNS)[number][0];

export interface ReportProps {
  session: Session;
  campaigns: CampaignView[];
  campaignId?: string;
  by: ReportBreakdown;
  from: string;
  to: string;
  days: string[];
  rows?: ReportRowView[];
  /** by=creative: the campaign's creatives, to name each row by its headline. */
  creatives?: CreativeView[];
  errors: FieldErrors;
}

const REPORT_LABELS = { campaign: 'Campaign', by: 'Break down by', from: 'From', to: 'To' };

type Counter = Exclude<keyof ReportRowView, 'date' | 'hour' | 'creativeId' | 'country' | 'platform'>;
const COUNTERS: [Counter, string][] = [
  ['impressions', 'Impressions'],
  ['reach', 'Reach'],
  ['clicks', 'Clicks'],
  ['hides', 'Hides'],
  ['reports', 'Reports'],
  ['blocks', 'Blocks'],
  ['spendMicros', 'Spend'],
];
const VIDEO_COUNTERS: [Counter, string][] = [
  ['videoStarts', 'Video starts'],
  ['videoFirstQuartiles', 'Video first quartiles'],
  ['videoMidpoints', 'Video midpoints'],
  ['videoThirdQuartiles', 'Video third quartiles'],
  ['videoCompletes', 'Video completes'],
];
const KEY_HEADERS: Record<ReportBreakdown, string> = {
  day: 'Date',
  hour: 'Hour (UTC)',
  creative: 'Creative',
  country: 'Country',
  platform: 'Platform',
};
const PLATFORM_LABELS: Record<string, string> = { android: 'Android', ios: 'iOS', web: 'Web' };

/** A row's key as people read it; "" (the feed client sent no country or platform) is said so. */
function rowKey(by: ReportBreakdown, row: ReportRowView, creatives: CreativeView[] = []): Content {
  switch (by) {
    case 'day':
      return row.date ?? '';
    case 'hour':
      return row.hour ? `${row.hour.slice(0, 10)} ${row.hour.slice(11, 13)}:00` : '';
    case 'creative': {
      const creative = creatives.find((c) => c.id === row.creativeId);
      return creative ? html`${creative.headline} <code>${creative.id}</code>` : html`<code>${row.creativeId ?? ''}</code>`;
    }
    case 'country':
      return row.country || 'Not sent';
    case 'platform':
      return row.platform ? (PLATFORM_LABELS[row.platform] ?? row.platform) : 'Not sent';
  }
}

function reportTable({
  by,
  from,
  to,
  rows,
  creatives,
}: {
  by: ReportBreakdown;
  from: string;
  to: string;
  rows: ReportRowView[];
  creatives?: CreativeView[];
}): Html {
  const columns = rows.some((r) => VIDEO_COUNTERS.some(([k]) => r[k] > 0)) ? [...COUNTERS, ...VIDEO_COUNTERS] : COUNTERS;
  const caption = by === 'day' ? 'Daily figures' : `Figures by ${by}`;
  return scrollTable(`${caption}, ${from} to ${to} (UTC)`, [
    html`<thead><tr><th scope="col">${KEY_HEADERS[by]}</th>${columns.map(([, label]) => html`<th scope="col">${label}</th>`)}</tr></thead>`,
    html`<tbody>${rows.map(
      (r) =>
        html`<tr><th scope="row">${rowKey(by, r, creatives)}</th>${columns.map(
          ([key]) => html`<td>${key === 'spendMicros' ? money(r[key]) : r[key]}</td>`,
        )}</tr>`,
    )}</tbody>`,
  ]);
}

export function reportsPage({ session, campaigns, campaignId, by, from, to, days, rows, creatives, errors }: ReportProps): Html {
  const query = campaignId ? new URLSearchParams({ campaign: campaignId, by, from, to }).toString() : '';
  // By day every day of the range has a row (zero when nothing happened), as in the chart; other breakdowns list what had activity.
  const byDay = new Map((rows ?? []).map((r) => [r.date, r]));
  const tableRows = by === 'day' ? days.map((date) => byDay.get(date) ?? { date, ...ZERO_ROW }) : (rows ?? []);
  return page({ title: 'Reports', session, section: '/console/reports' }, [
    campaigns.length === 0
      ? html`<p>Create a campaign first.</p>`
      : html`<form method="get" action="/console/reports" class="row report-form">${[
          errorSummary({ errors, labels: REPORT_LABELS }),
          selectField({
            name: 'campaign',
            label: REPORT_LABELS.campaign,
            value: campaignId,
            errors,
            options: campaigns.map((c): [string, string] => [c.id, c.name]),
          }),
          selectField({
            name: 'by',
            label: REPORT_LABELS.by,
            value: by,
            errors,
            options: REPORT_BREAKDOWNS.map(([value, label]): [string, string] => [value, label]),
          }),
          textField({ name: 'from', label: REPORT_LABELS.from, type: 'date', value: from, errors, hint: 'UTC' }),
          textField({ name: 'to', label: REPORT_LABELS.to, type: 'date', value: to, errors, hint: 'UTC' }),
          html`<button type="submit">Show report</button>`,
        ]}</form>`,
    rows && [
      by === 'day' && reportChart({ days, rows }),
      html`<p><a href="${`/console/reports.csv?${query}`}" download="">Download CSV</a></p>`,
      tableRows.length === 0
        ? html`<p>No activity from ${from} to ${to}.</p>`
        : reportTable({ by, from, to, rows: tableRows, creatives }),
    ],
  ]);
}
