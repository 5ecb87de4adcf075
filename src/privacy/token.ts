/**
 * Opaque slot tokens: the claims (reservation, feed client, pseudonymous user,
 * campaign, creative, expiry) encrypted with AES-256-GCM under a random nonce,
 * so a token reveals nothing and two tokens of one user share no bytes, yet
 * events are verified item by item without a lookup. Each token names its key
 * (`kid`), so keys can rotate: a previous key still opens tokens in flight.
 *
 *   token = kid "." base64url(nonce[12] ‖ ciphertext ‖ tag[16])
 */
import { decodeBase64Url } from 'hono/utils/encode';
import { base64Url, constantTimeEqual } from './crypto.js';

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

/** Token keys from the environment: `TOKEN_SECRET` [derived from SECRET], and `TOKEN_SECRET_PREVIOUS` (comma-separated) still accepted. */
export function tokenSecretsFrom(env: Record<string, unknown>, secret: string): string[] {
  const value = (name: string) => (typeof env[name] === 'string' ? (env[name] as string) : '');
  const current = value('TOKEN_SECRET') || secret;
  const previous = value('TOKEN_SECRET_PREVIOUS')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return [current, ...previous.filter((p) => p !== current)];
}

type NodeCrypto = typeof import('node:crypto');
/** Looked up at run time (no static import): synchronous AES-GCM on Node, WebCrypto elsewhere (Workers). */
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
  'node:crypto',
) as NodeCrypto | undefined;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
type BufferLike = { from(data: Uint8Array | string, encoding?: string): Uint8Array & { toString(encoding: string): string } };
const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;
const toB64 = (bytes: Uint8Array) =>
  NodeBuffer ? NodeBuffer.from(bytes).toString('base64url') : base64Url(bytes.slice().buffer);
const fromB64 = (text: string): Uint8Array =>
  NodeBuffer ? new Uint8Array(NodeBuffer.from(text, 'base64url')) : decodeBase64Url(text);
const NONCE = 12;
const TAG = 16;
const KID = /^[A-Za-z0-9_-]{8}$/;

async function hmac(secret: string, label: string): Promise<Uint8Array> {
  if (nodeCrypto) return new Uint8Array(nodeCrypto.createHmac('sha256', secret).update(label).digest());
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(label)));
}

interface TokenKey {
  kid: string;
  raw: Uint8Array;
  /** Node: a KeyObject (cheaper per cipher than raw bytes); elsewhere a WebCrypto key. */
  nodeKey?: import('node:crypto').KeyObject;
  webKey?: Promise<CryptoKey>;
}

/** Nonces from a pooled random buffer: one randomFill per 341 tokens instead of one per token. */
const noncePool = { bytes: new Uint8Array(4092), at: 4092 };
function freshNonce(): Uint8Array {
  if (noncePool.at + NONCE > noncePool.bytes.length) {
    if (nodeCrypto) nodeCrypto.randomFillSync(noncePool.bytes);
    else crypto.getRandomValues(noncePool.bytes);
    noncePool.at = 0;
  }
  const nonce = noncePool.bytes.slice(noncePool.at, noncePool.at + NONCE);
  noncePool.at += NONCE;
  return nonce;
}

/** One key per secret: the AES key and its id are both derived from the secret, for this purpose only. */
async function deriveKey(secret: string): Promise<TokenKey> {
  const raw = await hmac(secret, 'slot-token:aes-256-gcm:v2');
  const kid = base64Url((await hmac(secret, 'slot-token:key-id:v2')).slice(0, 6).buffer);
  const key: TokenKey = { kid, raw };
  if (nodeCrypto) key.nodeKey = nodeCrypto.createSecretKey(raw);
  else key.webKey = crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return key;
}

async function seal(key: TokenKey, plaintext: Uint8Array): Promise<Uint8Array> {
  const nonce = freshNonce();
  const aad = encoder.encode(key.kid);
  let sealed: Uint8Array;
  if (nodeCrypto) {
    const cipher = nodeCrypto.createCipheriv('aes-256-gcm', key.nodeKey!, nonce, { authTagLength: TAG });
    cipher.setAAD(aad);
    const body = cipher.update(plaintext);
    const final = cipher.final();
    sealed = new Uint8Array(NONCE + body.length + final.length + TAG);
    sealed.set(body, NONCE);
    sealed.set(final, NONCE + body.length);
    sealed.set(cipher.getAuthTag(), NONCE + body.length + final.length);
  } else {
    const out = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv: nonce as Uint8Array<ArrayBuffer>, additionalData: aad, tagLength: TAG * 8 },
        await key.webKey!,
        plaintext as Uint8Array<ArrayBuffer>,
      ),
    );
    sealed = new Uint8Array(NONCE + out.length);
    sealed.set(out, NONCE);
  }
  sealed.set(nonce, 0);
  return sealed;
}

/** The plaintext, or undefined if the tag does not verify under this key. */
async function open(key: TokenKey, sealed: Uint8Array): Promise<Uint8Array | undefined> {
  if (sealed.length < NONCE + TAG + 1) return undefined;
  const nonce = sealed.subarray(0, NONCE);
  const aad = encoder.encode(key.kid);
  try {
    if (nodeCrypto) {
      const decipher = nodeCrypto.createDecipheriv('aes-256-gcm', key.nodeKey!, nonce, { authTagLength: TAG });
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
      const body = decipher.update(sealed.subarray(NONCE, sealed.length - TAG));
      const final = decipher.final();
      return final.length ? new Uint8Array(Buffer.concat([body, final])) : new Uint8Array(body);
    }
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: nonce as Uint8Array<ArrayBuffer>, additionalData: aad, tagLength: TAG * 8 },
        await key.webKey!,
        sealed.subarray(NONCE) as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch {
    return undefined;
  }
}

export class TokenSigner {
  /** The first key seals new tokens; every key opens tokens that name it. */
  private keys: Promise<TokenKey[]>;

  /**
   * @param secrets the current token secret first, then previous ones still accepted
   *   (see `tokenSecretsFrom`); a single string is the current secret alone.
   */
  constructor(secrets: string | string[]) {
    const list = typeof secrets === 'string' ? [secrets] : secrets;
    if (list.length === 0) throw new Error('TokenSigner needs a secret');
    this.keys = Promise.all(list.map(deriveKey));
  }

  async sign(claims: TokenClaims): Promise<string> {
    const [key] = await this.keys;
    const plaintext = encoder.encode(
      JSON.stringify([claims.reservationId, claims.uid, claims.campaignId, claims.creativeId, claims.expiresAt, claims.clientId]),
    );
    return `${key.kid}.${toB64(await seal(key, plaintext))}`;
  }

  async verify(token: string, now: number): Promise<TokenCheck> {
    const dot = token.indexOf('.');
    if (dot !== 8 || token.indexOf('.', dot + 1) !== -1) return { ok: false, reason: 'malformed' };
    const kid = token.slice(0, dot);
    const body = token.slice(dot + 1);
    if (!KID.test(kid) || !/^[A-Za-z0-9_-]+$/.test(body)) return { ok: false, reason: 'malformed' };
    const key = (await this.keys).find((k) => constantTimeEqual(k.kid, kid));
    if (!key) return { ok: false, reason: 'bad_signature' };
    let sealed: Uint8Array;
    try {
      sealed = fromB64(body);
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    // Only the canonical encoding: unused trailing bits that differ would decode to the same bytes.
    if (toB64(sealed) !== body) return { ok: false, reason: 'malformed' };
    const plaintext = await open(key, sealed);
    if (!plaintext) return { ok: false, reason: 'bad_signature' };
    let fields: unknown;
    try {
      fields = JSON.parse(decoder.decode(plaintext));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (!Array.isArray(fields) || fields.length !== 6) return { ok: false, reason: 'malformed' };
    const [reservationId, uid, campaignId, creativeId, expiresAt, clientId] = fields;
    if (expiresAt <= now) return { ok: false, reason: 'expired' };
    return { ok: true, claims: { reservationId, uid, campaignId, creativeId, expiresAt, clientId } };
  }
}
