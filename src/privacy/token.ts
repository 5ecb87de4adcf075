/**
 * Opaque slot tokens, in two kinds. Each token names its key (`kid`), so keys can rotate: a previous key
 * still opens tokens in flight. A token reveals nothing, and two tokens of one user share no bytes but the kid.
 *
 * - A **handle**, where the store numbers its reservations (Node's SQLite file): the reservation's number,
 *   its expiry (ms) and a keyed tag of the feed client it was served to, as one AES-256 block (a keyed
 *   pseudorandom permutation; the store never gives a number twice, so no two blocks repeat). Any change to the bytes
 *   opens to a random block, which the client tag (32 bits) refuses, and which the reservation's row must then
 *   match to the millisecond (48 bits more: `expires_at` in the ledger's read). The row tells the rest (user,
 *   campaign, creative). One block costs one call on a long-lived cipher: no cipher object per token.
 *
 *     handle = kid "." base64url(AES-256(number[6] ‖ expiresAt[6] ‖ clientTag[4]))   (31 characters)
 *
 * - **Sealed claims** elsewhere (Workers: reservations are not numbered before the token is sealed): the claims
 *   (reservation, feed client, pseudonymous user, campaign, creative, expiry) encrypted with AES-256-GCM under a
 *   random nonce, so events are verified item by item without a lookup.
 *
 *     token = kid "." base64url(nonce[12] ‖ ciphertext ‖ tag[16])
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

/** What a handle names: a reservation by its number (the row tells the rest) and the expiry its row must have. */
export interface TokenHandle {
  reservationNumber: number;
  expiresAt: number;
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims }
  | { ok: true; handle: TokenHandle }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

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
  /** Node: the handles' block cipher (its own key), one long-lived object each way: a block per call, never finalised. */
  handles?: { seal: import('node:crypto').Cipher; open: import('node:crypto').Decipher; tagKey: Uint8Array };
  /** Node: the feed clients' tags under this key, as computed (a few clients; emptied past CLIENT_TAGS). */
  clientTags: Map<string, number>;
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
  const key: TokenKey = { kid, raw, aad: encoder.encode(kid), clientTags: new Map() };
  if (nodeCrypto) {
    key.nodeKey = nodeCrypto.createSecretKey(raw);
    const blockKey = await hmac(secret, 'slot-token:handle:aes-256-ecb:v3');
    const seal = nodeCrypto.createCipheriv('aes-256-ecb', blockKey, null).setAutoPadding(false);
    const open = nodeCrypto.createDecipheriv('aes-256-ecb', blockKey, null).setAutoPadding(false);
    key.handles = { seal, open, tagKey: await hmac(secret, 'slot-token:handle:client-tag:v3') };
  } else key.webKey = crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, 'AES-GCM', false, ['encrypt', 'decrypt']);
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

/** A handle's block: 16 bytes. Its text is 22 base64url characters (no sealed claims are that short). */
const BLOCK = 16;
const HANDLE_CHARS = 22;
/** A number or expiry a handle's 6 bytes hold: a positive integer below 2^48. */
const fits48 = (x: number) => Number.isInteger(x) && x > 0 && x < 2 ** 48;
/** Feed clients' tags kept per key at most (there are a few clients; a flood of ids only costs recomputing). */
const CLIENT_TAGS = 1024;
/** One block, reused: written, then passed to the cipher, which returns a new buffer. */
const scratch = NodeBuffer ? (NodeBuffer as unknown as typeof Buffer).alloc(BLOCK) : undefined;

/** The feed client's tag under `key`: 32 bits of an HMAC keyed for this purpose alone, cached per client. */
function clientTag(key: TokenKey, clientId: string): number {
  let tag = key.clientTags.get(clientId);
  if (tag === undefined) {
    tag = nodeCrypto!.createHmac('sha256', key.handles!.tagKey).update(clientId).digest().readUInt32BE(0);
    if (key.clientTags.size >= CLIENT_TAGS) key.clientTags.clear();
    key.clientTags.set(clientId, tag);
  }
  return tag;
}

/** A handle for a numbered reservation (Node, keys derived): one block through the long-lived cipher. */
function sealHandle(key: TokenKey, reservationNumber: number, expiresAt: number, clientId: string): string {
  const block = scratch!;
  block.writeUIntBE(reservationNumber, 0, 6);
  block.writeUIntBE(expiresAt, 6, 6);
  block.writeUInt32BE(clientTag(key, clientId), 12);
  return `${key.kid}.${key.handles!.seal.update(block).toString('base64url')}`;
}

/**
 * A handle's text (22 base64url characters) written into `into` at `at` as its block: false unless it is the one
 * canonical text of a whole block (the long-lived decipher would keep a partial one and shift every later handle).
 */
function writeBlock(body: string, into: Buffer, at: number): boolean {
  return canonicalBase64Url(body) && into.write(body, at, BLOCK, 'base64url') === BLOCK;
}

/** Opens a handle's text under `key`: what it names, or why it does not count. */
function openHandle(key: TokenKey, body: string, now: number, clientId: string | undefined): TokenCheck {
  if (!writeBlock(body, scratch!, 0)) return MALFORMED;
  return handleCheck(key, key.handles!.open.update(scratch!), 0, now, clientId);
}

/** What the opened block at `at` in `blocks` names, or why it does not count. */
function handleCheck(key: TokenKey, blocks: Buffer, at: number, now: number, clientId: string | undefined): TokenCheck {
  // A changed or forged block opens to random bytes: its tag is another client's, almost surely (2^-32).
  if (clientId === undefined || blocks.readUInt32BE(at + 12) !== clientTag(key, clientId)) return BAD_SIGNATURE;
  const expiresAt = blocks.readUIntBE(at + 6, 6);
  if (expiresAt <= now) return EXPIRED;
  return { ok: true, handle: { reservationNumber: blocks.readUIntBE(at, 6), expiresAt } };
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

  /**
   * The token a served slot carries: a handle where the store numbered the reservation and node:crypto is here
   * (Node), else the sealed claims. At once on Node once the keys are derived, else a promise of it.
   */
  slotToken(claims: TokenClaims): string | Promise<string> {
    const n = claims.reservationNumber;
    if (!nodeCrypto || n === undefined || !fits48(n) || !fits48(claims.expiresAt)) return this.sign(claims);
    if (this.ready) return sealHandle(this.ready[0], n, claims.expiresAt, claims.clientId);
    return this.keys.then(([key]) => sealHandle(key, n, claims.expiresAt, claims.clientId));
  }

  /**
   * Opens and checks a token: at once on Node once the keys are derived, else a promise of the answer. With
   * `clientId` (the feed client asking), a token served to another client is refused like a forged one; without
   * it, sealed claims are not checked for the client and a handle is refused (its tag cannot be checked).
   */
  verify(token: string, now: number, clientId?: string): TokenCheck | Promise<TokenCheck> {
    const parts = splitToken(token);
    if (!Array.isArray(parts)) return parts;
    if (!this.ready || !nodeCrypto) return this.verifyLater(parts, now, clientId);
    const key = keyFor(this.ready, parts[0]);
    if (!key) return BAD_SIGNATURE;
    if (parts[1].length === HANDLE_CHARS) return openHandle(key, parts[1], now, clientId);
    // Only the canonical encoding: unused trailing bits that differ would decode to the same bytes.
    if (!canonicalBase64Url(parts[1])) return MALFORMED;
    return forClient(claimsFrom(openNode(key, Buffer.from(parts[1], 'base64url')), now), clientId);
  }

  /**
   * `verify` of each token, in order: on Node, the handles under the current key opened in one cipher call
   * (~0.2 µs each instead of ~1–2 µs a call: an event batch is mostly those).
   */
  verifyAll(tokens: readonly string[], now: number, clientId?: string): (TokenCheck | Promise<TokenCheck>)[] {
    const keys = this.ready;
    if (!keys || !nodeCrypto) return tokens.map((token) => this.verify(token, now, clientId));
    const key = keys[0];
    const checks: (TokenCheck | Promise<TokenCheck>)[] = new Array(tokens.length);
    const handles: number[] = [];
    const bodies = Buffer.allocUnsafe(tokens.length * BLOCK);
    for (let i = 0; i < tokens.length; i++) {
      const parts = splitToken(tokens[i]);
      if (Array.isArray(parts) && parts[1].length === HANDLE_CHARS && constantTimeEqual(parts[0], key.kid)) {
        if (writeBlock(parts[1], bodies, BLOCK * handles.length)) handles.push(i);
        else checks[i] = MALFORMED;
      } else checks[i] = this.verify(tokens[i], now, clientId);
    }
    if (handles.length === 0) return checks;
    const blocks = key.handles!.open.update(bodies.subarray(0, handles.length * BLOCK));
    for (let j = 0; j < handles.length; j++) checks[handles[j]] = handleCheck(key, blocks, j * BLOCK, now, clientId);
    return checks;
  }

  private async verifyLater([kid, body]: [string, string], now: number, clientId: string | undefined): Promise<TokenCheck> {
    const key = keyFor(await this.keys, kid);
    if (!key) return BAD_SIGNATURE;
    // Handles exist where node:crypto does; elsewhere a text of their length is no token of ours.
    if (body.length === HANDLE_CHARS) return key.handles ? openHandle(key, body, now, clientId) : BAD_SIGNATURE;
    let sealed: Uint8Array;
    try {
      sealed = fromB64(body);
    } catch {
      return MALFORMED;
    }
    if (toB64(sealed) !== body) return MALFORMED;
    return forClient(claimsFrom(nodeCrypto ? openNode(key, Buffer.from(sealed)) : await openWeb(key, sealed), now), clientId);
  }
}

/** Sealed claims served to another feed client than `clientId` (when given) are refused like forged ones. */
function forClient(check: TokenCheck, clientId: string | undefined): TokenCheck {
  return clientId !== undefined && check.ok && 'claims' in check && check.claims.clientId !== clientId ? BAD_SIGNATURE : check;
}

const MALFORMED: TokenCheck = Object.freeze({ ok: false, reason: 'malformed' });
const BAD_SIGNATURE: TokenCheck = Object.freeze({ ok: false, reason: 'bad_signature' });
const EXPIRED: TokenCheck = Object.freeze({ ok: false, reason: 'expired' });
const BODY = /^[A-Za-z0-9_-]+$/;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Characters a token of ours can have at most: sealed claims of 64-character ids are ~550, a handle 31. Anything
 * longer is malformed before any decoding (a client may send up to a 1 MiB body of it).
 */
const MAX_TOKEN_CHARS = 1024;

/** `[kid, body]` of a well-formed token, or why it is not one. */
function splitToken(token: string): [string, string] | TokenCheck {
  if (token.length > MAX_TOKEN_CHARS) return MALFORMED;
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
