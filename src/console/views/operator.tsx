/** @jsxImportSource hono/jsx */
/** Operator pages: the review queue, advertisers (key shown once), feed clients (key shown once), and sign-in. */
import { categoryLabel } from '../../engine/categories.js';
import type { AdvertiserView, PendingCreative } from '../api.js';
import type { FieldErrors } from '../forms.js';
import type { Session } from '../session.js';
import { PROFILE_LABELS, ProfileFields, type ProfileValues } from './advertiser.js';
import { CsrfField, ErrorSummary, Section, TextField } from './fields.js';
import { Page } from './layout.js';
import { CTA_LABELS } from './phone.js';

export function SignInPage({ token, error }: { token: string; error?: string }) {
  return (
    <Page title="Sign in">
      <p>Sign in with the API key you were given: an operator key or an advertiser key.</p>
      <form method="post" action="/console/sign-in" class="stack narrow">
        {error && (
          <div class="error-summary" role="alert">
            <p>{error}</p>
          </div>
        )}
        <input type="hidden" name="csrf" value={token} />
        <div class="field">
          <label for="apiKey">API key</label>
          <input id="apiKey" name="apiKey" type="password" required autocomplete="current-password" spellcheck={false} />
        </div>
        <button type="submit">Sign in</button>
      </form>
      <p>
        The API itself is described at <a href="/docs">/docs</a>.
      </p>
    </Page>
  );
}

/** A new key, shown once with a copy button; it is never stored in a readable form. */
export function NewKey({ label, apiKey }: { label: string; apiKey: string }) {
  return (
    <div class="new-key" role="status">
      <h2>{label}</h2>
      <p>Copy it now: it is shown only once and cannot be recovered.</p>
      <p class="key-row">
        <code id="new-key">{apiKey}</code>
        <button type="button" class="secondary" data-copy="new-key" hidden>
          Copy key
        </button>
      </p>
    </div>
  );
}

function ReviewItem({ creative, csrf }: { creative: PendingCreative; csrf: string }) {
  const headingId = `review-${creative.id}`;
  const reasonId = `reason-${creative.id}`;
  const src = `/media/${creative.media.sha256}`;
  const action = `/console/review/${encodeURIComponent(creative.id)}`;
  return (
    <article class="review-item" aria-labelledby={headingId}>
      <h2 id={headingId}>{creative.headline}</h2>
      <div class="review-media">
        {creative.media.mime.startsWith('video/') ? (
          <video src={src} controls muted playsinline preload="metadata" aria-label={`Video: ${creative.headline}`}></video>
        ) : (
          <img src={src} alt={`Image: ${creative.headline}`} />
        )}
      </div>
      <dl class="summary">
        <dt>Advertiser</dt>
        <dd>{creative.advertiser.name}</dd>
        <dt>Call to action</dt>
        <dd>
          {CTA_LABELS[creative.cta.type]}: {creative.cta.target}
        </dd>
        <dt>Media</dt>
        <dd>
          {creative.media.mime}, {creative.media.width}×{creative.media.height}
          {creative.media.durationMs ? `, ${(creative.media.durationMs / 1000).toFixed(1)} s` : ''}
        </dd>
      </dl>
      <div class="review-actions">
        <form method="post" action={action} class="inline">
          <CsrfField token={csrf} />
          <input type="hidden" name="decision" value="approve" />
          <button type="submit">Approve</button>
        </form>
        <form method="post" action={action} class="inline reject">
          <CsrfField token={csrf} />
          <input type="hidden" name="decision" value="reject" />
          <label for={reasonId}>Reason for rejection</label>
          <input id={reasonId} name="reason" type="text" required maxlength={500} />
          <button type="submit" class="danger">
            Reject
          </button>
        </form>
      </div>
    </article>
  );
}

export function ReviewPage({
  session,
  creatives,
  notice,
  error,
}: {
  session: Session;
  creatives: PendingCreative[];
  notice?: string;
  error?: string;
}) {
  return (
    <Page title="Review queue" session={session} section="/console/review" notice={notice}>
      {error && (
        <div class="error-summary" role="alert">
          <p>{error}</p>
        </div>
      )}
      {creatives.length === 0 ? (
        <p>Nothing is waiting for review.</p>
      ) : (
        <p>{creatives.length} creative(s) waiting, oldest first.</p>
      )}
      {creatives.map((c) => (
        <ReviewItem creative={c} csrf={session.csrf} />
      ))}
    </Page>
  );
}

export function AdvertisersPage(props: {
  session: Session;
  advertisers: AdvertiserView[];
  values: Partial<ProfileValues>;
  errors: FieldErrors;
  created?: { advertiser: AdvertiserView; apiKey: string };
}) {
  const { session, advertisers, values, errors, created } = props;
  return (
    <Page title="Advertisers" session={session} section="/console/advertisers">
      {created && <NewKey label={`API key for ${created.advertiser.name}`} apiKey={created.apiKey} />}
      <Section title="Create an advertiser" id="create-advertiser">
        <form method="post" action="/console/advertisers" class="stack" novalidate>
          <ErrorSummary errors={errors} labels={PROFILE_LABELS} />
          <CsrfField token={session.csrf} />
          <ProfileFields values={values} errors={errors} />
          <button type="submit">Create advertiser</button>
        </form>
      </Section>
      <Section title="All advertisers" id="all-advertisers">
        {advertisers.length === 0 ? (
          <p>No advertisers yet.</p>
        ) : (
          <div class="table-wrap">
            <table>
              <caption>Advertisers</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Category</th>
                  <th scope="col">Email</th>
                  <th scope="col">Id</th>
                </tr>
              </thead>
              <tbody>
                {advertisers.map((a) => (
                  <tr>
                    <th scope="row">{a.name}</th>
                    <td>{a.category ? categoryLabel(a.category) : ''}</td>
                    <td>{a.email ?? ''}</td>
                    <td>
                      <code>{a.id}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </Page>
  );
}

export function ClientsPage(props: {
  session: Session;
  name: string;
  errors: FieldErrors;
  created?: { client: { id: string; name: string }; apiKey: string };
}) {
  const { session, errors, created } = props;
  return (
    <Page title="Feed clients" session={session} section="/console/clients">
      {created && <NewKey label={`API key for feed client ${created.client.name}`} apiKey={created.apiKey} />}
      <p>A feed client is the messenger backend or app that asks for ad slots and reports what users saw.</p>
      <form method="post" action="/console/clients" class="stack narrow" novalidate>
        <ErrorSummary errors={errors} labels={{ name: 'Client name' }} />
        <CsrfField token={session.csrf} />
        <TextField name="name" label="Client name" value={props.name} required maxlength={200} errors={errors} />
        <button type="submit">Create feed client</button>
      </form>
    </Page>
  );
}
