/** @jsxImportSource hono/jsx */
/** Advertiser pages: business profile, campaigns, one campaign with its creatives, reports. */
import { CATEGORIES } from '../../engine/categories.js';
import type { AdvertiserView, CampaignView, CreativeView, ReportRowView } from '../api.js';
import { CAMPAIGN_LABELS, type CampaignFormValues } from '../campaign-form.js';
import { type FieldErrors, formatMicros } from '../forms.js';
import type { Session } from '../session.js';
import { ReportChart } from './chart.js';
import { Checkboxes, CsrfField, ErrorSummary, Section, SelectField, TextArea, TextField } from './fields.js';
import { Page } from './layout.js';
import { CTA_LABELS, PhonePreview } from './phone.js';

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
export function ProfileFields({ values, errors }: { values: Partial<ProfileValues>; errors: FieldErrors }) {
  return (
    <>
      <TextField
        name="name"
        label={PROFILE_LABELS.name}
        value={values.name}
        required
        maxlength={200}
        errors={errors}
        autocomplete="organization"
      />
      <TextArea
        name="description"
        label={PROFILE_LABELS.description}
        value={values.description}
        maxlength={2000}
        errors={errors}
      />
      <TextField
        name="address"
        label={PROFILE_LABELS.address}
        value={values.address}
        maxlength={500}
        errors={errors}
        autocomplete="street-address"
      />
      <TextField
        name="email"
        label={PROFILE_LABELS.email}
        type="email"
        value={values.email}
        errors={errors}
        autocomplete="email"
      />
      <TextField
        name="website"
        label={PROFILE_LABELS.website}
        type="url"
        value={values.website}
        errors={errors}
        hint="Starts with https://"
        autocomplete="url"
      />
      <SelectField
        name="category"
        label={PROFILE_LABELS.category}
        value={values.category}
        options={[['', 'No category'], ...CATEGORIES.map((c): [string, string] => [c.id, c.label])]}
        errors={errors}
        hint="People can mute a whole category of ads"
      />
    </>
  );
}

export function ProfilePage(props: {
  session: Session;
  profile: AdvertiserView;
  values: ProfileValues;
  errors: FieldErrors;
  notice?: string;
}) {
  const { session, profile, values, errors } = props;
  return (
    <Page title="Business profile" session={session} section="/console/profile" notice={props.notice}>
      <p>This is the business card people see with your ads.</p>
      <div class="split">
        <form method="post" action="/console/profile" class="stack" novalidate>
          <ErrorSummary errors={errors} labels={PROFILE_LABELS} />
          <CsrfField token={session.csrf} />
          {profile.categoryNotice && <p class="warning">{profile.categoryNotice}</p>}
          <ProfileFields values={values} errors={errors} />
          <button type="submit">Save profile</button>
        </form>
        <PhonePreview
          advertiser={profile}
          headline="Your headline"
          ctaType="website"
          caption="Your business card as people see it"
        />
      </div>
    </Page>
  );
}

// ---------- campaigns ----------

export interface CampaignRow {
  campaign: CampaignView;
  /** Undefined when today's report could not be read. */
  todaySpendMicros?: number;
}

function StatusButton({ campaign, csrf }: { campaign: CampaignView; csrf: string }) {
  if (campaign.status === 'archived') return null;
  const next = campaign.status === 'active' ? 'paused' : 'active';
  return (
    <form method="post" action={`/console/campaigns/${encodeURIComponent(campaign.id)}/status`} class="inline">
      <CsrfField token={csrf} />
      <input type="hidden" name="status" value={next} />
      <button type="submit" class="secondary">
        {next === 'paused' ? 'Pause' : 'Resume'}
        <span class="visually-hidden"> {campaign.name}</span>
      </button>
    </form>
  );
}

function Spend({ row }: { row: CampaignRow }) {
  const daily = row.campaign.budget.dailyMicros;
  if (row.todaySpendMicros === undefined) return <span>unavailable</span>;
  return (
    <span class="spend">
      {money(row.todaySpendMicros)}
      {daily !== undefined ? ` of ${money(daily)}` : ' (no daily budget)'}
      {daily !== undefined && daily > 0 && (
        <meter
          min={0}
          max={daily}
          value={Math.min(row.todaySpendMicros, daily)}
          aria-label={`Today’s spend against the daily budget of ${row.campaign.name}`}
        ></meter>
      )}
    </span>
  );
}

export function CampaignsPage({ session, rows, notice }: { session: Session; rows: CampaignRow[]; notice?: string }) {
  return (
    <Page title="Campaigns" session={session} section="/console/campaigns" notice={notice}>
      <p>
        <a class="button" href="/console/campaigns/new">
          New campaign
        </a>
      </p>
      {rows.length === 0 ? (
        <p>You have no campaigns yet.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption>Your campaigns (spend is today’s, UTC)</caption>
            <thead>
              <tr>
                <th scope="col">Campaign</th>
                <th scope="col">Status</th>
                <th scope="col">Today’s spend</th>
                <th scope="col">Bid</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr>
                  <th scope="row">
                    <a href={`/console/campaigns/${encodeURIComponent(row.campaign.id)}`}>{row.campaign.name}</a>
                  </th>
                  <td>{STATUS_LABELS[row.campaign.status]}</td>
                  <td>
                    <Spend row={row} />
                  </td>
                  <td>
                    {money(row.campaign.bid.amountMicros)} {row.campaign.bid.type.toUpperCase()}
                  </td>
                  <td class="actions">
                    <a href={`/console/campaigns/${encodeURIComponent(row.campaign.id)}/edit`}>
                      Edit<span class="visually-hidden"> {row.campaign.name}</span>
                    </a>
                    <StatusButton campaign={row.campaign} csrf={session.csrf} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

export function CampaignFormPage(props: {
  session: Session;
  campaign?: CampaignView;
  values: CampaignFormValues;
  errors: FieldErrors;
}) {
  const { session, campaign, values: v, errors } = props;
  const editing = campaign !== undefined;
  const action = editing ? `/console/campaigns/${encodeURIComponent(campaign.id)}/edit` : '/console/campaigns/new';
  const L = CAMPAIGN_LABELS;
  return (
    <Page title={editing ? `Edit ${campaign.name}` : 'New campaign'} session={session} section="/console/campaigns">
      <form method="post" action={action} class="stack" novalidate>
        <ErrorSummary errors={errors} labels={L} />
        <CsrfField token={session.csrf} />
        <TextField name="name" label={L.name} value={v.name} required maxlength={200} errors={errors} />
        <SelectField
          name="status"
          label={L.status}
          value={v.status}
          errors={errors}
          options={[
            ['active', 'Active'],
            ['paused', 'Paused'],
            ['archived', 'Archived'],
          ]}
        />
        <div class="row">
          <TextField name="start" label={L.start} type="date" value={v.start} errors={errors} hint="UTC" />
          <TextField name="end" label={L.end} type="date" value={v.end} errors={errors} hint="Optional" />
        </div>
        <div class="row">
          <SelectField
            name="bidType"
            label={L.bidType}
            value={v.bidType}
            errors={errors}
            options={[
              ['cpm', 'CPM (per 1,000 impressions)'],
              ['cpc', 'CPC (per click)'],
            ]}
          />
          <TextField
            name="bidAmount"
            label={L.bidAmount}
            value={v.bidAmount}
            inputmode="decimal"
            errors={errors}
            hint="In your currency, e.g. 2.50"
          />
        </div>
        <div class="row">
          <TextField
            name="dailyBudget"
            label={L.dailyBudget}
            value={v.dailyBudget}
            inputmode="decimal"
            errors={errors}
            hint="Optional"
          />
          <TextField
            name="totalBudget"
            label={L.totalBudget}
            value={v.totalBudget}
            inputmode="decimal"
            errors={errors}
            hint="Optional"
          />
        </div>
        <SelectField
          name="pacing"
          label={L.pacing}
          value={v.pacing}
          errors={errors}
          options={[
            ['even', 'Even through the day'],
            ['asap', 'As fast as possible'],
          ]}
        />
        <TextField
          name="countries"
          label={L.countries}
          value={v.countries}
          errors={errors}
          hint="ISO codes separated by commas, e.g. DE, FR. Empty: everywhere"
        />
        <TextField
          name="languages"
          label={L.languages}
          value={v.languages}
          errors={errors}
          hint="Language codes separated by commas, e.g. de, fr. Empty: any"
        />
        <Checkboxes
          name="platforms"
          label={L.platforms}
          values={v.platforms}
          errors={errors}
          hint="None ticked: all"
          options={[
            ['android', 'Android'],
            ['ios', 'iOS'],
            ['web', 'Web'],
          ]}
        />
        <div class="row">
          <TextField
            name="capImpressions"
            label={L.capImpressions}
            value={v.capImpressions}
            inputmode="numeric"
            errors={errors}
            hint="Optional"
          />
          <TextField
            name="capHours"
            label={L.capHours}
            value={v.capHours}
            inputmode="decimal"
            errors={errors}
            hint="Optional, e.g. 24 or 0.5"
          />
        </div>
        <button type="submit">{editing ? 'Save campaign' : 'Create campaign'}</button>
      </form>
    </Page>
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

function CreativeCard({ creative, profile }: { creative: CreativeView; profile: AdvertiserView }) {
  const headingId = `creative-${creative.id}`;
  return (
    <article class="creative" aria-labelledby={headingId}>
      <h3 id={headingId}>{creative.headline}</h3>
      <PhonePreview
        advertiser={profile}
        headline={creative.headline}
        ctaType={creative.cta.type}
        media={{ src: mediaPath(creative), mime: creative.media.mime }}
        caption={`${creative.media.mime}, ${creative.media.width}×${creative.media.height}${creative.media.durationMs ? `, ${(creative.media.durationMs / 1000).toFixed(1)} s` : ''}`}
      />
      <p class={`review review-${creative.review}`}>
        Review: <strong>{REVIEW_LABELS[creative.review]}</strong>
      </p>
      {creative.reviewReason && <p class="reason">Reason: {creative.reviewReason}</p>}
      <p>
        {CTA_LABELS[creative.cta.type]}: {creative.cta.target}
      </p>
      {creative.warnings?.map((w) => (
        <p class="warning">{w}</p>
      ))}
    </article>
  );
}

export function CampaignPage(props: {
  session: Session;
  campaign: CampaignView;
  creatives: CreativeView[];
  profile: AdvertiserView;
  upload: UploadValues;
  errors: FieldErrors;
  notice?: string;
}) {
  const { session, campaign, creatives, profile, upload, errors } = props;
  const id = encodeURIComponent(campaign.id);
  const t = campaign.targeting;
  return (
    <Page title={campaign.name} session={session} section="/console/campaigns" notice={props.notice}>
      <dl class="summary">
        <dt>Status</dt>
        <dd>{STATUS_LABELS[campaign.status]}</dd>
        <dt>Schedule</dt>
        <dd>
          {campaign.schedule.start.slice(0, 10)} to {campaign.schedule.end?.slice(0, 10) ?? 'no end'}
        </dd>
        <dt>Bid</dt>
        <dd>
          {money(campaign.bid.amountMicros)} {campaign.bid.type.toUpperCase()}
        </dd>
        <dt>Budget</dt>
        <dd>
          daily {money(campaign.budget.dailyMicros)}, total {money(campaign.budget.totalMicros)}, {campaign.pacing} pacing
        </dd>
        <dt>Targeting</dt>
        <dd>
          {[
            t.countries?.join(', ') ?? 'all countries',
            t.languages?.join(', ') ?? 'all languages',
            t.platforms?.join(', ') ?? 'all platforms',
          ].join('; ')}
        </dd>
      </dl>
      <p class="actions">
        <a href={`/console/campaigns/${id}/edit`}>Edit campaign</a>
        <StatusButton campaign={campaign} csrf={session.csrf} />
        <a href={`/console/reports?campaign=${id}`}>Report</a>
      </p>

      <Section title="Upload a creative" id="upload">
        <div class="split">
          <form
            method="post"
            action={`/console/campaigns/${id}/creatives`}
            enctype="multipart/form-data"
            class="stack"
            data-upload-form
            novalidate
          >
            <ErrorSummary errors={errors} labels={UPLOAD_LABELS} />
            <CsrfField token={session.csrf} />
            <div class="field dropzone" data-dropzone>
              <label for="file">{UPLOAD_LABELS.file}</label>
              <input
                id="file"
                name="file"
                type="file"
                accept="image/png,image/jpeg,image/webp,video/mp4"
                required
                aria-describedby={`file-hint${errors.file ? ' file-error' : ''}`}
                aria-invalid={errors.file ? 'true' : undefined}
              />
              <p class="hint" id="file-hint">
                Drop a file here or choose one: PNG, JPEG or WebP up to 5 MB, or MP4 up to 16 MB and 30 s. Vertical 9:16 fills the
                screen.
              </p>
              {errors.file && (
                <p class="field-error" id="file-error">
                  {errors.file.join('; ')}
                </p>
              )}
            </div>
            <TextField
              name="headline"
              label={UPLOAD_LABELS.headline}
              value={upload.headline}
              required
              maxlength={90}
              errors={errors}
            />
            <SelectField
              name="ctaType"
              label={UPLOAD_LABELS.ctaType}
              value={upload.ctaType}
              errors={errors}
              options={[
                ['website', 'Visit website'],
                ['message', 'Send message'],
                ['call', 'Call'],
              ]}
            />
            <TextField
              name="ctaTarget"
              label={UPLOAD_LABELS.ctaTarget}
              value={upload.ctaTarget}
              required
              errors={errors}
              hint="A web address (https://…) for Visit website; a phone number in international format (+49…) for Call or Send message"
            />
            <button type="submit">Upload creative</button>
          </form>
          <PhonePreview advertiser={profile} headline={upload.headline} ctaType={upload.ctaType} caption="Live preview" live />
        </div>
      </Section>

      <Section title="Creatives" id="creatives">
        {creatives.length === 0 ? (
          <p>No creatives yet. Upload one above.</p>
        ) : (
          <div class="creatives">
            {creatives.map((c) => (
              <CreativeCard creative={c} profile={profile} />
            ))}
          </div>
        )}
      </Section>
    </Page>
  );
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

export function ReportsPage({ session, campaigns, campaignId, from, to, days, rows, errors }: ReportProps) {
  const byDay = new Map((rows ?? []).map((r) => [r.date, r]));
  const query = campaignId ? `campaign=${encodeURIComponent(campaignId)}&from=${from}&to=${to}` : '';
  return (
    <Page title="Reports" session={session} section="/console/reports">
      {campaigns.length === 0 ? (
        <p>Create a campaign first.</p>
      ) : (
        <form method="get" action="/console/reports" class="row report-form">
          <ErrorSummary errors={errors} labels={REPORT_LABELS} />
          <SelectField
            name="campaign"
            label={REPORT_LABELS.campaign}
            value={campaignId}
            errors={errors}
            options={campaigns.map((c): [string, string] => [c.id, c.name])}
          />
          <TextField name="from" label={REPORT_LABELS.from} type="date" value={from} errors={errors} hint="UTC" />
          <TextField name="to" label={REPORT_LABELS.to} type="date" value={to} errors={errors} hint="UTC" />
          <button type="submit">Show report</button>
        </form>
      )}
      {rows && (
        <>
          <ReportChart days={days} rows={rows} />
          <p>
            <a href={`/console/reports.csv?${query}`} download>
              Download CSV
            </a>
          </p>
          <div class="table-wrap">
            <table>
              <caption>
                Daily figures, {from} to {to} (UTC)
              </caption>
              <thead>
                <tr>
                  <th scope="col">Date</th>
                  <th scope="col">Impressions</th>
                  <th scope="col">Reach</th>
                  <th scope="col">Clicks</th>
                  <th scope="col">Hides</th>
                  <th scope="col">Spend</th>
                </tr>
              </thead>
              <tbody>
                {days.map((day) => {
                  const r = byDay.get(day);
                  return (
                    <tr>
                      <th scope="row">{day}</th>
                      <td>{r?.impressions ?? 0}</td>
                      <td>{r?.reach ?? 0}</td>
                      <td>{r?.clicks ?? 0}</td>
                      <td>{r?.hides ?? 0}</td>
                      <td>{money(r?.spendMicros ?? 0)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Page>
  );
}
