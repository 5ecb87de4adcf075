/** @jsxImportSource hono/jsx */
/**
 * The ad as a user sees it: a 9:16 phone screen with the sponsored status
 * between two placeholder statuses, the business card, headline and CTA button.
 */
import { categoryLabel } from '../../engine/categories.js';
import type { AdvertiserView } from '../api.js';

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

function Media({ media, headline }: { media?: PreviewMedia; headline: string }) {
  if (!media) return <p class="media-empty">Your image or video appears here</p>;
  if (media.mime.startsWith('video/')) {
    return <video src={media.src} controls muted loop playsinline preload="metadata" aria-label={`Video: ${headline}`}></video>;
  }
  return <img src={media.src} alt={`Image: ${headline}`} />;
}

export function PhonePreview({ advertiser, headline, ctaType, media, caption, live }: PhonePreviewProps) {
  return (
    <figure class="phone" data-live-preview={live ? '' : undefined}>
      <div class="screen">
        <div class="status placeholder" aria-hidden="true">
          <span class="avatar"></span>
          <span>A contact’s status</span>
        </div>
        <div class="ad">
          <p class="sponsored">Sponsored</p>
          <div class="media" data-preview-media>
            <Media media={media} headline={headline} />
          </div>
          <div class="card">
            <p class="card-name">{advertiser.name}</p>
            {advertiser.category && <p class="card-line">{categoryLabel(advertiser.category)}</p>}
            {advertiser.description && <p class="card-line">{advertiser.description}</p>}
            {advertiser.address && <p class="card-line">{advertiser.address}</p>}
            {advertiser.website && <p class="card-line">{advertiser.website}</p>}
          </div>
          <p class="headline" data-preview-headline>
            {headline || 'Your headline'}
          </p>
          <span class="cta" data-preview-cta>
            {CTA_LABELS[ctaType] ?? CTA_LABELS.website}
          </span>
        </div>
        <div class="status placeholder" aria-hidden="true">
          <span class="avatar"></span>
          <span>Next contact’s status</span>
        </div>
      </div>
      <figcaption>{caption}</figcaption>
    </figure>
  );
}
