/**
 * Everything people typed is escaped on every console page that shows it, in
 * text and in attribute values: markup, both quote kinds and ampersands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeService, type TestService } from '../helpers/service.js';
import { consoleTour, HOSTILE_ESCAPED as E, type Visit } from './tour.js';

let s: TestService;
let visits: Visit[];
beforeAll(async () => {
  s = await makeService();
  visits = await consoleTour(s);
});
afterAll(async () => {
  await s.close();
});

const MISSING =
  'There is no console page at /console/&lt;script&gt;alert(&quot;x&quot;)&lt;%2Fscript&gt; O&#39;Brien %26 &quot;Sons&quot;.</p>';

/** Per page: what it must show, each with the hostile text escaped where it stands. */
const SHOWN: Record<string, string[]> = {
  'GET /console/review': [`<h2 id="review-`, `>Headline 1 ${E}</h2>`, `alt="Image: Headline 2 ${E}"`, `<dd>Bakery ${E}</dd>`],
  'POST /console/review/:id (no reason)': [`>Headline 1 ${E}</h2>`, `<dd>Bakery ${E}</dd>`],
  'GET /console/advertisers': [`<th scope="row">Bakery ${E}</th>`],
  'GET /console/advertisers (new key)': [`<h2>API key for Created ${E}</h2>`, `<th scope="row">Created ${E}</th>`],
  'POST /console/advertisers (errors)': [`value="Bad ${E}"`, `>Description ${E}</textarea>`],
  'GET /console/clients (new key)': [`<h2>API key for feed client Client ${E}</h2>`],
  'POST /console/clients (errors)': [`value="${E} xxx`],
  'GET /console/profile': [
    `Signed in as <strong>Bakery ${E}</strong>`,
    `value="Bakery ${E}"`,
    `>Description ${E}</textarea>`,
    `value="Address ${E}"`,
    `<p class="card-name">Bakery ${E}</p>`,
    `<p class="card-line">Description ${E}</p>`,
  ],
  'POST /console/profile (errors)': [
    `value="Profile ${E}"`,
    `>Description ${E}</textarea>`,
    `value="Address ${E}"`,
    `value="not an email ${E}"`,
  ],
  'GET /console/campaigns': [`>Campaign ${E}</a></th>`, `<span class="visually-hidden"> Campaign ${E}</span>`],
  'POST /console/campaigns/new (errors)': [`value="New ${E}"`, `value="1 ${E}"`, `value="DE, ${E}"`],
  'GET /console/campaigns/:id': [
    `<title>Campaign ${E} — Status Ads console</title>`,
    `<h1>Campaign ${E}</h1>`,
    `>Headline 1 ${E}</h3>`,
    `alt="Image: Headline 2 ${E}"`,
    `<p class="reason">Reason: Reason ${E}</p>`,
    `<p class="card-line">Address ${E}</p>`,
  ],
  'GET /console/campaigns/:id/edit': [`<h1>Edit Campaign ${E}</h1>`, `value="Campaign ${E}"`],
  'POST /console/campaigns/:id/edit (errors)': [`value="Edited ${E}"`],
  'POST /console/campaigns/:id/creatives (errors)': [
    `value="Upload ${E}"`,
    `value="Target ${E}"`,
    `<p class="headline" data-preview-headline="true">Upload ${E}</p>`,
  ],
  'GET /console/reports': [`>Campaign ${E}</option>`],
  'GET /console/reports (errors)': [`value="${E}"`],
  'GET /console/forecast (errors)': [`value="1 ${E}"`, `value="DE, ${E}"`],
  // The path as hono decodes it (all but reserved characters such as / and &).
  'GET /console/* (signed out)': [MISSING],
  'GET /console/* (operator)': [MISSING],
  'GET /console/* (advertiser)': [MISSING],
};

describe('console escaping', () => {
  it('never lets typed markup or quotes through, on any page', () => {
    expect(visits.length).toBeGreaterThan(30);
    for (const v of visits) {
      expect(v.html, v.route).not.toContain('<script>alert');
      expect(v.html, v.route).not.toContain("O'Brien");
      expect(v.html, v.route).not.toContain('"Sons"');
    }
  });

  it.each(Object.entries(SHOWN))('%s shows what was typed, escaped', (route, expected) => {
    const v = visits.find((x) => x.route === route);
    expect(v, route).toBeDefined();
    for (const text of expected) expect(v!.html).toContain(text);
  });
});
