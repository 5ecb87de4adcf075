/**
 * Deployment settings, read once from the environment. Defaults are the product's;
 * every runtime builds the same `Settings` from its own environment object.
 */

export interface PlacementSettings {
  /** The first ad comes after at least this many organic statuses. */
  firstAfter: number;
  /** At least this many organic statuses between two ads. */
  minGap: number;
  /** At most this many ads in one response. */
  maxPerResponse: number;
}

export interface CapRule {
  impressions: number;
  windowSeconds: number;
}

export interface Settings {
  port: number;
  /** Milliseconds a slot token (and its reservation) stays valid. */
  tokenTtlMs: number;
  placement: PlacementSettings;
  /** Deployment-wide ad load cap per user, across all advertisers. */
  userCap: CapRule;
  floorCpmMicros: number;
  /** Distinct reporting users that send a creative back to review. */
  reportThreshold: number;
  /** Requests per second per advertiser key (bursts of twice that); 0 = off. */
  rateLimitAdvertiser: number;
  /** Requests per second per feed-client key; 0 = off. */
  rateLimitClient: number;
  /** Failed authentications per client address per window before 429s; 0 = off. */
  authFailures: { limit: number; windowSeconds: number };
  /** How many users' state the per-process cache keeps. */
  userCacheSize: number;
  /** Allowed CORS origins; empty = CORS off. */
  corsOrigins: string[];
  /** Prefix for media URLs in responses (e.g. https://ads.example.com); empty = relative /media/... */
  publicUrl: string;
  /** How often traffic counts (the basis of forecasts) are merged into storage, in ms; 0 = every request. */
  trafficFlushMs: number;
}

export type Env = Record<string, string | undefined>;

export class SettingsError extends Error {}

function int(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

/** Reads every setting the product documents; throws a SettingsError naming a bad one. */
export function readSettings(env: Env): Settings {
  return {
    port: int(env, 'PORT', 8787, 0, 65535),
    tokenTtlMs: int(env, 'TOKEN_TTL', 900, 1, 86_400) * 1000,
    placement: {
      firstAfter: int(env, 'FIRST_AFTER', 2, 1, 1000),
      minGap: int(env, 'MIN_GAP', 4, 1, 1000),
      maxPerResponse: int(env, 'MAX_PER_RESPONSE', 3, 1, 100),
    },
    userCap: {
      impressions: int(env, 'USER_CAP_IMPRESSIONS', 8, 1, 10_000),
      windowSeconds: int(env, 'USER_CAP_WINDOW_SECONDS', 3600, 1, 31 * 86_400),
    },
    floorCpmMicros: int(env, 'FLOOR_CPM_MICROS', 100_000, 0),
    reportThreshold: int(env, 'REPORT_THRESHOLD', 5, 1, 1_000_000),
    rateLimitAdvertiser: int(env, 'RATE_LIMIT_ADVERTISER', 20, 0, 1_000_000),
    rateLimitClient: int(env, 'RATE_LIMIT_CLIENT', 0, 0, 1_000_000),
    authFailures: {
      limit: int(env, 'AUTH_FAILURE_LIMIT', 300, 0, 1_000_000),
      windowSeconds: int(env, 'AUTH_FAILURE_WINDOW_SECONDS', 60, 1, 86_400),
    },
    userCacheSize: int(env, 'USER_CACHE_SIZE', 100_000, 1, 100_000_000),
    corsOrigins: (env.CORS_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    publicUrl: (env.PUBLIC_URL ?? '').replace(/\/+$/, ''),
    trafficFlushMs: int(env, 'TRAFFIC_FLUSH_MS', 10_000, 0, 3_600_000),
  };
}
