import { describe, expect, it } from 'vitest';
import { TokenSigner } from '../../src/privacy/token.js';

const claims = { reservationId: 'r_1', clientId: 'cli_1', uid: 'a'.repeat(64), campaignId: 'cmp_1', creativeId: 'crv_1', expiresAt: 2_000 };
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('slot tokens', () => {
  const signer = new TokenSigner('secret');

  it('verifies its own tokens and returns the claims', async () => {
    const token = await signer.sign(claims);
    expect(await signer.verify(token, 1_000)).toEqual({ ok: true, claims });
  });

  it('rejects expired, tampered, foreign and malformed tokens', async () => {
    const token = await signer.sign(claims);
    expect(await signer.verify(token, 2_000)).toEqual({ ok: false, reason: 'expired' });
    const [payload, sig] = token.split('.');
    const forged = Buffer.from(JSON.stringify(['r_1', 'b'.repeat(64), 'cmp_1', 'crv_1', 2_000, 'cli_1'])).toString('base64url');
    expect(await signer.verify(`${forged}.${sig}`, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await new TokenSigner('other').verify(token, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    for (const bad of ['', '.', 'abc', `${payload}.`, `.${sig}`, `${payload}.${sig}.x`]) {
      expect((await signer.verify(bad, 1_000)).ok).toBe(false);
    }
  });

  it('accepts only the canonical signature encoding, not variants that decode to the same bytes', async () => {
    const token = await signer.sign(claims);
    const last = token.at(-1)!;
    // A 32-byte signature is 43 base64url characters: the last one carries 2 unused bits.
    const index = B64.indexOf(last);
    const variants = [1, 2, 3].map((d) => B64[(index & ~3) | ((index + d) & 3)]).filter((c) => c !== last);
    expect(variants.length).toBe(3);
    for (const v of variants) expect((await signer.verify(token.slice(0, -1) + v, 1_000)).ok).toBe(false);
  });
});
