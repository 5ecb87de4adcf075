/** Media in an R2 bucket, content-addressed by SHA-256 under `media/`; R2 serves byte ranges itself. */
import type { R2Bucket } from '@cloudflare/workers-types';
import type { ByteRange, MediaStorage, StoredMedia } from './storage.js';

const SHA256 = /^[0-9a-f]{64}$/;

export class R2MediaStorage implements MediaStorage {
  constructor(private bucket: R2Bucket) {}

  private key(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error('not a sha256');
    return `media/${sha256}`;
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    // Content-addressed: an existing object already holds these exact bytes.
    if ((await this.size(sha256)) !== undefined) return;
    await this.bucket.put(this.key(sha256), bytes, { sha256 });
  }

  async size(sha256: string): Promise<number | undefined> {
    return (await this.bucket.head(this.key(sha256)))?.size;
  }

  async get(sha256: string, range?: ByteRange): Promise<StoredMedia | undefined> {
    const object = await this.bucket.get(
      this.key(sha256),
      range ? { range: { offset: range.offset, length: range.length } } : undefined,
    );
    if (!object) return undefined;
    return { body: object.body as unknown as ReadableStream<Uint8Array>, size: object.size };
  }
}
