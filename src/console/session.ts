/**
 * Console sessions without server state (so Node and every Workers isolate
 * agree): the signed-in API key lives only in an AES-GCM sealed, HttpOnly,
 * SameSite=Strict cookie, with a per-session CSRF token that every form posts back.
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { decodeBase64Url } from 'hono/utils/encode';
import { base64Url, constantTimeEqual } from '../privacy/crypto.js';

export type ConsoleRole = 'admin' | 'advertiser';

export interface Session {
  /** The API key the console calls the API with, on the signed-in person's behalf. */
  key: string;
  role: ConsoleRole;
  /** Shown in the header: the advertiser's name, or "Operator". */
  name: string;
  csrf: string;
  expiresAt: number;
  /**
   * A key the operator just created, carried to the page the form redirects to and dropped there, so it
   * is shown once and reloading that page creates nothing (sealed like the session's own key).
   */
  newKey?: NewKey;
}

export interface NewKey {
  page: 'advertisers' | 'clients';
  label: string;
  apiKey: string;
}

/** A session lasts a working day; signing out ends it at once. */
export const SESSION_TTL_MS = 8 * 3600 * 1000;
const COOKIE = 'console_session';
/** Before sign-in there is no session: the sign-in form is protected by a double-submit token. */
const SIGN_IN_COOKIE = 'console_signin';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function randomToken(bytes = 24): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return base64Url(buf.buffer);
}

/** Behind a TLS-terminating proxy the app sees http; X-Forwarded-Proto can only make the cookie stricter. */
const isHttps = (c: Context) => new URL(c.req.url).protocol === 'https:' || c.req.header('X-Forwarded-Proto') === 'https';
/** On HTTPS the `__Host-` prefix pins the cookie to this host, path / and Secure. */
const cookieName = (c: Context, name: string) => (isHttps(c) ? `__Host-${name}` : name);
const cookieOptions = (c: Context) => ({ httpOnly: true, sameSite: 'Strict' as const, secure: isHttps(c), path: '/' });

/** Seals and opens session cookies with a key derived from the deployment SECRET for this purpose only. */
export class SessionSealer {
  private key: Promise<CryptoKey>;

  constructor(secret: string) {
    this.key = (async () => {
      const material = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
        'sign',
      ]);
      const raw = await crypto.subtle.sign('HMAC', material, encoder.encode('console-session-v1'));
      return crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
    })();
  }

  async seal(session: Session): Promise<string> {
    const iv = new Uint8Array(12);
    crypto.getRandomValues(iv);
    const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await this.key, encoder.encode(JSON.stringify(session)));
    const out = new Uint8Array(iv.length + sealed.byteLength);
    out.set(iv);
    out.set(new Uint8Array(sealed), iv.length);
    return base64Url(out.buffer);
  }

  /** The session, or undefined if the cookie is absent, tampered with, or expired. */
  async open(value: string | undefined, now: number): Promise<Session | undefined> {
    if (!value || value.length > 4096) return undefined;
    try {
      const bytes = decodeBase64Url(value);
      const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.slice(0, 12) }, await this.key, bytes.slice(12));
      const session = JSON.parse(decoder.decode(plain)) as Session;
      return session.expiresAt > now ? session : undefined;
    } catch {
      return undefined;
    }
  }

  async read(c: Context, now: number): Promise<Session | undefined> {
    return this.open(getCookie(c, cookieName(c, COOKIE)), now);
  }

  async write(c: Context, session: Session): Promise<void> {
    setCookie(c, cookieName(c, COOKIE), await this.seal(session), cookieOptions(c));
  }
}

export function clearSession(c: Context): void {
  deleteCookie(c, cookieName(c, COOKIE), cookieOptions(c));
}

/** The sign-in form's token: reuses the cookie's if there is one, so two open tabs both work. */
export function signInToken(c: Context): string {
  const existing = getCookie(c, cookieName(c, SIGN_IN_COOKIE));
  if (existing && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
  const token = randomToken();
  setCookie(c, cookieName(c, SIGN_IN_COOKIE), token, cookieOptions(c));
  return token;
}

export function checkSignInToken(c: Context, posted: unknown): boolean {
  const cookie = getCookie(c, cookieName(c, SIGN_IN_COOKIE));
  return typeof posted === 'string' && !!cookie && constantTimeEqual(cookie, posted);
}

export function clearSignInToken(c: Context): void {
  deleteCookie(c, cookieName(c, SIGN_IN_COOKIE), cookieOptions(c));
}

export function checkCsrf(session: Session, posted: unknown): boolean {
  return typeof posted === 'string' && constantTimeEqual(session.csrf, posted);
}

/**
 * Browsers send Origin on every form post; one from elsewhere is refused even
 * before the token is looked at (SameSite=Strict already keeps our cookie off it).
 */
export function sameOrigin(c: Context): boolean {
  const origin = c.req.header('Origin');
  if (origin === undefined) return true;
  try {
    // Host only: behind a TLS-terminating proxy the scheme the app sees differs from the browser's.
    return new URL(origin).host === new URL(c.req.url).host;
  } catch {
    return false;
  }
}
