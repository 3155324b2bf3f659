// Finding the region a bucket lives in, for specs that leave `region` out and for a region that turns
// out to be wrong: the region is part of every request's signature (and of AWS's endpoint), so asking
// in the wrong one fails however good the credentials are.
import { GetBucketLocationCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { bucketRegionOf, networkCode } from './s3-errors.js';

/** Where discovery starts, and what it settles on when nobody says: S3's oldest region. */
export const DEFAULT_REGION = 'us-east-1';

export interface FoundRegion {
  region: string;
  /** How it was learned, for the log. */
  from: 'x-amz-bucket-region' | 'GetBucketLocation' | 'default';
}

/**
 * Asks the bucket where it lives, with a client of any region (us-east-1 by convention). AWS answers a
 * HeadBucket, whatever its outcome (200, 301 to another region, 403), with the x-amz-bucket-region
 * header. An S3-compatible server may not send it; GetBucketLocation then asks it directly (an answer
 * in the wrong region names the right one in its body), and a server that says nothing is taken to be
 * in us-east-1, the region S3-compatible servers default to.
 *
 * Throws only what would fail every request alike (no credentials, a role STS refuses): a failure that
 * says nothing about the region leaves it to the first real request to report, with its own wording.
 */
export async function findBucketRegion(client: S3Client, bucket: string, customEndpoint: boolean): Promise<FoundRegion> {
  const header = await ask(async () => (await client.send(new HeadBucketCommand({ Bucket: bucket }))).BucketRegion);
  if (header) return { region: header, from: 'x-amz-bucket-region' };
  if (customEndpoint) {
    const location = await ask(async () => {
      const answer = await client.send(new GetBucketLocationCommand({ Bucket: bucket }));
      // The API's legacy spellings: no constraint is us-east-1, EU is eu-west-1.
      const constraint: string = answer.LocationConstraint ?? '';
      return constraint === '' ? DEFAULT_REGION : constraint === 'EU' ? 'eu-west-1' : constraint;
    });
    if (location) return { region: location, from: 'GetBucketLocation' };
  }
  return { region: DEFAULT_REGION, from: 'default' };
}

/** The region a request's answer (or error answer) names; undefined when it names none. */
async function ask(request: () => Promise<string | undefined>): Promise<string | undefined> {
  try {
    return (await request()) || undefined;
  } catch (err) {
    const named = bucketRegionOf(err);
    if (named) return named;
    if (answered(err) || networkCode(err)) return undefined;
    throw err;
  }
}

/** Whether the server answered at all (an HTTP status), as opposed to a failure before any request. */
function answered(err: unknown): boolean {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode !== undefined;
}
