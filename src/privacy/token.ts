/**
 * Signed slot tokens: they bind the pseudonymous user, campaign, creative,
 * reservation and expiry, so events can be verified item by item without a lookup.
 */
import { decodeBase64Url } from 'hono/utils/encode';
import { base64Url, Hmac } from './crypto.js';

export interface TokenClaims {
  reservationId: string;
  /** The feed client the slot was served to: only it may report events or ask why. */
  clientId: string;
  uid: string;
  campaignId: string;
  creativeId: string;
  expiresAt: number;
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class TokenSigner {
  private hmac: Hmac;

  constructor(secret: string) {
    this.hmac = new Hmac(secret, 'slot-token');
  }

  async sign(claims: TokenClaims): Promise<string> {
    const payload = base64Url(
      encoder.encode(JSON.stringify([claims.reservationId, claims.uid, claims.campaignId, claims.creativeId, claims.expiresAt, claims.clientId])).buffer,
    );
    return `${payload}.${await this.hmac.signB64(payload)}`;
  }

  async verify(token: string, now: number): Promise<TokenCheck> {
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, reason: 'malformed' };
    const payload = token.slice(0, dot);
    if (!(await this.hmac.verifyB64(payload, token.slice(dot + 1)))) return { ok: false, reason: 'bad_signature' };
    let fields: unknown;
    try {
      fields = JSON.parse(decoder.decode(decodeBase64Url(payload)));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (!Array.isArray(fields) || fields.length !== 6) return { ok: false, reason: 'malformed' };
    const [reservationId, uid, campaignId, creativeId, expiresAt, clientId] = fields;
    if (expiresAt <= now) return { ok: false, reason: 'expired' };
    return { ok: true, claims: { reservationId, uid, campaignId, creativeId, expiresAt, clientId } };
  }
}
