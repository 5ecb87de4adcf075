/** Media on the local filesystem under MEDIA_DIR, written atomically (temp file + rename). */
import { createReadStream } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ByteRange, MediaStorage, StoredMedia } from './storage.js';

const SHA256 = /^[0-9a-f]{64}$/;

export class FsMediaStorage implements MediaStorage {
  constructor(private dir: string) {}

  private path(sha256: string): string {
    // Only ever a 64-hex name: no path can be smuggled in.
    if (!SHA256.test(sha256)) throw new Error('not a sha256');
    return join(this.dir, sha256.slice(0, 2), sha256);
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    const path = this.path(sha256);
    if (await this.size(sha256)) return;
    await mkdir(join(this.dir, sha256.slice(0, 2)), { recursive: true });
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, bytes, { flush: true });
    await rename(tmp, path);
  }

  async size(sha256: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(sha256))).size;
    } catch {
      return undefined;
    }
  }

  async get(sha256: string, range?: ByteRange): Promise<StoredMedia | undefined> {
    const size = await this.size(sha256);
    if (size === undefined) return undefined;
    const stream = createReadStream(
      this.path(sha256),
      range ? { start: range.offset, end: range.offset + range.length - 1 } : {},
    );
    return { body: Readable.toWeb(stream) as ReadableStream<Uint8Array>, size };
  }
}
