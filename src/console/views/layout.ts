/** The page frame: header with who is signed in, navigation by role, one main landmark. */
import { ASSET_PATHS } from '../assets/index.js';
import type { Session } from '../session.js';
import { attr, type Content, type Html, html } from './html.js';

export interface PageProps {
  title: string;
  session?: Session;
  /** Path of the current section, for aria-current. */
  section?: string;
  /** A one-line confirmation after a change (e.g. "Campaign created"). */
  notice?: string;
}

const NAV: Record<Session['role'], [string, string][]> = {
  advertiser: [
    ['/console/campaigns', 'Campaigns'],
    ['/console/reports', 'Reports'],
    ['/console/forecast', 'Forecast'],
    ['/console/profile', 'Business profile'],
  ],
  admin: [
    ['/console/review', 'Review queue'],
    ['/console/advertisers', 'Advertisers'],
    ['/console/clients', 'Feed clients'],
  ],
};

/** The whole document around `content` (the route adds the doctype). A list in `${[…]}` is joined with nothing between. */
export function page({ title, session, section, notice }: PageProps, content: Content): Html {
  return html`<html lang="en">${[
    html`<head>${[
      html`<meta charset="utf-8"/>`,
      html`<meta name="viewport" content="width=device-width, initial-scale=1"/>`,
      html`<title>${`${title} — Status Ads console`}</title>`,
      html`<link rel="icon" href="${ASSET_PATHS.icon}" type="image/svg+xml"/>`,
      html`<link rel="stylesheet" href="${ASSET_PATHS.css}"/>`,
      html`<script src="${ASSET_PATHS.js}" defer=""></script>`,
    ]}</head>`,
    html`<body>${[
      html`<a class="skip" href="#main">Skip to content</a>`,
      html`<header class="top">${[
        html`<p class="brand"><a href="/console">Status Ads console</a></p>`,
        session &&
          html`<nav aria-label="Console"><ul>${NAV[session.role].map(
            ([href, label]) =>
              html`<li><a href="${href}"${attr('aria-current', section === href ? 'page' : undefined)}>${label}</a></li>`,
          )}</ul></nav>`,
        session &&
          html`<form method="post" action="/console/sign-out" class="who">${[
            html`<span>Signed in as <strong>${session.name}</strong> (${session.role === 'admin' ? 'operator' : 'advertiser'})</span>`,
            html`<input type="hidden" name="csrf" value="${session.csrf}"/>`,
            html`<button type="submit" class="secondary">Sign out</button>`,
          ]}</form>`,
      ]}</header>`,
      html`<main id="main" tabindex="-1">${[
        html`<h1>${title}</h1>`,
        notice && html`<p class="notice" role="status">${notice}</p>`,
        content,
      ]}</main>`,
    ]}</body>`,
  ]}</html>`;
}
