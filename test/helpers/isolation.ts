/**
 * Shared fixtures for the security suites: two advertisers with one campaign and
 * one approved creative each, a feed client, a live slot token, and the route table.
 */

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { readBody } from './api.js';
import { creativeForm, png } from './media.js';
import { ADMIN_KEY, makeService, type TestService } from './service.js';

/** Which key a row of the isolation table sends (a test-only notion: no key, a wrong one, another advertiser's). */
export type KeyUsed = 'none' | 'wrong' | 'admin' | 'advertiser' | 'other' | 'client';
export const KEY_KINDS: KeyUsed[] = ['none', 'wrong', 'admin', 'advertiser', 'other', 'client'];

/** What the route table needs from a running service: the Node helper and the Worker helper both fit. */
export interface ServiceLike {
  app: { request(path: string, init?: RequestInit): Response | Promise<Response> };
  call(
    method: string,
    path: string,
    key: string | undefined,
    body?: unknown,
  ): Promise<{ status: number; headers: Headers; body: any }>;
  newAdvertiser(name?: string): Promise<{ id: string; key: string }>;
  newClient(name?: string): Promise<{ id: string; key: string }>;
  seedCampaign(options?: {
    advertiser?: { id: string; key: string };
    seed?: number;
  }): Promise<{ advertiser: { id: string; key: string }; campaignId: string; creativeId: string }>;
  close(): Promise<void>;
}

export interface World<S extends ServiceLike = TestService> {
  s: S;
  keys: Record<KeyUsed, string | undefined>;
  a: { id: string; key: string; campaignId: string; creativeId: string; sha256: string };
  b: { id: string; key: string; campaignId: string; creativeId: string };
  client: { id: string; key: string };
  token: string;
}

export async function makeWorld(env: Record<string, string> = {}): Promise<World> {
  return seedWorld(await makeService(env));
}

/** Two advertisers, a client and a live token on any service. */
export async function seedWorld<S extends ServiceLike>(s: S): Promise<World<S>> {
  const a = await s.seedCampaign({ advertiser: await s.newAdvertiser('Bakery A'), seed: 1 });
  const b = await s.seedCampaign({ advertiser: await s.newAdvertiser('Florist B'), seed: 2 });
  const client = await s.newClient();
  const creative = await s.call('GET', `/v1/creatives/${a.creativeId}`, a.advertiser.key);
  const slots = await s.call('POST', '/v1/slots', client.key, { user: 'seed-user', statuses: 20 });
  const token = slots.body.slots[0].token as string;
  return {
    s,
    keys: {
      none: undefined,
      wrong: `sk_adv_${'x'.repeat(43)}`,
      admin: ADMIN_KEY,
      advertiser: a.advertiser.key,
      other: b.advertiser.key,
      client: client.key,
    },
    a: {
      id: a.advertiser.id,
      key: a.advertiser.key,
      campaignId: a.campaignId,
      creativeId: a.creativeId,
      sha256: creative.body.media.sha256,
    },
    b: { id: b.advertiser.id, key: b.advertiser.key, campaignId: b.campaignId, creativeId: b.creativeId },
    client,
    token,
  };
}

/** Every row of every table, for "a rejected request changes nothing". */
export function snapshot(dir: string): string {
  const db = new Database(join(dir, 'ads.db'), { readonly: true, fileMustExist: true });
  try {
    // A `WITHOUT ROWID` table (reservation_users) has no rowid: read in its primary key's order.
    const tables = db
      .prepare(
        `SELECT m.name, l.wr FROM sqlite_master m JOIN pragma_table_list l ON l.schema = 'main' AND l.name = m.name
         WHERE m.type = 'table' ORDER BY m.name`,
      )
      .all() as { name: string; wr: number }[];
    const dump: Record<string, unknown[]> = {};
    for (const { name, wr } of tables) dump[name] = db.prepare(`SELECT * FROM "${name}"${wr ? '' : ' ORDER BY rowid'}`).all();
    return JSON.stringify(dump);
  } finally {
    db.close();
  }
}

export type Group = 'admin' | 'advertiser' | 'client' | 'public';

export interface RouteCase {
  name: string;
  group: Group;
  method: string;
  path: (w: World<ServiceLike>) => string;
  /** A valid body for the owner; multipart for uploads. */
  body?: (w: World<ServiceLike>) => unknown;
  multipart?: boolean;
  /** Status for the rightful caller. */
  ok: number;
  /** The path names advertiser A's resource: advertiser B gets 404. */
  tenant?: boolean;
}

let userSeq = 0;
export const ROUTES: RouteCase[] = [
  {
    name: 'create advertiser',
    group: 'admin',
    method: 'POST',
    path: () => '/v1/advertisers',
    body: () => ({ name: 'New Co' }),
    ok: 201,
  },
  { name: 'list advertisers', group: 'admin', method: 'GET', path: () => '/v1/advertisers', ok: 200 },
  { name: 'create client', group: 'admin', method: 'POST', path: () => '/v1/clients', body: () => ({ name: 'App' }), ok: 201 },
  { name: 'review queue', group: 'admin', method: 'GET', path: () => '/v1/review', ok: 200 },
  {
    name: 'review creative',
    group: 'admin',
    method: 'POST',
    path: (w) => `/v1/creatives/${w.a.creativeId}/review`,
    body: () => ({ decision: 'approve' }),
    ok: 200,
  },
  { name: 'get me', group: 'advertiser', method: 'GET', path: () => '/v1/me', ok: 200 },
  {
    name: 'patch me',
    group: 'advertiser',
    method: 'PATCH',
    path: () => '/v1/me',
    body: () => ({ category: 'food-drink' }),
    ok: 200,
  },
  {
    name: 'create campaign',
    group: 'advertiser',
    method: 'POST',
    path: () => '/v1/campaigns',
    body: () => ({ name: 'More bread', status: 'paused', bid: { type: 'cpm', amountMicros: 1_000_000 } }),
    ok: 201,
  },
  { name: 'list campaigns', group: 'advertiser', method: 'GET', path: () => '/v1/campaigns', ok: 200 },
  {
    name: 'get campaign',
    group: 'advertiser',
    method: 'GET',
    path: (w) => `/v1/campaigns/${w.a.campaignId}`,
    ok: 200,
    tenant: true,
  },
  {
    name: 'patch campaign',
    group: 'advertiser',
    method: 'PATCH',
    path: (w) => `/v1/campaigns/${w.a.campaignId}`,
    body: () => ({ name: 'Renamed' }),
    ok: 200,
    tenant: true,
  },
  {
    name: 'upload creative',
    group: 'advertiser',
    method: 'POST',
    path: (w) => `/v1/campaigns/${w.a.campaignId}/creatives`,
    multipart: true,
    ok: 201,
    tenant: true,
  },
  {
    name: 'get creative',
    group: 'advertiser',
    method: 'GET',
    path: (w) => `/v1/creatives/${w.a.creativeId}`,
    ok: 200,
    tenant: true,
  },
  {
    name: 'reports',
    group: 'advertiser',
    method: 'GET',
    path: (w) => `/v1/reports?campaign=${w.a.campaignId}&from=2026-11-01&to=2026-11-30`,
    ok: 200,
    tenant: true,
  },
  {
    name: 'slots',
    group: 'client',
    method: 'POST',
    path: () => '/v1/slots',
    body: () => ({ user: `u${userSeq++}`, statuses: 5 }),
    ok: 200,
  },
  {
    name: 'events',
    group: 'client',
    method: 'POST',
    path: () => '/v1/events',
    body: (w) => ({ events: [{ token: w.token, type: 'impression' }] }),
    ok: 200,
  },
  {
    name: 'block',
    group: 'client',
    method: 'POST',
    path: () => '/v1/users/block',
    body: (w) => ({ user: 'bob', advertiser: w.b.id }),
    ok: 204,
  },
  {
    name: 'unblock',
    group: 'client',
    method: 'POST',
    path: () => '/v1/users/unblock',
    body: (w) => ({ user: 'bob', advertiser: w.b.id }),
    ok: 204,
  },
  { name: 'blocks', group: 'client', method: 'POST', path: () => '/v1/users/blocks', body: () => ({ user: 'bob' }), ok: 200 },
  { name: 'erase', group: 'client', method: 'POST', path: () => '/v1/users/erase', body: () => ({ user: 'carol' }), ok: 204 },
  { name: 'why', group: 'client', method: 'POST', path: () => '/v1/why', body: (w) => ({ token: w.token }), ok: 200 },
  { name: 'media', group: 'public', method: 'GET', path: (w) => `/media/${w.a.sha256}`, ok: 200 },
  { name: 'health', group: 'public', method: 'GET', path: () => '/healthz', ok: 200 },
  { name: 'openapi', group: 'public', method: 'GET', path: () => '/openapi.json', ok: 200 },
];

/** Sends one route case with the given key (and optionally a replacement body). */
export async function send(
  w: World<ServiceLike>,
  route: RouteCase,
  key: string | undefined,
  init: { body?: BodyInit; contentType?: string } = {},
) {
  const headers: Record<string, string> = {};
  if (key !== undefined) headers.Authorization = `Bearer ${key}`;
  let body: BodyInit | undefined = init.body;
  if (body === undefined && route.multipart) {
    body = creativeForm(png(90, 160, Math.floor(Math.random() * 1e6)));
  } else if (body === undefined && route.body) {
    body = JSON.stringify(route.body(w));
    headers['Content-Type'] = 'application/json';
  }
  if (init.contentType !== undefined) headers['Content-Type'] = init.contentType;
  const res = await w.s.app.request(route.path(w), { method: route.method, headers, body });
  const { json, text } = await readBody(res);
  return { status: res.status, headers: res.headers, body: json, text };
}

/** The problem+json shape every error must have. */
export function isProblem(res: { status: number; headers: Headers; body: any }): boolean {
  const type = res.headers.get('content-type') ?? '';
  const b = res.body;
  return (
    type.startsWith('application/problem+json') &&
    typeof b === 'object' &&
    b !== null &&
    typeof b.type === 'string' &&
    typeof b.title === 'string' &&
    b.status === res.status &&
    typeof b.detail === 'string'
  );
}

/** The status PRODUCT.md promises for a route and a key kind. */
function expected(route: RouteCase, kind: KeyUsed): number {
  if (route.group === 'public') return route.ok;
  if (kind === 'none' || kind === 'wrong') return 401;
  const kindGroup = kind === 'other' ? 'advertiser' : kind;
  if (kindGroup !== route.group) return 403;
  if (kind === 'other' && route.tenant) return 404;
  return route.ok;
}

export const ISOLATION_TABLE = ROUTES.flatMap((route) =>
  KEY_KINDS.map((kind) => ({ route, kind, status: expected(route, kind) })),
);

/** One row of the table: exact status, problem+json for errors. Shared with the Worker run. */
export async function checkRow(w: World<ServiceLike>, { route, kind, status }: (typeof ISOLATION_TABLE)[number]) {
  const res = await send(w, route, w.keys[kind]);
  expect(res.status, res.text).toBe(status);
  if (status >= 400) {
    expect(isProblem(res), res.text).toBe(true);
    if (status === 401) expect(res.headers.get('www-authenticate')).toBe('Bearer');
    // A 404 for another tenant's resource must look exactly like one for a resource that does not exist.
    if (status === 404) expect(res.body.detail).not.toContain(w.a.id);
  }
}
