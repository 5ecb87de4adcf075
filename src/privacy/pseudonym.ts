/** Raw user ids stop here: every id is replaced by HMAC-SHA256(SECRET, id) before anything else sees it. */
import { Hmac } from './crypto.js';

export type Pseudonymizer = (rawUserId: string) => Promise<string>;

export function createPseudonymizer(secret: string): Pseudonymizer {
  const hmac = new Hmac(secret, 'user-id');
  return (rawUserId) => hmac.signHex(rawUserId);
}
