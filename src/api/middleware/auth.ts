/** Bearer-key authentication: admin key from settings, advertiser and client keys looked up by hash. */
import type { MiddlewareHandler } from 'hono';
import { LRUCache } from 'lru-cache';
import { constantTimeEqual, sha256Hex } from '../../privacy/crypto.js';
import type { CatalogStore } from '../../store/interface.js';
import type { AppEnv, Principal } from '../context.js';
import { ApiError } from '../errors.js';

export type PrincipalKind = Principal['kind'];

export interface AuthOptions {
  adminKey: string;
  catalog: CatalogStore;
  /** How many resolved keys to remember (keys are never revoked silently). */
  cacheSize?: number;
}

const unauthorized = (detail: string) => new ApiError('unauthorized', detail, undefined, { 'WWW-Authenticate': 'Bearer' });

/** Resolves the caller's key; returns a middleware factory that admits only the given kinds. */
export function createAuth(options: AuthOptions) {
  const cache = new LRUCache<string, Principal>({ max: options.cacheSize ?? 10_000 });
  let adminHash: Promise<string> | undefined;

  async function resolve(key: string): Promise<Principal | undefined> {
    const hash = await sha256Hex(key);
    adminHash ??= sha256Hex(options.adminKey);
    if (constantTimeEqual(hash, await adminHash)) return { kind: 'admin' };
    const cached = cache.get(hash);
    if (cached) return cached;
    const found = await options.catalog.findKey(hash);
    if (!found) return undefined;
    const principal: Principal =
      found.kind === 'advertiser'
        ? { kind: 'advertiser', advertiserId: found.ownerId }
        : { kind: 'client', clientId: found.ownerId };
    cache.set(hash, principal);
    return principal;
  }

  return function requireKey(...kinds: PrincipalKind[]): MiddlewareHandler<AppEnv> {
    return async function authenticate(c, next) {
      const header = c.req.header('Authorization');
      if (!header) throw unauthorized('Send Authorization: Bearer <key>');
      const match = /^Bearer\s+(\S{1,256})$/i.exec(header);
      if (!match) throw unauthorized('The Authorization header must be "Bearer <key>"');
      const principal = await resolve(match[1]);
      if (!principal) throw unauthorized('This API key is not valid');
      if (!kinds.includes(principal.kind)) {
        throw new ApiError(
          'forbidden',
          `This route needs a${kinds[0] === 'admin' || kinds[0] === 'advertiser' ? 'n' : ''} ${kinds.join(' or ')} key; you sent a${principal.kind === 'client' ? '' : 'n'} ${principal.kind} key`,
        );
      }
      c.set('principal', principal);
      await next();
    };
  };
}
