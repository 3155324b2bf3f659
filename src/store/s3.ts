// Amazon S3 (and S3-compatible) store: ListObjectsV2 pages and ranged, ETag-pinned GetObject reads.
import { GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { ResolvedSpec } from '../spec.js';
import { describeS3Error, isObjectChanged, isObjectGone, isRetryable, isThrottling, redactUrl } from './s3-errors.js';
import { newStats, ObjectError, type ByteSource, type ObjectInfo, type Store, type StoreStats } from './types.js';

export interface S3StoreOptions {
  bucket: string;
  region: string;
  endpoint: string;
  pathStyle: boolean;
  localProfile: string;
  credentials?: ResolvedSpec['credentials'];
  maxRetries: number;
  /** Sockets kept per host; should cover the spec's concurrency. */
  maxSockets: number;
}

// A body that stalls this long is abandoned and retried; connect attempts give up sooner.
const REQUEST_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 10_000;
// Backoff before retry n (1, 2, ...): a random wait below base * 2^n, at most MAX_BACKOFF_MS; throttling
// waits longer, as in the AWS SDK's standard strategy.
const BACKOFF_BASE_MS = 100;
const THROTTLING_BACKOFF_BASE_MS = 500;
const MAX_BACKOFF_MS = 20_000;

export class S3Store implements Store {
  readonly stats: StoreStats = newStats();
  readonly location: string;
  /** LIST requests: the SDK retries them itself (max_retries). */
  private readonly client: S3Client;
  /**
   * Ranged GETs: the same client configuration, connections and credentials, without SDK retries.
   * readRange retries them itself, so that a failed request and a broken or short body draw on one
   * budget: at most max_retries + 1 requests per range, whatever the mix of failures.
   */
  private readonly getClient: S3Client;

  constructor(private readonly options: S3StoreOptions) {
    const endpointText = options.endpoint ? redactUrl(options.endpoint) : `https://s3.${options.region}.amazonaws.com`;
    this.location = `s3://${options.bucket} (endpoint ${endpointText}, region ${options.region})`;
    const config: S3ClientConfig = {
      region: options.region,
      forcePathStyle: options.pathStyle,
      maxAttempts: options.maxRetries + 1,
      retryMode: 'standard',
      requestHandler: {
        requestTimeout: REQUEST_TIMEOUT_MS,
        connectionTimeout: CONNECT_TIMEOUT_MS,
        httpAgent: { keepAlive: true, maxSockets: options.maxSockets },
        httpsAgent: { keepAlive: true, maxSockets: options.maxSockets },
      },
    };
    if (options.endpoint) config.endpoint = options.endpoint;
    if (options.credentials) config.credentials = options.credentials;
    else if (options.localProfile) config.profile = options.localProfile;
    this.client = new S3Client(config);
    this.getClient = new S3Client({
      ...config,
      maxAttempts: 1,
      // One connection pool and one credential cache for both clients.
      requestHandler: this.client.config.requestHandler,
      credentials: this.client.config.credentials,
    });
  }

  uri(key: string): string {
    return `s3://${this.options.bucket}/${key}`;
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo[]> {
    let token: string | undefined;
    do {
      this.stats.listRequests++;
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix || undefined, ContinuationToken: token }),
          { abortSignal: signal },
        );
      } catch (err) {
        throw describeS3Error(err, this.storeContext(prefix ? `listing prefix "${prefix}"` : 'listing the bucket'));
      }
      const objects: ObjectInfo[] = [];
      for (const item of page.Contents ?? []) {
        if (!item.Key || item.Key.endsWith('/')) continue;
        objects.push({
          key: item.Key,
          size: item.Size ?? 0,
          lastModified: item.LastModified ?? new Date(0),
          etag: item.ETag ?? '',
        });
      }
      yield objects;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  open(object: ObjectInfo): ByteSource {
    return {
      key: object.key,
      size: object.size,
      read: (start, end, signal) => this.readRange(object, start, end, signal),
    };
  }

  close(): void {
    // Destroys the shared request handler (its sockets) too.
    this.getClient.destroy();
    this.client.destroy();
  }

  private storeContext(action: string) {
    return {
      bucket: this.options.bucket,
      region: this.options.region,
      endpoint: this.options.endpoint ? redactUrl(this.options.endpoint) : `https://s3.${this.options.region}.amazonaws.com`,
      action,
    };
  }

  /**
   * One ranged GET, pinned to the listed ETag with If-Match so bytes of two versions are never mixed.
   * Every retry is made here, with backoff and jitter: of a request that failed retryably (throttling,
   * 5xx, network errors, timeouts) and of a body that broke off or came back short. Each attempt is
   * exactly one HTTP request (the GET client makes no retries of its own), so a range never costs more
   * than max_retries + 1 requests, whatever the mix of failures.
   */
  private async readRange(object: ObjectInfo, start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> {
    const expected = end - start;
    if (expected <= 0) return new Uint8Array(0);
    const uri = this.uri(object.key);
    const attempts = this.options.maxRetries + 1;
    let lastProblem = '';
    let throttled = false;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await backoff(attempt - 1, throttled, signal);
      throttled = false;
      let body;
      try {
        this.stats.getRequests++;
        const response = await this.getClient.send(
          new GetObjectCommand({
            Bucket: this.options.bucket,
            Key: object.key,
            Range: `bytes=${start}-${end - 1}`,
            IfMatch: object.etag || undefined,
          }),
          { abortSignal: signal },
        );
        body = response.Body;
      } catch (err) {
        if (signal?.aborted) throw err;
        if (isObjectGone(err)) throw new ObjectError(`${uri} was deleted after it was listed`, object.key, 'gone');
        if (isObjectChanged(err)) {
          throw new ObjectError(`${uri} changed while it was being read (ETag is no longer ${object.etag})`, object.key, 'changed');
        }
        const friendly = describeS3Error(err, this.storeContext(`reading ${uri}`));
        if (isRetryable(err) && attempt < attempts) {
          throttled = isThrottling(err);
          lastProblem = friendly.message;
          continue;
        }
        // Not worth repeating, or the retries are used up. Store-level problems end the sync; others this object.
        if (friendly.code !== 'other') throw friendly;
        const after = attempt > 1 ? ` after ${attempt} attempts` : '';
        throw new ObjectError(`reading ${uri} failed${after}: ${friendly.message}`, object.key, 'read_failed');
      }
      try {
        if (!body) throw new Error('empty response body');
        // Straight into one buffer of the expected size: collecting chunks and joining them would
        // hold the range twice.
        const bytes = new Uint8Array(expected);
        let got = 0;
        for await (const chunk of body as AsyncIterable<Uint8Array>) {
          if (got + chunk.byteLength <= expected) bytes.set(chunk, got);
          got += chunk.byteLength;
        }
        this.stats.bytesRead += got;
        if (got === expected) return bytes;
        lastProblem = `${got < expected ? 'short' : 'long'} read of bytes ${start}-${end - 1}: got ${got} of ${expected} bytes`;
      } catch (err) {
        if (signal?.aborted) throw err;
        lastProblem = `the response body broke off (${(err as Error).message})`;
      }
    }
    throw new ObjectError(`reading ${uri} failed after ${attempts} attempts: ${lastProblem}`, object.key, 'read_failed');
  }
}

/** Waits before retry number `retry` (1, 2, ...): full jitter on an exponential base; rejects on abort. */
async function backoff(retry: number, throttled: boolean, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const base = throttled ? THROTTLING_BACKOFF_BASE_MS : BACKOFF_BASE_MS;
  const ms = Math.random() * Math.min(MAX_BACKOFF_MS, base * 2 ** retry);
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
