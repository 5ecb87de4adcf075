/**
 * Is an image upload whole? image-size reads only the header, so a PNG, JPEG
 * or WebP cut off mid-upload would pass it; these walks check the container
 * structure to the end without decoding pixels (no native codec, so Workers-safe).
 * Each returns undefined when whole, or a short reason.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const ascii = (bytes: Uint8Array, at: number, length: number) => String.fromCharCode(...bytes.subarray(at, at + length));

/** PNG: chunks from IHDR to IEND, each inside the file with a matching CRC, and nothing after IEND. */
export function pngProblem(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8; // signature
  let first = true;
  while (at + 12 <= bytes.length) {
    const length = view.getUint32(at);
    const type = ascii(bytes, at + 4, 4);
    if (first && type !== 'IHDR') return 'the first chunk is not IHDR';
    first = false;
    const end = at + 12 + length;
    if (end > bytes.length) return `the ${type} chunk is cut off`;
    if (crc32(bytes, at + 4, at + 8 + length) !== view.getUint32(at + 8 + length)) return `the ${type} chunk fails its checksum`;
    if (type === 'IEND') return end === bytes.length ? undefined : `${bytes.length - end} bytes follow its IEND chunk`;
    at = end;
  }
  return 'it ends before its IEND chunk';
}

/** JPEG: marker segments inside the file up to the scan, then an end-of-image marker after it. */
export function jpegProblem(bytes: Uint8Array): string | undefined {
  let at = 2; // SOI
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return 'a marker is missing where one should be';
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xd9) return 'it ends before any image data';
    if (marker >= 0xd0 && marker <= 0xd7) {
      at += 2;
      continue;
    }
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    if (length < 2 || at + 2 + length > bytes.length) return 'a header segment is cut off';
    at += 2 + length;
    if (marker === 0xda) {
      // Entropy-coded data never holds FF D9 (FF is stuffed as FF 00), so the
      // image ends at the first EOI after the scan; trailers may follow it.
      for (let i = at; i + 1 < bytes.length; i++) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return undefined;
      return 'it is cut off before its end-of-image marker';
    }
  }
  return 'it is cut off before its image data';
}

/** WebP: the RIFF size is the file's, and every chunk fits the RIFF. */
export function webpProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length < 12) return 'it is too short';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riffEnd = 8 + view.getUint32(4, true);
  if (riffEnd > bytes.length) return 'it is shorter than its RIFF header says';
  if (riffEnd < bytes.length) return `${bytes.length - riffEnd} bytes follow its RIFF data`;
  let at = 12;
  let chunks = 0;
  while (at + 8 <= riffEnd) {
    const size = view.getUint32(at + 4, true);
    const end = at + 8 + size + (size & 1); // chunks are padded to even sizes
    if (at + 8 + size > riffEnd) return `the ${ascii(bytes, at, 4)} chunk is cut off`;
    chunks++;
    at = end;
  }
  return chunks > 0 ? undefined : 'it has no image chunk';
}
