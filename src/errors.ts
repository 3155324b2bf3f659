// The plugin's error types and how they are classified. Three kinds of failure, three outcomes:
//   StoreError   the bucket, credentials or endpoint: the call (Init, GetTables, Sync) fails.
//   ObjectError  one object could not be read: it is reported by key and the sync goes on.
//   FormatError  a decoder's word that the bytes are not a readable file of its format; it knows no
//                key, so toObjectError() turns it into an ObjectError where the key is known.

/** An error about the store itself (bucket, credentials, endpoint), already worded for the user. */
export class StoreError extends Error {
  constructor(
    message: string,
    readonly code: 'not_found' | 'access_denied' | 'wrong_region' | 'unreachable' | 'credentials' | 'other',
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export type ObjectErrorReason = 'gone' | 'changed' | 'corrupt' | 'read_failed' | 'schema';

/** An error reading one object: the sync reports it and goes on with the other objects. */
export class ObjectError extends Error {
  constructor(
    message: string,
    readonly key: string,
    readonly reason: ObjectErrorReason,
  ) {
    super(message);
    this.name = 'ObjectError';
  }
}

/** The object's bytes are not a readable file of the format (corrupt, truncated, another format). */
export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

/** A format's error as the object error the sync reports, naming the object; others pass through. */
export function toObjectError(err: unknown, uri: string, key: string): unknown {
  return err instanceof FormatError ? new ObjectError(`${uri}: ${err.message}`, key, 'corrupt') : err;
}

/** Skipped past (reported, the sync goes on) rather than failing the whole call. */
export function isPerObjectError(err: unknown): boolean {
  return err instanceof ObjectError || err instanceof FormatError;
}

/** A problem with the object's content, which retrying will not fix (until the object changes). */
export function isPermanent(err: unknown): boolean {
  return err instanceof FormatError || (err instanceof ObjectError && (err.reason === 'corrupt' || err.reason === 'schema'));
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
