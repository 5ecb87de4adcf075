/**
 * Where a user's state lives on Workers (see docs/deploy.md, "User placement"):
 * one of `shards` shared objects chosen by 32 bits of the pseudonym, or, with
 * `shards` = 0, an object of its own. Every query in a user object is keyed by
 * uid, so both placements run the same code; caps and blocks stay strongly
 * consistent because each user still has exactly one object.
 */

import { SettingsError } from '../../config.js';

/** The default: measured in bench/workers/placement.ts. */
export const DEFAULT_USER_SHARDS = 1024;

/**
 * `npm run start:worker`'s default (and the Workers bench's): one local workerd runs every object in one process, and
 * past ~750–790 migrated objects its SQLite answers SQLITE_NOMEM, so fewer user objects leave room for the campaigns'.
 */
export const LOCAL_USER_SHARDS = 256;

/** The Durable Object name holding this pseudonymous user's state. */
export function userObjectName(uid: string, shards: number): string {
  if (shards <= 0) return uid;
  // Pseudonyms are HMAC-SHA256 hex: uniformly random. Bits 64–95 (the reach sketch uses 0–63).
  const bits = Number.parseInt(uid.slice(16, 24), 16);
  return `users-${(Number.isNaN(bits) ? 0 : bits) % shards}`;
}

/** USER_SHARDS: a whole number of shared objects, 0 for one object per user. */
export function parseUserShards(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_USER_SHARDS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 1_000_000)
    throw new SettingsError(`USER_SHARDS must be a whole number from 0 to 1000000, got "${raw}"`);
  return n;
}

/** The Durable Object name of one budget shard of a campaign: shard 0 is the campaign's own object. */
export function campaignObjectName(campaignId: string, shard: number): string {
  return shard === 0 ? campaignId : `${campaignId}~${shard}`;
}

/**
 * BUDGET_MIN_SHARDS: campaign budgets are split over at least this many shard objects
 * [1: only as a campaign's rate needs, so small campaigns keep one]. Above 1 only to
 * exercise sharding (tests, benchmarks): every campaign then pays the lease messages.
 */
export function parseBudgetMinShards(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new SettingsError(`BUDGET_MIN_SHARDS must be a whole number from 1 to 64, got "${raw}"`);
  return n;
}
