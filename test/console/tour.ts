/**
 * A walk through every console route, in-process, with what people typed made
 * hostile: markup, both quote kinds and an ampersand in every free-text field
 * (business profile, campaign name, creative headline and call-to-action
 * target, rejection reason, feed-client name, form values sent back with their
 * errors, the path of a missing page). Returns each page's status and HTML.
 */
import { png } from '../helpers/media.js';
import { ADMIN_KEY, type TestService } from '../helpers/service.js';

/** Typed into every free-text field (each field gets its own prefix). */
export const HOSTILE = `<script>alert("x")</script> O'Brien & "Sons"`;
/** HOSTILE as hono's escaping writes it, in text and in attribute values alike. */
export const HOSTILE_ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; O&#39;Brien &amp; &quot;Sons&quot;';

export interface Visit {
  /** Method and route, e.g. "GET /console/campaigns/:id". */
  route: string;
  status: number;
  html: string;
}

const ORIGIN = 'http://localhost';
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1];

export async function consoleTour(s: TestService): Promise<Visit[]> {
  const visits: Visit[] = [];
  const visit = async (route: string, res: Response | Promise<Response>) => {
    const r = await res;
    const v = { route, status: r.status, html: await r.text() };
    visits.push(v);
    return { ...v, res: r };
  };

  // Data made through the API, every free-text field hostile.
  const adv = await s.newAdvertiser(`Bakery ${HOSTILE}`);
  const profile = await s.call('PATCH', '/v1/me', adv.key, {
    description: `Description ${HOSTILE}`,
    address: `Address ${HOSTILE}`,
    website: 'https://bakery.example/?a=1&b="2"',
  });
  if (profile.status !== 200) throw new Error(`profile: ${JSON.stringify(profile.body)}`);
  const campaign = await s.call('POST', '/v1/campaigns', adv.key, {
    name: `Campaign ${HOSTILE}`,
    bid: { type: 'cpm', amountMicros: 2_000_000 },
    budget: { dailyMicros: 10_000_000 },
  });
  if (campaign.status !== 201) throw new Error(`campaign: ${JSON.stringify(campaign.body)}`);
  const id = campaign.body.id as string;
  const creatives = [];
  for (const seed of [1, 2]) {
    const up = await s.upload(adv.key, id, png(90, 160, seed), {
      headline: `Headline ${seed} ${HOSTILE}`,
      ctaTarget: `https://bakery.example/?q=${seed}&x="<b>"`,
    });
    if (up.status !== 201) throw new Error(`creative: ${JSON.stringify(up.body)}`);
    creatives.push(up.body.id as string);
  }

  // Signed out: the sign-in form, a wrong key, a missing page.
  const start = await visit('GET /console', s.app.request('/console'));
  const signInCookie = start.res.headers.getSetCookie()[0].split(';')[0];
  const signIn = (apiKey: string) =>
    s.app.request('/console/sign-in', {
      method: 'POST',
      headers: { Cookie: signInCookie, Origin: ORIGIN },
      body: new URLSearchParams({ csrf: csrfOf(start.html), apiKey }),
    });
  await visit('POST /console/sign-in (wrong key)', signIn('not-a-key'));
  const css = /href="(\/console\/assets\/[^"]+)"/.exec(start.html)![1];
  await visit('GET /console/assets/:name', s.app.request(css));
  await visit('GET /console/* (signed out)', s.app.request(`/console/${encodeURIComponent(HOSTILE)}`));

  async function session(key: string) {
    const { res } = await visit('POST /console/sign-in', signIn(key));
    const cookie = res.headers
      .getSetCookie()
      .find((l) => l.startsWith('console_session='))!
      .split(';')[0];
    const landing = await s.app.request(res.headers.get('Location')!, { headers: { Cookie: cookie } });
    const csrf = csrfOf(await landing.text());
    return {
      get: (route: string, path: string) => visit(route, s.app.request(path, { headers: { Cookie: cookie } })),
      post: (route: string, path: string, fields: Record<string, string | File>, token = csrf) => {
        const hasFile = Object.values(fields).some((v) => v instanceof File);
        const body = hasFile ? new FormData() : new URLSearchParams();
        for (const [k, v] of Object.entries({ csrf: token, ...fields })) (body as FormData).append(k, v as string);
        return visit(route, s.app.request(path, { method: 'POST', headers: { Cookie: cookie, Origin: ORIGIN }, body }));
      },
      /** The page a post redirected to, with the session cookie the post set (a new key rides in it). */
      follow: (route: string, posted: Response) => {
        const next = posted.headers
          .getSetCookie()
          .find((l) => l.startsWith('console_session='))!
          .split(';')[0];
        return visit(route, s.app.request(posted.headers.get('Location')!, { headers: { Cookie: next } }));
      },
    };
  }

  // The operator: reject the first creative with a hostile reason; the second stays in the queue.
  const operator = await session(ADMIN_KEY);
  await operator.get('GET /console/review', '/console/review');
  await operator.post('POST /console/review/:id (no reason)', `/console/review/${creatives[0]}`, { decision: 'reject' });
  await operator.post('POST /console/review/:id', `/console/review/${creatives[0]}`, {
    decision: 'reject',
    reason: `Reason ${HOSTILE}`,
  });
  await operator.get('GET /console/advertisers', '/console/advertisers');
  const createdAdvertiser = await operator.post('POST /console/advertisers', '/console/advertisers', {
    name: `Created ${HOSTILE}`,
  });
  await operator.follow('GET /console/advertisers (new key)', createdAdvertiser.res);
  await operator.post('POST /console/advertisers (errors)', '/console/advertisers', {
    name: `Bad ${HOSTILE}`,
    description: `Description ${HOSTILE}`,
    website: 'not a url',
  });
  await operator.get('GET /console/clients', '/console/clients');
  const createdClient = await operator.post('POST /console/clients', '/console/clients', { name: `Client ${HOSTILE}` });
  await operator.follow('GET /console/clients (new key)', createdClient.res);
  await operator.post('POST /console/clients (errors)', '/console/clients', { name: `${HOSTILE} ${'x'.repeat(300)}` });
  await operator.post('POST /console/clients (form expired)', '/console/clients', { name: 'x' }, 'wrong-token');
  await operator.get('GET /console/* (operator)', `/console/${encodeURIComponent(HOSTILE)}`);

  // The advertiser: every page and every form, with and without errors.
  const advertiser = await session(adv.key);
  await advertiser.get('GET /console/profile', '/console/profile?done=profile-saved');
  await advertiser.post('POST /console/profile (errors)', '/console/profile', {
    name: `Profile ${HOSTILE}`,
    description: `Description ${HOSTILE}`,
    address: `Address ${HOSTILE}`,
    email: `not an email ${HOSTILE}`,
    website: '',
    category: '',
  });
  await advertiser.get('GET /console/campaigns', '/console/campaigns');
  await advertiser.get('GET /console/campaigns/new', '/console/campaigns/new');
  await advertiser.post('POST /console/campaigns/new (errors)', '/console/campaigns/new', {
    name: `New ${HOSTILE}`,
    status: 'active',
    bidType: 'cpm',
    bidAmount: `1 ${HOSTILE}`,
    countries: `DE, ${HOSTILE}`,
    pacing: 'even',
  });
  await advertiser.get('GET /console/campaigns/:id', `/console/campaigns/${id}?done=uploaded`);
  await advertiser.get('GET /console/campaigns/:id/edit', `/console/campaigns/${id}/edit`);
  await advertiser.post('POST /console/campaigns/:id/edit (errors)', `/console/campaigns/${id}/edit`, {
    name: `Edited ${HOSTILE}`,
    status: 'active',
    bidType: 'cpm',
    bidAmount: 'lots',
    pacing: 'even',
  });
  await advertiser.post('POST /console/campaigns/:id/creatives (errors)', `/console/campaigns/${id}/creatives`, {
    headline: `Upload ${HOSTILE}`,
    ctaType: 'website',
    ctaTarget: `Target ${HOSTILE}`,
  });
  await advertiser.get('GET /console/reports', `/console/reports?campaign=${id}`);
  await advertiser.get('GET /console/reports (errors)', `/console/reports?campaign=${id}&from=${encodeURIComponent(HOSTILE)}`);
  await advertiser.get('GET /console/reports.csv (errors)', `/console/reports.csv?campaign=${id}&from=nonsense`);
  await advertiser.get('GET /console/reports (by creative)', `/console/reports?campaign=${id}&by=creative`);
  await advertiser.get('GET /console/forecast', '/console/forecast');
  await advertiser.get(
    'GET /console/forecast (errors)',
    `/console/forecast?${new URLSearchParams({ bidType: 'cpm', bidAmount: `1 ${HOSTILE}`, pacing: 'even', countries: `DE, ${HOSTILE}` })}`,
  );
  await advertiser.get('GET /console/campaigns/:id (missing)', `/console/campaigns/${encodeURIComponent(HOSTILE)}`);
  await advertiser.get('GET /console/* (advertiser)', `/console/${encodeURIComponent(HOSTILE)}`);
  await advertiser.post('POST /console/campaigns/:id/status', `/console/campaigns/${id}/status`, { status: 'paused' });
  await advertiser.get('GET /console/campaigns (paused)', '/console/campaigns?done=paused');
  await advertiser.post('POST /console/sign-out', '/console/sign-out', {});
  return visits;
}
