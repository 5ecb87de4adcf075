import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topLevelBoxesComplete } from '../../src/media/mp4.js';
import { MediaError, probeMedia } from '../../src/media/probe.js';
import { type FixtureName, fixture } from '../helpers/fixtures.js';
import { png } from '../helpers/media.js';

const accepted: [FixtureName, { mime: string; width: number; height: number; durationMs?: number }][] = [
  ['vertical-90x160-2s.mp4', { mime: 'video/mp4', width: 90, height: 160, durationMs: 2000 }],
  ['landscape-64x36-1500ms.mp4', { mime: 'video/mp4', width: 64, height: 36, durationMs: 1500 }],
  ['limit-32x32-30s.mp4', { mime: 'video/mp4', width: 32, height: 32, durationMs: 30_000 }],
  ['fragmented-36x64-2s.mp4', { mime: 'video/mp4', width: 36, height: 64, durationMs: 2000 }],
  ['rotated-160x90-as-90x160-1s.mp4', { mime: 'video/mp4', width: 90, height: 160, durationMs: 1000 }],
  ['image-90x160.jpg', { mime: 'image/jpeg', width: 90, height: 160 }],
  ['image-90x160.webp', { mime: 'image/webp', width: 90, height: 160 }],
];

async function refusal(bytes: Uint8Array): Promise<MediaError> {
  try {
    await probeMedia(bytes);
  } catch (err) {
    if (err instanceof MediaError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('probeMedia', () => {
  it.each(accepted)('reads %s exactly', async (name, expected) => {
    expect(await probeMedia(fixture(name))).toEqual(expected);
  });

  it('reads a generated PNG exactly', async () => {
    expect(await probeMedia(png(123, 45))).toEqual({ mime: 'image/png', width: 123, height: 45 });
  });

  it('refuses a video over 30 s as too long', async () => {
    const err = await refusal(fixture('long-32x32-31s.mp4'));
    expect(err.kind).toBe('too_long');
    expect(err.message).toMatch(/30 s/);
  });

  it('refuses MP4 without video, QuickTime, and non-media', async () => {
    for (const bytes of [fixture('audio-only.mp4'), fixture('clip.mov'), new TextEncoder().encode('hello'), new Uint8Array(0)]) {
      expect((await refusal(bytes)).kind).toBe('unsupported');
    }
  });

  const wholeFiles: [string, Uint8Array][] = [
    ...accepted.map(([name]) => [name, fixture(name)] as [string, Uint8Array]),
    ['png', png(30, 20)],
  ];

  /** Top-level box boundaries of an MP4 (where a fragmented file may legitimately end). */
  function boxEnds(bytes: Uint8Array): number[] {
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const ends: number[] = [];
    for (let at = 0; at < bytes.length; ) ends.push((at += view.getUint32(at)));
    return ends;
  }

  it.each(wholeFiles)('refuses every truncation of %s with a MediaError', async (name, bytes) => {
    // A fragmented MP4 cut between fragments is a whole, shorter video: nothing says more was meant.
    const validCuts = name.startsWith('fragmented') ? new Set(boxEnds(bytes).slice(3)) : new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: bytes.length - 1 }).filter((n) => !validCuts.has(n)),
        async (length) => {
          const err = await refusal(bytes.subarray(0, length));
          expect(['corrupt', 'unsupported']).toContain(err.kind);
        },
      ),
      { numRuns: 60 },
    );
  });

  it.each(wholeFiles)('never throws anything but a MediaError on damaged %s', async (_name, bytes) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        async (flips) => {
          const damaged = bytes.slice();
          for (const [at, value] of flips) damaged[at] = value;
          try {
            await probeMedia(damaged);
          } catch (err) {
            expect(err).toBeInstanceOf(MediaError);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a moov-first MP4 cut at a box boundary (whole boxes, missing media)', async () => {
    const bytes = fixture('vertical-90x160-2s.mp4');
    for (const end of boxEnds(bytes).slice(0, -1)) {
      expect(topLevelBoxesComplete(bytes.subarray(0, end))).toBe(true);
      expect((await refusal(bytes.subarray(0, end))).kind).toBe('corrupt');
    }
  });

  it('reads a fragmented MP4 cut between fragments as the shorter video it is', async () => {
    const bytes = fixture('fragmented-36x64-2s.mp4');
    const firstFragmentEnd = boxEnds(bytes)[3]; // ftyp, moov, moof, mdat
    expect(await probeMedia(bytes.subarray(0, firstFragmentEnd))).toEqual({
      mime: 'video/mp4',
      width: 36,
      height: 64,
      durationMs: 1000,
    });
  });

  it('refuses an MP4 whose box sizes lie', async () => {
    const bytes = fixture('landscape-64x36-1500ms.mp4').slice();
    new DataView(bytes.buffer).setUint32(0, 0xffff); // ftyp claims 64 KiB
    expect((await refusal(bytes)).kind).toBe('corrupt');
  });
});
