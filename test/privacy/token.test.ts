import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBase64Url, claimsText, TokenSigner, tokenSecretsFrom } from '../../src/privacy/token.js';

const claims = {
  reservationId: 'r_1',
  clientId: 'cli_1',
  uid: 'a'.repeat(64),
  campaignId: 'cmp_1',
  creativeId: 'crv_1',
  expiresAt: 2_000,
};
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const bytesOf = (token: string) => Buffer.from(token.split('.')[1], 'base64url');

/** Longest run of bytes two buffers share anywhere. */
function longestCommon(a: Uint8Array, b: Uint8Array): number {
  let best = 0;
  for (let i = 0; i < a.length; i++)
    for (let j = 0; j < b.length; j++) {
      let k = 0;
      while (i + k < a.length && j + k < b.length && a[i + k] === b[j + k]) k++;
      best = Math.max(best, k);
    }
  return best;
}

describe('slot tokens', () => {
  const signer = new TokenSigner('secret');

  it('verifies its own tokens and returns the claims', async () => {
    const token = await signer.sign(claims);
    expect(await signer.verify(token, 1_000)).toEqual({ ok: true, claims });
  });

  it('are opaque: nothing of the claims is readable, and two tokens of one user share no bytes', async () => {
    const a = await signer.sign(claims);
    const b = await signer.sign({ ...claims, reservationId: 'r_2' });
    const same = await signer.sign(claims);
    for (const token of [a, b, same]) {
      const text = `${token} ${bytesOf(token).toString('latin1')} ${bytesOf(token).toString('hex')}`;
      for (const secret of [
        claims.uid,
        claims.uid.slice(0, 8),
        'cmp_1',
        'crv_1',
        'cli_1',
        'r_1',
        Buffer.from(claims.uid).toString('base64url').slice(0, 12),
      ]) {
        expect(text).not.toContain(secret);
      }
    }
    // Same user, even the same claims: nothing in common beyond what chance allows (a 4-byte match is ~1% likely).
    expect(a).not.toBe(same);
    expect(longestCommon(bytesOf(a), bytesOf(same))).toBeLessThan(4);
    expect(longestCommon(bytesOf(a), bytesOf(b))).toBeLessThan(4);
  });

  it('rejects expired, tampered, foreign and malformed tokens', async () => {
    const token = await signer.sign(claims);
    expect(await signer.verify(token, 2_000)).toEqual({ ok: false, reason: 'expired' });
    const [kid, body] = token.split('.');
    const sealed = Buffer.from(body, 'base64url');
    for (let i = 0; i < sealed.length; i += 7) {
      const flipped = Buffer.from(sealed);
      flipped[i] ^= 1;
      expect((await signer.verify(`${kid}.${flipped.toString('base64url')}`, 1_000)).ok, `byte ${i}`).toBe(false);
    }
    expect(await new TokenSigner('other').verify(token, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    // Another deployment's token under our key id is still only a failed tag.
    const foreignBody = (await new TokenSigner('other').sign(claims)).split('.')[1];
    expect(await signer.verify(`${kid}.${foreignBody}`, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    for (const bad of [
      '',
      '.',
      'abc',
      `${kid}.`,
      `.${body}`,
      `${kid}.${body}.x`,
      `${kid}.${body.slice(0, 20)}`,
      `${kid}x.${body}`,
      `${kid}.${body}=`,
      `${kid}.${body.replace(/./, '+')}`,
    ]) {
      expect((await signer.verify(bad, 1_000)).ok, bad).toBe(false);
    }
  });

  it('accepts only the canonical encoding, not variants that decode to the same bytes', async () => {
    // Find a token whose length leaves unused bits in its last base64url character.
    let token = await signer.sign(claims);
    for (let i = 0; bytesOf(token).length % 3 === 0 && i < 10; i++)
      token = await signer.sign({ ...claims, reservationId: `r_${'x'.repeat(i + 1)}` });
    expect(bytesOf(token).length % 3).not.toBe(0);
    const last = token.at(-1)!;
    const index = B64.indexOf(last);
    const unused = bytesOf(token).length % 3 === 1 ? 15 : 3;
    const variants = [1, 2, 3].map((d) => B64[(index & ~unused) | ((index + d) & unused)]).filter((c) => c !== last);
    expect(variants.length).toBeGreaterThan(0);
    for (const v of variants) {
      expect(Buffer.from(token.slice(0, -1) + v, 'base64url').equals(Buffer.from(token, 'base64url'))).toBe(true);
      expect((await signer.verify(token.slice(0, -1) + v, 1_000)).ok).toBe(false);
    }
  });

  it('carry a key id, so keys rotate: a previous secret still opens tokens in flight', async () => {
    const old = new TokenSigner('old-secret');
    const rotated = new TokenSigner(['new-secret', 'old-secret']);
    const inFlight = await old.sign(claims);
    const fresh = await rotated.sign(claims);
    expect(inFlight.split('.')[0]).not.toBe(fresh.split('.')[0]);
    expect(await rotated.verify(inFlight, 1_000)).toEqual({ ok: true, claims });
    expect(await rotated.verify(fresh, 1_000)).toEqual({ ok: true, claims });
    // New tokens use the new key only; once the previous secret is dropped, old tokens fail.
    expect((await old.verify(fresh, 1_000)).ok).toBe(false);
    expect(await new TokenSigner('new-secret').verify(inFlight, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('tells the canonical base64url encoding without decoding: the same answer as decoding and encoding again', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...B64), minLength: 1, maxLength: 40 }), (body) => {
        expect(canonicalBase64Url(body)).toBe(Buffer.from(body, 'base64url').toString('base64url') === body);
      }),
      { numRuns: 20_000 },
    );
  });

  it('answers alike before and after its keys are derived (the first call waits for them, later ones do not)', async () => {
    const warm = new TokenSigner('secret');
    await warm.sign(claims);
    const token = await warm.sign(claims);
    const [kid, body] = token.split('.');
    const cases = [
      token,
      `${kid}.${body.slice(0, -1)}`,
      `${kid}.${body.slice(0, -2)}`,
      `${kid}.${body.slice(0, 20)}`,
      `${kid}.A${body.slice(1)}`,
      `${kid}.${body}A`,
      `AAAAAAAA.${body}`,
      `${kid}.${body}.x`,
      'nonsense',
      `${kid}.${'A'.repeat(40)}`,
    ];
    for (const t of cases) {
      // The warm signer answers synchronously on Node; a fresh one only once its keys are derived.
      const now = warm.verify(t, 1_000);
      expect(now instanceof Promise, t).toBe(false);
      expect(await new TokenSigner('secret').verify(t, 1_000), t).toEqual(now);
    }
    expect(warm.verify(token, 1_000)).toEqual({ ok: true, claims });
    expect(warm.verify(token, claims.expiresAt)).toEqual({ ok: false, reason: 'expired' });
  });

  it('are laid out as the module says (kid . nonce ‖ ciphertext ‖ tag), so WebCrypto (Workers) opens what Node seals', async () => {
    const { createHmac } = await import('node:crypto');
    const raw = createHmac('sha256', 'secret').update('slot-token:aes-256-gcm:v2').digest();
    const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['decrypt']);
    const ready = new TokenSigner('secret');
    await ready.sign(claims); // keys derived: later tokens are sealed synchronously (sealNode)
    const accented = { ...claims, clientId: 'cli_ü€' };
    for (const c of [claims, accented]) {
      const token = ready.sign(c);
      expect(typeof token).toBe('string');
      const [kid, body] = (token as string).split('.');
      const sealed = Buffer.from(body, 'base64url');
      const plain = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: sealed.subarray(0, 12), additionalData: new TextEncoder().encode(kid), tagLength: 128 },
        key,
        sealed.subarray(12),
      );
      expect(JSON.parse(new TextDecoder().decode(plain))).toEqual([
        c.reservationId,
        c.uid,
        c.campaignId,
        c.creativeId,
        c.expiresAt,
        c.clientId,
      ]);
      expect(await ready.verify(token as string, 1_000)).toEqual({ ok: true, claims: c });
    }
  });

  it("seal the claims' text byte for byte as JSON.stringify writes the array, and sign then verify gives them back", async () => {
    const plain = fc.stringMatching(/^[\w-]{0,40}$/);
    // The hand-joined shape on purpose: five plain ids, at most one of them swapped for any text.
    const ids = fc
      .tuple(fc.array(plain, { minLength: 5, maxLength: 5 }), fc.option(fc.nat(4)), fc.string({ unit: 'binary' }))
      .map(([five, at, odd]) => five.map((v, i) => (i === at ? odd : v)));
    const number = fc.oneof(
      fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.5, 1e21, 2 ** 53),
    );
    const p = ['r_1', 'a'.repeat(64), 'cmp_1', 'crv_1', 'cli_1'];
    await fc.assert(
      fc.asyncProperty(ids, number, fc.option(number, { nil: undefined }), async ([r, u, cmp, crv, cli], exp, num) => {
        const fields = [r, u, cmp, crv, exp, cli];
        const base = { reservationId: r, uid: u, campaignId: cmp, creativeId: crv, clientId: cli, expiresAt: exp };
        const c = num === undefined ? base : { ...base, reservationNumber: num };
        const text = claimsText(c);
        expect(text).toBe(JSON.stringify(num === undefined ? fields : [...fields, num]));
        // Still opens, to what JSON gives back for these claims (a non-finite number reads as null, -0 as 0);
        // a reservation number that is not a safe integer is refused.
        const [r2, u2, cmp2, crv2, exp2, cli2, num2] = JSON.parse(text);
        const back = { reservationId: r2, uid: u2, campaignId: cmp2, creativeId: crv2, expiresAt: exp2, clientId: cli2 };
        const opened = await signer.verify(await signer.sign(c), Number.NEGATIVE_INFINITY);
        if (num === undefined) expect(opened).toEqual({ ok: true, claims: back });
        else if (Number.isSafeInteger(num)) expect(opened).toEqual({ ok: true, claims: { ...back, reservationNumber: num2 } });
        else expect(opened).toEqual({ ok: false, reason: 'malformed' });
      }),
      {
        numRuns: 500,
        examples: [
          [['r_1', 'a"b', 'cmp_1', 'crv_1', 'cli_1'], 2_000, 7], // a non-plain id
          [p, Number.NEGATIVE_INFINITY, 7], // a non-finite expiry
          [p, 2_000, 0.5], // a reservation number that is not an integer
        ],
      },
    );
  });

  it('also check the asking client when given: sealed claims served to another client are refused like forged ones', async () => {
    const token = await signer.sign(claims);
    expect(await signer.verify(token, 1_000, 'cli_1')).toEqual({ ok: true, claims });
    expect(await signer.verify(token, 1_000, 'cli_2')).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('fall back to sealed claims where there is no number a handle holds', async () => {
    for (const reservationNumber of [undefined, 0, 1.5, 2 ** 48, -3]) {
      const token = await signer.slotToken({ ...claims, reservationNumber });
      expect(token.split('.')[1].length, String(reservationNumber)).toBeGreaterThan(22);
    }
  });
});

describe('slot handles (where reservations are numbered: Node)', () => {
  const signer = new TokenSigner('secret');
  const numbered = { ...claims, reservationNumber: 41, expiresAt: 1_764_633_600_123 };
  const now = numbered.expiresAt - 60_000;
  const handle = { reservationNumber: 41, expiresAt: numbered.expiresAt };

  it('name the reservation by number and expiry in 31 characters, for the client they were served to only', async () => {
    const token = await signer.slotToken(numbered);
    expect(token).toMatch(/^[\w-]{8}\.[\w-]{22}$/);
    expect(token.split('.')[0]).toBe((await signer.sign(claims)).split('.')[0]);
    expect(await signer.verify(token, now, 'cli_1')).toEqual({ ok: true, handle });
    expect(await signer.verify(token, now, 'cli_2')).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await signer.verify(token, now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await signer.verify(token, numbered.expiresAt, 'cli_1')).toEqual({ ok: false, reason: 'expired' });
    // The same reservation sealed again gives the same handle (one number, one block): its events are one.
    expect(await signer.slotToken(numbered)).toBe(token);
  });

  it('refuse every changed bit, another key, and a non-canonical text', async () => {
    const token = await signer.slotToken(numbered);
    const [kid, body] = token.split('.');
    const block = Buffer.from(body, 'base64url');
    for (let bit = 0; bit < 128; bit++) {
      const flipped = Buffer.from(block);
      flipped[bit >> 3] ^= 1 << (bit & 7);
      expect((await signer.verify(`${kid}.${flipped.toString('base64url')}`, now, 'cli_1')).ok, `bit ${bit}`).toBe(false);
    }
    const foreign = (await new TokenSigner('other').slotToken(numbered)).split('.')[1];
    expect(await signer.verify(`${kid}.${foreign}`, now, 'cli_1')).toEqual({ ok: false, reason: 'bad_signature' });
    // The last character carries 2 unused bits: only the canonical one opens.
    const last = B64.indexOf(body[21]);
    expect(await signer.verify(`${kid}.${body.slice(0, 21)}${B64[last ^ 1]}`, now, 'cli_1')).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('of one user share no bytes: consecutive numbers with one expiry and client look unrelated', async () => {
    const bodies: Buffer[] = [];
    for (let n = 1; n <= 200; n++) bodies.push(bytesOf(await signer.slotToken({ ...numbered, reservationNumber: n })));
    for (let i = 1; i < bodies.length; i++) {
      let same = 0;
      for (let k = 0; k < 16; k++) if (bodies[i][k] === bodies[i - 1][k]) same++;
      // 16 bytes of a random permutation: ~0.06 equal bytes a pair; 5 or more in 200 pairs is ~10^-5.
      expect(same, `${i}`).toBeLessThan(5);
      expect(longestCommon(bodies[i], bodies[i - 1])).toBeLessThan(4);
    }
  });

  it('rotate with the keys: a handle sealed under the previous secret still opens', async () => {
    const inFlight = await new TokenSigner('old-secret').slotToken(numbered);
    const rotated = new TokenSigner(['new-secret', 'old-secret']);
    expect(await rotated.verify(inFlight, now, 'cli_1')).toEqual({ ok: true, handle });
    expect(await new TokenSigner('new-secret').verify(inFlight, now, 'cli_1')).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('open a batch as they open one by one: handles of the current key in one call, the rest as they are', async () => {
    const rotated = new TokenSigner(['secret', 'old-secret']);
    const current = await rotated.slotToken(numbered);
    const [kid, body] = current.split('.');
    const tokens = [
      current,
      await new TokenSigner('old-secret').slotToken(numbered),
      await rotated.slotToken({ ...numbered, reservationNumber: 42, expiresAt: now - 1 }),
      await rotated.sign({ ...claims, expiresAt: now + 1_000 }),
      `${kid}.${body.slice(0, 21)}${B64[B64.indexOf(body[21]) ^ 1]}`,
      `${kid}.${Buffer.from(bytesOf(current).map((b, i) => (i === 3 ? b ^ 1 : b))).toString('base64url')}`,
      'not-a-token',
      current,
    ];
    for (const clientId of ['cli_1', 'cli_2', undefined]) {
      const each = await Promise.all(tokens.map((t) => rotated.verify(t, now, clientId)));
      expect(await Promise.all(rotated.verifyAll(tokens, now, clientId)), String(clientId)).toEqual(each);
      expect(await Promise.all(new TokenSigner(['secret', 'old-secret']).verifyAll(tokens, now, clientId))).toEqual(each);
    }
    expect((await Promise.all(rotated.verifyAll(tokens, now, 'cli_1'))).map((c) => c.ok)).toEqual([
      true,
      true,
      false,
      true,
      false,
      false,
      false,
      true,
    ]);
  });

  it('answer alike before and after the keys are derived', async () => {
    const token = await new TokenSigner('secret').slotToken(numbered);
    const cold = new TokenSigner('secret');
    const pending = cold.verify(token, now, 'cli_1');
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toEqual({ ok: true, handle });
    expect(cold.verify(token, now, 'cli_1')).toEqual({ ok: true, handle });
    expect(typeof cold.slotToken(numbered)).toBe('string');
  });

  it('reads TOKEN_SECRET and TOKEN_SECRET_PREVIOUS, defaulting to SECRET', () => {
    expect(tokenSecretsFrom({}, 's')).toEqual(['s']);
    expect(tokenSecretsFrom({ TOKEN_SECRET: 'n', TOKEN_SECRET_PREVIOUS: 'o1, o2,,n' }, 's')).toEqual(['n', 'o1', 'o2']);
  });
});
