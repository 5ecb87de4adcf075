/** Real media files made in the test: a minimal PNG encoder (zlib), nothing committed. */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data, CRC. */
export function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/**
 * An RGB PNG of the given size, filled with a colour derived from `seed` (so
 * different seeds differ), or painted by `pixel` (x, y) → [r, g, b].
 */
export function png(width: number, height: number, seed = 0, pixel?: (x: number, y: number) => [number, number, number]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set([seed & 0xff, (seed >> 8) & 0xff, x & 0xff], 1 + x * 3);
  const painted = (y: number) => {
    const line = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) line.set(pixel!(x, y), 1 + x * 3);
    return line;
  };
  const raw = Buffer.concat(Array.from({ length: height }, (_, y) => (pixel ? painted(y) : row)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A JPEG with an EXIF APP1 segment giving its Orientation (1–8) inserted after SOI, as a phone camera writes it:
 * 6 and 8 (a quarter turn) mean the stored picture is shown turned, so its shown width and height swap.
 */
export function withExifOrientation(jpeg: Uint8Array, orientation: number): Uint8Array {
  // "Exif\0\0", a big-endian TIFF header, one IFD of one entry: 0x0112 Orientation, SHORT, count 1.
  const tiff = [0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, 0, 0, 0, 0, 0, 0];
  const payload = [...new TextEncoder().encode('Exif'), 0, 0, ...tiff];
  const app1 = [0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload];
  return Uint8Array.from([...jpeg.subarray(0, 2), ...app1, ...jpeg.subarray(2)]);
}

/** A creative's upload form: the file, a headline and a website call to action; `fields` replace or add parts. */
export function creativeForm(
  file: Uint8Array,
  fields: Record<string, string> = {},
  filename = 'ad.png',
  type = 'image/png',
): FormData {
  const form = new FormData();
  form.set('file', new File([file as Uint8Array<ArrayBuffer>], filename, { type }));
  const parts = { headline: 'Fresh bread daily', ctaType: 'website', ctaTarget: 'https://bakery.example', ...fields };
  for (const [name, value] of Object.entries(parts)) form.set(name, value);
  return form;
}
