/**
 * Recognises uploaded media by its bytes (never by name or declared type),
 * reads its dimensions (and a video's duration), and enforces the product's limits.
 */
import { fileTypeFromBuffer } from 'file-type/core';
import { imageSize } from 'image-size';
import { jpegProblem, pngProblem, webpProblem } from './image-integrity.js';
import { readMp4 } from './mp4.js';

const MB = 1024 * 1024;

export const LIMITS = {
  imageBytes: 5 * MB,
  videoBytes: 16 * MB,
  videoMs: 30_000,
  /** Longest side of an image or video frame, in pixels. */
  side: 8192,
  /** Pixels per image or frame: 8K UHD (7680×4320). What a phone must decode is bounded, whatever the file size. */
  pixels: 7680 * 4320,
};

/** Refuses pictures whose declared size a client could not (or should not) decode. */
function checkDimensions(what: string, width: number, height: number) {
  if (width > LIMITS.side || height > LIMITS.side) {
    throw new MediaError(
      'too_many_pixels',
      `${what} may be at most ${LIMITS.side} pixels on a side; this one is ${width}x${height}`,
    );
  }
  if (width * height > LIMITS.pixels) {
    throw new MediaError(
      'too_many_pixels',
      `${what} may have at most ${LIMITS.pixels} pixels (7680x4320); this one is ${width}x${height}`,
    );
  }
}

const IMAGE_CHECKS: Record<string, (bytes: Uint8Array) => string | undefined> = {
  'image/png': pngProblem,
  'image/jpeg': jpegProblem,
  'image/webp': webpProblem,
};
/** `M4V ` is Apple's brand for a plain MP4; both are stored and served as video/mp4. */
const VIDEO_TYPES = new Set(['video/mp4', 'video/x-m4v']);

export interface ProbedMedia {
  mime: string;
  width: number;
  height: number;
  durationMs?: number;
}

export class MediaError extends Error {
  constructor(
    readonly kind: 'unsupported' | 'too_large' | 'too_long' | 'too_many_pixels' | 'corrupt',
    message: string,
  ) {
    super(message);
  }
}

const SUPPORTED = 'a supported image (png, jpeg, webp) or video (mp4)';

/** Durations are judged to the tenth of a second, so a "30 s" export with a few ms of audio padding passes. */
const tenths = (ms: number) => Math.round(ms / 100);

/** What the upload is, or a MediaError saying which rule it breaks. */
export async function probeMedia(bytes: Uint8Array): Promise<ProbedMedia> {
  let type: { mime: string } | undefined;
  try {
    type = await fileTypeFromBuffer(bytes);
  } catch {
    type = undefined;
  }
  const imageCheck = type && IMAGE_CHECKS[type.mime];
  if (!type || !(imageCheck || VIDEO_TYPES.has(type.mime))) {
    throw new MediaError('unsupported', `the file is not ${SUPPORTED}${type ? `; it looks like ${type.mime}` : ''}`);
  }
  if (imageCheck) {
    if (bytes.length > LIMITS.imageBytes) {
      throw new MediaError(
        'too_large',
        `images may be at most 5 MB (${LIMITS.imageBytes} bytes); this one is ${bytes.length} bytes`,
      );
    }
    const problem = imageCheck(bytes);
    if (problem) throw new MediaError('corrupt', `the ${type.mime} file is truncated or corrupt: ${problem}`);
    let size: { width?: number; height?: number; orientation?: number };
    try {
      size = imageSize(bytes);
    } catch {
      throw new MediaError('corrupt', `the ${type.mime} file is truncated or corrupt: its dimensions cannot be read`);
    }
    if (!size.width || !size.height) throw new MediaError('corrupt', `the ${type.mime} file has no readable dimensions`);
    checkDimensions('images', size.width, size.height);
    // The size it is shown at: a phone's portrait JPEG is often stored landscape with an EXIF orientation of 5–8
    // (a quarter turn), which every viewer applies, as for an MP4's rotation (image-size reads it for JPEG only).
    const turned = size.orientation !== undefined && size.orientation >= 5 && size.orientation <= 8;
    return { mime: type.mime, width: turned ? size.height : size.width, height: turned ? size.width : size.height };
  }
  if (bytes.length > LIMITS.videoBytes) {
    throw new MediaError(
      'too_large',
      `videos may be at most 16 MB (${LIMITS.videoBytes} bytes); this one is ${bytes.length} bytes`,
    );
  }
  const video = readMp4(bytes);
  if ('kind' in video) throw new MediaError(video.kind === 'no_video' ? 'unsupported' : 'corrupt', video.message);
  checkDimensions('video frames', video.width, video.height);
  const longest = Math.max(video.durationMs, video.tracksMs);
  if (tenths(video.durationMs) > tenths(LIMITS.videoMs) || tenths(video.tracksMs) > tenths(LIMITS.videoMs) + 1) {
    throw new MediaError('too_long', `videos may be at most 30 s long; this one is ${(longest / 1000).toFixed(1)} s`);
  }
  return { mime: 'video/mp4', width: video.width, height: video.height, durationMs: video.durationMs };
}
