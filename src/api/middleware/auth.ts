/**
 * Bearer-key authentication: admin key from settings, advertiser and client keys looked up by hash.
 * Takes the Authorization header's value, not a Hono context, so the Node slot lane asks the same cache.
 */
import { LRUCache } from 'lru-cache';
import { constantTimeEqual, sha256Hex, sha256HexSync } from '../../privacy/crypto.js';
import type { CatalogStore } from '../../store/interface.js';
import type { Principal } from '../context.js';
import { ApiError } from '../errors.js';

export type PrincipalKind = Principal['kind'];

export interface AuthOptions {
  adminKey: string;
  catalog: CatalogStore;
  /** How many resolved keys to remember (keys are never revoked silently). */
  cacheSize?: number;
}

/** A valid key of another kind (403): it still names its caller, for the request's log line (key kind and id). */
export class WrongKeyKind extends ApiError {
  constructor(
    readonly principal: Principal,
    detail: string,
  ) {
    super('forbidden', detail);
  }
}

const unauthorized = (detail: string) => new ApiError('unauthorized', detail, undefined, { 'WWW-Authenticate': 'Bearer' });
const BEARER = /^Bearer\s+(\S{1,256})$/i;

/**
 * Resolves the caller's key and admits only the given kinds: returns the principal, or throws a
 * 401/403 ApiError. Synchronous (no promise) when the key's hash can be taken synchronously
 * (node:crypto) and its principal is cached or the admin's; a cold key is looked up in the catalog.
 */
export function createAuth(options: AuthOptions) {
  const cache = new LRUCache<string, Principal>({ max: options.cacheSize ?? 10_000 });
  const admin: Principal = { kind: 'admin' };
  const adminHashSync = sha256HexSync?.(options.adminKey);
  let adminHash: Promise<string> | undefined;

  async function lookup(hash: string): Promise<Principal | undefined> {
    adminHash ??= adminHashSync !== undefined ? Promise.resolve(adminHashSync) : sha256Hex(options.adminKey);
    if (constantTimeEqual(hash, await adminHash)) return admin;
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

  function admit(principal: Principal | undefined, kinds: readonly PrincipalKind[]): Principal {
    if (!principal) throw unauthorized('This API key is not valid');
    if (!kinds.includes(principal.kind)) {
      throw new WrongKeyKind(
        principal,
        `This route needs a${kinds[0] === 'admin' || kinds[0] === 'advertiser' ? 'n' : ''} ${kinds.join(' or ')} key; you sent a${principal.kind === 'client' ? '' : 'n'} ${principal.kind} key`,
      );
    }
    return principal;
  }

  return function authenticate(header: string | undefined, kinds: readonly PrincipalKind[]): Principal | Promise<Principal> {
    if (!header) throw unauthorized('Send Authorization: Bearer <key>');
    const match = BEARER.exec(header);
    if (!match) throw unauthorized('The Authorization header must be "Bearer <key>"');
    const key = match[1];
    if (adminHashSync !== undefined) {
      const hash = sha256HexSync!(key);
      if (constantTimeEqual(hash, adminHashSync)) return admit(admin, kinds);
      const cached = cache.get(hash);
      if (cached) return admit(cached, kinds);
      return lookup(hash).then((principal) => admit(principal, kinds));
    }
    return sha256Hex(key)
      .then(lookup)
      .then((principal) => admit(principal, kinds));
  };
}
