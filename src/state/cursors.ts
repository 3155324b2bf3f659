// Incremental sync bookkeeping, pure: which objects are new since the last sync, and the state to
// store once a table has been delivered.
//
// Per table (and per shard, when sharded) the state backend holds:
//   s3/{bucket}/{table}/last_modified_cursor   RFC3339Nano of the newest LastModified fully synced
//                                              (the Go plugin's key and format, so its state carries over)
//   s3/{bucket}/{table}/synced_objects         JSON {key: etag} of objects synced whose LastModified is at
//                                              or after the cursor: S3 times have one-second resolution, so
//                                              objects written in the cursor's second after the last sync are
//                                              told apart from those already synced by this list
//   s3/{bucket}/{table}/schema                 the table's merged file schema (base64 Arrow IPC), so a sync
//                                              with nothing new reads no footer
import type { ObjectInfo } from '../store/types.js';

export interface ShardRef {
  num: number;
  total: number;
}

export interface TableState {
  /** Milliseconds since the epoch; undefined when the table was never synced. */
  cursor?: number;
  /** Objects at or after the cursor already synced: key -> etag. Undefined for Go-plugin state. */
  synced?: Map<string, string>;
  /** Cached merged schema, base64 IPC. */
  schema?: string;
}

export interface StateKeys {
  cursor: string;
  synced: string;
  schema: string;
}

/** Keys of one table's state. Shards keep separate state so they never overwrite each other's. */
export function stateKeys(bucket: string, table: string, shard?: ShardRef): StateKeys {
  const base = shard && shard.total > 1 ? `s3/${bucket}/${table}/shard_${shard.num}_of_${shard.total}` : `s3/${bucket}/${table}`;
  return { cursor: `${base}/last_modified_cursor`, synced: `${base}/synced_objects`, schema: `${base}/schema` };
}

/** RFC 3339 with fractional seconds trimmed of trailing zeros, as Go's time.RFC3339Nano prints UTC. */
export function formatRfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2024-05-01T10:11:12.120Z
  const [whole, fraction = ''] = iso.slice(0, -1).split('.');
  const trimmed = fraction.replace(/0+$/, '');
  return `${whole}${trimmed ? `.${trimmed}` : ''}Z`;
}

export function parseRfc3339(text: string): number | undefined {
  // Date.parse keeps milliseconds and drops finer digits, which is S3's resolution anyway.
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

export function readTableState(get: (key: string) => string | undefined, keys: StateKeys): TableState {
  const state: TableState = {};
  const cursor = get(keys.cursor);
  if (cursor) state.cursor = parseRfc3339(cursor);
  const synced = get(keys.synced);
  if (synced) {
    try {
      state.synced = new Map(Object.entries(JSON.parse(synced) as Record<string, string>));
    } catch {
      state.synced = undefined;
    }
  }
  state.schema = get(keys.schema) || undefined;
  return state;
}

export function writeTableState(set: (key: string, value: string) => void, keys: StateKeys, state: TableState): void {
  if (state.cursor !== undefined) set(keys.cursor, formatRfc3339Nano(state.cursor));
  set(keys.synced, JSON.stringify(Object.fromEntries(state.synced ?? [])));
  if (state.schema) set(keys.schema, state.schema);
}

/** Objects to sync: newer than the cursor, or at/after it and not synced in that version. */
export function selectNew(objects: ObjectInfo[], state: TableState): ObjectInfo[] {
  if (state.cursor === undefined) return objects;
  const cursor = state.cursor;
  if (!state.synced) return objects.filter((o) => o.lastModified.getTime() > cursor); // Go plugin state
  const synced = state.synced;
  return objects.filter((o) => o.lastModified.getTime() >= cursor && synced.get(o.key) !== o.etag);
}

export interface Outcome {
  object: ObjectInfo;
  /** Delivered, or skipped for good (its content cannot be read as this table); false means retry next time. */
  done: boolean;
}

/**
 * The state after a sync of this table. The cursor moves to the newest time up to which every
 * object is done; done objects at or after the cursor are remembered so none is synced twice.
 * `listed` is every object of the table in this listing (to know the times of remembered ones).
 */
export function advance(previous: TableState, outcomes: Outcome[], listed: ObjectInfo[]): TableState {
  const sorted = [...outcomes].sort((a, b) => a.object.lastModified.getTime() - b.object.lastModified.getTime());
  const firstUndone = sorted.find((o) => !o.done)?.object.lastModified.getTime();
  let cursor = previous.cursor;
  for (const o of sorted) {
    const t = o.object.lastModified.getTime();
    if (firstUndone !== undefined && t >= firstUndone) break;
    if (o.done && (cursor === undefined || t > cursor)) cursor = t;
  }
  if (cursor === undefined) return { synced: new Map(), schema: previous.schema };

  const time = new Map(listed.map((o) => [`${o.key}\u0000${o.etag}`, o.lastModified.getTime()]));
  const remembered = new Map<string, string>(previous.synced ?? []);
  if (!previous.synced && previous.cursor !== undefined) {
    // State written by the Go plugin: it synced everything up to and including its cursor.
    for (const o of listed) if (o.lastModified.getTime() === previous.cursor) remembered.set(o.key, o.etag);
  }
  for (const o of sorted) if (o.done) remembered.set(o.object.key, o.object.etag);
  const synced = new Map<string, string>();
  for (const [key, etag] of remembered) {
    const t = time.get(`${key}\u0000${etag}`);
    // Gone or older than the cursor: the time filter alone keeps it out from now on.
    if (t !== undefined && t >= cursor) synced.set(key, etag);
  }
  return { cursor, synced, schema: previous.schema };
}
