// Amazon S3 (and S3-compatible) store: ListObjectsV2 pages and ranged, ETag-pinned GetObject reads, in
// the bucket's region (found when the spec leaves it out, followed when the spec's is wrong), signed as
// the spec says (keys, profile, default chain, an assumed role, or unsigned), with the requester-pays
// and SSE-C parameters the bucket needs.
import { GetObjectCommand, ListObjectsV2Command, type GetObjectCommandInput, type ListObjectsV2CommandInput } from '@aws-sdk/client-s3';
import { silentLogger, type Logger } from '../log.js';
import type { ResolvedSpec } from '../spec.js';
import type { AccessOptions } from '../spec-access.js';
import { createClients, type ClientSettings, type S3Clients } from './s3-client.js';
import { clientAuth } from './s3-credentials.js';
import {
  bucketRegionOf,
  describeS3Error,
  isObjectChanged,
  isObjectGone,
  isRetryable,
  isThrottling,
  isWrongRegion,
  redactUrl,
} from './s3-errors.js';
import { DEFAULT_REGION, findBucketRegion } from './s3-region.js';
import { newStats, ObjectError, type ByteSource, type ObjectInfo, type Store, type StoreStats } from './types.js';

export interface S3StoreOptions {
  bucket: string;
  /** The bucket's region; '' to ask the bucket. */
  region: string;
  endpoint: string;
  pathStyle: boolean;
  localProfile: string;
  credentials?: ResolvedSpec['credentials'];
  access: AccessOptions;
  maxRetries: number;
  /** Sockets kept per host; should cover the spec's concurrency. */
  maxSockets: number;
  /** Where the region found or corrected is told. */
  logger?: Logger;
}

// Backoff before retry n (1, 2, ...): a random wait below base * 2^n, at most MAX_BACKOFF_MS; throttling
// waits longer, as in the AWS SDK's standard strategy.
const BACKOFF_BASE_MS = 100;
const THROTTLING_BACKOFF_BASE_MS = 500;
const MAX_BACKOFF_MS = 20_000;

export class S3Store implements Store {
  readonly stats: StoreStats = newStats();
  /** Replaced when the bucket turns out to be in another region. */
  private clients: S3Clients;
  /** A move to the bucket's region in progress, which concurrent requests that failed the same way await. */
  private moving?: Promise<boolean>;
  private readonly logger: Logger;

  /** Opens the store; asks the bucket for its region first when the options give none. */
  static async open(options: S3StoreOptions): Promise<S3Store> {
    const settings = clientSettings(options);
    if (options.region) return new S3Store(options, settings, createClients(settings, options.region), '');
    // One retry at most: a server that does not answer is reported by the first real request, with
    // all of max_retries, rather than after two lookups' worth of them.
    const probe = createClients({ ...settings, maxRetries: Math.min(settings.maxRetries, 1) }, DEFAULT_REGION);
    let found;
    try {
      found = await findBucketRegion(probe.list, options.bucket, options.endpoint !== '');
    } catch (err) {
      probe.list.destroy();
      throw describeS3Error(err, storeContext(options, DEFAULT_REGION, "finding the bucket's region"));
    }
    const fields = { bucket: options.bucket, region: found.region, found_by: found.from };
    const logger = options.logger ?? silentLogger;
    if (found.from === 'default') logger.info(`bucket "${options.bucket}" does not say its region: using ${found.region}`, fields);
    else logger.info(`bucket "${options.bucket}" is in region ${found.region}`, fields);
    const clients = createClients(settings, found.region, probe);
    return new S3Store(
      options,
      settings,
      clients,
      found.from === 'default' ? ', which the server did not name' : ', found from the bucket',
    );
  }

  private constructor(
    private readonly options: S3StoreOptions,
    private readonly settings: ClientSettings,
    clients: S3Clients,
    /** How the region was learned, for `location`. */
    private readonly regionNote: string,
  ) {
    this.clients = clients;
    this.logger = options.logger ?? silentLogger;
  }

  get location(): string {
    const { region } = this.clients;
    return `s3://${this.options.bucket} (endpoint ${endpointText(this.options, region)}, region ${region}${this.regionNote})`;
  }

  uri(key: string): string {
    return `s3://${this.options.bucket}/${key}`;
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo[]> {
    let token: string | undefined;
    do {
      const input: ListObjectsV2CommandInput = {
        Bucket: this.options.bucket,
        Prefix: prefix || undefined,
        ContinuationToken: token,
        ...(this.options.access.requesterPays ? { RequestPayer: 'requester' } : {}),
      };
      let page;
      try {
        page = await this.inBucketRegion((clients) => {
          this.stats.listRequests++;
          return clients.list.send(new ListObjectsV2Command(input), { abortSignal: signal });
        }, signal);
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
    // Destroys the shared request handler (its sockets) too; clients of a region left behind share it.
    this.clients.get.destroy();
    this.clients.list.destroy();
  }

  private storeContext(action: string) {
    return storeContext(this.options, this.clients.region, action);
  }

  /**
   * A request in the bucket's region. When S3 answers that the bucket is elsewhere, the clients move to
   * the region it names (or, when it names none, the one the bucket tells when asked) with a warning,
   * and the request is made once more: a wrong `region` costs a request, not the sync.
   */
  private async inBucketRegion<T>(request: (clients: S3Clients) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const clients = this.clients;
    try {
      return await request(clients);
    } catch (err) {
      if (signal?.aborted || !isWrongRegion(err) || !(await this.follow(err, clients))) throw err;
      return request(this.clients);
    }
  }

  /** Whether the clients are (now) in another region than `used`: requests failing at once share one move. */
  private follow(err: unknown, used: S3Clients): Promise<boolean> {
    if (this.clients !== used) return Promise.resolve(true);
    this.moving ??= this.moveToBucketRegion(err).finally(() => (this.moving = undefined));
    return this.moving;
  }

  private async moveToBucketRegion(err: unknown): Promise<boolean> {
    const from = this.clients.region;
    let region = bucketRegionOf(err);
    if (!region) {
      // A guess is no reason to move: only a region the bucket names.
      const found = await findBucketRegion(this.clients.list, this.options.bucket, this.options.endpoint !== '').catch(() => undefined);
      region = found?.from === 'default' ? undefined : found?.region;
    }
    if (!region || region === from) return false;
    this.logger.warn(`bucket "${this.options.bucket}" is in region ${region}, not ${from}: reading it there; set region: ${region}`, {
      bucket: this.options.bucket,
      region,
      previous_region: from,
    });
    this.clients = createClients(this.settings, region, this.clients);
    return true;
  }

  /** One ranged GET request (no retries of its own), with the bucket's request-payer and SSE-C parameters. */
  private async getRange(object: ObjectInfo, start: number, end: number, signal?: AbortSignal) {
    const { access } = this.options;
    const input: GetObjectCommandInput = {
      Bucket: this.options.bucket,
      Key: object.key,
      Range: `bytes=${start}-${end - 1}`,
      IfMatch: object.etag || undefined,
      ...(access.requesterPays ? { RequestPayer: 'requester' } : {}),
      // The SDK adds the key's MD5 header itself.
      ...(access.sseCustomerKey ? { SSECustomerAlgorithm: 'AES256', SSECustomerKey: access.sseCustomerKey } : {}),
    };
    const response = await this.inBucketRegion((clients) => {
      this.stats.getRequests++;
      return clients.get.send(new GetObjectCommand(input), { abortSignal: signal });
    }, signal);
    return response.Body;
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
        body = await this.getRange(object, start, end, signal);
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

function clientSettings(options: S3StoreOptions): ClientSettings {
  return {
    endpoint: options.endpoint,
    pathStyle: options.pathStyle,
    maxRetries: options.maxRetries,
    maxSockets: options.maxSockets,
    auth: clientAuth({
      credentials: options.credentials,
      localProfile: options.localProfile,
      access: options.access,
      endpoint: options.endpoint,
      stsRegion: options.region || DEFAULT_REGION,
    }),
  };
}

function endpointText(options: S3StoreOptions, region: string): string {
  return options.endpoint ? redactUrl(options.endpoint) : `https://s3.${region}.amazonaws.com`;
}

/** What error messages say about the store and the request (never a secret: only whether there is one). */
function storeContext(options: S3StoreOptions, region: string, action: string) {
  return {
    bucket: options.bucket,
    region,
    endpoint: endpointText(options, region),
    action,
    anonymous: options.access.anonymous,
    roleArn: options.access.roleArn,
    sseCustomerKey: options.access.sseCustomerKey !== undefined,
  };
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
