/** @jsxImportSource hono/jsx */
/** The page frame: header with who is signed in, navigation by role, one main landmark. */
import type { Child } from 'hono/jsx';
import { ASSET_PATHS } from '../assets/index.js';
import type { Session } from '../session.js';

export interface PageProps {
  title: string;
  session?: Session;
  /** Path of the current section, for aria-current. */
  section?: string;
  /** A one-line confirmation after a change (e.g. "Campaign created"). */
  notice?: string;
  children?: Child;
}

const NAV: Record<Session['role'], [string, string][]> = {
  advertiser: [
    ['/console/campaigns', 'Campaigns'],
    ['/console/reports', 'Reports'],
    ['/console/profile', 'Business profile'],
  ],
  admin: [
    ['/console/review', 'Review queue'],
    ['/console/advertisers', 'Advertisers'],
    ['/console/clients', 'Feed clients'],
  ],
};

export function Page({ title, session, section, notice, children }: PageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} — Status Ads console`}</title>
        <link rel="stylesheet" href={ASSET_PATHS.css} />
        <script src={ASSET_PATHS.js} defer></script>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <p class="brand">
            <a href="/console">Status Ads console</a>
          </p>
          {session && (
            <nav aria-label="Console">
              <ul>
                {NAV[session.role].map(([href, label]) => (
                  <li>
                    <a href={href} aria-current={section === href ? 'page' : undefined}>
                      {label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {session && (
            <form method="post" action="/console/sign-out" class="who">
              <span>
                Signed in as <strong>{session.name}</strong> ({session.role === 'admin' ? 'operator' : 'advertiser'})
              </span>
              <input type="hidden" name="csrf" value={session.csrf} />
              <button type="submit" class="secondary">
                Sign out
              </button>
            </form>
          )}
        </header>
        <main id="main" tabindex={-1}>
          <h1>{title}</h1>
          {notice && (
            <p class="notice" role="status">
              {notice}
            </p>
          )}
          {children}
        </main>
      </body>
    </html>
  );
}
