/**
 * The ad as a user sees it: a 9:16 phone screen with the sponsored status
 * between two placeholder statuses, the business card, headline and CTA button.
 */
import { categoryLabel } from '../../engine/categories.js';
import type { AdvertiserView } from '../api.js';
import { attr, type Html, html } from './html.js';

export const CTA_LABELS: Record<string, string> = { message: 'Send message', website: 'Visit website', call: 'Call' };

export interface PreviewMedia {
  /** Same-origin path, e.g. /media/<sha256>. */
  src: string;
  mime: string;
}

export interface PhonePreviewProps {
  advertiser: Pick<AdvertiserView, 'name' | 'description' | 'address' | 'email' | 'website' | 'category'>;
  headline: string;
  ctaType: string;
  media?: PreviewMedia;
  caption: string;
  /** The upload form's preview: the console script fills it as the form changes. */
  live?: boolean;
}

function media(m: PreviewMedia | undefined, headline: string): Html {
  if (!m) return html`<p class="media-empty">Your image or video appears here</p>`;
  if (m.mime.startsWith('video/')) {
    return html`<video src="${m.src}" controls="" muted="" loop="" playsinline="" preload="metadata" aria-label="${`Video: ${headline}`}"></video>`;
  }
  return html`<img src="${m.src}" alt="${`Image: ${headline}`}"/>`;
}

export function phonePreview({ advertiser, headline, ctaType, media: m, caption, live }: PhonePreviewProps): Html {
  return html`<figure class="phone"${attr('data-live-preview', live ? '' : undefined)}>${[
    html`<div class="screen">${[
      html`<div class="status placeholder" aria-hidden="true"><span class="avatar"></span><span>A contact’s status</span></div>`,
      html`<div class="ad">${[
        html`<p class="sponsored">Sponsored</p>`,
        html`<div class="media" data-preview-media="true">${media(m, headline)}</div>`,
        html`<div class="card">${[
          html`<p class="card-name">${advertiser.name}</p>`,
          advertiser.category && html`<p class="card-line">${categoryLabel(advertiser.category)}</p>`,
          advertiser.description && html`<p class="card-line">${advertiser.description}</p>`,
          advertiser.address && html`<p class="card-line">${advertiser.address}</p>`,
          advertiser.website && html`<p class="card-line">${advertiser.website}</p>`,
        ]}</div>`,
        html`<p class="headline" data-preview-headline="true">${headline || 'Your headline'}</p>`,
        html`<span class="cta" data-preview-cta="true">${CTA_LABELS[ctaType] ?? CTA_LABELS.website}</span>`,
      ]}</div>`,
      html`<div class="status placeholder" aria-hidden="true"><span class="avatar"></span><span>Next contact’s status</span></div>`,
    ]}</div>`,
    html`<figcaption>${caption}</figcaption>`,
  ]}</figure>`;
}
