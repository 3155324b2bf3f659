// One fuzz batch against the real S3 server and the bundled plugin: the damaged objects and the good
// files put below a prefix of their own, one sync over it with the provenance columns on (to tell
// each row's object and position), the process checked alive, and the outcome checked object by
// object. Also the junk Init specs: random JSON shapes, lone surrogates, huge strings, bytes.
import * as grpc from '@grpc/grpc-js';
import type { PluginProcess, SyncResult } from './plugin-client.js';
import type { S3TestServer } from './s3-server.js';
import { s3Spec } from './s3-spec.js';
import { checkSync, type CaseOutcome } from './fuzz-check.js';
import type { FuzzCase, GoodFile } from './fuzz-cases.js';
import type { Rng } from './fuzz-mutate.js';

export interface FuzzTarget {
  s3: S3TestServer;
  plugin: PluginProcess;
  bucket: string;
}

export interface BatchOutcome {
  problems: string[];
  outcomes: CaseOutcome[];
  /** The process answered GetName after the sync. */
  alive: boolean;
}

/** Whether the plugin process still runs and answers. */
export async function answers(plugin: PluginProcess): Promise<boolean> {
  const exited = plugin.exited.then(() => false);
  return Promise.race([
    exited,
    plugin.client.getName().then(
      (name) => name === 'cq-source-s3',
      () => false,
    ),
  ]);
}

/** Puts the batch below `prefix`, syncs it, and checks every object. */
export async function runBatch(
  { s3, plugin, bucket }: FuzzTarget,
  prefix: string,
  cases: FuzzCase[],
  good: GoodFile[],
): Promise<BatchOutcome> {
  for (const f of [...good, ...cases]) await s3.put(bucket, `${prefix}${f.table}/${f.name}`, f.body);
  let result: SyncResult;
  try {
    await plugin.client.init(s3Spec(s3, bucket, { path_prefix: prefix, filetype: 'auto', provenance_columns: true, concurrency: 4 }));
    result = await plugin.client.sync({ tables: ['*'] });
  } catch (err) {
    const alive = await answers(plugin);
    return { problems: [`the sync of ${prefix} failed as a whole: ${(err as Error).message}`], outcomes: [], alive };
  }
  const alive = await answers(plugin);
  const { problems, outcomes } = checkSync(result, bucket, prefix, cases, good);
  if (!alive) problems.unshift(`the plugin does not answer after the sync of ${prefix}`);
  return { problems, outcomes, alive };
}

// ---------------------------------------------------------------------------------------------------
// Junk specs

const LONE = ['\ud800', '\udbff', '\udc00', '\udfff'];

function randomText(rng: Rng): string {
  const pieces = ['bucket', 'region', 'ö', '✓', '\u0000', '"', '\\', '${X}', 'a'.repeat(rng.int(40)), rng.pick(LONE), '😀'];
  return Array.from({ length: 1 + rng.int(5) }, () => rng.pick(pieces)).join('');
}

function randomJson(rng: Rng, depth: number): unknown {
  const roll = rng.int(depth > 3 ? 5 : 7);
  if (roll === 0) return null;
  if (roll === 1) return rng.next() < 0.5;
  if (roll === 2) return rng.pick([0, -1, 1.5, 2 ** 53 + 2, -(2 ** 63), 1e308, rng.int(1 << 30)]);
  if (roll === 3 || roll === 4) return randomText(rng);
  if (roll === 5) return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
  return Object.fromEntries(Array.from({ length: rng.int(4) }, () => [randomText(rng), randomJson(rng, depth + 1)]));
}

/** A value of a JSON type the schema property does not allow (null is allowed for most fields). */
function wrongValue(rng: Rng, allowed: string[]): unknown {
  const candidates: [string, unknown][] = [
    ['string', randomText(rng)],
    ['integer', rng.pick([1.5, -0.25])],
    ['number', 1.5],
    ['boolean', rng.next() < 0.5],
    ['array', [randomText(rng)]],
    ['object', { [randomText(rng)]: 1 }],
  ];
  const fits = (type: string) => allowed.includes(type) || (type === 'integer' && allowed.includes('number'));
  return rng.pick(candidates.filter(([type]) => !fits(type)))[1];
}

/** Property name -> the JSON types its schema allows. */
export function specTypes(jsonSchema: string): Map<string, string[]> {
  const schema = JSON.parse(jsonSchema) as { properties: Record<string, { type?: string | string[] }> };
  const types = new Map<string, string[]>();
  for (const [name, p] of Object.entries(schema.properties)) if (p.type) types.set(name, [p.type].flat());
  return types;
}

/** One junk spec as the bytes Init carries, and what it is. Every one is invalid by construction. */
export function junkSpec(rng: Rng, types: Map<string, string[]>): { what: string; bytes: Uint8Array } {
  const known = [...types.keys()];
  const encode = (value: unknown) => new Uint8Array(Buffer.from(JSON.stringify(value)));
  switch (rng.int(6)) {
    case 0:
      return { what: 'a top-level value that is not an object', bytes: encode(rng.pick([[randomJson(rng, 1)], randomText(rng), 7, true])) };
    case 1: {
      const spec = Object.fromEntries(Array.from({ length: 1 + rng.int(4) }, () => [rng.pick(known), randomJson(rng, 1)]));
      spec[randomText(rng)] = randomJson(rng, 1);
      return { what: 'random fields, one unknown', bytes: encode(spec) };
    }
    case 2: {
      const name = rng.pick(known);
      return { what: `${name} of a wrong type`, bytes: encode({ bucket: 'b', [name]: wrongValue(rng, types.get(name)!) }) };
    }
    case 3: {
      const huge = 'x'.repeat(100_000 + rng.int(200_000));
      return {
        what: 'a huge string where it does not belong',
        bytes: encode(rng.next() < 0.5 ? { [huge]: 1 } : { bucket: 'b', concurrency: huge }),
      };
    }
    case 4: {
      const depth = 1000 + rng.int(20_000);
      const nested =
        rng.next() < 0.5 ? `{"bucket":${'['.repeat(depth)}1${']'.repeat(depth)}}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      return { what: `nested ${depth} levels deep`, bytes: new Uint8Array(Buffer.from(nested)) };
    }
    default: {
      const text = Buffer.from(JSON.stringify({ bucket: randomText(rng), path_prefix: randomText(rng) }));
      const cut = text.subarray(0, rng.int(text.length));
      const bytes = rng.next() < 0.5 ? cut : Buffer.concat([cut, Buffer.from([0xff, 0xc3, 0x28])]);
      return { what: 'truncated or not UTF-8', bytes: new Uint8Array(bytes) };
    }
  }
}

/** Init with the junk spec: the problem, if it is not answered INVALID_ARGUMENT or the server stops answering. */
export async function initJunk(plugin: PluginProcess, junk: { what: string; bytes: Uint8Array }): Promise<string | undefined> {
  const shown = `${junk.what} (${Buffer.from(junk.bytes.subarray(0, 80)).toString('utf8')}${junk.bytes.length > 80 ? '…' : ''})`;
  try {
    await plugin.client.init(junk.bytes);
    return `Init accepted ${shown}`;
  } catch (err) {
    const e = err as grpc.ServiceError;
    if (e.code !== grpc.status.INVALID_ARGUMENT) return `Init answered ${e.code} (${e.details}) to ${shown}`;
  }
  return (await answers(plugin)) ? undefined : `the plugin does not answer after Init with ${shown}`;
}
