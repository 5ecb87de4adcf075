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
  /** SQLITE_MMAP_MB [1024] (Node): MiB of the database file read through a memory map; 0 = none. */
  sqliteMmapMb: number;
  /** WAL_RESTART_MB [32] (Node): MiB a checkpoint may leave in the WAL before the commits are held for its restart. */
  walRestartMb: number;
  /** Allowed CORS origins; empty = CORS off. */
  corsOrigins: string[];
  /** Prefix for media URLs in responses (e.g. https://ads.example.com); empty = relative /media/... */
  publicUrl: string;
  /** How often traffic counts (the basis of forecasts) are merged into storage, in ms; 0 = every request. */
  trafficFlushMs: number;
  /** CATALOG_REFRESH_MS [1000] (Workers): how often an isolate checks D1's catalog version, in ms; 0 = every request. */
  catalogRefreshMs: number;
  /** CTR_REFRESH_MS [300000]: how often recorded impressions and clicks are folded into predicted CTRs (an index rebuild). */
  ctrRefreshMs: number;
  /** LOG_LEVEL [info]: trace, debug, info, warn, error, fatal or silent. */
  logLevel: LogLevel;
  /** METRICS_TOKEN: a bearer token that may read /metrics besides the operator key; empty = operator key only. */
  metricsToken: string;
  /**
   * Node only (`npm start`, and start:worker's local edge): HTTP_REQUEST_TIMEOUT [30000] ms for a request's whole
   * body (uploads excepted), HTTP_UPLOAD_TIMEOUT [600000] ms for a creative upload's, KEEP_ALIVE_TIMEOUT [65000] ms an
   * idle kept-alive connection stays open.
   */
  http: { requestTimeoutMs: number; uploadTimeoutMs: number; keepAliveTimeoutMs: number };
}

import { LOG_LEVELS, type LogLevel, parseLogLevel } from './ops/log.js';

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
    // 2048: SQLite's own ceiling (SQLITE_MAX_MMAP_SIZE), which it would apply silently.
    sqliteMmapMb: int(env, 'SQLITE_MMAP_MB', 1024, 0, 2048),
    walRestartMb: int(env, 'WAL_RESTART_MB', 32, 1, 4096),
    corsOrigins: corsOrigins(env.CORS_ORIGINS),
    publicUrl: publicUrl(env.PUBLIC_URL),
    trafficFlushMs: int(env, 'TRAFFIC_FLUSH_MS', 10_000, 0, 3_600_000),
    catalogRefreshMs: int(env, 'CATALOG_REFRESH_MS', 1000, 0, 3_600_000),
    ctrRefreshMs: int(env, 'CTR_REFRESH_MS', 300_000, 0, 86_400_000),
    logLevel: logLevel(env.LOG_LEVEL),
    metricsToken: env.METRICS_TOKEN ?? '',
    // Node refuses a request timeout shorter than the headers' (15 s).
    http: {
      requestTimeoutMs: int(env, 'HTTP_REQUEST_TIMEOUT', 30_000, 15_000, 3_600_000),
      uploadTimeoutMs: int(env, 'HTTP_UPLOAD_TIMEOUT', 600_000, 15_000, 86_400_000),
      keepAliveTimeoutMs: int(env, 'KEEP_ALIVE_TIMEOUT', 65_000, 1_000, 3_600_000),
    },
  };
}

/** An http(s) URL's origin exactly as a browser sends it in `Origin`, or undefined. */
function asOrigin(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    return /^https?:$/.test(url.protocol) && url.origin === raw ? raw : undefined;
  } catch {
    return undefined;
  }
}

/** CORS_ORIGINS: each one compared with the browser's `Origin` as is, so `example.com` or a trailing `/` never matches. */
function corsOrigins(raw: string | undefined): string[] {
  const origins = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (!asOrigin(origin)) {
      throw new SettingsError(
        `CORS_ORIGINS must be comma-separated origins such as https://app.example.com (scheme, host and port only), got "${origin}"`,
      );
    }
  }
  return origins;
}

/** PUBLIC_URL: the prefix of media URLs in answers, so an absolute http(s) URL (a path is kept; no query or fragment). */
function publicUrl(raw: string | undefined): string {
  const prefix = (raw ?? '').trim().replace(/\/+$/, '');
  if (prefix === '') return '';
  let url: URL | undefined;
  try {
    url = new URL(prefix);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash || prefix.includes('?') || prefix.includes('#')) {
    throw new SettingsError(`PUBLIC_URL must be an absolute http(s) URL such as https://ads.example.com, got "${raw}"`);
  }
  return prefix;
}

function logLevel(raw: string | undefined): LogLevel {
  const level = parseLogLevel(raw);
  if (!level) throw new SettingsError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return level;
}

/** Every setting name the service reads, on either runtime (README's settings table). */
export const SETTING_NAMES = [
  'NODE_ENV',
  'PORT',
  'HOST',
  'DATABASE',
  'MEDIA_DIR',
  'DATA_DIR',
  'ADMIN_KEY',
  'SECRET',
  'TOKEN_SECRET',
  'TOKEN_SECRET_PREVIOUS',
  'METRICS_TOKEN',
  'LOG_LEVEL',
  'TOKEN_TTL',
  'FIRST_AFTER',
  'MIN_GAP',
  'MAX_PER_RESPONSE',
  'USER_CAP_IMPRESSIONS',
  'USER_CAP_WINDOW_SECONDS',
  'FLOOR_CPM_MICROS',
  'REPORT_THRESHOLD',
  'RATE_LIMIT_ADVERTISER',
  'RATE_LIMIT_CLIENT',
  'AUTH_FAILURE_LIMIT',
  'AUTH_FAILURE_WINDOW_SECONDS',
  'USER_CACHE_SIZE',
  'SQLITE_MMAP_MB',
  'WAL_RESTART_MB',
  'CORS_ORIGINS',
  'PUBLIC_URL',
  'CATALOG_REFRESH_MS',
  'USER_SHARDS',
  'BUDGET_MIN_SHARDS',
  'TRAFFIC_FLUSH_MS',
  'CTR_REFRESH_MS',
  'ENGINE_THREAD',
  'HTTP_REQUEST_TIMEOUT',
  'HTTP_UPLOAD_TIMEOUT',
  'KEEP_ALIVE_TIMEOUT',
];

/** Edits (insert, delete, substitute, swap two neighbours) between two names: `PROT` is one from `PORT`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * Refuses an environment variable that is not a setting but looks like a typo of
 * one (`PROT`, `LOGLEVEL`, `secret`, `RATE_LIMIT_CLIENTS`): a setting that silently
 * keeps its default is worse than a refusal to start. Short names must be one edit
 * away, longer ones two, so ordinary variables (`HOME` next to `HOST`) pass.
 */
export function checkSettingNames(env: Env, known: readonly string[] = SETTING_NAMES): void {
  for (const name of Object.keys(env)) {
    if (known.includes(name) || name.startsWith('npm_')) continue;
    const upper = name.toUpperCase();
    for (const setting of known) {
      const distance = editDistance(upper, setting);
      if (distance <= (setting.length <= 5 ? 1 : 2)) {
        throw new SettingsError(`Unknown setting ${name}: did you mean ${setting}? (see the settings table in README.md)`);
      }
    }
  }
}

/** ADMIN_KEY and SECRET in production: at least 32 random bytes' worth (256 bits). */
const SECRET_BITS = 256;

/**
 * A rough strength estimate: length × log2(the alphabet its character classes
 * span), and a floor on character variety so `aaaa…` or `abcabc…` never pass.
 * `openssl rand -hex 32` and `openssl rand -base64 32` pass; a word or a short key does not.
 */
export function secretWeakness(name: string, value: string): string | undefined {
  let alphabet = 0;
  if (/[a-z]/.test(value)) alphabet += 26;
  if (/[A-Z]/.test(value)) alphabet += 26;
  if (/[0-9]/.test(value)) alphabet += 10;
  if (/[^a-zA-Z0-9]/.test(value)) alphabet += 33;
  // Mixed case with digits or symbols, or as long as 32 bytes in base64: treat as base64. A random base64url string
  // may lack a class by chance, both digits and "-_" about once in 7,000 for 32 bytes.
  if (/[a-z]/.test(value) && /[A-Z]/.test(value) && (/[^a-zA-Z]/.test(value) || value.length >= 43)) {
    alphabet = Math.max(alphabet, 64);
  }
  const bits = value.length * Math.log2(Math.max(alphabet, 1));
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) perChar -= (n / value.length) * Math.log2(n / value.length);
  if (bits < SECRET_BITS || perChar < 3) {
    return `${name} is too weak for production: use at least 32 random bytes, e.g. $(openssl rand -base64 32)`;
  }
  return undefined;
}
