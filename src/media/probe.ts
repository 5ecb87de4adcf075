/**
 * Recognises uploaded media by its bytes (never by name or declared type) and
 * reads its dimensions, enforcing the product's size limits.
 */
import { fileTypeFromBuffer } from 'file-type/core';
import { imageSize } from 'image-size';

export const LIMITS = {
  imageBytes: 5 * 1024 * 1024,
  videoBytes: 16 * 1024 * 1024,
  videoMs: 30_000,
};

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);
const VIDEO_TYPES = new Set(['video/mp4']);

export interface ProbedMedia {
  mime: string;
  width: number;
  height: number;
  durationMs?: number;
}

export class MediaError extends Error {
  constructor(
    readonly kind: 'unsupported' | 'too_large' | 'too_long' | 'corrupt',
    message: string,
  ) {
    super(message);
  }
}

export async function probeMedia(bytes: Uint8Array): Promise<ProbedMedia> {
  const type = await fileTypeFromBuffer(bytes);
  if (!type || !(IMAGE_TYPES.has(type.mime) || VIDEO_TYPES.has(type.mime))) {
    throw new MediaError('unsupported', `file is not a supported image (png, jpeg, webp) or video (mp4)${type ? `; it looks like ${type.mime}` : ''}`);
  }
  if (IMAGE_TYPES.has(type.mime)) {
    if (bytes.length > LIMITS.imageBytes) throw new MediaError('too_large', `images may be at most 5 MB (${LIMITS.imageBytes} bytes); this one is ${bytes.length} bytes`);
    let size: { width?: number; height?: number };
    try {
      size = imageSize(bytes);
    } catch {
      throw new MediaError('corrupt', `the ${type.mime} file is truncated or corrupt: its dimensions cannot be read`);
    }
    if (!size.width || !size.height) throw new MediaError('corrupt', `the ${type.mime} file has no readable dimensions`);
    return { mime: type.mime, width: size.width, height: size.height };
  }
  if (bytes.length > LIMITS.videoBytes) throw new MediaError('too_large', `videos may be at most 16 MB (${LIMITS.videoBytes} bytes); this one is ${bytes.length} bytes`);
  return probeVideo(bytes);
}

/** MP4: dimensions and duration come from the movie header; no ffmpeg at run time. */
async function probeVideo(_bytes: Uint8Array): Promise<ProbedMedia> {
  throw new MediaError('unsupported', 'video creatives are not accepted yet');
}
