/** Where media bytes live, content-addressed by SHA-256: a folder on Node, R2 on Workers. */

export interface StoredMedia {
  body: ReadableStream<Uint8Array> | Uint8Array;
  /** Total size of the object. */
  size: number;
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface MediaStorage {
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  /** The object, or only `range` of it; undefined when absent. */
  get(sha256: string, range?: ByteRange): Promise<StoredMedia | undefined>;
  size(sha256: string): Promise<number | undefined>;
}
