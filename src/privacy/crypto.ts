/**
 * HMAC, hashing and randomness through WebCrypto, which Node 20 and workerd both
 * provide, so the same code pseudonymises and signs on every runtime. Where
 * `node:crypto` is at hand, HMAC and SHA-256 use it instead: the same bytes, but
 * synchronous (~2 µs instead of ~15 µs of thread-pool round trip per call).
 */
import { encodeBase64Url } from 'hono/utils/encode';

type NodeCrypto = typeof import('node:crypto');
/** Looked up at run time (no static import), so runtimes without node:crypto are unaffected. */
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
  'node:crypto',
) as NodeCrypto | undefined;

/** Unpadded base64url: safe in ids, keys and tokens without escaping. */
export const base64Url = (buf: ArrayBufferLike) => encodeBase64Url(buf).replace(/=+$/, '');

const encoder = new TextEncoder();

/**
 * Ids (not secrets) take their random bytes from a block drawn from the CSPRNG in one
 * `getRandomValues` call per 4 KiB instead of one per id (the call, not the bytes, is what
 * costs on the slot path); each byte is handed out once. Secrets (API keys, > 16 bytes) are
 * drawn on their own, so no future key waits in memory.
 */
const POOL_SIZE = 4096;
const POOLED_MAX = 16;
let pool = new Uint8Array(0);
let poolAt = 0;

function randomBytes(n: number): Uint8Array {
  if (n > POOLED_MAX) return crypto.getRandomValues(new Uint8Array(n));
  if (poolAt + n > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    poolAt = 0;
  }
  const out = pool.slice(poolAt, poolAt + n);
  pool.fill(0, poolAt, poolAt + n);
  poolAt += n;
  return out;
}

type NodeBufferType = typeof import('node:buffer').Buffer;
const NodeBuffer = (globalThis as { Buffer?: NodeBufferType }).Buffer;

/** `n` pooled random bytes as unpadded base64url. */
function randomText(n: number): string {
  if (!NodeBuffer || n > POOLED_MAX) {
    const buf = randomBytes(n);
    return NodeBuffer ? NodeBuffer.from(buf.buffer, buf.byteOffset, buf.length).toString('base64url') : base64Url(buf.buffer);
  }
  // Node: encoded straight from the pool, without copying the bytes out first.
  if (poolAt + n > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    poolAt = 0;
  }
  const text = NodeBuffer.from(pool.buffer, pool.byteOffset + poolAt, n).toString('base64url');
  pool.fill(0, poolAt, poolAt + n);
  poolAt += n;
  return text;
}

export function randomId(prefix: string, bytes = 12): string {
  return `${prefix}_${randomText(bytes)}`;
}

/** The last clock value's hex prefix: ids made in the same millisecond share it. */
let lastMs = -1;
let lastPrefix = '';

/**
 * An id whose text sorts by creation time (12 hex digits of the millisecond clock, then 9 random
 * bytes): rows keyed by it are appended at the end of their B-tree instead of landing on a random
 * page, so a commit of new reservations writes one index page, not one per row. The time prefix
 * says when the row was made, which its own columns say too; ids never leave the service in clear
 * (slot tokens are encrypted).
 */
export function timeOrderedId(prefix: string, now: number): string {
  const ms = Math.max(0, Math.floor(now));
  if (ms !== lastMs) {
    lastMs = ms;
    lastPrefix = ms.toString(16).padStart(12, '0');
  }
  return `${prefix}_${lastPrefix}${randomText(9)}`;
}

export function toHex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * SHA-256 in hex without a promise, where node:crypto is at hand (Node); undefined elsewhere. The
 * one-shot `crypto.hash` (Node ≥ 20.12) where it exists: no Hash object per call (~0.4 µs against ~0.9).
 */
export const sha256HexSync: ((data: string) => string) | undefined = nodeCrypto
  ? typeof nodeCrypto.hash === 'function'
    ? (data) => nodeCrypto.hash('sha256', data, 'hex')
    : (data) => nodeCrypto.createHash('sha256').update(data).digest('hex')
  : undefined;

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  if (nodeCrypto) return nodeCrypto.createHash('sha256').update(data).digest('hex');
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  return toHex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

/** Constant-time comparison of two equal-length strings. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** An HMAC-SHA256 key derived for one purpose, so pseudonyms and token signatures never share a key. */
export class Hmac {
  private key: Promise<CryptoKey>;
  private nodeKey: import('node:crypto').KeyObject | undefined;

  constructor(secret: string, purpose: string) {
    // On Node the key's bytes (UTF-8) as a KeyObject: each HMAC then skips importing the key.
    this.nodeKey = nodeCrypto?.createSecretKey(encoder.encode(`${purpose}:${secret}`));
    this.key = crypto.subtle.importKey('raw', encoder.encode(`${purpose}:${secret}`), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
  }

  async sign(data: string): Promise<Uint8Array> {
    if (nodeCrypto) return new Uint8Array(nodeCrypto.createHmac('sha256', this.nodeKey!).update(data).digest());
    return new Uint8Array(await crypto.subtle.sign('HMAC', await this.key, encoder.encode(data)));
  }

  /** HMAC in hex without a promise, where node:crypto is at hand (Node); undefined elsewhere. */
  signHexNow(data: string): string | undefined {
    return nodeCrypto && this.nodeKey ? nodeCrypto.createHmac('sha256', this.nodeKey).update(data).digest('hex') : undefined;
  }

  async signHex(data: string): Promise<string> {
    if (nodeCrypto) return nodeCrypto.createHmac('sha256', this.nodeKey!).update(data).digest('hex');
    return toHex((await this.sign(data)).buffer as ArrayBuffer);
  }

  async signB64(data: string): Promise<string> {
    return base64Url((await this.sign(data)).buffer);
  }

  /**
   * Compares the canonical encoding, in constant time: a signature whose unused
   * trailing bits differ would decode to the same bytes but is a different token.
   */
  async verifyB64(data: string, signature: string): Promise<boolean> {
    return constantTimeEqual(await this.signB64(data), signature);
  }
}
