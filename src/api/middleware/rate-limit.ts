/**
 * Token-bucket rate limiting per API key: `rate` requests per second, bursts of
 * twice that; 429 with Retry-After when empty. Bucket arithmetic is pure.
 */
import { LRUCache } from 'lru-cache';
import type { Principal } from '../context.js';
import { ApiError } from '../errors.js';

export interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Refills `bucket` to `now` and takes one token; returns ms to wait if none was left. */
export function take(bucket: Bucket, now: number, rate: number, burst: number): number {
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * rate);
  bucket.updatedAt = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return 0;
  }
  return Math.ceil(((1 - bucket.tokens) / rate) * 1000);
}

export interface RateLimitOptions {
  /** Requests per second by key kind; 0 or absent = unlimited. */
  rates: Partial<Record<Principal['kind'], number>>;
  clock: () => number;
}

/**
 * API calls made inside a request that already took its token: a console page calls the API in-process
 * several times for one view, and a person's page view is one request. Requests are only ever added by
 * the app's own code (an object from outside cannot be in this set).
 */
const insideCountedRequest = new WeakSet<Request>();

/** Marks an in-process API request as part of one already counted (see `insideCountedRequest`). */
export function partOfCountedRequest(request: Request): Request {
  insideCountedRequest.add(request);
  return request;
}

export const isPartOfCountedRequest = (request: Request) => insideCountedRequest.has(request);

/** Returns `limit(principal)`: takes one token from the key's bucket, or throws a 429 ApiError. */
export function rateLimit(options: RateLimitOptions): (principal: Principal) => void {
  const buckets = new LRUCache<string, Bucket>({ max: 100_000 });
  return function limitRate(principal) {
    const rate = options.rates[principal.kind] ?? 0;
    if (!(rate > 0)) return;
    const key =
      principal.kind === 'advertiser' ? principal.advertiserId : principal.kind === 'client' ? principal.clientId : 'admin';
    const now = options.clock();
    let bucket = buckets.get(key);
    if (!bucket) buckets.set(key, (bucket = { tokens: rate * 2, updatedAt: now }));
    const waitMs = take(bucket, now, rate, rate * 2);
    if (waitMs > 0) {
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      throw new ApiError('rate_limited', `Rate limit of ${rate} requests per second exceeded; retry in ${seconds} s`, undefined, {
        'Retry-After': String(seconds),
      });
    }
  };
}
