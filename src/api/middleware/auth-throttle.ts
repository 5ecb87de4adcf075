/**
 * Failed-authentication throttling per client address: after `maxFailures` bad
 * keys within `windowMs`, every further *failed* attempt from that address is a
 * 429 until the window ends, so keys cannot be guessed at speed. A valid key is
 * never refused for others' failures (many users share an address behind NAT),
 * and CORS preflights are not attempts. The address comes from the runtime
 * (`ClientAddress`), and is only looked at when a key failed; without one,
 * nothing is throttled.
 */
import type { Context } from 'hono';
import { LRUCache } from 'lru-cache';
import type { ClientAddress } from '../context.js';
import { ApiError } from '../errors.js';

export interface AuthThrottleOptions {
  /** Failed authentications allowed per address per window; 0 = off. */
  maxFailures: number;
  windowMs: number;
  clock: () => number;
  clientAddress?: ClientAddress;
  /** How many addresses to remember (oldest forgotten first). */
  maxAddresses?: number;
}

interface Window {
  startedAt: number;
  failures: number;
}

/**
 * Returns `failed(c, err)`: given what authentication threw, the error to answer with —
 * a 401 is counted against the caller's address and becomes a 429 once over the limit;
 * anything else passes unchanged.
 */
export function authThrottle(options: AuthThrottleOptions) {
  const windows = new LRUCache<string, Window>({ max: options.maxAddresses ?? 50_000 });
  const addressOf = (c: Context): string | undefined => {
    if (!options.clientAddress || options.maxFailures <= 0) return undefined;
    try {
      return options.clientAddress(c) || undefined;
    } catch {
      return undefined;
    }
  };

  return function failed(c: Context, err: unknown): unknown {
    if (!(err instanceof ApiError && err.code === 'unauthorized')) return err;
    // Preflights carry no key by design: never an attempt.
    const address = c.req.method === 'OPTIONS' ? undefined : addressOf(c);
    if (!address) return err;
    const now = options.clock();
    let window = windows.get(address);
    if (!window || now - window.startedAt >= options.windowMs) windows.set(address, (window = { startedAt: now, failures: 0 }));
    if (window.failures >= options.maxFailures) {
      const seconds = Math.max(1, Math.ceil((window.startedAt + options.windowMs - now) / 1000));
      return new ApiError('rate_limited', `Too many failed authentications from this address; retry in ${seconds} s`, undefined, {
        'Retry-After': String(seconds),
      });
    }
    window.failures++;
    return err;
  };
}
