// The S3 clients of one store, for one region: one for LISTs (with the SDK's retries) and one for ranged
// GETs (without: readRange retries those itself). Built again, sharing connections and credentials,
// when the bucket turns out to live in another region.
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { ClientAuth } from './s3-credentials.js';

export interface ClientSettings {
  endpoint: string;
  pathStyle: boolean;
  maxRetries: number;
  /** Sockets kept per host; should cover the spec's concurrency. */
  maxSockets: number;
  auth: ClientAuth;
}

export interface S3Clients {
  region: string;
  /** LIST requests (and region discovery): the SDK retries them itself (max_retries). */
  list: S3Client;
  /**
   * Ranged GETs: the same configuration, connections and credentials, without SDK retries, so that a
   * failed request and a broken or short body draw on one budget in readRange.
   */
  get: S3Client;
}

// A body that stalls this long is abandoned and retried; connect attempts give up sooner.
const REQUEST_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Clients for `region`. With `previous` (the clients of the region that was wrong), the new ones use
 * its connection pool and its credentials, so an assumed role's cached session is kept; the previous
 * clients must then not be destroyed (that would destroy the shared pool).
 */
export function createClients(settings: ClientSettings, region: string, previous?: S3Clients): S3Clients {
  const config: S3ClientConfig = {
    region,
    forcePathStyle: settings.pathStyle,
    maxAttempts: settings.maxRetries + 1,
    retryMode: 'standard',
    requestHandler: previous?.list.config.requestHandler ?? {
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionTimeout: CONNECT_TIMEOUT_MS,
      httpAgent: { keepAlive: true, maxSockets: settings.maxSockets },
      httpsAgent: { keepAlive: true, maxSockets: settings.maxSockets },
    },
    ...settings.auth,
  };
  if (settings.endpoint) config.endpoint = settings.endpoint;
  // The resolved (memoized) credential provider rather than the settings': one cache, one STS session.
  // (Unsigned clients never call it.)
  if (previous) config.credentials = previous.list.config.credentials;
  const list = new S3Client(config);
  const get = new S3Client({
    ...config,
    maxAttempts: 1,
    // One connection pool and one credential cache for both clients.
    requestHandler: list.config.requestHandler,
    credentials: list.config.credentials,
  });
  return { region, list, get };
}
