/** Ids: random ids keep their length and never repeat; reservation ids sort by creation time. */
import { describe, expect, it } from 'vitest';
import { holdShard } from '../../src/engine/budget-leases.js';
import { Hmac, randomId, sha256HexSync, timeOrderedId } from '../../src/privacy/crypto.js';

describe('randomId', () => {
  it('gives unpadded base64url of the asked number of bytes, never the same twice', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const id = randomId('r');
      expect(id).toMatch(/^r_[A-Za-z0-9_-]{16}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(20_000);
    expect(randomId('sk_cli', 32)).toMatch(/^sk_cli_[A-Za-z0-9_-]{43}$/);
  });
});

describe('timeOrderedId', () => {
  it('sorts by the time it was made, and is unique within a millisecond', () => {
    const t0 = Date.UTC(2026, 11, 1, 12);
    const ids: string[] = [];
    for (let i = 0; i < 5_000; i++) ids.push(timeOrderedId('r', t0 + Math.floor(i / 100)));
    for (let i = 100; i < ids.length; i++) expect(ids[i - 100] < ids[i]).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toMatch(/^r_[0-9a-f]{12}[A-Za-z0-9_-]{12}$/);
  });

  it('spreads budget holds evenly over shards, though ids made together share their time prefix', () => {
    const t0 = Date.UTC(2026, 11, 1, 12);
    for (const shards of [2, 3, 4, 16]) {
      const counts = new Array(shards).fill(0);
      for (let i = 0; i < 16_000; i++) counts[holdShard(timeOrderedId('r', t0 + Math.floor(i / 50)), shards)]++;
      for (const n of counts) expect(Math.abs(n / (16_000 / shards) - 1)).toBeLessThan(0.15);
    }
  });
});

describe('Hmac and sha256HexSync on Node', () => {
  it('give the bytes of HMAC-SHA256 over the UTF-8 key and of SHA-256, as WebCrypto does', async () => {
    for (const [secret, data] of [
      ['s', 'user-1'],
      ['sécret-秘密', 'ü-ser'],
      ['x'.repeat(100), ''],
    ]) {
      const key = await crypto.subtle.importKey(
        'raw',
        new TextEncoder().encode(`user-id:${secret}`),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['sign'],
      );
      const expected = Buffer.from(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(data))).toString('hex');
      expect(await new Hmac(secret, 'user-id').signHex(data)).toBe(expected);
      const digest = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(data))).toString('hex');
      expect(sha256HexSync!(data)).toBe(digest);
    }
  });
});

describe('the pseudonym', () => {
  it('is HMAC-SHA256 keyed with "user-id:" + SECRET, in lower-case hex, as SECURITY.md gives it', async () => {
    const { createHmac } = await import('node:crypto');
    const { createPseudonymizer } = await import('../../src/privacy/pseudonym.js');
    const secret = 'a-secret-of-the-deployment';
    for (const id of ['user-1', 'Ünïcødé 用户', 'x'.repeat(256)]) {
      const documented = createHmac('sha256', `user-id:${secret}`).update(id, 'utf8').digest('hex');
      expect(await createPseudonymizer(secret)(id)).toBe(documented);
    }
  });
});
