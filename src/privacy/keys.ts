/** API keys: 256 random bits shown once, stored only as their SHA-256. */
import { randomId, sha256Hex } from './crypto.js';

export type KeyKind = 'advertiser' | 'client';

export function newApiKey(kind: KeyKind): string {
  return randomId(kind === 'advertiser' ? 'sk_adv' : 'sk_cli', 32);
}

export const hashApiKey = sha256Hex;
