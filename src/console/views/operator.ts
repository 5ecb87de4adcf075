/** Operator pages: the review queue, advertisers (key shown once), feed clients (key shown once), and sign-in. */
import { categoryLabel } from '../../engine/categories.js';
import type { AdvertiserView, PendingCreative } from '../api.js';
import type { FieldErrors } from '../forms.js';
import type { NewKey, Session } from '../session.js';
import { PROFILE_LABELS, type ProfileValues, profileFields } from './advertiser.js';
import { csrfField, errorSummary, scrollTable, section, textField } from './fields.js';
import { attr, type Html, html } from './html.js';
import { page } from './layout.js';
import { CTA_LABELS } from './phone.js';

export function signInPage({ token, error }: { token: string; error?: string }): Html {
  return page({ title: 'Sign in' }, [
    html`<p>Sign in with the API key you were given: an operator key or an advertiser key.</p>`,
    html`<form method="post" action="/console/sign-in" class="stack narrow">${[
      html`<input type="hidden" name="csrf" value="${token}"/>`,
      html`<div class="field">${[
        html`<label for="apiKey">API key</label>`,
        html`<input id="apiKey" name="apiKey" type="password" required="" autocomplete="current-password" spellcheck="false"${[
          attr('aria-invalid', error ? 'true' : undefined),
          attr('aria-describedby', error ? 'apiKey-error' : undefined),
        ]}/>`,
        error && html`<p class="field-error" id="apiKey-error" role="alert">${error}</p>`,
      ]}</div>`,
      html`<button type="submit">Sign in</button>`,
    ]}</form>`,
    html`<p>The API itself is described at <a href="/docs">/docs</a>.</p>`,
  ]);
}

/** A new key, shown once with a copy button; it is never stored in a readable form. */
export function newKey({ label, apiKey }: { label: string; apiKey: string }): Html {
  return html`<div class="new-key" role="status">${[
    html`<h2>${label}</h2>`,
    html`<p>Copy it now: it is shown only once and cannot be recovered.</p>`,
    html`<p class="key-row"><code id="new-key">${apiKey}</code><button type="button" class="secondary" data-copy="new-key" hidden="">Copy key</button></p>`,
  ]}</div>`;
}

/** A review decision the API refused: which creative, the reason as typed, and the errors (field `reason` or none). */
export interface ReviewError {
  creativeId: string;
  reason: string;
  errors: FieldErrors;
}

const reasonFieldId = (creativeId: string) => `reason-${creativeId}`;

function reviewItem(creative: PendingCreative, csrf: string, error?: ReviewError): Html {
  const headingId = `review-${creative.id}`;
  const reasonId = reasonFieldId(creative.id);
  const reasonError = error?.errors.reason;
  const src = `/media/${creative.media.sha256}`;
  const action = `/console/review/${encodeURIComponent(creative.id)}`;
  const m = creative.media;
  return html`<article class="review-item" aria-labelledby="${headingId}">${[
    html`<h2 id="${headingId}">${creative.headline}</h2>`,
    html`<div class="review-media">${
      m.mime.startsWith('video/')
        ? html`<video src="${src}" controls="" muted="" playsinline="" preload="metadata" aria-label="${`Video: ${creative.headline}`}"></video>`
        : html`<img src="${src}" alt="${`Image: ${creative.headline}`}"/>`
    }</div>`,
    html`<dl class="summary">${[
      html`<dt>Advertiser</dt><dd>${creative.advertiser.name}</dd>`,
      html`<dt>Call to action</dt><dd>${CTA_LABELS[creative.cta.type]}: ${creative.cta.target}</dd>`,
      html`<dt>Media</dt><dd>${m.mime}, ${m.width}×${m.height}${m.durationMs ? `, ${(m.durationMs / 1000).toFixed(1)} s` : ''}</dd>`,
    ]}</dl>`,
    html`<div class="review-actions">${[
      html`<form method="post" action="${action}" class="inline">${[
        csrfField(csrf),
        html`<input type="hidden" name="decision" value="approve"/>`,
        html`<button type="submit">Approve</button>`,
      ]}</form>`,
      html`<form method="post" action="${action}" class="inline reject">${[
        csrfField(csrf),
        html`<input type="hidden" name="decision" value="reject"/>`,
        html`<label for="${reasonId}">Reason for rejection</label>`,
        html`<input id="${reasonId}" name="reason" type="text" required="" maxlength="500" value="${error?.reason ?? ''}"${[
          attr('aria-invalid', reasonError ? 'true' : undefined),
          attr('aria-describedby', reasonError ? `${reasonId}-error` : undefined),
        ]}/>`,
        reasonError && html`<p class="field-error" id="${`${reasonId}-error`}">${reasonError.join('; ')}</p>`,
        html`<button type="submit" class="danger">Reject</button>`,
      ]}</form>`,
    ]}</div>`,
  ]}</article>`;
}

export function reviewPage({
  session,
  creatives,
  notice,
  error,
}: {
  session: Session;
  creatives: PendingCreative[];
  notice?: string;
  error?: ReviewError;
}): Html {
  const failed = error && creatives.find((c) => c.id === error.creativeId);
  return page({ title: 'Review queue', session, section: '/console/review', notice }, [
    error &&
      errorSummary({
        // The reason field of the creative it is about, named by that creative's headline.
        errors: Object.fromEntries(
          Object.entries(error.errors).map(([field, messages]) => [
            field === 'reason' ? reasonFieldId(error.creativeId) : field,
            messages,
          ]),
        ),
        labels: failed ? { [reasonFieldId(failed.id)]: `Reason for rejection of “${failed.headline}”` } : {},
      }),
    creatives.length === 0
      ? html`<p>Nothing is waiting for review.</p>`
      : html`<p>${creatives.length} creative(s) waiting, oldest first.</p>`,
    creatives.map((c) => reviewItem(c, session.csrf, error?.creativeId === c.id ? error : undefined)),
  ]);
}

export function advertisersPage(props: {
  session: Session;
  advertisers: AdvertiserView[];
  values: Partial<ProfileValues>;
  errors: FieldErrors;
  newKey?: NewKey;
}): Html {
  const { session, advertisers, values, errors } = props;
  return page({ title: 'Advertisers', session, section: '/console/advertisers' }, [
    props.newKey && newKey(props.newKey),
    section(
      { title: 'Create an advertiser', id: 'create-advertiser' },
      html`<form method="post" action="/console/advertisers" class="stack" novalidate="">${[
        errorSummary({ errors, labels: PROFILE_LABELS }),
        csrfField(session.csrf),
        profileFields({ values, errors }),
        html`<button type="submit">Create advertiser</button>`,
      ]}</form>`,
    ),
    section(
      { title: 'All advertisers', id: 'all-advertisers' },
      advertisers.length === 0
        ? html`<p>No advertisers yet.</p>`
        : scrollTable('Advertisers', [
            html`<thead><tr><th scope="col">Name</th><th scope="col">Category</th><th scope="col">Email</th><th scope="col">Id</th></tr></thead>`,
            html`<tbody>${advertisers.map(
              (a) =>
                html`<tr><th scope="row">${a.name}</th><td>${a.category ? categoryLabel(a.category) : ''}</td><td>${a.email ?? ''}</td><td><code>${a.id}</code></td></tr>`,
            )}</tbody>`,
          ]),
    ),
  ]);
}

export function clientsPage(props: { session: Session; name: string; errors: FieldErrors; newKey?: NewKey }): Html {
  const { session, errors } = props;
  return page({ title: 'Feed clients', session, section: '/console/clients' }, [
    props.newKey && newKey(props.newKey),
    html`<p>A feed client is the messenger backend or app that asks for ad slots and reports what users saw.</p>`,
    html`<form method="post" action="/console/clients" class="stack narrow" novalidate="">${[
      errorSummary({ errors, labels: { name: 'Client name' } }),
      csrfField(session.csrf),
      textField({ name: 'name', label: 'Client name', value: props.name, required: true, maxlength: 200, errors }),
      html`<button type="submit">Create feed client</button>`,
    ]}</form>`,
  ]);
}
