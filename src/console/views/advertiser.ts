/** Advertiser pages: business profile, campaigns, one campaign with its creatives, reports. */
import { CATEGORIES } from '../../engine/categories.js';
import type { AdvertiserView, CampaignView, CreativeView, ReportRowView } from '../api.js';
import { CAMPAIGN_LABELS, type CampaignFormValues } from '../campaign-form.js';
import { type FieldErrors, formatMicros } from '../forms.js';
import type { Session } from '../session.js';
import { reportChart } from './chart.js';
import { checkboxes, csrfField, errorSummary, section, selectField, textArea, textField } from './fields.js';
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
      : html`<div class="table-wrap"><table>${[
          html`<caption>Your campaigns (spend is today’s, UTC)</caption>`,
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
        ]}</table></div>`,
  ]);
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
  const row = (...fields: Content[]) => html`<div class="row">${fields}</div>`;
  return page(
    { title: editing ? `Edit ${campaign.name}` : 'New campaign', session, section: '/console/campaigns' },
    html`<form method="post" action="${action}" class="stack" novalidate="">${[
      errorSummary({ errors, labels: L }),
      csrfField(session.csrf),
      textField({ name: 'name', label: L.name, value: v.name, required: true, maxlength: 200, errors }),
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
      row(
        textField({ name: 'start', label: L.start, type: 'date', value: v.start, errors, hint: 'UTC' }),
        textField({ name: 'end', label: L.end, type: 'date', value: v.end, errors, hint: 'Optional' }),
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
      html`<button type="submit">${editing ? 'Save campaign' : 'Create campaign'}</button>`,
    ]}</form>`,
  );
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
      html`<dt>Schedule</dt><dd>${campaign.schedule.start.slice(0, 10)} to ${campaign.schedule.end?.slice(0, 10) ?? 'no end'}</dd>`,
      html`<dt>Bid</dt><dd>${money(campaign.bid.amountMicros)} ${campaign.bid.type.toUpperCase()}</dd>`,
      html`<dt>Budget</dt><dd>daily ${money(campaign.budget.dailyMicros)}, total ${money(campaign.budget.totalMicros)}, ${campaign.pacing} pacing</dd>`,
      html`<dt>Targeting</dt><dd>${targeting}</dd>`,
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

export interface ReportProps {
  session: Session;
  campaigns: CampaignView[];
  campaignId?: string;
  from: string;
  to: string;
  days: string[];
  rows?: ReportRowView[];
  errors: FieldErrors;
}

const REPORT_LABELS = { campaign: 'Campaign', from: 'From', to: 'To' };

export function reportsPage({ session, campaigns, campaignId, from, to, days, rows, errors }: ReportProps): Html {
  const byDay = new Map((rows ?? []).map((r) => [r.date, r]));
  const query = campaignId ? `campaign=${encodeURIComponent(campaignId)}&from=${from}&to=${to}` : '';
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
          textField({ name: 'from', label: REPORT_LABELS.from, type: 'date', value: from, errors, hint: 'UTC' }),
          textField({ name: 'to', label: REPORT_LABELS.to, type: 'date', value: to, errors, hint: 'UTC' }),
          html`<button type="submit">Show report</button>`,
        ]}</form>`,
    rows && [
      reportChart({ days, rows }),
      html`<p><a href="${`/console/reports.csv?${query}`}" download="">Download CSV</a></p>`,
      html`<div class="table-wrap"><table>${[
        html`<caption>Daily figures, ${from} to ${to} (UTC)</caption>`,
        html`<thead><tr><th scope="col">Date</th><th scope="col">Impressions</th><th scope="col">Reach</th><th scope="col">Clicks</th><th scope="col">Hides</th><th scope="col">Spend</th></tr></thead>`,
        html`<tbody>${days.map((day) => {
          const r = byDay.get(day);
          return html`<tr>${[
            html`<th scope="row">${day}</th>`,
            html`<td>${r?.impressions ?? 0}</td>`,
            html`<td>${r?.reach ?? 0}</td>`,
            html`<td>${r?.clicks ?? 0}</td>`,
            html`<td>${r?.hides ?? 0}</td>`,
            html`<td>${money(r?.spendMicros ?? 0)}</td>`,
          ]}</tr>`;
        })}</tbody>`,
      ]}</table></div>`,
    ],
  ]);
}
