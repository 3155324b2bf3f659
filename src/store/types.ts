// The storage abstraction every other module reads through: listing objects and reading byte ranges.
// Format readers and the sync never import the AWS SDK; S3 and a local directory both implement this.

export interface ObjectInfo {
  /** Key relative to the bucket (S3) or to the root directory (local), always with `/` separators. */
  key: string;
  size: number;
  lastModified: Date;
  /** Version tag of the object's content (S3 ETag, or size+mtime locally). */
  etag: string;
}

/** Random access to one object's bytes. `read(start, end)` returns bytes [start, end). */
export interface ByteSource {
  readonly key: string;
  readonly size: number;
  read(start: number, end: number, signal?: AbortSignal): Promise<Uint8Array>;
}

export interface Store {
  /** Human-readable location for messages, e.g. `s3://bucket (endpoint https://...)`. */
  readonly location: string;
  /** URI of one object for messages, e.g. `s3://bucket/key`. */
  uri(key: string): string;
  /** Every object under `prefix`, page by page, in key order. */
  list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo[]>;
  /** Bytes of one listed object; reads fail if the object changed since it was listed. */
  open(object: ObjectInfo): ByteSource;
  /** Counters for logs and benchmarks. */
  readonly stats: StoreStats;
  close(): void;
}

export interface StoreStats {
  listRequests: number;
  getRequests: number;
  bytesRead: number;
}

export function newStats(): StoreStats {
  return { listRequests: 0, getRequests: 0, bytesRead: 0 };
}

// The error types live in src/errors.ts; re-exported here for the stores that raise them.
export { ObjectError, StoreError } from '../errors.js';
