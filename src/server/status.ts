// Errors as gRPC statuses: each error type of the plugin gets the code the CLI acts on, and every
// message is made safe (valid UTF-8, bounded) before grpc-js sees it.
import * as grpc from '@grpc/grpc-js';
import { errorMessage, StoreError } from '../errors.js';
import type { Logger } from '../log.js';
import { NotInitializedError } from '../source.js';
import { SpecError } from '../spec.js';
import { safeText } from '../util/safe-text.js';

/** Why a sync stopped when the server shuts down: the client should retry elsewhere (UNAVAILABLE). */
export class ShutdownError extends Error {}

const STORE_CODES: Record<StoreError['code'], grpc.status> = {
  access_denied: grpc.status.PERMISSION_DENIED,
  credentials: grpc.status.PERMISSION_DENIED,
  not_found: grpc.status.NOT_FOUND,
  unreachable: grpc.status.UNAVAILABLE,
  wrong_region: grpc.status.FAILED_PRECONDITION,
  other: grpc.status.UNKNOWN,
};

export function toStatus(err: unknown, logger: Logger): Partial<grpc.StatusObject> {
  const details = safeText(errorMessage(err));
  if (err instanceof NotInitializedError) return { code: grpc.status.FAILED_PRECONDITION, details };
  if (err instanceof SpecError) return { code: grpc.status.INVALID_ARGUMENT, details };
  if (err instanceof StoreError) return { code: STORE_CODES[err.code], details };
  logger.error('request failed', { error: details });
  return { code: grpc.status.INTERNAL, details };
}

/** The status of a sync that failed or was stopped (cancelled by the client, or server shutdown). */
export function syncStatus(err: unknown, signal: AbortSignal, logger: Logger): Partial<grpc.StatusObject> {
  const reason = signal.reason as Error | undefined;
  const shutdown = reason instanceof ShutdownError;
  if (!signal.aborted || err instanceof StoreError) {
    const status = toStatus(err, logger);
    if (shutdown) logger.warn('sync stopped', { reason: status.details });
    else logger.error('sync failed', { error: status.details });
    return status;
  }
  const status = {
    code: shutdown ? grpc.status.UNAVAILABLE : grpc.status.CANCELLED,
    details: safeText(String(reason?.message ?? 'sync cancelled')),
  };
  logger.warn('sync stopped', { reason: status.details });
  return status;
}
