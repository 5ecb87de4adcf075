/**
 * The /v1/events workload: served slots written straight into the database before
 * the server starts (as the catalog is: seeding is not what is measured), with
 * their tokens sealed by the token code under the server's secret, so a run can
 * post as many events as the target rate needs instead of only those of the few
 * thousand slots the slot rounds served. The slots go to a paused copy of the
 * catalog (`ev_` ids: same bids, budgets and creatives), so their budget holds and
 * user histories never change what the slot benchmark serves. As on a server, the
 * slots were served one after another (at the rate the run is sized for) and their ids
 * are time-ordered; each slot's events arrive a random delay after it was served, so
 * batches mix slots of the last seconds as a feed client's would.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import Sqlite from 'better-sqlite3';
import type { EventType } from '../src/engine/types.js';
import { hashApiKey } from '../src/privacy/keys.js';
import { createPseudonymizer } from '../src/privacy/pseudonym.js';
import { type TokenClaims, TokenSigner, tokenSecretsFrom } from '../src/privacy/token.js';
import { openDatabase } from '../src/store/sqlite/db.js';
import { type Catalog, eventsForSlot, rng, sessions, Zipf } from './workload.js';

/** The prefix of the paused catalog copy's ids: its reservations were seeded, not served. */
export const SEEDED_PREFIX = 'ev_';

export interface EventLoad {
  /** A feed client's API key, seeded with the slots: their tokens are bound to it. */
  clientKey: string;
  /** Request bodies, `{ events: [...] }` of `batch` events each, in the order users would send them. */
  batches: string[];
}

/**
 * Seeds `slots` served slots (users drawn by Zipf activity from `users`, campaigns
 * uniformly, each slot's context the user's) into the database at `path`, and
 * returns event batches over them: what users do with served slots (`eventsForSlot`).
 */
export async function seedEventLoad(
  path: string,
  catalog: Catalog,
  o: {
    slots: number;
    users: number;
    batch: number;
    seed: number;
    secret: string;
    now: number;
    ttlMs: number;
    /** Slots served per second: the seeded slots were served over the `slots / servedPerSecond` s before `now` [SERVED_PER_SECOND]. */
    servedPerSecond?: number;
    /** Mean time from serving a slot to its events arriving (exponential), ms [EVENT_DELAY_MS]. */
    eventDelayMs?: number;
  },
): Promise<EventLoad> {
  const clientId = BENCH_CLIENT_ID;
  const clientKey = 'sk_cli_bench-events-0123456789abcdef0123456789';
  const pseudonymize = createPseudonymizer(o.secret);
  const signer = new TokenSigner(tokenSecretsFrom({}, o.secret));
  const r = rng(o.seed ^ 0xe7e7);
  const uids = new Map<number, string>();
  const rows: unknown[][] = [];
  /** Each slot with events: its token's claims (sealed once the rows, and so their numbers, are stored), events and arrival. */
  const served: { claims: TokenClaims; types: EventType[]; arrives: number }[] = [];
  const delayMs = o.eventDelayMs ?? EVENT_DELAY_MS;
  const servedPerSecond = o.servedPerSecond ?? SERVED_PER_SECOND;
  const firstServedAt = o.now - (o.slots / servedPerSecond) * 1000;
  let slot = 0;
  const zipf = new Zipf(o.users);
  for (const session of sessions(o.seed, o.users, o.slots, zipf, o.seed ^ 0xe7)) {
    let uid = uids.get(session.userIndex);
    // Other people than the slot benchmark's users (same traits).
    if (!uid) uids.set(session.userIndex, (uid = await pseudonymize(`events-${session.user}`)));
    const campaign = catalog.campaigns[Math.floor(r() * catalog.campaigns.length)];
    const creative = campaign.creatives[Math.floor(r() * campaign.creatives.length)];
    const [campaignId, creativeId] = [`${SEEDED_PREFIX}${campaign.id}`, `${SEEDED_PREFIX}${creative.id}`];
    // Served in order over the window before `now`, ids minted as the server mints them (time-ordered).
    const servedAt = Math.floor(firstServedAt + (slot++ / servedPerSecond) * 1000);
    const id = seededTimeOrderedId(servedAt, r);
    const expiresAt = servedAt + o.ttlMs;
    rows.push([
      id,
      uid,
      campaignId,
      creativeId,
      campaign.advertiserId,
      campaign.bid.type,
      campaign.bid.amountMicros,
      servedAt,
      expiresAt,
      session.context.country ?? '',
      session.context.platform ?? '',
    ]);
    const types = eventsForSlot(r);
    if (types.length === 0) continue;
    // A slot's events arrive together, after a delay: users view a status some seconds after the feed asked for its slots.
    const arrives = servedAt - Math.log(1 - r()) * delayMs;
    served.push({ claims: { reservationId: id, clientId, uid, campaignId, creativeId, expiresAt }, types, arrives });
  }
  const { sqlite } = openDatabase(path);
  let numbers: Map<string, number>;
  try {
    numbers = insertAll(sqlite, clientId, await hashApiKey(clientKey), o.now, rows);
  } finally {
    sqlite.close();
  }
  // Sealed as the server seals them: a handle, the reservation's number and expiry.
  const events: { token: string; type: EventType; arrives: number }[] = [];
  for (const { claims, types, arrives } of served) {
    const token = await signer.slotToken({ ...claims, reservationNumber: numbers.get(claims.reservationId) });
    for (const type of types) events.push({ token, type, arrives });
  }
  events.sort((a, b) => a.arrives - b.arrives);
  const batches: string[] = [];
  for (let k = 0; k + o.batch <= events.length; k += o.batch)
    batches.push(JSON.stringify({ events: events.slice(k, k + o.batch).map(({ token, type }) => ({ token, type })) }));
  return { clientKey, batches };
}

/** The serving rate behind the events target: 55,000 events/s at ~0.9 events per served slot. */
export const SERVED_PER_SECOND = 61_000;

/** Mean delay from serving a slot to its events: a status is viewed seconds after the feed was opened. */
export const EVENT_DELAY_MS = 10_000;

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** `timeOrderedId('r', servedAt)` (src/privacy/crypto.ts) with its 9 random bytes from the seeded generator. */
export function seededTimeOrderedId(servedAt: number, r: () => number): string {
  let random = '';
  for (let i = 0; i < 12; i++) random += BASE64URL[Math.floor(r() * 64)];
  return `r_${servedAt.toString(16).padStart(12, '0')}${random}`;
}

/** The feed client the seeded events are posted as. */
export const BENCH_CLIENT_ID = 'cli_bench_events';

/**
 * How the tree at `dir` seals a served slot's token: a handle (number and expiry; `TokenSigner.slotToken`), sealed
 * claims with the reservation's number (migration 0009), or claims without it (older trees refuse a seventh claim).
 */
export type TokenKind = 'handle' | 'numbered' | 'claims';
export function tokenKind(dir: string): TokenKind {
  if (readFileSync(join(dir, 'src/privacy/token.ts'), 'utf8').includes('slotToken(')) return 'handle';
  return existsSync(join(dir, 'schema/migrations/0009_events_by_number.sql')) ? 'numbered' : 'claims';
}

/**
 * The batches with every token sealed again under `secret` as a tree of `kind` seals it, from the seeded
 * reservations' rows in the database at `path` (their rowids are the numbers, which migration 0009 keeps).
 */
export async function resealBatches(batches: string[], secret: string, kind: TokenKind, path: string): Promise<string[]> {
  const sqlite = new Sqlite(path, { readonly: true });
  const rows = new Map<number, TokenClaims>();
  const rowidOf = new Map<string, number>();
  try {
    const all = sqlite.prepare('SELECT rowid, id, uid, campaign_id, creative_id, expires_at FROM reservations').raw().all();
    for (const [rowid, reservationId, uid, campaignId, creativeId, expiresAt] of all as [
      number,
      string,
      string,
      string,
      string,
      number,
    ][]) {
      rows.set(rowid, { reservationId, uid, campaignId, creativeId, expiresAt, clientId: BENCH_CLIENT_ID });
      rowidOf.set(reservationId, rowid);
    }
  } finally {
    sqlite.close();
  }
  const signer = new TokenSigner(tokenSecretsFrom({}, secret));
  const resealed = new Map<string, string>();
  const out: string[] = [];
  for (const batch of batches) {
    const { events } = JSON.parse(batch) as { events: { token: string; type: EventType }[] };
    for (const e of events) {
      let token = resealed.get(e.token);
      if (token === undefined) {
        const check = await signer.verify(e.token, 0, BENCH_CLIENT_ID);
        if (!check.ok) throw new Error(`a seeded token does not open: ${check.reason}`);
        const rowid = 'handle' in check ? check.handle.reservationNumber : rowidOf.get(check.claims.reservationId);
        const claims = rowid === undefined ? undefined : rows.get(rowid);
        if (!claims || rowid === undefined) throw new Error('a seeded token names no seeded reservation');
        if (kind === 'handle') token = await signer.slotToken({ ...claims, reservationNumber: rowid });
        else token = await signer.sign(kind === 'numbered' ? { ...claims, reservationNumber: rowid } : claims);
        resealed.set(e.token, token);
      }
      e.token = token;
    }
    out.push(JSON.stringify({ events }));
  }
  return out;
}

/** Stores the rows; their numbers (rowids) by id. */
function insertAll(
  sqlite: Database.Database,
  clientId: string,
  keyHash: string,
  now: number,
  rows: unknown[][],
): Map<string, number> {
  const numbers = new Map<string, number>();
  const reservation = sqlite.prepare(
    `INSERT INTO reservations (id, uid, campaign_id, creative_id, advertiser_id, bid_type, price_micros, served_at, expires_at,
       country, platform, video) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
  );
  /** The catalog's campaigns and creatives again, under `ev_` ids, paused. */
  const copy = (table: string, set: Record<string, string>) => {
    const columns = (sqlite.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
    sqlite.exec(
      `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${columns.map((c) => set[c] ?? c).join(', ')} FROM ${table}`,
    );
  };
  sqlite.transaction(() => {
    const prefixed = (column: string) => `'${SEEDED_PREFIX}' || ${column}`;
    copy('campaigns', { id: prefixed('id'), status: "'paused'" });
    copy('creatives', { id: prefixed('id'), campaign_id: prefixed('campaign_id') });
    sqlite.prepare('INSERT INTO clients (id, name, created_at) VALUES (?, ?, ?)').run(clientId, 'Bench events', now);
    sqlite
      .prepare('INSERT INTO api_keys (key_hash, kind, owner_id, created_at) VALUES (?, ?, ?, ?)')
      .run(keyHash, 'client', clientId, now);
    for (const row of rows) numbers.set(row[0] as string, reservation.run(...row).lastInsertRowid as number);
  })();
  return numbers;
}
