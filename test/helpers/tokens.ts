/**
 * What a served token names, as claims a test can seal again (under another key, with another expiry, ...).
 * Node serves handles (the reservation's number and expiry, no ids): their claims carry the number, the
 * expiry and the client, and placeholder ids, so `TokenSigner.slotToken` seals a handle again from them.
 */
import { type TokenClaims, TokenSigner } from '../../src/privacy/token.js';

export async function servedClaims(
  secret: string | string[],
  token: string,
  clientId: string,
  now: number,
): Promise<TokenClaims> {
  const check = await new TokenSigner(secret).verify(token, now, clientId);
  if (!check.ok) throw new Error(`the served token does not verify: ${check.reason}`);
  if ('claims' in check) return check.claims;
  const { reservationNumber, expiresAt } = check.handle;
  return {
    reservationId: 'r_handle',
    uid: 'u'.repeat(64),
    campaignId: 'c_handle',
    creativeId: 'k_handle',
    clientId,
    expiresAt,
    reservationNumber,
  };
}
