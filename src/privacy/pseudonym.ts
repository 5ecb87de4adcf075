/** Raw user ids stop here: every id is replaced by HMAC-SHA256(SECRET, id) before anything else sees it. */
import { Hmac } from './crypto.js';

/** The pseudonym at once where the runtime hashes synchronously (Node), else a promise of it. */
export type Pseudonymizer = (rawUserId: string) => string | Promise<string>;

/** Lone surrogates would be hashed as U+FFFD, so "a\ud800" and "a\udc00" would share a pseudonym; NUL is no id either. */
const ILL_FORMED = /[\0\uD800-\uDFFF]/u;

export function createPseudonymizer(secret: string): Pseudonymizer {
  const hmac = new Hmac(secret, 'user-id');
  return (rawUserId) => {
    // The API refuses such ids with a 400 first; this guards every other caller.
    if (ILL_FORMED.test(rawUserId))
      return Promise.reject(new RangeError('a user id must be well-formed Unicode text without NUL'));
    return hmac.signHexNow(rawUserId) ?? hmac.signHex(rawUserId);
  };
}
