/** Small real media files made once by test/fixtures/make.sh (ffmpeg); tests only read them. */
import { readFileSync } from 'node:fs';

export type FixtureName =
  | 'vertical-90x160-2s.mp4'
  | 'landscape-64x36-1500ms.mp4'
  | 'limit-32x32-30s.mp4'
  | 'long-32x32-31s.mp4'
  | 'fragmented-36x64-2s.mp4'
  | 'rotated-160x90-as-90x160-1s.mp4'
  | 'audio-only.mp4'
  | 'clip.mov'
  | 'image-90x160.jpg'
  | 'image-90x160.webp';

export function fixture(name: FixtureName): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../fixtures/${name}`, import.meta.url)));
}
