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
  /**
   * The reservation's number in its SQLite file (Node: `reservations.number`, the events key), so the
   * event path reads the reservation by it; absent where the store does not number reservations before
   * the token is sealed (Workers) and in tokens sealed before numbers (they are read by id).
   */
  reservationNumber?: number;
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
  /** The key id's bytes: the additional authenticated data of every token under this key. */
  aad: Uint8Array<ArrayBuffer>;
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
  const key: TokenKey = { kid, raw, aad: encoder.encode(kid) };
  if (nodeCrypto) key.nodeKey = nodeCrypto.createSecretKey(raw);
  else key.webKey = crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return key;
}

/** WebCrypto's seal (runtimes without node:crypto): nonce ‖ ciphertext ‖ tag. */
async function sealWeb(key: TokenKey, plaintext: Uint8Array): Promise<Uint8Array> {
  const nonce = freshNonce();
  const out = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: nonce as Uint8Array<ArrayBuffer>, additionalData: key.aad, tagLength: TAG * 8 },
      await key.webKey!,
      plaintext as Uint8Array<ArrayBuffer>,
    ),
  );
  const sealed = new Uint8Array(NONCE + out.length);
  sealed.set(nonce, 0);
  sealed.set(out, NONCE);
  return sealed;
}

/** Text JSON writes between quotes as it is: every id the service makes (prefix, `_`, base64url) and the pseudonym (hex). */
const PLAIN = /^[\w-]*$/;

/**
 * The claims as the text every token seals (UTF-8): a JSON array, in a fixed order; the reservation's number
 * last, if any. Byte for byte `JSON.stringify` of that array, joined by hand when every string is plain and
 * every number a safe integer (the service's own ids and clock), which spares `JSON.stringify` of the array
 * (0.76–1.15 µs per token, bench/README session 11).
 */
export function claimsText(claims: TokenClaims): string {
  const { reservationId, uid, campaignId, creativeId, expiresAt, clientId, reservationNumber } = claims;
  if (
    PLAIN.test(reservationId) &&
    PLAIN.test(uid) &&
    PLAIN.test(campaignId) &&
    PLAIN.test(creativeId) &&
    PLAIN.test(clientId) &&
    Number.isSafeInteger(expiresAt) &&
    (reservationNumber === undefined || Number.isSafeInteger(reservationNumber))
  ) {
    const text = `["${reservationId}","${uid}","${campaignId}","${creativeId}",${expiresAt},"${clientId}"`;
    return reservationNumber === undefined ? `${text}]` : `${text},${reservationNumber}]`;
  }
  return JSON.stringify(
    reservationNumber === undefined
      ? [reservationId, uid, campaignId, creativeId, expiresAt, clientId]
      : [reservationId, uid, campaignId, creativeId, expiresAt, clientId, reservationNumber],
  );
}

/**
 * Node's synchronous seal, straight to the token text: the claims' text goes to the cipher as is,
 * and nonce, ciphertext and tag are laid out in one buffer (no encoded copy of the claims, no
 * nonce copy, no concatenation).
 */
function sealNode(key: TokenKey, claims: string): string {
  if (noncePool.at + NONCE > noncePool.bytes.length) {
    nodeCrypto!.randomFillSync(noncePool.bytes);
    noncePool.at = 0;
  }
  const nonce = noncePool.bytes.subarray(noncePool.at, noncePool.at + NONCE);
  noncePool.at += NONCE;
  const cipher = nodeCrypto!.createCipheriv('aes-256-gcm', key.nodeKey!, nonce, { authTagLength: TAG });
  cipher.setAAD(key.aad);
  const body = cipher.update(claims, 'utf8');
  cipher.final();
  const sealed = Buffer.allocUnsafe(NONCE + body.length + TAG);
  sealed.set(nonce, 0);
  sealed.set(body, NONCE);
  sealed.set(cipher.getAuthTag(), NONCE + body.length);
  return `${key.kid}.${sealed.toString('base64url')}`;
}

/** WebCrypto's open: the plaintext, or undefined if the tag does not verify under this key. */
async function openWeb(key: TokenKey, sealed: Uint8Array): Promise<Uint8Array | undefined> {
  if (sealed.length < NONCE + TAG + 1) return undefined;
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        {
          name: 'AES-GCM',
          iv: sealed.subarray(0, NONCE) as Uint8Array<ArrayBuffer>,
          additionalData: key.aad,
          tagLength: TAG * 8,
        },
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
  /** The same keys once derived: from then on Node seals and opens without a promise. */
  private ready: TokenKey[] | undefined;

  /**
   * @param secrets the current token secret first, then previous ones still accepted
   *   (see `tokenSecretsFrom`); a single string is the current secret alone.
   */
  constructor(secrets: string | string[]) {
    const list = typeof secrets === 'string' ? [secrets] : secrets;
    if (list.length === 0) throw new Error('TokenSigner needs a secret');
    this.keys = Promise.all(list.map(deriveKey));
    this.keys.then(
      (keys) => (this.ready = keys),
      () => undefined,
    );
  }

  /** A sealed token: a string at once on Node once the keys are derived, else a promise of it. */
  sign(claims: TokenClaims): string | Promise<string> {
    if (this.ready && nodeCrypto) return sealNode(this.ready[0], claimsText(claims));
    return this.signLater(claims);
  }

  private async signLater(claims: TokenClaims): Promise<string> {
    const [key] = await this.keys;
    const text = claimsText(claims);
    return nodeCrypto ? sealNode(key, text) : `${key.kid}.${toB64(await sealWeb(key, encoder.encode(text)))}`;
  }

  /** Opens and checks a token: at once on Node once the keys are derived, else a promise of the answer. */
  verify(token: string, now: number): TokenCheck | Promise<TokenCheck> {
    const parts = splitToken(token);
    if (!Array.isArray(parts)) return parts;
    if (!this.ready || !nodeCrypto) return this.verifyLater(parts, now);
    const key = keyFor(this.ready, parts[0]);
    if (!key) return BAD_SIGNATURE;
    // Only the canonical encoding: unused trailing bits that differ would decode to the same bytes.
    if (!canonicalBase64Url(parts[1])) return MALFORMED;
    return claimsFrom(openNode(key, Buffer.from(parts[1], 'base64url')), now);
  }

  private async verifyLater([kid, body]: [string, string], now: number): Promise<TokenCheck> {
    const key = keyFor(await this.keys, kid);
    if (!key) return BAD_SIGNATURE;
    let sealed: Uint8Array;
    try {
      sealed = fromB64(body);
    } catch {
      return MALFORMED;
    }
    if (toB64(sealed) !== body) return MALFORMED;
    return claimsFrom(nodeCrypto ? openNode(key, Buffer.from(sealed)) : await openWeb(key, sealed), now);
  }
}

const MALFORMED: TokenCheck = Object.freeze({ ok: false, reason: 'malformed' });
const BAD_SIGNATURE: TokenCheck = Object.freeze({ ok: false, reason: 'bad_signature' });
const EXPIRED: TokenCheck = Object.freeze({ ok: false, reason: 'expired' });
const BODY = /^[A-Za-z0-9_-]+$/;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** `[kid, body]` of a well-formed token, or why it is not one. */
function splitToken(token: string): [string, string] | TokenCheck {
  const dot = token.indexOf('.');
  if (dot !== 8 || token.indexOf('.', dot + 1) !== -1) return MALFORMED;
  const kid = token.slice(0, dot);
  const body = token.slice(dot + 1);
  if (!KID.test(kid) || !BODY.test(body)) return MALFORMED;
  return [kid, body];
}

function keyFor(keys: TokenKey[], kid: string): TokenKey | undefined {
  for (const key of keys) if (constantTimeEqual(key.kid, kid)) return key;
  return undefined;
}

/**
 * True when `body` (base64url characters only, unpadded) is the one encoding of its bytes: a
 * length that whole bytes can have, and the bits past the last byte zero. The same test as
 * decoding and encoding again, without either.
 */
export function canonicalBase64Url(body: string): boolean {
  const rest = body.length % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  return (BASE64URL.indexOf(body[body.length - 1]) & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Node's synchronous open: the plaintext, or undefined if the tag does not verify under this key. */
function openNode(key: TokenKey, sealed: Buffer): Uint8Array | undefined {
  if (sealed.length < NONCE + TAG + 1) return undefined;
  try {
    const decipher = nodeCrypto!.createDecipheriv('aes-256-gcm', key.nodeKey!, sealed.subarray(0, NONCE), { authTagLength: TAG });
    decipher.setAAD(key.aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    const body = decipher.update(sealed.subarray(NONCE, sealed.length - TAG));
    const final = decipher.final();
    return final.length ? Buffer.concat([body, final]) : body;
  } catch {
    return undefined;
  }
}

/** The claims of an opened token, or why they do not count. */
function claimsFrom(plaintext: Uint8Array | undefined, now: number): TokenCheck {
  if (!plaintext) return BAD_SIGNATURE;
  let fields: unknown;
  try {
    fields = JSON.parse(decoder.decode(plaintext));
  } catch {
    return MALFORMED;
  }
  // Six claims: a token sealed without the reservation's number (Workers, or before numbers).
  if (!Array.isArray(fields) || (fields.length !== 6 && fields.length !== 7)) return MALFORMED;
  const [reservationId, uid, campaignId, creativeId, expiresAt, clientId, reservationNumber] = fields;
  if (expiresAt <= now) return EXPIRED;
  if (reservationNumber === undefined)
    return { ok: true, claims: { reservationId, uid, campaignId, creativeId, expiresAt, clientId } };
  if (!Number.isSafeInteger(reservationNumber)) return MALFORMED;
  return { ok: true, claims: { reservationId, uid, campaignId, creativeId, expiresAt, clientId, reservationNumber } };
}
