// The Sync call's output stream: a SyncSink that writes migrate_table, insert and error messages to
// the gRPC stream and waits for it to drain whenever the client is behind (what bounds memory).
import { once } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { pluginV3 } from '@cloudquery/plugin-pb-javascript';
import { schemaOnlyIpc } from '../arrow/ipc.js';
import type { Logger } from '../log.js';
import type { SyncSink } from '../sync/index.js';
import { lengthDelimitedTag, varintLength, writeVarint } from '../util/protobuf-wire.js';
import { safeText } from '../util/safe-text.js';

const pb = pluginV3.cloudquery.plugin.v3;

export type SyncCall = grpc.ServerWritableStream<InstanceType<typeof pb.Sync.Request>, InstanceType<typeof pb.Sync.Response>>;

export function syncSink(call: SyncCall, log: Logger, signal: AbortSignal): SyncSink {
  const send = async (response: InstanceType<typeof pb.Sync.Response> | Buffer) => {
    signal.throwIfAborted();
    // A Buffer is an insert already serialized by insertResponse (see serve.ts).
    if (!call.write(response as InstanceType<typeof pb.Sync.Response>)) {
      // Wait for the client to take what is buffered: this is what bounds memory.
      await once(call, 'drain', { signal });
    }
  };
  return {
    migrate: (schema) => send(new pb.Sync.Response({ migrate_table: new pb.Sync.MessageMigrateTable({ table: schemaOnlyIpc(schema) }) })),
    insert: (record) => send(insertResponse(record)),
    error: async (table, key, message) => {
      // With error messages the CLI counts the MessageError; without, it counts error log lines.
      if (call.request.withErrorMessages) {
        log.warn('object skipped', { table, key, error: message });
        await send(new pb.Sync.Response({ error: new pb.Sync.MessageError({ table_name: table, error: safeText(message) }) }));
      } else {
        log.error('object skipped', { table, key, error: message });
      }
    },
  };
}

/**
 * Sync.Response{insert: MessageInsert{record}} as protobuf bytes. Records are large and this is the
 * hot path, so the few header bytes are written in place, in the headroom RecordEncoder leaves before
 * each record, instead of serializing (and copying) the record through google-protobuf. A record
 * without headroom is copied once. The server's Sync serializer passes such Buffers through.
 */
export function insertResponse(record: Uint8Array): Buffer {
  const inner = 1 + varintLength(record.byteLength) + record.byteLength;
  const head = 1 + varintLength(inner) + 1 + varintLength(record.byteLength);
  let out: Buffer;
  if (record.byteOffset >= head) {
    out = Buffer.from(record.buffer, record.byteOffset - head, head + record.byteLength);
  } else {
    out = Buffer.allocUnsafe(head + record.byteLength);
    out.set(record, head);
  }
  let at = 0;
  out[at++] = lengthDelimitedTag(2); // Sync.Response field 2: insert
  at = writeVarint(out, at, inner);
  out[at++] = lengthDelimitedTag(1); // MessageInsert field 1: record
  writeVarint(out, at, record.byteLength);
  return out;
}
